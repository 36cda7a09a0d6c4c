import { request } from '@/http/request'

/** One payment as the person sees it (pending, or a record). Amounts are yuan strings. */
export interface Payment {
  id: string
  status: string
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

export interface RecordDetail extends Payment {
  setl_id: string
  setlinfo: Record<string, unknown>
  items: RecordItem[]
  explanation: unknown[]
  err_msg: string
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

export interface Balance {
  balance: string | null
  as_of: string | null
  stale: boolean
}

export function listPending(): Promise<Payment[]> {
  return request<Payment[]>({ url: '/api/payments/pending' })
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
