import { request } from '@/http/request'
import type { Channel } from '@/platform'

/** schema: PersonOutput */
export interface PersonSummary {
  name: string
  id_number_masked: string
  insutype: string
  insured_region: string
}

/** wallet.enums.VoucherStatus */
export type VoucherStatus = 'inactive' | 'active' | 'frozen' | 'revoked'

/** schema: VoucherSummaryOutput */
export interface VoucherSummary {
  status: VoucherStatus
  pin_locked: boolean
  pin_tries_left: number
}

/** GET /api/me (schema: MeApiOutput) */
export interface Me {
  channel: Channel
  channel_name: string
  /** activated in this channel: an active authorization for this login and an active voucher */
  activated: boolean
  person: PersonSummary | null
  voucher: VoucherSummary | null
}

/** wallet.enums.AuthorizationStatus */
export type AuthorizationStatus = 'active' | 'revoked'

/** A channel authorization (schema: AuthorizationOutput). */
export interface Authorization {
  id: number
  channel: Channel
  channel_name: string
  status: AuthorizationStatus
  created_at: string
  revoked_at: string | null
  /** the authorization of the login making the request */
  current: boolean
}

/** schema: DiagnosisCheckOutput */
export interface DiagnosisCheck {
  key: string
  /** null: could not be checked (e.g. the settlement core is unreachable). */
  ok: boolean | null
  title: string
  message: string
  advice: string
}

/** GET /api/voucher/diagnosis (schema: DiagnosisApiOutput) */
export interface Diagnosis {
  available: boolean
  checks: DiagnosisCheck[]
}

export function getMe(): Promise<Me> {
  return request<Me>({ url: '/api/me' })
}

export function listAuthorizations(): Promise<Authorization[]> {
  return request<Authorization[]>({ url: '/api/voucher/authorizations' })
}

export function revokeAuthorization(id: Authorization['id']): Promise<Authorization> {
  return request<Authorization>({
    url: `/api/voucher/authorizations/${encodeURIComponent(String(id))}/revoke`,
    method: 'POST',
  })
}

export function getDiagnosis(): Promise<Diagnosis> {
  return request<Diagnosis>({ url: '/api/voucher/diagnosis' })
}
