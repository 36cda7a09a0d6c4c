/**
 * Pure helpers of the support-staff console (pages-staff/console): labels,
 * the client-side checks the server repeats (reason length, lookup fields),
 * which pages a role sees, what a 401 tells the login page, the idle clock,
 * CSV reading for the export summary. No uni, no platform: unit-tested in
 * tests/staff-utils.test.ts.
 */
import type { ApprovalRequest, AuditFilters, CaseOtherTeamsOpen, LookupInput, StaffLookupBy, StaffMe } from '@/api/staff'
import { idNumberProblem, normaliseIdNumber } from './activation'

export const ROLE_LABELS: Record<string, string> = {
  agent: '客服专员',
  supervisor: '客服主管',
  auditor: '审计员',
}

export const LOOKUP_BY: ReadonlyArray<{ key: StaffLookupBy; label: string }> = [
  { key: 'id_number', label: '身份证号' },
  { key: 'psn_no', label: '人员编号' },
  { key: 'name_birth', label: '姓名+出生日期' },
]

export const REQUEST_KIND_LABELS: Record<string, string> = {
  unlock: '解锁支付密码',
  unfreeze: '解冻医保电子凭证',
}

export const REQUEST_STATUS_LABELS: Record<string, string> = {
  pending: '待审批',
  approved: '已批准',
  denied: '已驳回',
  cancelled: '已撤回',
}

export const TICKET_STATUS_LABELS: Record<string, string> = {
  open: '待本人完成',
  completed: '已完成',
  cancelled: '已撤销',
  expired: '已过期',
}

export const ALERT_KIND_LABELS: Record<string, string> = {
  lookup_limit: '查询次数超限',
  login_throttled: '登录失败次数过多',
}

export const PAYMENT_STATUS_LABELS: Record<string, string> = {
  received: '已受理',
  awaiting_confirmation: '待确认',
  confirmed: '已确认',
  submitted: '提交中',
  unknown: '结果待确认',
  settled: '已结算',
  failed: '失败',
  declined: '已拒绝',
  expired: '已超时',
  reversed: '已撤销',
}

export const FILING_TYPE_LABELS: Record<string, string> = {
  retired_resettled: '异地安置退休',
  long_term_residence: '异地长期居住',
  stationed_work: '常驻异地工作',
  referral: '异地转诊转院',
  emergency: '急诊抢救',
  temporary_other: '其他临时外出',
}

export const ENROLMENT_STATUS_LABELS: Record<string, string> = {
  active: '正常参保',
  suspended: '暂停参保',
  terminated: '终止参保',
}

export const FILING_STATUS_LABELS: Record<string, string> = {
  active: '有效',
  cancelled: '已撤销',
  expired: '已过期',
}

export const CHANNEL_LABELS: Record<string, string> = {
  wechat: '微信',
  alipay: '支付宝',
  nhsa: '国家医保APP',
}

/** Audit actions the console names; others are shown as their code. */
export const AUDIT_ACTION_LABELS: Record<string, string> = {
  'staff.login': '客服登录',
  'staff.logout': '客服退出',
  'staff.lookup': '查询参保人',
  'staff.voucher_freeze': '冻结凭证',
  'staff.authorization_revoke': '撤销渠道授权',
  'staff.case_note': '添加备注',
  'staff.audit_export': '导出审计记录',
  'pin.reset_ticket.create': '发起密码重置',
  'pin.reset_ticket.cancel': '撤销密码重置',
  'pin.reset_ticket.complete': '本人完成密码重置',
  'pin.unlock': '解锁支付密码',
  'staff.request.unlock': '申请解锁支付密码',
  'staff.request.unfreeze': '申请解冻凭证',
  'staff.request.unlock.approve': '批准解锁',
  'staff.request.unlock.deny': '驳回解锁',
  'staff.request.unfreeze.approve': '批准解冻',
  'staff.request.unfreeze.deny': '驳回解冻',
  'staff.request.unlock.decide': '审批解锁（被拒绝）',
  'staff.request.unfreeze.decide': '审批解冻（被拒绝）',
  'staff.request.unlock.withdraw': '撤回解锁申请',
  'staff.request.unfreeze.withdraw': '撤回解冻申请',
}

export function label(map: Record<string, string>, key: string | null | undefined, empty = '—'): string {
  if (!key) return empty
  return map[key] ?? key
}

export const REASON_MIN = 4
export const REASON_MAX = 500

/**
 * Characters that are not seen: controls, format characters (zero-width space and joiners, bidi
 * marks, soft hyphen, BOM), surrogates, private-use and unassigned code points, every space and
 * line/paragraph separator, combining marks, and the blank-looking Hangul fillers and Braille blank.
 * The server's common/text.py counts the same way.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Z}\p{Mn}\p{Me}\u115F\u1160\u3164\uFFA0\u2800]/u

/** How many characters of the text are visible (code points, not UTF-16 units): four U+200B count 0. */
export function visibleLength(text: string): number {
  let count = 0
  for (const char of text) if (!INVISIBLE.test(char)) count += 1
  return count
}

/**
 * '' when the reason is acceptable (at least 4 visible characters, at most 500 after trimming),
 * else the Chinese problem.
 */
export function reasonProblem(reason: string): string {
  const visible = visibleLength(reason)
  if (visible === 0) return '请填写操作原因（将记入审计）'
  if (visible < REASON_MIN) return `操作原因至少 ${REASON_MIN} 个字`
  if (Array.from(reason.trim()).length > REASON_MAX) return `操作原因不能超过 ${REASON_MAX} 个字`
  return ''
}

export interface LookupDraft {
  by: StaffLookupBy
  idNumber: string
  psnNo: string
  name: string
  birthDate: string
  reason: string
}

export function emptyLookupDraft(): LookupDraft {
  return { by: 'id_number', idNumber: '', psnNo: '', name: '', birthDate: '', reason: '' }
}

/** A real calendar date written YYYY-MM-DD (ASCII digits only). */
export function isIsoDate(value: string): boolean {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(value)
  if (!m) return false
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const date = new Date(Date.UTC(y, mo - 1, d))
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d
}

/** The lookup body, or the first problem ({field, message}) — the server checks the same again. */
export function lookupBody(draft: LookupDraft): { body: LookupInput } | { field: string; message: string } {
  const reason = draft.reason.trim()
  if (draft.by === 'id_number') {
    const id = normaliseIdNumber(draft.idNumber)
    const problem = idNumberProblem(id)
    if (problem) return { field: 'id_number', message: problem }
    const reasonIssue = reasonProblem(reason)
    if (reasonIssue) return { field: 'reason', message: reasonIssue }
    return { body: { by: 'id_number', id_number: id, reason } }
  }
  if (draft.by === 'psn_no') {
    const psnNo = draft.psnNo.trim()
    if (!/^[0-9A-Za-z]{1,40}$/.test(psnNo)) return { field: 'psn_no', message: '请输入人员编号（字母或数字）' }
    const reasonIssue = reasonProblem(reason)
    if (reasonIssue) return { field: 'reason', message: reasonIssue }
    return { body: { by: 'psn_no', psn_no: psnNo, reason } }
  }
  const name = draft.name.trim()
  if (!name) return { field: 'name', message: '请输入姓名' }
  if (!isIsoDate(draft.birthDate.trim())) return { field: 'birth_date', message: '出生日期格式为 YYYY-MM-DD' }
  const reasonIssue = reasonProblem(reason)
  if (reasonIssue) return { field: 'reason', message: reasonIssue }
  return { body: { by: 'name_birth', name, birth_date: draft.birthDate.trim(), reason } }
}

export function can(me: StaffMe | null, permission: string): boolean {
  return !!me && me.permissions.includes(permission)
}

export const CONSOLE_ROOT = '/pages-staff/console'
export const LOGIN_ROUTE = `${CONSOLE_ROOT}/login/index`

export interface NavItem {
  key: 'lookup' | 'queue' | 'audit'
  label: string
  url: string
}

/** The pages a staff member may open, by the permissions login answered. */
export function navItems(me: StaffMe | null): NavItem[] {
  const items: NavItem[] = []
  if (can(me, 'person_lookup')) items.push({ key: 'lookup', label: '查询参保人', url: `${CONSOLE_ROOT}/lookup/index` })
  if (can(me, 'team_queue_view')) items.push({ key: 'queue', label: '审批与告警', url: `${CONSOLE_ROOT}/queue/index` })
  if (can(me, 'audit_read')) items.push({ key: 'audit', label: '审计记录', url: `${CONSOLE_ROOT}/audit/index` })
  return items
}

/** Where a staff member lands after login: the first page their role may open. */
export function landingRoute(me: StaffMe | null): string {
  return navItems(me)[0]?.url ?? LOGIN_ROUTE
}

/** The login page after a 401 (`?reason=<code>`): what to tell the user. */
export function loginNotice(reason: string | null | undefined): string {
  switch (reason) {
    case 'STAFF_SESSION_EXPIRED':
    case 'IDLE':
      return '长时间未操作，登录已失效，请重新登录'
    case 'STAFF_OTP_REQUIRED':
      return '请使用密码和动态验证码登录客服系统'
    case 'UNAUTHENTICATED':
      return '请先登录'
    case 'LOGGED_OUT':
      return '已安全退出'
    default:
      return ''
  }
}

/** The route of the login page telling why (only the codes loginNotice knows are passed on). */
export function loginRoute(reason?: string): string {
  return reason && loginNotice(reason) ? `${LOGIN_ROUTE}?reason=${encodeURIComponent(reason)}` : LOGIN_ROUTE
}

/** Milliseconds left before the console signs an idle user out (never negative). */
export function idleRemaining(lastActivityMs: number, nowMs: number, timeoutSeconds: number): number {
  return Math.max(0, lastActivityMs + timeoutSeconds * 1000 - nowMs)
}

/** Four eyes on screen: a supervisor is not offered a decision on a request they made (the server refuses too). */
export function canDecide(me: StaffMe | null, req: ApprovalRequest): boolean {
  return can(me, 'request_decide') && req.status === 'pending' && req.requested_by !== me?.username
}

/**
 * Other teams' open items on the case's person, as one line (empty when none): the server sends
 * only the counts, never another team's ids, authors or reasons.
 */
export function otherTeamsNotice(open: CaseOtherTeamsOpen | null | undefined): string {
  const parts: string[] = []
  if (open?.requests) parts.push(`${open.requests} 个处理中的审批申请`)
  if (open?.reset_tickets) parts.push(`${open.reset_tickets} 张进行中的密码重置单`)
  return parts.length ? `其他组有 ${parts.join('、')}（详情仅该组可见）` : ''
}

/** A 6-digit TOTP code, ASCII digits only. */
export function otpProblem(otp: string): string {
  return /^[0-9]{6}$/.test(otp) ? '' : '请输入6位动态验证码'
}

/** The audit query without empty fields (dates must be YYYY-MM-DD). */
export function auditQuery(filters: AuditFilters): { query: AuditFilters } | { field: string; message: string } {
  const query: AuditFilters = {}
  for (const key of ['psn_no', 'actor', 'action'] as const) {
    const value = (filters[key] ?? '').trim()
    if (value) query[key] = value
  }
  for (const key of ['date_from', 'date_to'] as const) {
    const value = (filters[key] ?? '').trim()
    if (!value) continue
    if (!isIsoDate(value)) return { field: key, message: '日期格式为 YYYY-MM-DD' }
    query[key] = value
  }
  if (query.date_from && query.date_to && query.date_from > query.date_to) {
    return { field: 'date_to', message: '结束日期不能早于开始日期' }
  }
  return { query }
}

/** Today's local date as YYYY-MM-DD. */
export function localDate(now: Date = new Date()): string {
  const pad = (n: number) => (n < 10 ? `0${n}` : String(n))
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`
}

/** RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF) to rows; a leading BOM is dropped. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (quoted) {
      if (c === '"') {
        if (s[i + 1] === '"') {
          field += '"'
          i++
        } else {
          quoted = false
        }
      } else {
        field += c
      }
    } else if (c === '"') {
      quoted = true
    } else if (c === ',') {
      row.push(field)
      field = ''
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++
      row.push(field)
      rows.push(row)
      row = []
      field = ''
    } else {
      field += c
    }
  }
  if (field !== '' || row.length) {
    row.push(field)
    rows.push(row)
  }
  return rows
}

/** The export's file name: audit-<date_from or today>[_<date_to>].csv */
export function exportFilename(filters: AuditFilters, today: string): string {
  const from = filters.date_from || today
  const to = filters.date_to && filters.date_to !== from ? `_${filters.date_to}` : ''
  return `audit-${from}${to}.csv`
}
