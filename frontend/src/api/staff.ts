/**
 * 客服工作台 (the support-staff console): the /api/staff/ endpoints (issue #15;
 * docs/subsystems/staff.md). Typed endpoint functions only.
 *
 * A staff session is a Django session cookie (password + TOTP at login), not a
 * bearer token: every call goes with `auth: false` (the person's token and its
 * refresh never take part) and every POST carries `X-CSRFToken`, asked once
 * from `GET auth/csrf` and again after login (Django rotates it) or after a
 * CSRF_FAILED. A 401 rejects with an ApiError of kind 'auth'; the console's
 * session composable sends the user to the login page.
 *
 * The interfaces naming a `schema:` component are checked against the
 * published OpenAPI schema by tests/common/test_schema_conformance.py, the
 * unions by tests/staff/test_console_types.py.
 */
import { request, type Method } from '@/http/request'
import { isApiError } from '@/http/errors'

export const STAFF_API = '/api/staff'

/** staff.enums.Role */
export type StaffRole = 'agent' | 'supervisor' | 'auditor'

/** staff.enums.LookupBy */
export type StaffLookupBy = 'id_number' | 'psn_no' | 'name_birth'

/** staff.enums.RequestKind */
export type StaffRequestKind = 'unlock' | 'unfreeze'

/** staff.enums.RequestStatus */
export type StaffRequestStatus = 'pending' | 'approved' | 'denied' | 'cancelled'

/** staff.enums.AlertKind */
export type StaffAlertKind = 'lookup_limit' | 'login_throttled'

/** The signed-in staff member (schema: StaffMeOutput); permissions are codenames such as person_lookup. */
export interface StaffMe {
  username: string
  role: StaffRole
  team: string
  permissions: string[]
  idle_timeout_seconds: number
}

/** The CSRF token to send as X-CSRFToken (schema: StaffCsrfApiOutput). */
export interface StaffCsrf {
  csrf_token: string
}

/** One match of a lookup, with the case that every action on the person names (schema: PersonSummaryOutput). */
export interface StaffPersonSummary {
  case_id: string
  psn_no: string
  name: string
  id_number_masked: string
  gender: string
  birth_date: string
  insutype: string
  insured_region: string
  voucher_status: string | null
  expires_at: string
}

/** schema: LookupApiOutput */
export interface LookupResult {
  results: StaffPersonSummary[]
}

/** The voucher as staff see it: never a PIN or its hash (schema: CaseVoucherOutput). */
export interface CaseVoucher {
  status: string
  activated_at: string | null
  pin_set: boolean
  pin_locked: boolean
  pin_locked_until: string | null
  pin_failures: number
}

/** A channel authorisation (schema: CaseAuthorizationOutput). */
export interface CaseAuthorization {
  id: number
  channel: string
  status: string
  created_at: string
  revoked_at: string | null
}

/** A family binding either way, the other person masked (schema: CaseFamilyOutput). */
export interface CaseFamily {
  id: string | null
  direction: 'relative' | 'binder'
  relation_name: string | null
  other_name_masked: string
  other_id_number_masked: string
  status: string | null
  mutual_aid_status: string | null
}

/** A cross-province filing (schema: CaseFilingOutput). */
export interface CaseFiling {
  id: string
  filing_no: string
  type: string
  status: string
  dest_admdvs: string
  begin_date: string | null
  end_date: string | null
}

/** A recent payment; amount in yuan with two decimals (schema: CasePaymentOutput). */
export interface CasePayment {
  id: string
  institution: string
  amount: string
  status: string
  created_at: string
}

/** A PIN-reset ticket the person completes on their own phone (schema: TicketOutput). */
export interface ResetTicket {
  id: string
  status: string
  created_by: string
  team: string
  reason: string
  created_at: string
  expires_at: string
  closed_at: string | null
  channel: string
}

/** An unlock / unfreeze request awaiting a supervisor (schema: RequestOutput). */
export interface ApprovalRequest {
  id: string
  kind: StaffRequestKind
  status: StaffRequestStatus
  psn_no: string
  person_name: string
  id_number_masked: string
  team: string
  requested_by: string
  reason: string
  id_checked: boolean
  created_at: string
  decided_by: string | null
  decided_at: string | null
  decision_reason: string
}

/** schema: NoteOutput */
export interface CaseNote {
  id: number
  author: string
  text: string
  created_at: string
}

/** Other teams' open items on the person: counts only, never their details (schema: CaseOtherTeamsOutput). */
export interface CaseOtherTeamsOpen {
  reset_tickets: number
  requests: number
}

/** Everything the console shows about one person (schema: CaseOutput). */
export interface CaseView extends StaffPersonSummary {
  reason: string
  phone_masked: string | null
  enrolment_status: string
  voucher: CaseVoucher | null
  authorizations: CaseAuthorization[]
  family: CaseFamily[]
  filings: CaseFiling[]
  payments: CasePayment[]
  reset_tickets: ResetTicket[]
  requests: ApprovalRequest[]
  other_teams_open: CaseOtherTeamsOpen
  notes: CaseNote[]
}

/** schema: VoucherStateOutput */
export interface VoucherState {
  status: string
}

/** A supervisor's alert (schema: AlertListApiOutput). */
export interface StaffAlert {
  id: number
  kind: StaffAlertKind
  subject: string
  detail: Record<string, unknown>
  created_at: string
}

/** One audit event; seq null until sealed into the chain (schema: AuditEventOutput). */
export interface AuditEvent {
  id: number
  seq: number | null
  occurred_at: string
  action: string
  outcome: string
  actor: string
  psn_no: string | null
  channel: string
  ip: string | null
  code: string
  detail: Record<string, unknown>
  chain_hash: string
}

/** 50 events per page (schema: AuditListApiOutput). */
export interface AuditPage {
  count: number
  page: number
  results: AuditEvent[]
}

/** A signed checkpoint of the audit chain, kept outside the database (schema: AuditCheckpointOutput). */
export interface AuditCheckpoint {
  seq: number
  chain_hash: string
  created_at: string
  key_id: string
  signature_valid: boolean
  chain_consistent: boolean
}

/** The checkpoint store's last entry; problem blank when all is well (schema: AuditCheckpointApiOutput). */
export interface AuditCheckpointStatus {
  checkpoint: AuditCheckpoint | null
  problem: string
  interval_seconds: number
}

export interface LookupInput {
  by: StaffLookupBy
  id_number?: string
  psn_no?: string
  name?: string
  birth_date?: string
  reason: string
}

export interface AuditFilters {
  psn_no?: string
  actor?: string
  action?: string
  date_from?: string
  date_to?: string
}

// --- transport -------------------------------------------------------------------------

let csrfToken: string | null = null

/** Forget the CSRF token (after login/logout Django rotates it). */
export function resetCsrf(): void {
  csrfToken = null
}

export async function getCsrf(): Promise<StaffCsrf> {
  const answer = await request<StaffCsrf>({ url: `${STAFF_API}/auth/csrf`, auth: false })
  csrfToken = answer.csrf_token
  return answer
}

async function csrf(): Promise<string> {
  return csrfToken ?? (await getCsrf()).csrf_token
}

function staffGet<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T> {
  return request<T>({ url: `${STAFF_API}${path}${queryString(query)}`, auth: false })
}

async function staffSend<T>(path: string, data?: Record<string, unknown>, method: Method = 'POST'): Promise<T> {
  const send = async () =>
    request<T>({
      url: `${STAFF_API}${path}`,
      method,
      auth: false,
      data: data ?? {},
      header: { 'X-CSRFToken': await csrf() },
    })
  try {
    return await send()
  } catch (err) {
    // A stale token (rotated at another tab's login): ask again once.
    if (isApiError(err) && err.code === 'CSRF_FAILED') {
      resetCsrf()
      return send()
    }
    throw err
  }
}

/** `?a=1&b=x` from the non-empty values, in key order as given; '' when none. */
export function queryString(query?: Record<string, string | number | undefined>): string {
  if (!query) return ''
  const parts = Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
  return parts.length ? `?${parts.join('&')}` : ''
}

// --- endpoints -------------------------------------------------------------------------

export async function login(username: string, password: string, otp: string): Promise<StaffMe> {
  resetCsrf()
  const me = await staffSend<StaffMe>('/auth/login', { username, password, otp })
  resetCsrf() // rotated by the login
  return me
}

export async function logout(): Promise<void> {
  try {
    await staffSend<unknown>('/auth/logout')
  } finally {
    resetCsrf()
  }
}

export function me(): Promise<StaffMe> {
  return staffGet<StaffMe>('/auth/me')
}

export function lookup(input: LookupInput): Promise<LookupResult> {
  return staffSend<LookupResult>('/lookup', { ...input })
}

export function getCase(caseId: string): Promise<CaseView> {
  return staffGet<CaseView>(`/cases/${encodeURIComponent(caseId)}`)
}

export function startResetTicket(caseId: string, reason: string): Promise<ResetTicket> {
  return staffSend<ResetTicket>(`/cases/${encodeURIComponent(caseId)}/reset-tickets`, { reason })
}

export function cancelResetTicket(ticketId: string, reason: string): Promise<ResetTicket> {
  return staffSend<ResetTicket>(`/reset-tickets/${encodeURIComponent(ticketId)}/cancel`, { reason })
}

export function freeze(caseId: string, reason: string): Promise<VoucherState> {
  return staffSend<VoucherState>(`/cases/${encodeURIComponent(caseId)}/freeze`, { reason })
}

export function revokeAuthorization(caseId: string, authorizationId: number, reason: string): Promise<CaseAuthorization> {
  return staffSend<CaseAuthorization>(
    `/cases/${encodeURIComponent(caseId)}/authorizations/${authorizationId}/revoke`,
    { reason },
  )
}

export function annotate(caseId: string, text: string): Promise<CaseNote> {
  return staffSend<CaseNote>(`/cases/${encodeURIComponent(caseId)}/notes`, { text })
}

export function createRequest(
  caseId: string,
  kind: StaffRequestKind,
  reason: string,
  idChecked: boolean,
): Promise<ApprovalRequest> {
  return staffSend<ApprovalRequest>(`/cases/${encodeURIComponent(caseId)}/requests`, {
    kind,
    reason,
    id_checked: idChecked,
  })
}

export function listRequests(status?: StaffRequestStatus): Promise<ApprovalRequest[]> {
  return staffGet<ApprovalRequest[]>('/requests', { status })
}

export function decideRequest(requestId: string, approve: boolean, reason: string): Promise<ApprovalRequest> {
  return staffSend<ApprovalRequest>(`/requests/${encodeURIComponent(requestId)}/${approve ? 'approve' : 'deny'}`, {
    reason,
  })
}

export function withdrawRequest(requestId: string, reason: string): Promise<ApprovalRequest> {
  return staffSend<ApprovalRequest>(`/requests/${encodeURIComponent(requestId)}/withdraw`, { reason })
}

export function listAlerts(): Promise<StaffAlert[]> {
  return staffGet<StaffAlert[]>('/alerts')
}

export function auditEvents(filters: AuditFilters, page = 1): Promise<AuditPage> {
  return staffGet<AuditPage>('/audit/events', { ...filters, page })
}

export function auditCheckpoint(): Promise<AuditCheckpointStatus> {
  return staffGet<AuditCheckpointStatus>('/audit/checkpoint')
}

/** The filtered trail as CSV text (UTF-8, a BOM first). */
export function auditExport(filters: AuditFilters): Promise<string> {
  return request<string>({
    url: `${STAFF_API}/audit/export${queryString({ ...filters })}`,
    auth: false,
    responseType: 'text',
    timeout: 60000,
  })
}
