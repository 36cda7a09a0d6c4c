/** 签到 / 签退 of the POS terminal (9001 / 9002), or the demo institution's credentials. */
import { ref } from 'vue'
import { getDemoPharmacies, getDemoTerminal, type DemoPharmacy } from '@/api/demo'
import { call, signIn as signInCall } from '@/api/terminal'
import { isApiError } from '@/http/errors'
import type { TerminalCredentials } from '@/utils/terminal'
import { errText, type PosContext } from './context'

export function useTerminalSession(ctx: PosContext, hooks: { signedIn?: () => void; signingOut?: () => void } = {}) {
  const codeInput = ref('')
  const secretInput = ref('')
  const nameInput = ref('')
  const error = ref('')
  /** The demo pharmacies to choose from (loaded on demand) and the chosen one. */
  const demoPharmacies = ref<DemoPharmacy[]>([])
  const demoChoice = ref('')
  const demoListOpen = ref(false)

  async function signIn(): Promise<void> {
    const candidate: TerminalCredentials = {
      fixmedins_code: codeInput.value.trim(),
      fixmedins_name: nameInput.value,
      secret: secretInput.value.trim(),
    }
    if (!candidate.fixmedins_code || !candidate.secret) {
      error.value = '请输入机构编码和密钥'
      return
    }
    error.value = ''
    ctx.busy.value = 'signin'
    try {
      const answer = await signInCall(candidate)
      if (answer.infcode !== 0 || !answer.output?.signinoutb?.sign_no) {
        error.value = `签到失败：${answer.err_msg || answer.infcode}`
        return
      }
      ctx.creds.value = candidate
      ctx.signNo.value = answer.output.signinoutb.sign_no
      hooks.signedIn?.()
    } catch (err) {
      error.value = errText(err)
    } finally {
      ctx.busy.value = ''
    }
  }

  /** 选择演示机构: list the demo pharmacies by city (a bill in another province needs a filing). */
  async function chooseDemo(): Promise<void> {
    error.value = ''
    try {
      if (!demoPharmacies.value.length) demoPharmacies.value = await getDemoPharmacies()
      demoListOpen.value = !demoListOpen.value
    } catch (err) {
      error.value = isApiError(err) && err.status === 404 ? '当前环境不提供演示机构' : errText(err)
    }
  }

  function pickDemo(code: string): void {
    demoChoice.value = code
    demoListOpen.value = false
  }

  /** 使用演示机构: fetch the chosen (else the first) demo institution's credentials, then sign in at once. */
  async function useDemo(): Promise<void> {
    error.value = ''
    ctx.busy.value = 'demo'
    try {
      const demo = await getDemoTerminal(demoChoice.value || undefined)
      codeInput.value = demo.fixmedins_code
      secretInput.value = demo.secret
      nameInput.value = demo.fixmedins_name
    } catch (err) {
      error.value = isApiError(err) && err.status === 404 ? '当前环境不提供演示机构' : errText(err)
    } finally {
      ctx.busy.value = ''
    }
    if (codeInput.value && secretInput.value) await signIn()
  }

  /** 签退 (9002, best effort) and forget the terminal. */
  function signOut(): void {
    hooks.signingOut?.()
    const { creds, signNo } = ctx
    if (creds.value && signNo.value) {
      void call(creds.value, '9002', { signOut: { sign_no: signNo.value } }, signNo.value).catch(() => undefined)
    }
    creds.value = null
    signNo.value = ''
  }

  return {
    codeInput, secretInput, nameInput, error, signIn, useDemo, signOut,
    demoPharmacies, demoChoice, demoListOpen, chooseDemo, pickDemo,
  }
}
