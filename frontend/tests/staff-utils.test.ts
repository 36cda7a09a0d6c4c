import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

vi.mock('@/platform', () => ({ API_BASE_URL: 'https://api.test' }))

import * as staffApi from '@/api/staff'
import type { ApprovalRequest, StaffMe } from '@/api/staff'
import { configureAuth } from '@/http/request'
import {
  auditQuery,
  can,
  canDecide,
  emptyLookupDraft,
  exportFilename,
  idleRemaining,
  isIsoDate,
  landingRoute,
  loginNotice,
  loginRoute,
  lookupBody,
  navItems,
  otherTeamsNotice,
  otpProblem,
  parseCsv,
  reasonProblem,
  visibleLength,
} from '@/utils/staff'

const AGENT: StaffMe = {
  username: 'agent1',
  role: 'agent',
  team: '一组',
  permissions: ['authorization_revoke', 'case_annotate', 'person_lookup', 'request_create', 'reset_ticket_start', 'voucher_freeze'],
  idle_timeout_seconds: 900,
}
const SUPERVISOR: StaffMe = {
  ...AGENT,
  username: 'supervisor1',
  role: 'supervisor',
  permissions: [...AGENT.permissions, 'request_decide', 'team_queue_view'],
}
const AUDITOR: StaffMe = { username: 'auditor1', role: 'auditor', team: '审计', permissions: ['audit_export', 'audit_read'], idle_timeout_seconds: 900 }

function req(over: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    id: 'r1', kind: 'unlock', status: 'pending', psn_no: 'P1', person_name: '张三', id_number_masked: '110***********1234',
    team: '一组', requested_by: 'agent1', reason: '柜台核验后解锁', id_checked: true, created_at: '2026-01-05T10:00:00+08:00',
    decided_by: null, decided_at: null, decision_reason: '', ...over,
  }
}

describe('reasons', () => {
  it('needs 4 to 500 characters after trimming, counted as characters', () => {
    expect(reasonProblem('')).toBe('请填写操作原因（将记入审计）')
    expect(reasonProblem('   ')).toBe('请填写操作原因（将记入审计）')
    expect(reasonProblem('来电')).toBe('操作原因至少 4 个字')
    expect(reasonProblem(' 本人来电 ')).toBe('')
    expect(reasonProblem('😀😀😀😀')).toBe('') // 4 characters, 8 UTF-16 units
    expect(reasonProblem('字'.repeat(500))).toBe('')
    expect(reasonProblem('字'.repeat(501))).toBe('操作原因不能超过 500 个字')
  })

  it('counts only visible characters, as the server does (issue #20)', () => {
    expect(reasonProblem('\u200b\u200b\u200b\u200b')).toBe('请填写操作原因（将记入审计）')
    expect(reasonProblem('来\u200b\u200c\u200d\u2060电')).toBe('操作原因至少 4 个字')
    expect(reasonProblem('来\u3000\u00a0电\u202e\ufeff')).toBe('操作原因至少 4 个字')
    expect(reasonProblem('\u3164\u3164\u2800\u2800\u00ad')).toBe('请填写操作原因（将记入审计）')
    expect(reasonProblem('本人 来电')).toBe('')
    expect(visibleLength('e\u0301t\u00e9')).toBe(3) // a combining accent belongs to its letter
    expect(visibleLength('👨\u200d👩\u200d👧')).toBe(3)
  })
})

describe('lookup body', () => {
  it('sends the full, upper-cased ID number with the trimmed reason', () => {
    const draft = { ...emptyLookupDraft(), idNumber: ' 11010119900307123x ', reason: ' 本人来电咨询 ' }
    expect(lookupBody(draft)).toEqual({ body: { by: 'id_number', id_number: '11010119900307123X', reason: '本人来电咨询' } })
  })

  it('refuses a partial ID number (no fuzzy search) before the reason', () => {
    expect(lookupBody({ ...emptyLookupDraft(), idNumber: '1101011990', reason: '' })).toEqual({
      field: 'id_number', message: '身份证号应为18位，当前为10位',
    })
  })

  it('requires the reason for every kind', () => {
    expect(lookupBody({ ...emptyLookupDraft(), by: 'psn_no', psnNo: 'P123', reason: '查' })).toEqual({
      field: 'reason', message: '操作原因至少 4 个字',
    })
  })

  it('name + birth date needs a real date', () => {
    const draft = { ...emptyLookupDraft(), by: 'name_birth' as const, name: '张三', birthDate: '1990-02-30', reason: '本人来电咨询' }
    expect(lookupBody(draft)).toEqual({ field: 'birth_date', message: '出生日期格式为 YYYY-MM-DD' })
    expect(lookupBody({ ...draft, birthDate: '1990-02-28' })).toEqual({
      body: { by: 'name_birth', name: '张三', birth_date: '1990-02-28', reason: '本人来电咨询' },
    })
  })

  it('psn_no is ASCII letters and digits', () => {
    expect(lookupBody({ ...emptyLookupDraft(), by: 'psn_no', psnNo: '１２３', reason: '本人来电咨询' })).toMatchObject({ field: 'psn_no' })
  })

  it('isIsoDate takes only real calendar dates in ASCII digits', () => {
    expect(isIsoDate('2024-02-29')).toBe(true)
    expect(isIsoDate('2023-02-29')).toBe(false)
    expect(isIsoDate('２０２４-01-01')).toBe(false)
    expect(isIsoDate('2024-1-1')).toBe(false)
  })
})

describe('roles', () => {
  it('shows each role only its pages and lands on the first', () => {
    expect(navItems(AGENT).map((i) => i.key)).toEqual(['lookup'])
    expect(navItems(SUPERVISOR).map((i) => i.key)).toEqual(['lookup', 'queue'])
    expect(navItems(AUDITOR).map((i) => i.key)).toEqual(['audit'])
    expect(landingRoute(AUDITOR)).toBe('/pages-staff/console/audit/index')
    expect(landingRoute(null)).toBe('/pages-staff/console/login/index')
    expect(can(AUDITOR, 'voucher_freeze')).toBe(false)
  })

  it('never offers a decision on one own request, nor to agents, nor on a decided one', () => {
    expect(canDecide(SUPERVISOR, req())).toBe(true)
    expect(canDecide(SUPERVISOR, req({ requested_by: 'supervisor1' }))).toBe(false)
    expect(canDecide(AGENT, req({ requested_by: 'agent2' }))).toBe(false)
    expect(canDecide(SUPERVISOR, req({ status: 'approved' }))).toBe(false)
  })

  it("shows another team's open items on a case only as counts", () => {
    expect(otherTeamsNotice({ requests: 0, reset_tickets: 0 })).toBe('')
    expect(otherTeamsNotice(undefined)).toBe('')
    expect(otherTeamsNotice({ requests: 1, reset_tickets: 0 })).toBe('其他组有 1 个处理中的审批申请（详情仅该组可见）')
    expect(otherTeamsNotice({ requests: 1, reset_tickets: 1 })).toBe(
      '其他组有 1 个处理中的审批申请、1 张进行中的密码重置单（详情仅该组可见）')
  })
})

describe('login page', () => {
  it('tells why it was opened, for the codes it knows only', () => {
    expect(loginNotice('STAFF_SESSION_EXPIRED')).toBe('长时间未操作，登录已失效，请重新登录')
    expect(loginNotice('IDLE')).toBe(loginNotice('STAFF_SESSION_EXPIRED'))
    expect(loginNotice('STAFF_OTP_REQUIRED')).toBe('请使用密码和动态验证码登录客服系统')
    expect(loginNotice('<script>')).toBe('')
    expect(loginRoute('STAFF_SESSION_EXPIRED')).toBe('/pages-staff/console/login/index?reason=STAFF_SESSION_EXPIRED')
    expect(loginRoute('WHATEVER')).toBe('/pages-staff/console/login/index')
  })

  it('a TOTP code is six ASCII digits', () => {
    expect(otpProblem('123456')).toBe('')
    expect(otpProblem('12345')).toBe('请输入6位动态验证码')
    expect(otpProblem('１２３４５６')).toBe('请输入6位动态验证码')
  })

  it('counts the idle time down to zero, never below', () => {
    expect(idleRemaining(1_000, 1_000, 900)).toBe(900_000)
    expect(idleRemaining(1_000, 901_000, 900)).toBe(0)
    expect(idleRemaining(1_000, 999_000, 900)).toBe(0)
  })
})

describe('audit', () => {
  it('drops empty filters, checks dates and their order', () => {
    expect(auditQuery({ psn_no: ' ', actor: 'staff:agent1', action: '', date_from: '2026-01-05', date_to: '' })).toEqual({
      query: { actor: 'staff:agent1', date_from: '2026-01-05' },
    })
    expect(auditQuery({ date_from: '2026-13-01' })).toEqual({ field: 'date_from', message: '日期格式为 YYYY-MM-DD' })
    expect(auditQuery({ date_from: '2026-01-06', date_to: '2026-01-05' })).toEqual({
      field: 'date_to', message: '结束日期不能早于开始日期',
    })
  })

  it('parses the export: BOM, quoted commas, doubled quotes, newlines inside quotes, CRLF', () => {
    const text = '\ufeffid,action,detail\r\n1,staff.lookup,"{""by"": ""psn_no"", ""reason"": ""a,b""}"\r\n2,pin.unlock,"two\nlines"\r\n'
    expect(parseCsv(text)).toEqual([
      ['id', 'action', 'detail'],
      ['1', 'staff.lookup', '{"by": "psn_no", "reason": "a,b"}'],
      ['2', 'pin.unlock', 'two\nlines'],
    ])
    expect(parseCsv('a,b')).toEqual([['a', 'b']])
  })

  it('names the file by its dates', () => {
    expect(exportFilename({}, '2026-01-05')).toBe('audit-2026-01-05.csv')
    expect(exportFilename({ date_from: '2026-01-01', date_to: '2026-01-05' }, '2026-01-05')).toBe('audit-2026-01-01_2026-01-05.csv')
  })
})

// --- the transport: session cookie + CSRF, never the person's bearer token ---------------

type Reply = { statusCode: number; data: unknown }
let replies: Reply[]
let calls: Array<{ url: string; method: string; header: Record<string, string>; data: unknown }>

describe('api/staff transport', () => {
  beforeEach(() => {
    replies = []
    calls = []
    staffApi.resetCsrf()
    // A person's session in the same browser must not leak into staff calls.
    configureAuth({ getToken: () => 'person-token', refresh: async () => true })
    vi.stubGlobal('uni', {
      request(options: any) {
        calls.push({ url: options.url, method: options.method, header: options.header, data: options.data })
        const reply = replies.shift()
        setTimeout(() => {
          if (!reply) throw new Error('unexpected request')
          options.success(reply)
        })
      },
    })
  })

  afterEach(() => {
    configureAuth(null)
    vi.unstubAllGlobals()
  })

  it('asks for the CSRF token once and sends it on writes, without a bearer token', async () => {
    replies.push({ statusCode: 200, data: { csrf_token: 'tok1' } })
    replies.push({ statusCode: 200, data: { results: [] } })
    replies.push({ statusCode: 201, data: { id: 1 } })
    await staffApi.lookup({ by: 'psn_no', psn_no: 'P1', reason: '本人来电咨询' })
    await staffApi.annotate('c1', '已电话回访')
    expect(calls.map((c) => `${c.method ?? 'GET'} ${c.url}`)).toEqual([
      'GET https://api.test/api/staff/auth/csrf',
      'POST https://api.test/api/staff/lookup',
      'POST https://api.test/api/staff/cases/c1/notes',
    ])
    expect(calls[1].header['X-CSRFToken']).toBe('tok1')
    expect(calls[2].header['X-CSRFToken']).toBe('tok1')
    expect(calls.every((c) => !('Authorization' in c.header))).toBe(true)
    expect(calls[1].data).toEqual({ by: 'psn_no', psn_no: 'P1', reason: '本人来电咨询' })
  })

  it('asks again after the login rotated it, and once more after a CSRF_FAILED', async () => {
    replies.push({ statusCode: 200, data: { csrf_token: 'before' } })
    replies.push({ statusCode: 200, data: { ...AGENT } })
    replies.push({ statusCode: 200, data: { csrf_token: 'after' } })
    replies.push({ statusCode: 403, data: { code: 'CSRF_FAILED', message: '页面已过期' } })
    replies.push({ statusCode: 200, data: { csrf_token: 'fresh' } })
    replies.push({ statusCode: 200, data: { status: 'frozen' } })
    await expect(staffApi.login('agent1', 'pw', '123456')).resolves.toMatchObject({ username: 'agent1' })
    await expect(staffApi.freeze('c1', '手机丢失，本人要求冻结')).resolves.toEqual({ status: 'frozen' })
    expect(calls.map((c) => c.header['X-CSRFToken'] ?? '-')).toEqual(['-', 'before', '-', 'after', '-', 'fresh'])
  })

  it('a 401 is an auth error with the server code, never a refresh of the person token', async () => {
    replies.push({ statusCode: 401, data: { code: 'STAFF_SESSION_EXPIRED', message: '长时间未操作，登录已失效，请重新登录' } })
    await expect(staffApi.me()).rejects.toMatchObject({ kind: 'auth', code: 'STAFF_SESSION_EXPIRED' })
    expect(calls).toHaveLength(1)
  })

  it('builds the audit query string from the non-empty filters', async () => {
    replies.push({ statusCode: 200, data: 'id,action\n' })
    await staffApi.auditExport({ actor: 'staff:agent1', action: '', date_from: '2026-01-05' })
    expect(calls[0].url).toBe('https://api.test/api/staff/audit/export?actor=staff%3Aagent1&date_from=2026-01-05')
  })
})
