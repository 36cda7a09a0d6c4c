import { request } from '@/http/request'
import type { Channel } from '@/platform'

export interface PersonSummary {
  name: string
  id_number_masked: string
  insutype: string
  insured_region: string
}

export interface VoucherSummary {
  status: 'inactive' | 'active' | 'frozen' | 'revoked' | string
  pin_locked: boolean
  pin_tries_left: number
}

/** GET /api/me */
export interface Me {
  channel: Channel
  channel_name: string
  activated: boolean
  person: PersonSummary | null
  voucher: VoucherSummary | null
}

export interface Authorization {
  id: number | string
  channel: Channel | string
  channel_name: string
  status: 'active' | 'revoked' | string
  created_at: string
  revoked_at?: string | null
  current?: boolean
}

export interface DiagnosisCheck {
  key: string
  /** null: could not be checked (e.g. the settlement core is unreachable). */
  ok: boolean | null
  title: string
  message: string
  advice: string
}

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
