/**
 * 亲情账户 / 家庭共济 helpers: labels, the consent a relative's age allows,
 * the guardian's commitment, mutual-aid amount checks, the code page's person
 * list and the per-code advice of the family errors. Pure (no uni, no
 * platform, no store); unit-tested in tests/family-utils.test.ts.
 *
 * The server is authoritative for every rule (age on the exact birthday,
 * limits, relations); the checks here only guide the person early.
 */
import type { ErrorAdvice } from './activation'
import { fenToYuan, yuanToFen } from './money'

export type RelationKey = 'spouse' | 'parent' | 'child' | 'sibling' | 'grandparent' | 'grandchild'
export type ConsentKey = 'liveness' | 'invitation' | 'guardian'

/** The relation of the RELATIVE to the binder ("parent": the relative is my parent). */
export const RELATIONS: ReadonlyArray<{ key: RelationKey; label: string }> = [
  { key: 'spouse', label: '配偶' },
  { key: 'parent', label: '父母' },
  { key: 'child', label: '子女' },
  { key: 'sibling', label: '兄弟姐妹' },
  { key: 'grandparent', label: '祖父母/外祖父母' },
  { key: 'grandchild', label: '孙子女/外孙子女' },
]

export function relationLabel(relation: string): string {
  return RELATIONS.find((r) => r.key === relation)?.label ?? relation
}

/** The API's gender code ('1' male, '2' female, GB/T 2261.1) in Chinese. */
export function genderLabel(gender: string): string {
  return ({ '1': '男', '2': '女' } as Record<string, string>)[gender] ?? gender
}

export const BINDING_STATUS_LABELS: Record<string, string> = {
  pending: '待本人确认',
  active: '已绑定',
  ended: '已解除',
}

export function bindingStatusLabel(status: string): string {
  return BINDING_STATUS_LABELS[status] ?? status
}

export const RELATION_CHECK_LABELS: Record<string, string> = {
  verified: '亲属关系已核验',
  pending: '亲属关系核验中',
  refuted: '亲属关系未通过核验',
}

export function relationCheckLabel(check: string): string {
  return RELATION_CHECK_LABELS[check] ?? check
}

export const CONSENT_LABELS: Record<ConsentKey, string> = {
  liveness: '亲属本人当面刷脸',
  invitation: '邀请亲属在本人手机上确认',
  guardian: '监护人承诺（16周岁以下）',
}

export function consentLabel(consent: string): string {
  return (CONSENT_LABELS as Record<string, string>)[consent] ?? consent
}

export const MUTUAL_AID_STATUS_LABELS: Record<string, string> = {
  active: '已授权',
  revoked: '已撤销',
  ended: '已终止',
}

export function mutualAidStatusLabel(status: string): string {
  return MUTUAL_AID_STATUS_LABELS[status] ?? status
}

export const MUTUAL_AID_MODES: ReadonlyArray<{ key: 'direct' | 'set_aside'; label: string; note: string }> = [
  { key: 'direct', label: '直接共济', note: '亲属就医时，先用其本人个人账户，不足部分从您的个人账户支付' },
  {
    key: 'set_aside',
    label: '设定共济额度',
    note: '从您的个人账户中划出一笔额度专供该亲属使用，额度内资金冻结，解除共济时全额退回',
  },
]

export function mutualAidModeLabel(mode: string): string {
  return MUTUAL_AID_MODES.find((m) => m.key === mode)?.label ?? mode
}

export const GUARDIAN_MAX_AGE = 16

export const GUARDIAN_DOC_TYPES: ReadonlyArray<{ key: 'hukou' | 'birth_cert'; label: string; placeholder: string }> = [
  { key: 'hukou', label: '户口簿', placeholder: '请输入户口簿编号' },
  { key: 'birth_cert', label: '出生医学证明', placeholder: '请输入出生医学证明编号' },
]

/** The guardian's commitment statement (承诺书) shown before binding a relative under 16. */
export const GUARDIAN_COMMITMENT = [
  '本人承诺：',
  '一、本人是被添加人的法定监护人，所填写的被添加人姓名、身份证号及户口簿（或出生医学证明）信息真实、准确、完整；',
  '二、本人仅为被添加人就医购药出示其医保电子凭证、查询其医保信息，不转借他人，不用于任何违法违规用途；',
  '三、被添加人年满16周岁后，可自行解除本绑定；',
  '四、如有虚假承诺或冒用他人身份，本人愿承担相应法律责任，医保部门可解除绑定并依法处理。',
].join('\n')

/** The birth date in an 18-character ID number (positions 7–14), or null if it is not a real date. */
export function birthDateFromId(idNumber: string): { year: number; month: number; day: number } | null {
  const id = idNumber.trim().toUpperCase()
  if (!/^\d{17}[\dX]$/.test(id)) return null
  const year = Number(id.slice(6, 10))
  const month = Number(id.slice(10, 12))
  const day = Number(id.slice(12, 14))
  const date = new Date(Date.UTC(year, month - 1, day))
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null
  return { year, month, day }
}

/**
 * Whole years of age on `today` (local calendar date). The birthday itself
 * counts: on the 16th birthday the age is 16. A 29 February birthday is
 * reached on 1 March in common years.
 */
export function ageOn(idNumber: string, today: Date = new Date()): number | null {
  const birth = birthDateFromId(idNumber)
  if (!birth) return null
  const y = today.getFullYear()
  const m = today.getMonth() + 1
  const d = today.getDate()
  let age = y - birth.year
  if (m < birth.month || (m === birth.month && d < birth.day)) age -= 1
  return age
}

/** The ways a relative of this age can consent: under 16 a guardian's commitment, else the relative's own face. */
export function consentsForAge(age: number | null): ConsentKey[] {
  if (age === null) return ['liveness', 'invitation', 'guardian']
  return age < GUARDIAN_MAX_AGE ? ['guardian'] : ['liveness', 'invitation']
}

/** Why a household-register / birth-certificate number cannot be right; '' when plausible. */
export function guardianDocProblem(docNo: string): string {
  const value = docNo.trim()
  if (value === '') return '请填写证件编号'
  if (!/^[0-9A-Za-z]{6,32}$/.test(value)) return '证件编号应为6至32位数字或字母'
  return ''
}

/**
 * A cap / amount field: '' means "no cap" (null); else yuan with at most two
 * decimals, not negative. Returns [value for the API, problem in Chinese].
 */
export function capField(text: string, label: string, { required = false } = {}): [string | null, string] {
  const value = text.trim()
  if (value === '') return [null, required ? `请填写${label}` : '']
  if (!/^\d+(\.\d{1,2})?$/.test(value)) return [null, `${label}应为不小于0的金额，最多两位小数`]
  let fen: number
  try {
    fen = yuanToFen(value)
  } catch {
    return [null, `${label}金额过大`]
  }
  return [fenToYuan(fen), '']
}

export interface MutualAidForm {
  mode: 'direct' | 'set_aside'
  annualCap: string
  billCap: string
  confirmAbove: string
  setAside: string
}

/** The form as the API's body (yuan strings or null), or the first problem. */
export function mutualAidBody(form: MutualAidForm): { body: Record<string, string | null>; problem: string } {
  const [annual, p1] = capField(form.annualCap, '年度共济上限')
  const [bill, p2] = capField(form.billCap, '单笔共济上限')
  const [confirm, p3] = capField(form.confirmAbove, '需确认的金额')
  const [setAside, p4] = form.mode === 'set_aside' ? capField(form.setAside, '共济额度', { required: true }) : [null, '']
  const problem = p1 || p2 || p3 || p4
  if (!problem && annual !== null && bill !== null && yuanToFen(bill) > yuanToFen(annual)) {
    return { body: {}, problem: '单笔共济上限不能高于年度共济上限' }
  }
  const body: Record<string, string | null> = {
    mode: form.mode,
    annual_cap: annual,
    bill_cap: bill,
    confirm_above: confirm,
  }
  if (form.mode === 'set_aside') body.set_aside = setAside
  return { body, problem }
}

/** Amount for display: "¥12.30", or the fallback for null (不限). */
export function yuanText(value: string | null | undefined, fallback = '不限'): string {
  if (value === null || value === undefined || value === '') return fallback
  try {
    return `¥${fenToYuan(yuanToFen(value))}`
  } catch {
    return value
  }
}

export interface CodePerson {
  /** '' for the signed-in person; else the binding id */
  id: string
  label: string
  name: string
}

interface CodeBinding {
  id: string
  relation: string
  relation_name?: string
  status: string
  can_show_code: boolean
  relative: { name: string }
}

/** The code page's switcher: 本人 first, then each active relative whose code may be shown. */
export function codePersons(myName: string, bindings: ReadonlyArray<CodeBinding>): CodePerson[] {
  const out: CodePerson[] = [{ id: '', label: '本人', name: myName }]
  for (const b of bindings) {
    if (b.status !== 'active' || !b.can_show_code) continue
    out.push({ id: b.id, label: b.relation_name || relationLabel(b.relation), name: b.relative.name })
  }
  return out
}

/** The code socket's path for one connect: the ticket, and the relative's binding id when showing theirs. */
export function codeSocketPath(base: string, ticket: string, person = ''): string {
  const query = `ticket=${encodeURIComponent(ticket)}${person ? `&person=${encodeURIComponent(person)}` : ''}`
  return `${base}?${query}`
}

/** `?person=<id>` (or '&person=' after an existing query) for the REST side of a relative's code. */
export function withPerson(url: string, person = ''): string {
  if (!person) return url
  return `${url}${url.includes('?') ? '&' : '?'}person=${encodeURIComponent(person)}`
}

/** The H5 route of the invitation page (the API's url points there; this is for a missing url). */
export function invitationRoute(token: string): string {
  return `/pages-family/invite/index?token=${encodeURIComponent(token)}`
}

/** Time left until `expiresAt`, in Chinese ("23小时59分" / "5分钟" / "已过期"). */
export function timeLeftText(expiresAt: string, now: number = Date.now()): string {
  const at = Date.parse(expiresAt)
  if (!Number.isFinite(at)) return ''
  const minutes = Math.floor((at - now) / 60000)
  if (minutes <= 0) return '已过期'
  const h = Math.floor(minutes / 60)
  const m = minutes % 60
  return h > 0 ? `${h}小时${m}分` : `${m}分钟`
}

/** Advice for the family errors (joined into utils/activation's adviceFor table). */
export const FAMILY_ADVICE: Record<string, ErrorAdvice> = {
  FAMILY_SELF_BINDING: { title: '不能添加本人', advice: '亲情账户用于添加家人，请填写亲属的姓名和身份证号', action: 'edit', inline: true },
  FAMILY_TOO_MANY_RELATIVES: {
    title: '亲属数量已达上限',
    advice: '每人最多添加5位亲属，如需添加请先解除一位已绑定的亲属',
    action: 'home',
    inline: false,
  },
  FAMILY_TOO_MANY_BINDERS: {
    title: '该亲属的绑定人数已达上限',
    advice: '每位亲属最多被3人添加，请由已绑定的家人为其办理，或请其先解除一个绑定',
    action: 'home',
    inline: false,
  },
  FAMILY_ALREADY_BOUND: { title: '已添加过该亲属', advice: '请在亲情账户列表中查看该亲属', action: 'home', inline: false },
  FAMILY_RELATION_INVALID: { title: '亲属关系有误', advice: '请选择正确的亲属关系后重新提交', action: 'edit', inline: true },
  FAMILY_NOT_FOUND: { title: '未找到该亲属', advice: '该绑定可能已解除，请返回亲情账户列表查看', action: 'home', inline: false },
  FAMILY_GUARDIAN_NOT_ALLOWED: {
    title: '亲属已满16周岁',
    advice: '年满16周岁的亲属须本人刷脸确认，请选择「当面刷脸」或「邀请确认」',
    action: 'edit',
    inline: true,
  },
  FAMILY_GUARDIAN_DETAILS_REQUIRED: {
    title: '请完善监护人承诺',
    advice: '请阅读并同意承诺书，填写户口簿或出生医学证明编号',
    action: 'edit',
    inline: true,
  },
  FAMILY_INVITATION_USED: { title: '邀请已使用', advice: '每个邀请只能使用一次，如需重新绑定请联系邀请人重新发起', action: 'home', inline: false },
  FAMILY_INVITATION_EXPIRED: { title: '邀请已过期', advice: '邀请有效期为24小时，请联系邀请人重新发起邀请', action: 'home', inline: false },
  FAMILY_INVITATION_NOT_FOR_YOU: {
    title: '该邀请不是发给您的',
    advice: '请由被邀请的亲属本人在自己的手机上登录后打开邀请',
    action: 'home',
    inline: false,
  },
  FAMILY_NOT_ACTIVE: { title: '绑定尚未生效', advice: '请先完成亲属的身份确认', action: 'home', inline: false },
  FAMILY_END_NOT_ALLOWED: {
    title: '暂不能解除',
    advice: '16周岁以下的亲属不能自行解除绑定，请由监护人办理',
    action: 'home',
    inline: false,
  },
  MULAID_PAYER_NOT_EMPLOYEE: {
    title: '暂不能开通家庭共济',
    advice: '家庭共济须由参加职工基本医疗保险且有个人账户的参保人开通',
    action: 'home',
    inline: false,
  },
  MULAID_RELATION_NOT_ALLOWED: {
    title: '该亲属关系不在共济范围内',
    advice: '您的参保地规定的共济范围不包括该亲属关系，详情请咨询参保地医保经办机构',
    action: 'home',
    inline: false,
  },
  MULAID_RELATION_UNVERIFIED: {
    title: '亲属关系尚未核验',
    advice: '亲属关系核验通过后才能开通家庭共济，请稍后再试或到医保经办机构办理',
    action: 'home',
    inline: false,
  },
  MULAID_CAP_INVALID: { title: '金额有误', advice: '请填写不小于0且不超过个人账户余额的金额', action: 'edit', inline: true },
  MULAID_NOT_FOUND: { title: '未找到共济授权', advice: '该授权可能已撤销，请返回刷新后查看', action: 'home', inline: false },
  MULAID_REVOKED: { title: '共济授权已撤销', advice: '如需继续为该亲属共济，请重新开通', action: 'home', inline: false },
  RATE_LIMITED: { title: '操作过于频繁', advice: '为保护您和家人的信息安全，请稍后再试', action: 'home', inline: false },
}
