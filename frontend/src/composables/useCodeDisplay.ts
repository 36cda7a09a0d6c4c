/**
 * The code page's display of the rotating code: the code, its QR and barcode
 * images (fetched for that code; an answer for an older code is dropped), the
 * clock offset to the server, the countdown, and the blank once `valid_until`
 * passes without a new code. `start`/`stop` run the half-second clock.
 */
import { computed, ref } from 'vue'
import { getCodePng, getCodeSvg, type VoucherCode } from '@/api/code'
import { isApiError } from '@/http/errors'
import { CODE_IMAGE_FORMAT, imageDataUrl } from '@/platform'
import { clockOffset, groupDigits, secondsLeft } from '@/utils/code'

/** `person`: the binding id whose code is shown ('' = my own), read at each image fetch. */
export function useCodeDisplay(person: () => string = () => '') {
  const current = ref<VoucherCode | null>(null)
  const qrSrc = ref('')
  const barcodeSrc = ref('')
  const imageCode = ref('')
  const imageError = ref('')
  const offset = ref(0)
  const now = ref(Date.now() / 1000)
  let ticker: ReturnType<typeof setInterval> | null = null

  const serverNow = computed(() => now.value + offset.value)
  const expired = computed(() => !!current.value && serverNow.value >= current.value.valid_until)
  /** The code to show: none before the first one and after it lapsed. */
  const shown = computed(() => (current.value && !expired.value ? current.value : null))
  const countdown = computed(() => (current.value ? secondsLeft(current.value.expires_at, serverNow.value) : 0))
  const digits = computed(() => (shown.value ? groupDigits(shown.value.code) : ''))
  /** The images belong to the code shown. */
  const imagesReady = computed(() => !!shown.value && imageCode.value === shown.value.code)

  async function show(code: VoucherCode): Promise<void> {
    offset.value = clockOffset(code, Date.now() / 1000)
    now.value = Date.now() / 1000
    current.value = code
    imageError.value = ''
    try {
      const [qr, bar] = CODE_IMAGE_FORMAT === 'svg'
        ? await Promise.all([getCodeSvg('qr', code.code, person()), getCodeSvg('barcode', code.code, person())])
        : await Promise.all([getCodePng('qr', code.code, person()), getCodePng('barcode', code.code, person())])
      if (current.value?.code !== code.code) return // a newer code arrived meanwhile
      qrSrc.value = imageDataUrl(qr)
      barcodeSrc.value = imageDataUrl(bar)
      imageCode.value = code.code
    } catch (err) {
      if (current.value?.code === code.code) {
        imageError.value = isApiError(err) ? err.message : '医保码图片加载失败'
      }
    }
  }

  /** Forget the shown code (the page switched to another person's code). */
  function clear(): void {
    current.value = null
    qrSrc.value = ''
    barcodeSrc.value = ''
    imageCode.value = ''
    imageError.value = ''
  }

  function start(): void {
    stop()
    ticker = setInterval(() => (now.value = Date.now() / 1000), 500)
  }

  function stop(): void {
    if (ticker) clearInterval(ticker)
    ticker = null
  }

  return { current, qrSrc, barcodeSrc, imageCode, imageError, shown, countdown, digits, imagesReady, show, clear, start, stop }
}
