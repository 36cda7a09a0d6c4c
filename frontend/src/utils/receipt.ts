/**
 * The POS page's reading of 2101/2102 answers, pure: node values as text, the
 * split fields a cashier sees, and the receipt's per-item rows.
 */
import type { GatewayAnswer } from '@/api/terminal'
import { SETLINFO_FIELDS } from './records'

type Node = Record<string, unknown>

/** The split a cashier sees (pre-settlement and the receipt), by Chinese name. */
export const SPLIT_FIELDS = SETLINFO_FIELDS.filter(([f]) =>
  ['medfee_sumamt', 'fund_pay_sumamt', 'hifp_pay', 'act_pay_dedc', 'acct_pay', 'acct_mulaid_pay', 'psn_cash_pay',
    'fulamt_ownpay_amt', 'preselfpay_amt', 'balc'].includes(f))

/** A node's values as text: the envelope sends amounts as JSON numbers (3300.00 arrives as 3300),
 * shown through showYuan, which writes the two decimals back. */
export function textNode(node: Node | undefined | null): Record<string, string> {
  return Object.fromEntries(Object.entries(node ?? {}).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)]))
}

export function setlinfoOf(answer: GatewayAnswer): Record<string, string> {
  return textNode((answer.output as { setlinfo?: Node } | undefined)?.setlinfo)
}

/** Per-item rows: detlcutinfo (the spec's 明细分割; setldetail is then per fund), or setldetail from an
 * older core; joined by feedetl_sn with the lines sent, for the names and codes. */
export function receiptItems(output: Node, sent: unknown): Array<Record<string, string>> {
  const rows = (output.detlcutinfo ?? output.setldetail ?? []) as Node[]
  const bySn = new Map(((Array.isArray(sent) ? sent : []) as Node[]).map((r) => [String(r.feedetl_sn), r]))
  return rows.map((row) => ({ ...textNode(bySn.get(String(row.feedetl_sn))), ...textNode(row) }))
}
