/**
 * The POS bill, pure: lines of (catalogue item, unit price in yuan text,
 * quantity) → the 2101/2102 input, with every amount computed in integer
 * fen and formatted once. Unit-tested in tests/bill.test.ts.
 */
import { fenToYuan, lineFen } from './money'

export interface BillLine {
  med_list_codg: string
  name: string
  unit: string
  list_class: string
  price: string
  quantity: string
}

export interface BillTotals {
  lines: Array<BillLine & { amountFen: number | null }>
  totalFen: number
  valid: boolean
}

export function billTotals(lines: BillLine[]): BillTotals {
  let totalFen = 0
  let valid = lines.length > 0
  const out = lines.map((line) => {
    const amountFen = lineFen(line.price, line.quantity)
    if (amountFen === null) valid = false
    else totalFen += amountFen
    return { ...line, amountFen }
  })
  return { lines: out, totalFen, valid }
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n)
}

export function begntime(now: Date = new Date()): string {
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ` +
    `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`
}

/** The settlement input (national node names druginfo / drugdetail). */
export function billInput(
  lines: BillLine[],
  opts: { ecToken: string; insutype: string; now?: Date },
): Record<string, unknown> {
  const totals = billTotals(lines)
  if (!totals.valid) throw new Error('invalid bill')
  return {
    druginfo: {
      mdtrt_cert_type: '01',
      mdtrt_cert_no: opts.ecToken,
      begntime: begntime(opts.now),
      medfee_sumamt: fenToYuan(totals.totalFen),
      insutype: opts.insutype,
      acct_used_flag: '1',
      med_type: '41',
    },
    drugdetail: totals.lines.map((line, i) => ({
      feedetl_sn: String(i + 1).padStart(4, '0'),
      med_list_codg: line.med_list_codg,
      medins_list_codg: `L${line.med_list_codg}`,
      med_list_name: line.name,
      det_item_fee_sumamt: fenToYuan(line.amountFen as number),
      cnt: String(Number(line.quantity)),
      pric: fenToYuan(lineFen(line.price, 1) as number),
    })),
  }
}
