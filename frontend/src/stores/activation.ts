import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import {
  simulateLiveness,
  startLiveness,
  submitPin as apiSubmitPin,
  submitRealName,
  verifyLiveness,
  type LivenessChallenge,
  type PinMode,
  type SimulatorOutcome,
} from '@/api/activation'
import type { Authorization, PersonSummary } from '@/api/voucher'
import { ApiError, isApiError } from '@/http/errors'
import { normaliseIdNumber, type WizardStep } from '@/utils/activation'

function asApiError(err: unknown): ApiError {
  return isApiError(err) ? err : new ApiError({ kind: 'http', code: 'UNEXPECTED', message: '出现未知错误，请稍后重试' })
}

/**
 * The activation wizard: 身份信息 → 人脸识别 → 支付密码 → 完成.
 *
 * Every step calls the API and moves on only when it answers; a failure is
 * kept as `error` (an ApiError with the server's code, message and detail)
 * and the step stays where it is, so the page can show the error and its way
 * out. `retry()` repeats the request that failed.
 */
export const useActivationStore = defineStore('activation', () => {
  const step = ref<WizardStep>('identity')
  const busy = ref(false)
  const error = ref<ApiError | null>(null)
  const activationId = ref<string | null>(null)
  const person = ref<PersonSummary | null>(null)
  const pinMode = ref<PinMode>('new')
  const challenge = ref<LivenessChallenge | null>(null)
  const authorization = ref<Authorization | null>(null)
  let lastAttempt: (() => Promise<void>) | null = null

  const stepIndex = computed(() => ['identity', 'liveness', 'pin', 'done'].indexOf(step.value))

  function reset(): void {
    step.value = 'identity'
    busy.value = false
    error.value = null
    activationId.value = null
    person.value = null
    pinMode.value = 'new'
    challenge.value = null
    authorization.value = null
    lastAttempt = null
  }

  function clearError(): void {
    error.value = null
  }

  /** Run one API step: busy flag, error capture, remember it for retry(). Resolves true on success. */
  async function attempt(run: () => Promise<void>): Promise<boolean> {
    lastAttempt = run
    busy.value = true
    error.value = null
    try {
      await run()
      return true
    } catch (err) {
      error.value = asApiError(err)
      return false
    } finally {
      busy.value = false
    }
  }

  function submitIdentity(name: string, idNumber: string): Promise<boolean> {
    return attempt(async () => {
      const answer = await submitRealName(name.trim(), normaliseIdNumber(idNumber))
      activationId.value = answer.activation_id
      person.value = answer.person
      pinMode.value = answer.pin_mode === 'existing' ? 'existing' : 'new'
      challenge.value = null
      step.value = 'liveness'
    })
  }

  function requireActivation(): string {
    if (!activationId.value) {
      throw new ApiError({ kind: 'business', code: 'ACTIVATION_NOT_FOUND', message: '激活流程已失效，请重新开始' })
    }
    return activationId.value
  }

  /** Ask for a (new) liveness challenge: nonce, actions, expiry, provider. */
  function beginLiveness(): Promise<boolean> {
    return attempt(async () => {
      challenge.value = null
      step.value = 'liveness'
      challenge.value = await startLiveness(requireActivation())
    })
  }

  /**
   * The provider's verdict (today: the local simulator, asked for `outcome`),
   * passed verbatim to the wallet for verification.
   */
  function finishLiveness(outcome: SimulatorOutcome): Promise<boolean> {
    return attempt(async () => {
      const id = requireActivation()
      const current = challenge.value
      if (!current) throw new ApiError({ kind: 'business', code: 'LIVENESS_NONCE_UNKNOWN', message: '人脸识别尚未开始，请重新进行人脸识别' })
      const signed = await simulateLiveness(current, outcome)
      const answer = await verifyLiveness(id, signed)
      if (answer.pin_mode === 'new' || answer.pin_mode === 'existing') pinMode.value = answer.pin_mode
      challenge.value = null
      step.value = 'pin'
    })
  }

  /** pin_mode new: pin + confirmation; existing: the PIN set on another channel. */
  function submitPin(pin: string, pinConfirm?: string): Promise<boolean> {
    return attempt(async () => {
      const answer = await apiSubmitPin(requireActivation(), pin, pinMode.value === 'new' ? pinConfirm ?? pin : undefined)
      authorization.value = answer.authorization
      step.value = 'done'
    })
  }

  async function retry(): Promise<boolean> {
    if (!lastAttempt) return false
    return attempt(lastAttempt)
  }

  return {
    step,
    stepIndex,
    busy,
    error,
    activationId,
    person,
    pinMode,
    challenge,
    authorization,
    reset,
    clearError,
    submitIdentity,
    beginLiveness,
    finishLiveness,
    submitPin,
    retry,
  }
})
