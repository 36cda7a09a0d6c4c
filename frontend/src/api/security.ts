import { request } from '@/http/request'
import type { LivenessResult } from './activation'
import type { Authorization, VoucherStatus } from './voucher'

/** The person's own PIN and voucher security (wallet/apis.py, docs/subsystems/security.md). */

/** schema: SecurityNoticeKindEnum */
export type SecurityNoticeKind = 'pin.changed' | 'pin.reset' | 'voucher.frozen' | 'voucher.unfrozen'

/** What the person is told after a change, reset, freeze or unfreeze (also pushed). */
export interface SecurityNotice {
  kind: SecurityNoticeKind
  channel: string
  channel_name: string
  /** ISO 8601 */
  at: string
  title: string
  /** Names the channel and the time, and what to do if it was not you. */
  message: string
}

/** POST /api/pin/change (schema: PinChangeApiOutput) */
export interface PinChanged extends SecurityNotice {
  /** payments that were waiting for the old PIN, now cancelled */
  payments_cancelled: number
}

/** POST /api/pin/forgot/complete (schema: PinForgotCompleteApiOutput) */
export interface PinReset extends PinChanged {
  /** the PIN was locked and is unlocked now */
  unlocked: boolean
  /** a staff-started reset ticket was completed */
  ticket_completed: boolean
}

/** A liveness challenge for one's own face (schema: SecurityLivenessChallengeOutput) */
export interface SecurityChallenge {
  reset_id: string
  nonce: string
  actions: string[]
  expires_at: string
  provider: string
  provider_url: string
}

/** POST /api/pin/forgot/liveness/start (schema: PinForgotLivenessStartApiOutput) */
export interface ForgotChallenge extends SecurityChallenge {
  /** support staff started a PIN reset for you: completing this flow completes it */
  reset_ticket: boolean
}

/** schema: SecurityEventOutput */
export interface SecurityEvent {
  action: string
  outcome: 'success' | 'failure'
  title: string
  code: string
  /** 本人 / 医保客服 / 系统 */
  by: string
  channel: string
  channel_name: string
  at: string
}

/** GET /api/security (schema: SecurityApiOutput) */
export interface SecurityOverview {
  voucher: {
    status: VoucherStatus
    frozen_by_self: boolean
    pin_locked: boolean
    pin_locked_until: string | null
    pin_tries_left: number
  }
  channels: Authorization[]
  events: SecurityEvent[]
  reset_ticket: { expires_at: string } | null
  limits: { changes_per_day: number; resets_per_day: number }
}

export function getSecurity(): Promise<SecurityOverview> {
  return request<SecurityOverview>({ url: '/api/security' })
}

/** `idempotencyKey`: reuse it when retrying after a network failure (a retry then gets the first answer). */
export function changePin(oldPin: string, newPin: string, newPinConfirm: string, idempotencyKey?: string): Promise<PinChanged> {
  return request<PinChanged>({
    url: '/api/pin/change',
    method: 'POST',
    data: { old_pin: oldPin, new_pin: newPin, new_pin_confirm: newPinConfirm },
    idempotencyKey,
  })
}

export function startForgotPin(): Promise<ForgotChallenge> {
  return request<ForgotChallenge>({ url: '/api/pin/forgot/liveness/start', method: 'POST' })
}

export function verifyForgotPin(resetId: string, signed: LivenessResult): Promise<{ next: 'pin'; pin_until: string }> {
  return request({ url: '/api/pin/forgot/liveness/verify', method: 'POST', data: { reset_id: resetId, ...signed } })
}

export function completeForgotPin(
  resetId: string,
  newPin: string,
  newPinConfirm: string,
  idempotencyKey?: string,
): Promise<PinReset> {
  return request<PinReset>({
    url: '/api/pin/forgot/complete',
    method: 'POST',
    data: { reset_id: resetId, new_pin: newPin, new_pin_confirm: newPinConfirm },
    idempotencyKey,
  })
}

export function freezeVoucher(): Promise<{ status: VoucherStatus; already: boolean }> {
  return request({ url: '/api/voucher/freeze', method: 'POST' })
}

export function startUnfreeze(): Promise<SecurityChallenge> {
  return request<SecurityChallenge>({ url: '/api/voucher/unfreeze/liveness/start', method: 'POST' })
}

export function verifyUnfreeze(resetId: string, signed: LivenessResult): Promise<{ status: VoucherStatus }> {
  return request({ url: '/api/voucher/unfreeze/liveness/verify', method: 'POST', data: { reset_id: resetId, ...signed } })
}
