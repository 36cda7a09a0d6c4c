/**
 * 扫码识别: the person's code (typed, pasted, a USB scanner, or the camera)
 * → the decode call → name, ID, gender, birthday, region; then 1101 with the
 * ecToken for the insurance type and the balance.
 */
import { ref } from 'vue'
import { call, decode, type DecodeAnswer } from '@/api/terminal'
import { scannerAvailable, startScanner, type Scanner } from '@/platform/scanner'
import { digitsOnly } from '@/utils/code'
import { decodeErrorText } from '@/utils/terminal'
import { errText, type PosContext } from './context'

export type DecodedPerson = NonNullable<DecodeAnswer['data']>

export function usePersonDecode(ctx: PosContext, hooks: { decoded?: () => void } = {}) {
  const qrInput = ref('')
  const person = ref<DecodedPerson | null>(null)
  const insutype = ref('310')
  const balance = ref('')
  const error = ref<{ code: string; text: string } | null>(null)
  const scanning = ref(false)
  const canScan = scannerAvailable()
  let scanner: Scanner | null = null

  async function decodeCode(raw?: string): Promise<void> {
    const creds = ctx.creds.value
    if (!creds) return
    const code = digitsOnly(raw ?? qrInput.value)
    qrInput.value = code
    error.value = null
    if (!code) {
      error.value = { code: 'EMPTY', text: '请扫描或粘贴参保人的医保码' }
      return
    }
    ctx.busy.value = 'decode'
    try {
      const answer = await decode(creds, code)
      if (answer.code !== 0 || !answer.data) {
        const errorCode = answer.errorCode || String(answer.code)
        error.value = { code: errorCode, text: decodeErrorText(errorCode, answer.message) }
        if (errorCode === 'EC_NOT_SIGNED_IN') ctx.signNo.value = ''
        return
      }
      hooks.decoded?.()
      person.value = answer.data
      await loadPersonInfo(answer.data.ecToken)
    } catch (err) {
      error.value = { code: 'NETWORK', text: errText(err) }
    } finally {
      ctx.busy.value = ''
    }
  }

  /** 1101 with the ecToken: the person's insurance type (for the bill) and balance. */
  async function loadPersonInfo(ecToken: string): Promise<void> {
    const creds = ctx.creds.value
    if (!creds) return
    try {
      const answer = await call<{ insuinfo?: Array<{ insutype?: string; balc?: string | number }> }>(
        creds, '1101', { data: { mdtrt_cert_type: '01', mdtrt_cert_no: ecToken } }, ctx.signNo.value)
      const insu = answer.output?.insuinfo?.[0]
      if (answer.infcode === 0 && insu) {
        insutype.value = insu.insutype || '310'
        balance.value = insu.balc === undefined || insu.balc === null ? '' : String(insu.balc)
      }
    } catch {
      // the bill still works with the default insurance type
    }
  }

  function stopScanner(): void {
    scanner?.stop()
    scanner = null
    scanning.value = false
  }

  /** 摄像头扫码 (BarcodeDetector where the browser has it), or stop it. */
  async function toggleScan(): Promise<void> {
    if (scanning.value) {
      stopScanner()
      return
    }
    scanning.value = true
    try {
      scanner = await startScanner('#pos-camera', (code) => {
        scanning.value = false
        scanner = null
        void decodeCode(code)
      })
    } catch {
      scanning.value = false
      error.value = { code: 'CAMERA', text: '无法使用摄像头，请粘贴或手工输入医保码' }
    }
  }

  /** Forget the person (新交易). */
  function clear(): void {
    person.value = null
    balance.value = ''
    qrInput.value = ''
    error.value = null
  }

  return { qrInput, person, insutype, balance, error, scanning, canScan, decodeCode, toggleScan, stopScanner, clear }
}
