import { describe, expect, it } from 'vitest'

import { OPTIONAL_FUNDS, SETLINFO_FIELDS, fundRows, isZeroAmount } from '@/utils/records'

describe('record detail: funds', () => {
  it('names every supplementary fund of setlinfo in Chinese', () => {
    const names = Object.fromEntries(SETLINFO_FIELDS)
    expect(names.hifob_pay).toBe('职工大额医疗费用补助')
    expect(names.hifmi_pay).toBe('城乡居民大病保险')
    expect(names.cvlserv_pay).toBe('公务员医疗补助')
    expect(names.maf_pay).toBe('医疗救助')
    for (const f of OPTIONAL_FUNDS) expect(names[f]).toBeTruthy()
  })

  it('treats 0, "0" and "0.00" as zero and keeps a real amount', () => {
    expect(isZeroAmount(0)).toBe(true)
    expect(isZeroAmount('0.00')).toBe(true)
    expect(isZeroAmount('0.01')).toBe(false)
    expect(isZeroAmount('')).toBe(false)
    expect(isZeroAmount(undefined)).toBe(false)
  })

  it('reads setldetail rows per fund, skipping rows that are not fund rows', () => {
    const rows = fundRows([
      { fund_pay_type: '310100', fund_pay_type_name: '职工基本医疗保险统筹基金', fund_payamt: 1000, setl_proc_info: '政策范围内费用…' },
      { fund_pay_type: '330100', fund_pay_type_name: '职工大额医疗费用补助基金', fund_payamt: '300.00' },
      { feedetl_sn: '1', det_item_fee_sumamt: '12.00' },
    ])
    expect(rows).toEqual([
      { type: '310100', name: '职工基本医疗保险统筹基金', amount: '1000', info: '政策范围内费用…' },
      { type: '330100', name: '职工大额医疗费用补助基金', amount: '300.00', info: '' },
    ])
    expect(fundRows(undefined)).toEqual([])
  })
})
