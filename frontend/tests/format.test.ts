import { describe, expect, it } from 'vitest'
import {
  authorizationStatusLabel,
  demoOpenid,
  formatDateTime,
  inputValue,
  insutypeLabel,
  maskName,
  voucherStatusLabel,
} from '@/utils/format'

describe('format', () => {
  it('formats ISO timestamps as local YYYY-MM-DD HH:mm', () => {
    const iso = '2026-01-05T09:07:00Z'
    const d = new Date(iso)
    const pad = (n: number) => String(n).padStart(2, '0')
    expect(formatDateTime(iso)).toBe(
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`,
    )
    expect(formatDateTime(null)).toBe('')
    expect(formatDateTime('not a date')).toBe('not a date')
  })

  it('labels statuses and insurance types in Chinese', () => {
    expect(voucherStatusLabel('active')).toBe('已激活')
    expect(voucherStatusLabel(null)).toBe('未激活')
    expect(authorizationStatusLabel('active')).toBe('有效')
    expect(authorizationStatusLabel('revoked')).toBe('已解除')
    expect(insutypeLabel('310')).toBe('职工基本医疗保险')
    expect(insutypeLabel('390')).toBe('城乡居民基本医疗保险')
  })

  it('makes demo openids', () => {
    expect(demoOpenid()).toMatch(/^demo-[a-z0-9]{10}$/)
    expect(demoOpenid(() => 0)).toBe('demo-aaaaaaaaaa')
  })

  it('reads a uni input event or a DOM one', () => {
    expect(inputValue({ detail: { value: 'x' } })).toBe('x')
    expect(inputValue({ target: { value: 'y' } })).toBe('y')
    expect(inputValue(null)).toBe('')
  })

  it('masks every character of a name but the last', () => {
    expect(maskName('张三')).toBe('*三')
    expect(maskName('欧阳娜娜')).toBe('***娜')
    expect(maskName('李')).toBe('李')
    expect(maskName('')).toBe('')
    expect(maskName(null)).toBe('')
    expect(maskName(' 王小明 ')).toBe('**明')
  })
})
