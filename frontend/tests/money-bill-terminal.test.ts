import { describe, expect, it } from 'vitest'
import { fenToYuan, lineFen, parseYuan, showYuan, yuanToFen } from '@/utils/money'
import { billInput, billTotals } from '@/utils/bill'
import { decodeErrorText, envelope, isRepeatable, newMsgid, signHeaders, signature } from '@/utils/terminal'
import { clockOffset, digitsOnly, formatCountdown, groupDigits, secondsLeft } from '@/utils/code'
import { explanationText } from '@/utils/records'

describe('money', () => {
  it('parses yuan strings to integer fen without floats', () => {
    expect(yuanToFen('12.3')).toBe(1230)
    expect(yuanToFen('0.07')).toBe(7)
    expect(yuanToFen('1000')).toBe(100000)
    expect(yuanToFen('-2.50')).toBe(-250)
    expect(() => yuanToFen('1.234')).toThrow()
    expect(() => yuanToFen('abc')).toThrow()
    expect(parseYuan('')).toBeNull()
  })

  it('formats fen once, always two decimals', () => {
    expect(fenToYuan(0)).toBe('0.00')
    expect(fenToYuan(5)).toBe('0.05')
    expect(fenToYuan(123456)).toBe('1234.56')
    expect(fenToYuan(-250)).toBe('-2.50')
    expect(showYuan('350')).toBe('350.00')
    expect(showYuan(null)).toBe('—')
  })

  it('0.1 + 0.2 style sums are exact', () => {
    expect(lineFen('0.10', '3')).toBe(30)
    expect(lineFen('19.99', 3)).toBe(5997)
    expect(lineFen('1.5', '0')).toBeNull()
    expect(lineFen('x', '1')).toBeNull()
  })
})

describe('bill', () => {
  const lines = [
    { med_list_codg: 'X1', name: '甲', unit: '盒', list_class: 'A', price: '19.99', quantity: '3' },
    { med_list_codg: 'X2', name: '乙', unit: '盒', list_class: 'B', price: '0.10', quantity: '7' },
  ]

  it('totals in fen and builds the 2102 input with yuan strings', () => {
    expect(billTotals(lines).totalFen).toBe(5997 + 70)
    const input = billInput(lines, { ecToken: 'EC1', insutype: '310', now: new Date(2026, 0, 2, 3, 4, 5) }) as any
    expect(input.druginfo).toMatchObject({ mdtrt_cert_type: '01', mdtrt_cert_no: 'EC1', medfee_sumamt: '60.67',
      insutype: '310', begntime: '2026-01-02 03:04:05' })
    expect(input.drugdetail[0]).toMatchObject({ feedetl_sn: '0001', det_item_fee_sumamt: '59.97', cnt: '3', pric: '19.99' })
    expect(input.drugdetail[1].det_item_fee_sumamt).toBe('0.70')
  })

  it('refuses an invalid line', () => {
    expect(billTotals([{ ...lines[0], quantity: '' }]).valid).toBe(false)
    expect(billTotals([]).valid).toBe(false)
  })
})

describe('terminal signing', () => {
  it('matches the server (common/signing.py) byte for byte, UTF-8 included', () => {
    expect(signature('079bc4af7447018cc915ab52d4797de0', '1767225600', 'abc123nonce',
      '{"infno":"9001","opter_name":"收银员"}')).toBe('213ee1cc82c0395fd2a37bacdfc3e48c10cfb1401b96343f6df452f247b9cafc')
  })

  it('signs with the paasid, timestamp in seconds and a fresh nonce', () => {
    const a = signHeaders({ fixmedins_code: 'P1', secret: 's' }, '{}', 1_767_225_600_123)
    const b = signHeaders({ fixmedins_code: 'P1', secret: 's' }, '{}', 1_767_225_600_123)
    expect(a['x-tif-paasid']).toBe('P1')
    expect(a['x-tif-timestamp']).toBe('1767225600')
    expect(a['x-tif-nonce']).toHaveLength(32)
    expect(a['x-tif-nonce']).not.toBe(b['x-tif-nonce'])
  })

  it('builds envelopes with the national msgid form', () => {
    const msgid = newMsgid('P11010000001', new Date(2026, 10, 23, 10, 0, 0), () => 0.5)
    expect(msgid).toBe('P1101000000120261123100000500000')
    const env = envelope({ fixmedins_code: 'P1', secret: 's' }, '2102', { a: 1 }, { signNo: 'S1', msgid: 'M1' })
    expect(env).toMatchObject({ infno: '2102', msgid: 'M1', sign_no: 'S1', fixmedins_code: 'P1', input: { a: 1 } })
  })

  it('knows which answers to repeat and words decode refusals in Chinese', () => {
    expect(isRepeatable(1009)).toBe(true)
    expect(isRepeatable(5002)).toBe(true)
    expect(isRepeatable(1010)).toBe(false)
    expect(isRepeatable(0)).toBe(false)
    expect(decodeErrorText('EC_CODE_USED')).toContain('已被使用')
    expect(decodeErrorText('X', '服务器说')).toBe('服务器说')
  })
})

describe('code utils', () => {
  it('groups digits and strips pasted separators', () => {
    expect(groupDigits('8812345678')).toBe('8812 3456 78')
    expect(digitsOnly(' 8812 3456-78\n')).toBe('8812345678')
  })

  it('corrects a device clock that is outside the code step', () => {
    const code = { step: 100, step_seconds: 30, expires_at: 3030 }
    expect(clockOffset(code, 3010)).toBe(0)
    expect(clockOffset(code, 2900)).toBe(100)
    expect(clockOffset(code, 3100)).toBe(-70.5)
    expect(secondsLeft(3030, 3010.2)).toBe(20)
    expect(formatCountdown(65)).toBe('1:05')
  })

  it('shows explanation lines whatever their shape', () => {
    expect(explanationText('起付线 0.00')).toBe('起付线 0.00')
    expect(explanationText({ text: 'x' })).toBe('x')
  })
})
