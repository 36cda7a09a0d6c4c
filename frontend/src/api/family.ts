/**
 * 亲情账户 and 家庭共济: the /api/family/ endpoints (docs: notes of issue #13,
 * docs/subsystems/family.md once it lands). Typed endpoint functions only.
 *
 * Amounts are yuan strings ("12.50"), never numbers; ids are the API's public
 * id strings. Writes that create something carry an Idempotency-Key.
 */
import { request } from '@/http/request'

export type Relation = 'spouse' | 'parent' | 'child' | 'sibling' | 'grandparent' | 'grandchild'
export type Consent = 'liveness' | 'invitation' | 'guardian'
export type BindingStatus = 'pending' | 'active' | 'ended'
export type RelationCheck = 'verified' | 'pending' | 'refuted'
export type GuardianDocType = 'hukou' | 'birth_cert'
export type MutualAidStatus = 'active' | 'revoked' | 'ended'
export type MutualAidMode = 'direct' | 'set_aside'

/** The relative as the binder sees them, masked (schema: RelativeOutput). */
export interface RelativePerson {
  name: string
  id_number_masked: string
  age: number
  /** '1' male, '2' female */
  gender: string
  insutype: string
  insured_region: string
}

/** A mutual-aid authorisation, 共济授权 (schema: MutualAidOutput). Amounts: yuan strings or null (no cap). */
export interface MutualAid {
  id: string
  status: MutualAidStatus
  mode: MutualAidMode
  annual_cap: string | null
  bill_cap: string | null
  confirm_above: string | null
  /** yuan frozen for this relative ('0.00' in direct mode) */
  set_aside: string
  used_this_year: string
  remaining_annual_cap: string | null
  version: number
  binding_id: string
  created_at: string
  ended_at: string | null
  ended_reason: string
}

/** A binding as its binder sees it (schema: BindingOutput). */
export interface Binding {
  id: string
  relation: Relation
  relation_name: string
  relative: RelativePerson
  status: BindingStatus
  consent: Consent
  relation_check: RelationCheck
  proxy_voucher: boolean
  /** the relative's e-voucher is active (own or proxy) */
  voucher_active: boolean
  /** the relative activated on a phone of their own */
  own_phone: boolean
  can_show_code: boolean
  created_at: string
  activated_at: string | null
  ended_at: string | null
  mutual_aid: MutualAid | null
}

/** A binding as the relative sees it, who bound me (schema: BinderOutput). */
export interface BinderView {
  id: string
  binder_name_masked: string
  binder_id_number_masked: string
  /** my relation to the binder */
  relation: Relation
  relation_name: string
  status: BindingStatus
  consent: Consent
  created_at: string
  activated_at: string | null
  /** false while the relative is under 16 (FAMILY_END_NOT_ALLOWED) */
  can_end: boolean
}

export interface GuardianDetails {
  doc_type: GuardianDocType
  doc_no: string
  commitment_accepted: true
}

export interface AddRelativeInput {
  relation: Relation
  name: string
  id_number: string
  consent: Consent
  guardian?: GuardianDetails
}

/** schema: LivenessStartOutput */
export interface FamilyLivenessChallenge {
  nonce: string
  actions: string[]
  expires_at: string
  provider: string
  provider_url: string
}

/** schema: RelativeInvitationApiOutput */
export interface Invitation {
  token: string
  url: string
  expires_at: string
}

export type InvitationStatus = 'open' | 'used' | 'expired'

/** schema: InvitationDetailApiOutput */
export interface InvitationView {
  binder_name_masked: string
  /** my relation to the binder */
  relation: Relation
  relation_name: string
  expires_at: string
  status: InvitationStatus
}

/** schema: BalanceApiOutput */
export interface FamilyBalance {
  balance: string | null
  as_of: string | null
  stale: boolean
}

export type CodeViewKind = 'shown' | 'scanned'

/** Who showed my code (shown), and where a code so shown was scanned (schema: CodeViewListApiOutput). */
export interface CodeView {
  binder_name_masked: string
  binding_id: string
  kind: CodeViewKind
  shown_at: string
  channel: string
  channel_name: string
  institution: string
}

export interface MutualAidInput {
  annual_cap?: string | null
  bill_cap?: string | null
  confirm_above?: string | null
  mode?: MutualAidMode
  set_aside?: string | null
}

/** One use of my account for a relative (schema: LedgerRowOutput). */
export interface LedgerEntry {
  at: string
  institution: string
  relative_name: string
  /** the binding's id */
  relative_id: string
  /** yuan paid from my account */
  amount: string
  remaining_annual_cap: string | null
  setl_id: string
  status: 'settled' | 'reversed'
  payment_id: string
}

/** A mutual-aid part waiting for the payer's own PIN (schema: PayerConfirmationOutput). */
export interface PayerConfirmation {
  /** the payment's id */
  id: string
  relative_name: string
  institution: string
  /** yuan from my account */
  amount: string
  medfee_sumamt: string
  expires_at: string
}

/** schema: RelativePinApiOutput */
export interface RelativePinAnswer {
  proxy: boolean
  binding: Binding
}

/** schema: BinderEndApiOutput */
export interface BinderEnded {
  id: string
  status: BindingStatus
  ended_at: string | null
}

/** The relative accepted an invitation (schema: InvitationLivenessVerifyApiOutput). */
export interface InvitationAccepted {
  id: string
  status: BindingStatus
  binder_name_masked: string
  relation: Relation
}

function path(...parts: string[]): string {
  return parts.map((p) => encodeURIComponent(p)).join('/')
}

/** A fresh key for one create (a retry of the same tap reuses it). */
export function newIdempotencyKey(random: () => number = Math.random): string {
  let out = ''
  for (let i = 0; i < 32; i += 1) out += Math.floor(random() * 16).toString(16)
  return out
}

// --- bindings (the binder) -----------------------------------------------------------------

export function listRelatives(): Promise<Binding[]> {
  return request<Binding[]>({ url: '/api/family/relatives' })
}

export function addRelative(input: AddRelativeInput, idempotencyKey: string): Promise<Binding> {
  return request<Binding>({
    url: '/api/family/relatives',
    method: 'POST',
    data: input as unknown as Record<string, unknown>,
    idempotencyKey,
  })
}

export function getRelative(id: string): Promise<Binding> {
  return request<Binding>({ url: `/api/family/relatives/${path(id)}` })
}

export function startRelativeLiveness(id: string): Promise<FamilyLivenessChallenge> {
  return request<FamilyLivenessChallenge>({ url: `/api/family/relatives/${path(id)}/liveness/start`, method: 'POST' })
}

export function verifyRelativeLiveness(id: string, signed: { result: Record<string, unknown>; signature: string }): Promise<Binding> {
  return request<Binding>({
    url: `/api/family/relatives/${path(id)}/liveness/verify`,
    method: 'POST',
    data: { result: signed.result, signature: signed.signature },
  })
}

export function createInvitation(id: string, idempotencyKey: string): Promise<Invitation> {
  return request<Invitation>({ url: `/api/family/relatives/${path(id)}/invitation`, method: 'POST', idempotencyKey })
}

export function endRelative(id: string): Promise<Binding> {
  return request<Binding>({ url: `/api/family/relatives/${path(id)}/end`, method: 'POST' })
}

export function setRelativePin(id: string, pin: string, pinConfirm: string): Promise<RelativePinAnswer> {
  return request<RelativePinAnswer>({
    url: `/api/family/relatives/${path(id)}/pin`,
    method: 'POST',
    data: { pin, pin_confirm: pinConfirm },
  })
}

export function listRelativeRecords(id: string): Promise<import('./payments').Payment[]> {
  return request({ url: `/api/family/relatives/${path(id)}/records` })
}

export function getRelativeRecord(id: string, recordId: string): Promise<import('./payments').RecordDetail> {
  return request({ url: `/api/family/relatives/${path(id)}/records/${path(recordId)}` })
}

export function getRelativeBalance(id: string): Promise<FamilyBalance> {
  return request<FamilyBalance>({ url: `/api/family/relatives/${path(id)}/balance` })
}

// --- the relative's side -------------------------------------------------------------------

export function getInvitation(token: string): Promise<InvitationView> {
  return request<InvitationView>({ url: `/api/family/invitations/${path(token)}` })
}

export function startInvitationLiveness(token: string): Promise<FamilyLivenessChallenge> {
  return request<FamilyLivenessChallenge>({ url: `/api/family/invitations/${path(token)}/liveness/start`, method: 'POST' })
}

export function acceptInvitation(token: string, signed: { result: Record<string, unknown>; signature: string }): Promise<InvitationAccepted> {
  return request<InvitationAccepted>({
    url: `/api/family/invitations/${path(token)}/liveness/verify`,
    method: 'POST',
    data: { result: signed.result, signature: signed.signature },
  })
}

export function listBinders(): Promise<BinderView[]> {
  return request<BinderView[]>({ url: '/api/family/binders' })
}

export function endBinder(id: string): Promise<BinderEnded> {
  return request<BinderEnded>({ url: `/api/family/binders/${path(id)}/end`, method: 'POST' })
}

export function listCodeViews(): Promise<CodeView[]> {
  return request<CodeView[]>({ url: '/api/family/code-views' })
}

// --- mutual aid (the payer) ----------------------------------------------------------------

export function authoriseMutualAid(id: string, input: MutualAidInput, idempotencyKey: string): Promise<MutualAid> {
  return request<MutualAid>({
    url: `/api/family/relatives/${path(id)}/mutual-aid`,
    method: 'POST',
    data: input as Record<string, unknown>,
    idempotencyKey,
  })
}

/**
 * Change caps / mode / set-aside. The contract says PATCH; wx.request has no
 * PATCH (see http/request.ts), so the change is sent as PUT with the same body.
 */
export function updateMutualAid(id: string, input: MutualAidInput): Promise<MutualAid> {
  return request<MutualAid>({
    url: `/api/family/relatives/${path(id)}/mutual-aid`,
    method: 'PUT',
    data: input as Record<string, unknown>,
  })
}

export function revokeMutualAid(id: string): Promise<MutualAid> {
  return request<MutualAid>({ url: `/api/family/relatives/${path(id)}/mutual-aid/revoke`, method: 'POST' })
}

export function listMutualAidLedger(relativeId?: string): Promise<LedgerEntry[]> {
  const query = relativeId ? `?relative=${encodeURIComponent(relativeId)}` : ''
  return request<LedgerEntry[]>({ url: `/api/family/mutual-aid/ledger${query}` })
}

/** The invitation link's QR (SVG text on H5, PNG bytes on mini-programs), as the code images are fetched. */
export function getInvitationQrSvg(token: string): Promise<string> {
  return request<string>({ url: `/api/family/invitations/${path(token)}/qr?format=svg`, responseType: 'text' })
}

export function getInvitationQrPng(token: string): Promise<ArrayBuffer> {
  return request<ArrayBuffer>({ url: `/api/family/invitations/${path(token)}/qr?format=png`, responseType: 'arraybuffer' })
}

/** The relative's payments waiting for THEIR PIN (polling fallback of the code page showing their code). */
export function listRelativePending(id: string): Promise<import('./payments').Payment[]> {
  return request({ url: `/api/family/relatives/${path(id)}/payments/pending` })
}

export function listPayerConfirmations(): Promise<PayerConfirmation[]> {
  return request<PayerConfirmation[]>({ url: '/api/family/mutual-aid/confirmations' })
}

export function confirmAsPayer(paymentId: string, pin: string): Promise<{ id: string; status: string }> {
  return request({ url: `/api/family/mutual-aid/confirmations/${path(paymentId)}/confirm`, method: 'POST', data: { pin } })
}

export function declineAsPayer(paymentId: string): Promise<{ id: string; status: string }> {
  return request({ url: `/api/family/mutual-aid/confirmations/${path(paymentId)}/decline`, method: 'POST' })
}
