/** Chinese names of the national setlinfo / setldetail fields, record display helpers (pure). */
import { formatDateTime } from './format'

/** setlinfo money fields, in the order a person reads them. */
export const SETLINFO_FIELDS: Array<[string, string]> = [
  ['medfee_sumamt', '医疗费总额'],
  ['fund_pay_sumamt', '基金支付'],
  ['hifp_pay', '统筹基金支付'],
  ['hifob_pay', '职工大额医疗费用补助'],
  ['hifmi_pay', '城乡居民大病保险'],
  ['cvlserv_pay', '公务员医疗补助'],
  ['maf_pay', '医疗救助'],
  ['acct_pay', '个人账户支付'],
  ['acct_mulaid_pay', '共济账户支付'],
  ['psn_cash_pay', '现金支付'],
  ['psn_part_amt', '个人负担总额'],
  ['act_pay_dedc', '起付线'],
  ['pool_prop_selfpay', '统筹段个人自付'],
  ['inscp_scp_amt', '符合政策范围金额'],
  ['fulamt_ownpay_amt', '全自费金额'],
  ['overlmt_selfpay', '超限价自费'],
  ['preselfpay_amt', '先行自付金额'],
  ['balc', '结算后个人账户余额'],
]

/** Funds shown only when they paid something: most people have none of them. */
export const OPTIONAL_FUNDS = new Set(['hifob_pay', 'hifmi_pay', 'cvlserv_pay', 'maf_pay'])

/** An amount that is zero ("0", "0.00", 0). */
export function isZeroAmount(value: unknown): boolean {
  return value !== null && value !== undefined && value !== '' && Number(value) === 0
}

/** One setldetail row (结算基金分项) as shown: which fund paid how much, and why. */
export interface FundRow {
  type: string
  name: string
  amount: string
  info: string
}

export function fundRows(funds: Array<Record<string, unknown>> | undefined | null): FundRow[] {
  return (funds ?? [])
    .filter((f) => f && typeof f === 'object' && f.fund_pay_type !== undefined)
    .map((f) => ({
      type: String(f.fund_pay_type),
      name: String(f.fund_pay_type_name ?? f.fund_pay_type),
      amount: String(f.fund_payamt ?? ''),
      info: String(f.setl_proc_info ?? ''),
    }))
}

/** setldetail amounts of one item. */
export const ITEM_FIELDS: Array<[string, string]> = [
  ['det_item_fee_sumamt', '金额'],
  ['fulamt_ownpay_amt', '全自费'],
  ['overlmt_amt', '超限价'],
  ['preselfpay_amt', '先行自付'],
  ['inscp_scp_amt', '符合范围'],
]

/** A record's status colour (the global `yb-tone--<tone>` classes): settled green,
 * reversed amber, anything else (failed, declined, expired, unknown) grey. */
export const RECORD_STATUS_TONE: Record<string, string> = {
  settled: 'ok',
  reversed: 'warn',
}

export function recordTone(status: string): string {
  return RECORD_STATUS_TONE[status] ?? 'muted'
}

/** A record's time as shown in the list and the detail: settled, else created. */
export function recordTime(record: { settled_at?: string | null; created_at: string }): string {
  return formatDateTime(record.settled_at || record.created_at)
}

/** Explanation lines may be strings or {text}/{line} objects; show text either way. */
export function explanationText(line: unknown): string {
  if (typeof line === 'string') return line
  if (line && typeof line === 'object') {
    const l = line as Record<string, unknown>
    const text = l.text ?? l.line ?? l.message
    if (typeof text === 'string') return text
  }
  return JSON.stringify(line)
}
