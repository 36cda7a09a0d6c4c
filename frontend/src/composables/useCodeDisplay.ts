/**
 * The code page's display of the rotating code: the code, its QR and barcode
 * images (fetched for that code; an answer for an older code is dropped), the
 * clock offset to the server, the countdown, and the blank once `valid_until`
 * passes without a new code. `start`/`stop` run the half-second clock.
 *
 * A code sent early (`early`, before its step: the server sends the next code
 * a few seconds ahead) is kept aside, its images fetched at once, and shown
 * exactly at its `valid_from` (by the server's clock) — so the page switches
 * at the step boundary with its QR ready. A counter refuses it before then.
 */
import { computed, ref } from 'vue'
import { getCodePng, getCodeSvg, type PushedCode } from '@/api/code'
import { isApiError } from '@/http/errors'
import { CODE_IMAGE_FORMAT, imageDataUrl } from '@/platform'
import { clockOffset, groupDigits, secondsLeft, validFrom } from '@/utils/code'

/** `person`: the binding id whose code is shown ('' = my own), read at each image fetch. */
export function useCodeDisplay(person: () => string = () => '') {
  const current = ref<PushedCode | null>(null)
  const qrSrc = ref('')
  const barcodeSrc = ref('')
  const imageCode = ref('')
  const imageError = ref('')
  const offset = ref(0)
  const now = ref(Date.now() / 1000)
  /** The next step's code, sent early: shown at its valid_from. */
  const upcoming = ref<PushedCode | null>(null)
  /** Images fetched ahead, by code (the upcoming one's, before its step). */
  const images = new Map<string, { qr: string; bar: string }>()
  let ticker: ReturnType<typeof setInterval> | null = null
  let switchTimer: ReturnType<typeof setTimeout> | null = null

  const serverNow = computed(() => now.value + offset.value)
  const expired = computed(() => !!current.value && serverNow.value >= current.value.valid_until)
  /** The code to show: none before the first one and after it lapsed. */
  const shown = computed(() => (current.value && !expired.value ? current.value : null))
  const countdown = computed(() => (current.value ? secondsLeft(current.value.expires_at, serverNow.value) : 0))
  const digits = computed(() => (shown.value ? groupDigits(shown.value.code) : ''))
  /** The images belong to the code shown. */
  const imagesReady = computed(() => !!shown.value && imageCode.value === shown.value.code)

  const serverSeconds = () => Date.now() / 1000 + offset.value

  /** A code from the socket or the REST fallback: shown now, or (sent early) at its valid_from. */
  async function show(code: PushedCode): Promise<void> {
    offset.value = clockOffset(code, Date.now() / 1000)
    now.value = Date.now() / 1000
    if (validFrom(code) > serverSeconds()) {
      if (current.value && current.value.step >= code.step) return // not newer than what is shown
      upcoming.value = code
      armSwitch()
      await loadImages(code) // ready before the boundary
      return
    }
    if (upcoming.value && upcoming.value.step <= code.step) dropUpcoming()
    await display(code)
  }

  async function display(code: PushedCode): Promise<void> {
    current.value = code
    imageError.value = ''
    const ready = images.get(code.code)
    if (ready) {
      applyImages(code.code, ready)
      return
    }
    await loadImages(code)
  }

  async function loadImages(code: PushedCode): Promise<void> {
    try {
      const [qr, bar] = CODE_IMAGE_FORMAT === 'svg'
        ? await Promise.all([getCodeSvg('qr', code.code, person()), getCodeSvg('barcode', code.code, person())])
        : await Promise.all([getCodePng('qr', code.code, person()), getCodePng('barcode', code.code, person())])
      const fetched = { qr: imageDataUrl(qr), bar: imageDataUrl(bar) }
      if (upcoming.value?.code === code.code) images.set(code.code, fetched) // shown at its valid_from
      if (current.value?.code === code.code) applyImages(code.code, fetched) // else: a newer code arrived meanwhile
    } catch (err) {
      if (current.value?.code === code.code) {
        imageError.value = isApiError(err) ? err.message : '医保码图片加载失败'
      }
      // an upcoming code's images are fetched again when it is shown
    }
  }

  function applyImages(code: string, fetched: { qr: string; bar: string }): void {
    qrSrc.value = fetched.qr
    barcodeSrc.value = fetched.bar
    imageCode.value = code
  }

  /** Switch to the upcoming code at its valid_from, by the server's clock. */
  function armSwitch(): void {
    if (switchTimer) clearTimeout(switchTimer)
    switchTimer = null
    const next = upcoming.value
    if (!next) return
    switchTimer = setTimeout(() => {
      switchTimer = null
      if (upcoming.value !== next) return
      if (validFrom(next) > serverSeconds() + 0.01) {
        armSwitch() // the timer fired early (clock correction meanwhile)
        return
      }
      upcoming.value = null
      now.value = Date.now() / 1000
      void display(next).finally(() => images.delete(next.code))
    }, Math.max(0, (validFrom(next) - serverSeconds()) * 1000))
  }

  function dropUpcoming(): void {
    if (switchTimer) clearTimeout(switchTimer)
    switchTimer = null
    if (upcoming.value) images.delete(upcoming.value.code)
    upcoming.value = null
  }

  /** Forget the shown code (the page switched to another person's code). */
  function clear(): void {
    dropUpcoming()
    images.clear()
    current.value = null
    qrSrc.value = ''
    barcodeSrc.value = ''
    imageCode.value = ''
    imageError.value = ''
  }

  function start(): void {
    stop()
    ticker = setInterval(() => (now.value = Date.now() / 1000), 500)
    armSwitch()
  }

  function stop(): void {
    if (ticker) clearInterval(ticker)
    ticker = null
    if (switchTimer) clearTimeout(switchTimer)
    switchTimer = null
  }

  return { current, upcoming, qrSrc, barcodeSrc, imageCode, imageError, shown, countdown, digits, imagesReady, show, clear, start, stop }
}
