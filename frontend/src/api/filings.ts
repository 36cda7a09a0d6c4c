/**
 * 异地就医备案: the /api/filings/ endpoints (issue #14; docs/subsystems/filing.md).
 * Typed endpoint functions only. Dates are ISO `YYYY-MM-DD` strings; ids are
 * the API's public id strings. Creating a filing carries an Idempotency-Key
 * (one per attempt: a refused attempt is over, a corrected one is new).
 *
 * The interfaces naming a `schema:` component are checked against the
 * published OpenAPI schema by tests/common/test_schema_conformance.py.
 */
import { request } from '@/http/request'

/** referrals.enums.FilingType: three long-term, three temporary. */
export type FilingType =
  | 'retired_resettled'
  | 'long_term_residence'
  | 'stationed_work'
  | 'referral'
  | 'emergency'
  | 'temporary_other'

/** The settlement engine's kind of a type (what decides the ratio adjustment). */
export type FilingKind = 'long_term' | 'referral' | 'emergency' | 'temporary_other'

/** referrals.enums.FilingStatus */
export type FilingStatus = 'active' | 'cancelled' | 'expired'

/** referrals.enums.FilingBasis: 承诺制 (a commitment statement), 证明材料 (a declared document), or none needed (emergency). */
export type FilingBasis = 'commitment' | 'proof' | 'not_required'

/** referrals.enums.FilingSource: filed by the person in the app, or by the referring hospital (2501). */
export type FilingSource = 'app' | 'hospital'

/** referrals.enums.ProofDocType */
export type ProofDocType =
  | 'residence_permit'
  | 'household_register'
  | 'resettlement_certificate'
  | 'labor_contract'
  | 'referral_certificate'
  | 'other'

/** referrals.enums.CancelReason: why a filing is cancelled or its destination changed. */
export type CancelReason = 'returned' | 'info_error' | 'work_change' | 'family_change' | 'other'

/** The declared document (type and number; nothing is uploaded). */
export interface FilingProof {
  doc_type: ProofDocType
  doc_no: string
}

/** Referral details as sent (异地转诊转院): the referring institution, the diagnosis, the receiving institutions. */
export interface FilingReferralInput {
  reflin_medins_no: string
  reflin_medins_name: string
  diag_code: string
  diag_name: string
  dise_cond_dscr: string
  institutions: string[]
}

/** Referral details as answered (schema: ReferralOutput); the receiving institutions are the filing's `institutions`. */
export interface FilingReferral {
  reflin_medins_no: string
  reflin_medins_name: string
  diag_code: string
  diag_name: string
  dise_cond_dscr: string
}

/** A destination over time (schema: DestinationOutput): a bill is covered by the one in force on its date. */
export interface FilingDestination {
  dest_admdvs: string
  dest_name: string
  since: string
  /** null: still in force */
  until: string | null
}

/** One filing as its person sees it (schema: FilingOutput). Dates YYYY-MM-DD, times ISO. */
export interface Filing {
  id: string
  filing_no: string
  type: FilingType
  type_name: string
  kind: FilingKind
  status: FilingStatus
  status_name: string
  basis: FilingBasis
  basis_name: string
  source: FilingSource
  insured_region: string
  /** a city, or a whole province (xx0000) */
  dest_admdvs: string
  dest_name: string
  begin_date: string
  /** null: long-term, valid until cancelled */
  end_date: string | null
  /** from when the current destination covers bills (the begin date, or the last change) */
  dest_since: string
  /** the destinations over time, oldest first */
  destinations: FilingDestination[]
  /** 补办: filed after treatment began */
  late: boolean
  institutions: string[]
  referral: FilingReferral | null
  created_at: string
  cancelled_at: string | null
  can_cancel: boolean
  /** cancelling / changing now needs a reason the insured region accepts (long-term, before its minimum period) */
  reason_required: boolean
  can_change: boolean
  /** long-term: from this date no reason is needed (null: any time, or unknown) */
  change_free_from: string | null
  /** a temporary filing within the reminder window of its end date */
  expiring: boolean
  /** the rule for cancelling / changing, in Chinese */
  cancel_rule: string
}

/** A reason for cancelling / changing (schema: ReasonOutput). */
export interface FilingReason {
  code: CancelReason
  name: string
  /** counts before a long-term filing's minimum period */
  accepted_early: boolean
}

/** GET /api/filings/rules: the person's insured region's filing rules (schema: FilingRulesApiOutput). */
export interface FilingRules {
  insured_region: string
  insured_region_name: string
  open: boolean
  long_term_min_months: number
  temporary_valid_months: number
  late_filing_days: number
  /** the latest begin date, in days from today */
  max_days_ahead: number
  reminder_days: number
  unfiled: 'refuse' | 'lowest_ratio'
  same_province: 'local' | 'filed'
  /** the ratio adjustment per kind, in permille points (0 or negative: -200 = 20 points lower) */
  adjust_permille: Partial<Record<FilingKind, number>>
  reasons: FilingReason[]
  /** the commitment statement (承诺书) to show and accept */
  commitment_text: string
  emergency_note: string
}

/** schema: RegionCityOutput */
export interface RegionCity {
  code: string
  name: string
}

/** schema: RegionProvinceOutput */
export interface RegionProvince {
  /** xx0000: choosing it files for the whole province */
  code: string
  name: string
  cities: RegionCity[]
}

/** GET /api/filings/regions: the province/city picker's data (schema: FilingRegionsApiOutput). */
export interface FilingRegions {
  provinces: RegionProvince[]
}

export interface CreateFilingInput {
  type: FilingType
  dest_admdvs: string
  begin_date: string
  end_date?: string
  /** omitted for emergency without documents (answered as basis not_required) */
  basis?: 'commitment' | 'proof'
  commitment_accepted?: boolean
  proof?: FilingProof
  referral?: FilingReferralInput
}

/** A fresh Idempotency-Key (32 hex; not a secret). */
export function newFilingKey(random: () => number = Math.random): string {
  let out = ''
  for (let i = 0; i < 32; i += 1) out += Math.floor(random() * 16).toString(16)
  return out
}

export function listFilings(): Promise<Filing[]> {
  return request<Filing[]>({ url: '/api/filings' })
}

export function getFiling(id: string): Promise<Filing> {
  return request<Filing>({ url: `/api/filings/${encodeURIComponent(id)}` })
}

export function createFiling(input: CreateFilingInput, idempotencyKey: string): Promise<Filing> {
  return request<Filing>({ url: '/api/filings', method: 'POST', data: { ...input }, idempotencyKey })
}

export function cancelFiling(id: string, reason?: CancelReason): Promise<Filing> {
  return request<Filing>({
    url: `/api/filings/${encodeURIComponent(id)}/cancel`,
    method: 'POST',
    data: reason ? { reason } : {},
  })
}

export function changeFilingDestination(id: string, destAdmdvs: string, reason?: CancelReason): Promise<Filing> {
  return request<Filing>({
    url: `/api/filings/${encodeURIComponent(id)}/change`,
    method: 'POST',
    data: reason ? { dest_admdvs: destAdmdvs, reason } : { dest_admdvs: destAdmdvs },
  })
}

export function getFilingRules(): Promise<FilingRules> {
  return request<FilingRules>({ url: '/api/filings/rules' })
}

export function getFilingRegions(): Promise<FilingRegions> {
  return request<FilingRegions>({ url: '/api/filings/regions' })
}
