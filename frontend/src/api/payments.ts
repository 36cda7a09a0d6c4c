import { request } from '@/http/request'

/** wallet.enums.PaymentStatus */
export type PaymentStatus =
  | 'received'
  | 'awaiting_confirmation'
  | 'confirmed'
  | 'submitted'
  | 'unknown'
  | 'settled'
  | 'failed'
  | 'declined'
  | 'expired'
  | 'reversed'

/** One payment as the person sees it (pending, or a record; schema: PaymentOutput). Amounts are yuan strings ("12.50"). */
export interface Payment {
  id: string
  status: PaymentStatus
  status_name: string
  institution: string
  fixmedins_code: string
  created_at: string
  settled_at: string | null
  reversed_at: string | null
  medfee_sumamt: string
  fund_pay_sumamt: string
  acct_pay: string
  acct_mulaid_pay: string
  psn_cash_pay: string
  confirmation_required: boolean
  confirm_deadline: string | null
}

export interface RecordItem {
  med_list_codg?: string
  med_list_name?: string
  det_item_fee_sumamt?: string
  fulamt_ownpay_amt?: string
  overlmt_amt?: string
  preselfpay_amt?: string
  inscp_scp_amt?: string
  memo?: string
  [key: string]: unknown
}

/** Cross-province: the filing a bill was settled under (schema: RecordFiling). */
export interface RecordFiling {
  /** the filing number; '' for emergency or unfiled */
  trt_dcla_detl_sn: string
  filing_name: string
  filing_kind: string
  mdtrtarea_admvs: string
}

/** GET /api/records/{id} (schema: RecordDetailApiOutput): the core's answer, ID numbers masked. */
export interface RecordDetail extends Payment {
  setl_id: string
  setlinfo: Record<string, unknown>
  /** per line item (detlcutinfo) */
  items: RecordItem[]
  /** per fund (setldetail); empty from an older core */
  funds: Record<string, unknown>[]
  /** the policy engine's explanation of the split, one line each */
  explanation: string[]
  err_msg: string
  /** cross-province: the filing used (null: a local bill) */
  filing: RecordFiling | null
}

/** The `payment.confirm` push (and the same fields from /api/payments/pending). */
export interface ConfirmRequest {
  id: string
  institution: string
  medfee_sumamt: string
  acct_pay: string
  psn_cash_pay: string
  fund_pay_sumamt: string
  /** ISO time; the terminal's request lapses after it */
  expires_at: string | null
}

/** GET /api/account/balance (schema: BalanceApiOutput) */
export interface Balance {
  /** yuan string; null when the core was never reached */
  balance: string | null
  as_of: string | null
  /** the cached value, the core being unreachable */
  stale: boolean
}

/** GET /api/notifications (schema: NotificationListApiOutput) */
export interface Notification {
  kind: 'account.credited' | 'mulaid.used'
  title: string
  message: string
  /** yuan string */
  amount: string
  at: string
  /** mulaid.used: the relative whose bill my account paid */
  relative_name?: string
  /** mulaid.used: where */
  institution?: string
  /** mulaid.used: yuan left of the annual cap (null: no cap) */
  remaining_annual_cap?: string | null
}

/** Confirmations waiting for the PIN: mine, or a bound relative's with `person` = the binding id
 * (GET /api/family/relatives/{id}/payments/pending; confirmed with the relative's PIN). */
export function listPending(person = ''): Promise<Payment[]> {
  return request<Payment[]>({
    url: person ? `/api/family/relatives/${encodeURIComponent(person)}/payments/pending` : '/api/payments/pending',
  })
}

export function confirmPayment(id: string, pin: string): Promise<Payment> {
  return request<Payment>({ url: `/api/payments/${encodeURIComponent(id)}/confirm`, method: 'POST', data: { pin } })
}

export function declinePayment(id: string): Promise<Payment> {
  return request<Payment>({ url: `/api/payments/${encodeURIComponent(id)}/decline`, method: 'POST' })
}

export function listRecords(): Promise<Payment[]> {
  return request<Payment[]>({ url: '/api/records' })
}

export function getRecord(id: string): Promise<RecordDetail> {
  return request<RecordDetail>({ url: `/api/records/${encodeURIComponent(id)}` })
}

export function getBalance(refresh = false): Promise<Balance> {
  return request<Balance>({ url: `/api/account/balance${refresh ? '?refresh=1' : ''}` })
}

export function listNotifications(): Promise<Notification[]> {
  return request<Notification[]>({ url: '/api/notifications' })
}
