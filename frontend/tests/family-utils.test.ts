import { describe, expect, it } from 'vitest'
import { adviceFor } from '@/utils/activation'
import {
  FAMILY_ADVICE,
  GUARDIAN_COMMITMENT,
  RELATIONS,
  ageOn,
  birthDateFromId,
  bindingStatusLabel,
  capField,
  codePersons,
  codeSocketPath,
  genderLabel,
  consentsForAge,
  guardianDocProblem,
  invitationRoute,
  mutualAidBody,
  relationLabel,
  timeLeftText,
  withPerson,
  yuanText,
} from '@/utils/family'
import { safeAppRoute } from '@/utils/format'

// Born 2010-03-15 (check digit irrelevant to the client-side date reading).
const ID_2010_03_15 = '11010120100315123X'
const ID_LEAP = '110101200802291234'

function day(y: number, m: number, d: number): Date {
  return new Date(y, m - 1, d, 12, 0, 0)
}

describe('family: ages and consent', () => {
  it('reads the birth date from the ID number and refuses impossible dates', () => {
    expect(birthDateFromId(ID_2010_03_15)).toEqual({ year: 2010, month: 3, day: 15 })
    expect(birthDateFromId('110101201002301234')).toBeNull() // 30 February
    expect(birthDateFromId('1101012010031512')).toBeNull()
    expect(birthDateFromId('11010120100315123x')).toEqual({ year: 2010, month: 3, day: 15 })
  })

  it('counts the 16th birthday itself as 16 (the guardian boundary)', () => {
    expect(ageOn(ID_2010_03_15, day(2026, 3, 14))).toBe(15)
    expect(ageOn(ID_2010_03_15, day(2026, 3, 15))).toBe(16)
    expect(consentsForAge(ageOn(ID_2010_03_15, day(2026, 3, 14)))).toEqual(['guardian'])
    expect(consentsForAge(ageOn(ID_2010_03_15, day(2026, 3, 15)))).toEqual(['liveness', 'invitation'])
    expect(consentsForAge(null)).toEqual(['liveness', 'invitation', 'guardian'])
  })

  it('reaches a 29 February birthday on 1 March in a common year', () => {
    expect(ageOn(ID_LEAP, day(2024, 2, 28))).toBe(15)
    expect(ageOn(ID_LEAP, day(2024, 2, 29))).toBe(16)
    expect(ageOn(ID_LEAP, day(2025, 2, 28))).toBe(16)
    expect(ageOn('not an id', day(2025, 1, 1))).toBeNull()
  })

  it('checks the household-register number only for shape', () => {
    expect(guardianDocProblem('')).toBe('请填写证件编号')
    expect(guardianDocProblem('12345')).toContain('6至32位')
    expect(guardianDocProblem('１２３４５６')).toContain('6至32位') // full-width digits are not ASCII
    expect(guardianDocProblem('O440012345')).toBe('')
  })

  it('has a commitment statement in Chinese and a label for every relation', () => {
    expect(GUARDIAN_COMMITMENT).toContain('法定监护人')
    expect(GUARDIAN_COMMITMENT).toContain('16周岁')
    expect(RELATIONS.map((r) => r.key)).toEqual(['spouse', 'parent', 'child', 'sibling', 'grandparent', 'grandchild'])
    expect(relationLabel('child')).toBe('子女')
    expect(relationLabel('unknown')).toBe('unknown')
    expect(bindingStatusLabel('pending')).toBe('待本人确认')
    expect(genderLabel('1')).toBe('男')
    expect(genderLabel('2')).toBe('女')
    expect(genderLabel('9')).toBe('9')
  })
})

describe('family: mutual-aid amounts', () => {
  it('takes empty as no cap and yuan with two decimals at most, never negative', () => {
    expect(capField('', '年度共济上限')).toEqual([null, ''])
    expect(capField('', '共济额度', { required: true })).toEqual([null, '请填写共济额度'])
    expect(capField('12.5', '单笔')).toEqual(['12.50', ''])
    expect(capField('0', '单笔')).toEqual(['0.00', ''])
    expect(capField('-1', '单笔')[1]).toContain('不小于0')
    expect(capField('1.234', '单笔')[1]).toContain('两位小数')
    expect(capField('1e3', '单笔')[1]).not.toBe('')
    expect(capField('１０', '单笔')[1]).not.toBe('')
  })

  it('builds the API body (yuan strings or null) and refuses a bill cap above the annual cap', () => {
    const form = { mode: 'direct' as const, annualCap: '2000', billCap: '', confirmAbove: '200.5', setAside: '99' }
    expect(mutualAidBody(form)).toEqual({
      body: { mode: 'direct', annual_cap: '2000.00', bill_cap: null, confirm_above: '200.50' },
      problem: '',
    })
    expect(mutualAidBody({ ...form, mode: 'set_aside' }).body.set_aside).toBe('99.00')
    expect(mutualAidBody({ ...form, mode: 'set_aside', setAside: '' }).problem).toBe('请填写共济额度')
    expect(mutualAidBody({ ...form, billCap: '2000.01' }).problem).toBe('单笔共济上限不能高于年度共济上限')
  })

  it('shows amounts as ¥x.xx and null as 不限', () => {
    expect(yuanText('12.3')).toBe('¥12.30')
    expect(yuanText(null)).toBe('不限')
    expect(yuanText(undefined, '¥0.00')).toBe('¥0.00')
  })
})

describe('family: the code page person switcher', () => {
  const binding = (id: string, status: string, can: boolean, name: string, relation = 'child') =>
    ({ id, relation, relation_name: relation === 'child' ? '子女' : '父母', status, can_show_code: can, relative: { name } })

  it('lists 本人 first, then only active relatives whose code may be shown', () => {
    const persons = codePersons('张三', [
      binding('b1', 'active', true, '张小明'),
      binding('b2', 'pending', true, '张大爷', 'parent'),
      binding('b3', 'active', false, '李四'),
      binding('b4', 'ended', true, '王五'),
    ])
    expect(persons).toEqual([
      { id: '', label: '本人', name: '张三' },
      { id: 'b1', label: '子女', name: '张小明' },
    ])
  })

  it('puts the binding id on the socket and REST URLs, escaped, and nothing for my own code', () => {
    expect(codeSocketPath('/ws/code/', 't/1')).toBe('/ws/code/?ticket=t%2F1')
    expect(codeSocketPath('/ws/code/', 't1', 'b&1')).toBe('/ws/code/?ticket=t1&person=b%261')
    expect(withPerson('/api/voucher/code', '')).toBe('/api/voucher/code')
    expect(withPerson('/api/voucher/code', 'b1')).toBe('/api/voucher/code?person=b1')
    expect(withPerson('/api/voucher/code/qr?code=1&format=svg', 'b1')).toBe('/api/voucher/code/qr?code=1&format=svg&person=b1')
  })
})

describe('family: invitations, redirects and errors', () => {
  it('routes the invitation page and tells the time left', () => {
    expect(invitationRoute('a b')).toBe('/pages-family/invite/index?token=a%20b')
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(timeLeftText('2026-01-02T00:00:00Z', now)).toBe('24小时0分')
    expect(timeLeftText('2026-01-01T00:05:30Z', now)).toBe('5分钟')
    expect(timeLeftText('2025-12-31T23:59:00Z', now)).toBe('已过期')
    expect(timeLeftText('nonsense', now)).toBe('')
  })

  it('returns after sign-in only to a route of this app', () => {
    expect(safeAppRoute('/pages-family/invite/index?token=abc_1-2')).toBe('/pages-family/invite/index?token=abc_1-2')
    expect(safeAppRoute('/pages/home/index')).toBe('/pages/home/index')
    expect(safeAppRoute('https://evil.example/pages/home/index')).toBe('')
    expect(safeAppRoute('//evil.example/pages/x')).toBe('')
    expect(safeAppRoute('/pages/../../x')).toBe('')
    expect(safeAppRoute('javascript:alert(1)')).toBe('')
    expect(safeAppRoute('')).toBe('')
  })

  it('has Chinese advice for every family error code of the contract, through adviceFor', () => {
    const codes = ['FAMILY_SELF_BINDING', 'FAMILY_TOO_MANY_RELATIVES', 'FAMILY_TOO_MANY_BINDERS', 'FAMILY_ALREADY_BOUND',
      'FAMILY_RELATION_INVALID', 'FAMILY_NOT_FOUND', 'FAMILY_GUARDIAN_NOT_ALLOWED', 'FAMILY_GUARDIAN_DETAILS_REQUIRED',
      'FAMILY_INVITATION_USED', 'FAMILY_INVITATION_EXPIRED', 'FAMILY_INVITATION_NOT_FOR_YOU', 'FAMILY_NOT_ACTIVE',
      'FAMILY_END_NOT_ALLOWED', 'MULAID_PAYER_NOT_EMPLOYEE', 'MULAID_RELATION_NOT_ALLOWED', 'MULAID_RELATION_UNVERIFIED',
      'MULAID_CAP_INVALID', 'MULAID_NOT_FOUND', 'MULAID_REVOKED', 'RATE_LIMITED']
    expect(Object.keys(FAMILY_ADVICE).sort()).toEqual([...codes].sort())
    for (const code of codes) {
      const advice = adviceFor(code)
      expect(advice.title, code).toMatch(/[\u4e00-\u9fff]/)
      expect(advice.advice, code).toMatch(/[\u4e00-\u9fff]/)
      expect(advice.title, code).not.toBe('操作未成功') // not the fallback
    }
    expect(adviceFor('FAMILY_TOO_MANY_RELATIVES').advice).toContain('5位')
    expect(adviceFor('FAMILY_INVITATION_EXPIRED').advice).toContain('24小时')
  })
})
