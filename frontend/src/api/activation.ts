import { request } from '@/http/request'
import type { Authorization, PersonSummary, VoucherStatus } from './voucher'

export type PinMode = 'new' | 'existing'

/** schema: RealNameApiOutput */
export interface RealNameAnswer {
  activation_id: string
  next: 'liveness'
  person: PersonSummary
  pin_mode: PinMode
}

/** schema: LivenessStartApiOutput */
export interface LivenessChallenge {
  session_id: number
  nonce: string
  actions: string[]
  expires_at: string
  provider: string
  /** Where the provider lives, e.g. "/liveness-sim/" (same origin) or an absolute URL. */
  provider_url: string
}

/** What the liveness provider signed; passed to verify verbatim. */
export interface LivenessResult {
  result: Record<string, unknown>
  signature: string
}

/** schema: LivenessVerifyApiOutput */
export interface LivenessVerified {
  next: 'pin'
  pin_mode: PinMode
}

export type SimulatorOutcome = 'pass' | 'face_mismatch' | 'not_live'

/** schema: PinApiOutput */
export interface PinAnswer {
  next: 'done'
  voucher: { status: VoucherStatus }
  authorization: Authorization
}

export function submitRealName(name: string, idNumber: string): Promise<RealNameAnswer> {
  return request<RealNameAnswer>({
    url: '/api/activation/real-name',
    method: 'POST',
    data: { name, id_number: idNumber },
  })
}

export function startLiveness(activationId: string): Promise<LivenessChallenge> {
  return request<LivenessChallenge>({
    url: '/api/activation/liveness/start',
    method: 'POST',
    data: { activation_id: activationId },
  })
}

export function verifyLiveness(activationId: string, signed: LivenessResult): Promise<LivenessVerified> {
  return request<LivenessVerified>({
    url: '/api/activation/liveness/verify',
    method: 'POST',
    data: { activation_id: activationId, result: signed.result, signature: signed.signature },
  })
}

export function submitPin(activationId: string, pin: string, pinConfirm?: string): Promise<PinAnswer> {
  const data: Record<string, unknown> = { activation_id: activationId, pin }
  if (pinConfirm !== undefined) data.pin_confirm = pinConfirm
  return request<PinAnswer>({ url: '/api/activation/pin', method: 'POST', data })
}

/** `{provider_url}api/sessions/{nonce}/result`, tolerating a provider_url without the trailing slash. */
export function simulatorResultUrl(providerUrl: string, nonce: string): string {
  const base = providerUrl.endsWith('/') ? providerUrl : `${providerUrl}/`
  return `${base}api/sessions/${encodeURIComponent(nonce)}/result`
}

/**
 * Ask the local liveness simulator (the provider) for a signed result. The
 * bearer token is NOT sent: it belongs to the wallet, not to the provider.
 * No camera frame is ever sent anywhere; only the outcome.
 */
export function simulateLiveness(challenge: LivenessChallenge, outcome: SimulatorOutcome): Promise<LivenessResult> {
  return request<LivenessResult>({
    url: simulatorResultUrl(challenge.provider_url, challenge.nonce),
    method: 'POST',
    auth: false,
    data: { outcome },
  })
}
