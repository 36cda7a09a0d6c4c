/**
 * 异地就医备案, pure helpers (no uni, no platform; tests/filing.test.ts):
 * the six types in plain language, the commitment statement, the proof
 * documents, dates and validity, the draft's checks and the create input,
 * status labels, and the advice shown with each FILING_* refusal.
 */
import type {
  CreateFilingInput,
  Filing,
  FilingBasis,
  FilingKind,
  FilingRules,
  FilingStatus,
  FilingType,
  ProofDocType,
  RegionProvince,
} from '@/api/filings'

export type FilingTerm = 'long' | 'temporary'

export interface FilingTypeInfo {
  key: FilingType
  label: string
  kind: FilingKind
  term: FilingTerm
  /** Who it is for, in plain words. */
  help: string
  /** The documents a person may declare instead of the commitment. */
  docs: ProofDocType[]
}

export const FILING_TYPES: ReadonlyArray<FilingTypeInfo> = [
  {
    key: 'retired_resettled',
    label: '异地安置退休',
    kind: 'long_term',
    term: 'long',
    help: '已退休，并在参保省份以外长期定居（例如随子女养老）。备案后在当地看病买药可直接结算，长期有效，直到您取消或变更。',
    docs: ['resettlement_certificate', 'household_register', 'residence_permit'],
  },
  {
    key: 'long_term_residence',
    label: '异地长期居住',
    kind: 'long_term',
    term: 'long',
    help: '在参保省份以外长期居住、生活（例如持有当地居住证）。备案后在居住地看病买药可直接结算，长期有效，直到您取消或变更。',
    docs: ['residence_permit', 'household_register'],
  },
  {
    key: 'stationed_work',
    label: '常驻异地工作',
    kind: 'long_term',
    term: 'long',
    help: '由单位派驻到参保省份以外长期工作。备案后在工作地看病买药可直接结算，长期有效，直到您取消或变更。',
    docs: ['labor_contract'],
  },
  {
    key: 'referral',
    label: '异地转诊转院',
    kind: 'referral',
    term: 'temporary',
    help: '参保地医院因病情需要，把您转到外省医院治疗。需要填写转出医院和诊断；有效期内可多次就诊。',
    docs: ['referral_certificate'],
  },
  {
    key: 'emergency',
    label: '急诊抢救',
    kind: 'emergency',
    term: 'temporary',
    help: '在外省突发疾病需要急诊抢救。急诊抢救视同已备案，看病前不必先备案；也可以在这里登记，有效期内可多次就诊。',
    docs: ['other'],
  },
  {
    key: 'temporary_other',
    label: '其他临时外出',
    kind: 'temporary_other',
    term: 'temporary',
    help: '出差、旅游、探亲等短期到外省，需要看病买药。承诺后即可备案，有效期内可多次就诊，报销比例比长期备案低一些。',
    docs: ['other'],
  },
]

export function filingTypeInfo(type: string): FilingTypeInfo | undefined {
  return FILING_TYPES.find((t) => t.key === type)
}

export const PROOF_DOC_LABELS: Record<ProofDocType, string> = {
  residence_permit: '居住证',
  household_register: '户口簿',
  resettlement_certificate: '异地安置认定表',
  labor_contract: '劳动合同或单位派驻证明',
  referral_certificate: '转诊转院单',
  other: '其他证明',
}

export const BASIS_LABELS: Record<FilingBasis, string> = {
  commitment: '个人承诺（承诺制）',
  proof: '证明材料',
  not_required: '无需材料',
}

/** The commitment statement (承诺书) a person accepts instead of proof: the
 * insured region's text from the rules when there is one, else this one. */
export function commitmentText(typeLabel: string, fromRules?: string | null): string {
  if (fromRules && fromRules.trim()) return fromRules
  return (
    `本人自愿申请办理「${typeLabel}」异地就医备案，并郑重承诺：\n` +
    '一、所填写的备案信息真实、准确、完整；\n' +
    '二、如需补充证明材料，将按参保地医保经办机构的要求及时提供；\n' +
    '三、如有虚假承诺、骗取医保基金等行为，愿意承担相应的法律责任，' +
    '并配合追回已结算的医保基金；\n' +
    '四、备案信息发生变化时，将及时变更或取消备案。'
  )
}

// --- statuses --------------------------------------------------------------------------------

export const FILING_STATUS_LABELS: Record<FilingStatus, string> = {
  active: '有效',
  cancelled: '已撤销',
  expired: '已过期',
}

export function filingStatusLabel(status: string): string {
  return FILING_STATUS_LABELS[status as FilingStatus] ?? status
}

export function filingStatusTone(status: string): 'ok' | 'muted' | 'warn' {
  if (status === 'active') return 'ok'
  if (status === 'expired') return 'warn'
  return 'muted'
}

// --- dates (ISO YYYY-MM-DD, calendar arithmetic in UTC: no time-zone drift) ------------------

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n)
}

function toIso(date: Date): string {
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`
}

/** The local calendar day of `now` as YYYY-MM-DD. */
export function todayIso(now: Date = new Date()): string {
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`
}

export function isIsoDate(value: string): boolean {
  const m = ISO_DATE.exec(value)
  if (!m) return false
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
  return toIso(date) === value
}

export function addDays(iso: string, days: number): string {
  const m = ISO_DATE.exec(iso)
  if (!m) return iso
  return toIso(new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + days)))
}

/** `months` calendar months later; a day the month lacks becomes its last day (01-31 + 1 → 02-28). */
export function addMonths(iso: string, months: number): string {
  const m = ISO_DATE.exec(iso)
  if (!m) return iso
  const year = Number(m[1])
  const month = Number(m[2]) - 1 + months
  const last = new Date(Date.UTC(year, month + 1, 0)).getUTCDate()
  return toIso(new Date(Date.UTC(year, month, Math.min(Number(m[3]), last))))
}

/** The default last day of a temporary filing: the validity in months, counting the first day. */
export function defaultEndDate(begin: string, validMonths: number): string {
  return addDays(addMonths(begin, validMonths), -1)
}

/** The latest begin date: a filing for a trip that is yet to come (rules.max_days_ahead). */
export function latestBeginDate(today: string, maxDaysAhead: number): string {
  return addDays(today, Math.max(0, maxDaysAhead))
}

/** The earliest begin date a late filing (补办) may name. */
export function earliestBeginDate(today: string, lateFilingDays: number): string {
  return addDays(today, -Math.max(0, lateFilingDays))
}

/** 2026-11-27 → 2026年11月27日 */
export function chineseDate(iso: string | null | undefined): string {
  const m = iso ? ISO_DATE.exec(iso) : null
  if (!m) return iso ?? ''
  return `${m[1]}年${Number(m[2])}月${Number(m[3])}日`
}

/** 有效期 as shown in lists and the detail. */
export function validityText(filing: Pick<Filing, 'begin_date' | 'end_date'>): string {
  if (!filing.end_date) return `${chineseDate(filing.begin_date)}起长期有效（取消前持续有效）`
  return `${chineseDate(filing.begin_date)}至${chineseDate(filing.end_date)}`
}

/** Days from `today` to the end date (negative once past); null for a long-term filing. */
export function daysLeft(filing: Pick<Filing, 'end_date'>, today: string): number | null {
  if (!filing.end_date || !isIsoDate(filing.end_date) || !isIsoDate(today)) return null
  const a = Date.parse(`${today}T00:00:00Z`)
  const b = Date.parse(`${filing.end_date}T00:00:00Z`)
  return Math.round((b - a) / 86_400_000)
}

// --- the rules in words ------------------------------------------------------------------------

/** How the ratio changes for a kind, in plain words; '' when the rules do not say. */
export function ratioText(kind: FilingKind, adjustPermille?: Partial<Record<FilingKind, number>> | null): string {
  const value = adjustPermille?.[kind]
  if (typeof value !== 'number') return ''
  if (value >= 0) return '报销比例与参保地相同'
  const points = -value / 10
  return `报销比例比参保地低${Number.isInteger(points) ? points : points.toFixed(1)}个百分点`
}

/** The rule for changing / cancelling a long-term filing, before one exists. */
export function longTermRuleText(rules: Pick<FilingRules, 'long_term_min_months'> | null): string {
  const months = rules?.long_term_min_months
  if (typeof months !== 'number') return '长期备案同一时间只能有一个；备案满参保地规定的期限后方可变更或取消，提前变更或取消须说明理由，由参保地医保经办机构审核。'
  return `长期备案同一时间只能有一个；备案满${months}个月后方可变更或取消，提前变更或取消须说明理由，由参保地医保经办机构审核。`
}

export function temporaryRuleText(rules: Pick<FilingRules, 'temporary_valid_months'> | null): string {
  const months = rules?.temporary_valid_months
  if (typeof months !== 'number') return '临时备案在有效期内可多次就诊，到期自动失效，可随时取消。'
  return `临时备案有效期最长${months}个月，有效期内可多次就诊，到期自动失效，可随时取消。`
}

// --- regions ------------------------------------------------------------------------------------

/** The provinces a person may file to: all but the insured one (a destination there is refused). */
export function destinationProvinces(provinces: RegionProvince[], insuredRegion: string | null | undefined): RegionProvince[] {
  const own = (insuredRegion ?? '').slice(0, 2)
  return provinces.filter((p) => p.code.slice(0, 2) !== own && p.cities.length > 0)
}

/** 广东省 深圳市 (a municipality once: 北京市; a whole province: 广东省（全省）). */
export function regionLabel(provinces: RegionProvince[], admdvs: string): string {
  const province = provinces.find((p) => p.code.slice(0, 2) === admdvs.slice(0, 2))
  if (!province) return admdvs
  const city = province.cities.find((c) => c.code === admdvs)
  if (!city) return admdvs === province.code ? `${province.name}（全省）` : province.name
  return city.name === province.name ? city.name : `${province.name} ${city.name}`
}

// --- the draft ----------------------------------------------------------------------------------

export interface FilingDraft {
  type: FilingType | ''
  destAdmdvs: string
  beginDate: string
  endDate: string
  basis: FilingBasis
  commitmentAccepted: boolean
  docType: ProofDocType | ''
  docNo: string
  referral: {
    reflinMedinsNo: string
    reflinMedinsName: string
    diagCode: string
    diagName: string
    diseCondDscr: string
    institutions: string
  }
}

export function emptyDraft(today: string): FilingDraft {
  return {
    type: '',
    destAdmdvs: '',
    beginDate: today,
    endDate: '',
    basis: 'commitment',
    commitmentAccepted: false,
    docType: '',
    docNo: '',
    referral: { reflinMedinsNo: '', reflinMedinsName: '', diagCode: '', diagName: '', diseCondDscr: '', institutions: '' },
  }
}

/** ICD-10 style, as the national interface sends it: J18.900, I10.x00, K35.800x001 (upper-cased before the check). */
const DIAGNOSIS_CODE = /^[A-Z]\d{2}(\.[0-9A-Z]{1,4}(X\d{3})?)?$/

export function normaliseDiagnosisCode(value: string): string {
  return value.trim().toUpperCase()
}

export function diagnosisCodeProblem(value: string): string {
  const code = normaliseDiagnosisCode(value)
  if (!code) return '请填写诊断编码'
  if (!DIAGNOSIS_CODE.test(code)) return '诊断编码格式不正确，应为疾病分类编码，如 J18.900'
  return ''
}

/** Institution codes as typed: split on commas, spaces or 、; duplicates dropped. */
export function parseInstitutionCodes(value: string): string[] {
  const out: string[] = []
  for (const part of value.split(/[\s,，、;；]+/)) {
    const code = part.trim().toUpperCase()
    if (code && !out.includes(code)) out.push(code)
  }
  return out
}

/** The first problem of the 就医地和日期 step ('' when fine). */
export function destinationProblem(
  draft: FilingDraft,
  rules: Pick<FilingRules, 'insured_region' | 'late_filing_days' | 'max_days_ahead' | 'temporary_valid_months'> | null,
  today: string,
): string {
  const info = filingTypeInfo(draft.type)
  if (!info) return '请选择备案类型'
  if (!/^\d{6}$/.test(draft.destAdmdvs)) return '请选择就医地（省份和城市）'
  if (rules && draft.destAdmdvs.slice(0, 2) === rules.insured_region.slice(0, 2)) {
    return '就医地与参保地在同一省份，无需办理跨省异地就医备案'
  }
  if (!isIsoDate(draft.beginDate)) return '请选择开始日期'
  const lateDays = rules?.late_filing_days ?? 0
  if (draft.beginDate < earliestBeginDate(today, lateDays)) {
    return lateDays > 0 ? `开始日期最早可选${lateDays}天前（补办备案）` : '开始日期不能早于今天'
  }
  if (rules && draft.beginDate > latestBeginDate(today, rules.max_days_ahead)) {
    return `开始日期最晚可选${rules.max_days_ahead}天后`
  }
  if (info.term === 'temporary') {
    if (!isIsoDate(draft.endDate)) return '请选择结束日期'
    if (draft.endDate < draft.beginDate) return '结束日期不能早于开始日期'
    if (rules && draft.endDate > defaultEndDate(draft.beginDate, rules.temporary_valid_months)) {
      return `临时备案有效期最长${rules.temporary_valid_months}个月`
    }
  }
  if (draft.type === 'referral') {
    const r = draft.referral
    if (!r.reflinMedinsName.trim()) return '请填写转出医院名称'
    if (!r.reflinMedinsNo.trim()) return '请填写转出医院的机构编码（见转诊单）'
    const diag = diagnosisCodeProblem(r.diagCode)
    if (diag) return diag
    if (!r.diagName.trim()) return '请填写诊断名称'
  }
  return ''
}

/** The bases a type may rest on: emergency counts as filed and needs none. */
export function basisOptions(type: FilingType | ''): FilingBasis[] {
  return type === 'emergency' ? ['not_required', 'commitment', 'proof'] : ['commitment', 'proof']
}

/** The first problem of the 备案依据 step ('' when fine). */
export function basisProblem(draft: FilingDraft): string {
  if (!basisOptions(draft.type).includes(draft.basis)) return '请选择备案依据'
  if (draft.basis === 'not_required') return ''
  if (draft.basis === 'commitment') return draft.commitmentAccepted ? '' : '请阅读并同意承诺书'
  if (!draft.docType) return '请选择证明材料类型'
  const no = draft.docNo.trim()
  if (!no) return '请填写证明材料编号'
  if (no.length > 40) return '证明材料编号过长'
  return ''
}

/** POST /api/filings' body from a checked draft. */
export function createInput(draft: FilingDraft): CreateFilingInput {
  const info = filingTypeInfo(draft.type)
  if (!info) throw new Error('no filing type')
  const input: CreateFilingInput = {
    type: info.key,
    dest_admdvs: draft.destAdmdvs,
    begin_date: draft.beginDate,
  }
  if (draft.basis !== 'not_required') input.basis = draft.basis
  if (info.term === 'temporary' && draft.endDate) input.end_date = draft.endDate
  if (draft.basis === 'commitment') input.commitment_accepted = true
  else if (draft.docType) input.proof = { doc_type: draft.docType, doc_no: draft.docNo.trim() }
  if (info.key === 'referral') {
    const r = draft.referral
    input.referral = {
      reflin_medins_no: r.reflinMedinsNo.trim(),
      reflin_medins_name: r.reflinMedinsName.trim(),
      diag_code: normaliseDiagnosisCode(r.diagCode),
      diag_name: r.diagName.trim(),
      dise_cond_dscr: r.diseCondDscr.trim(),
      institutions: parseInstitutionCodes(r.institutions),
    }
  }
  return input
}

// --- refusals -----------------------------------------------------------------------------------

export interface FilingAdvice {
  title: string
  advice: string
  /** 'edit': back to the form; 'retry': send again; 'list': nothing to do here. */
  action: 'edit' | 'retry' | 'list'
}

export const FILING_ADVICE: Record<string, FilingAdvice> = {
  FILING_DEST_SAME_PROVINCE: {
    title: '就医地在参保省份内',
    advice: '省内就医按参保地规定直接结算，无需办理跨省备案；请选择其他省份',
    action: 'edit',
  },
  FILING_DATES_INVALID: { title: '日期不正确', advice: '请检查开始和结束日期', action: 'edit' },
  FILING_LONG_TERM_EXISTS: {
    title: '已有长期备案',
    advice: '同一时间只能有一个长期备案；如需更换就医地，请在「我的备案」中变更原备案',
    action: 'list',
  },
  FILING_TOO_EARLY: {
    title: '暂不能变更或取消',
    advice: '长期备案未满规定期限；如确有需要，请填写理由后提交，由参保地医保经办机构审核',
    action: 'edit',
  },
  FILING_NOT_FOUND: { title: '未找到该备案', advice: '请返回「我的备案」查看', action: 'list' },
  FILING_REGION_NOT_OPEN: {
    title: '参保地暂未开通跨省异地就医直接结算',
    advice: '请先在就医地垫付费用，回参保地医保经办机构按规定报销；咨询请拨打医保服务热线 12393',
    action: 'list',
  },
  FILING_DIAGNOSIS_INVALID: {
    title: '诊断编码不正确',
    advice: '请按转诊单填写疾病诊断编码，如 J18.900',
    action: 'edit',
  },
  FILING_NOT_ACTIVE: { title: '备案已失效', advice: '已取消或已过期的备案不能再变更或取消', action: 'list' },
}

const FALLBACK: FilingAdvice = { title: '办理失败', advice: '请稍后重试；如仍有问题，请拨打医保服务热线 12393', action: 'retry' }

export function filingAdviceFor(code: string): FilingAdvice {
  if (FILING_ADVICE[code]) return FILING_ADVICE[code]
  if (code === 'VALIDATION_ERROR') return { title: '填写有误', advice: '请检查填写的内容', action: 'edit' }
  if (code === 'NOT_ACTIVATED') return { title: '尚未激活医保电子凭证', advice: '请先在首页激活医保电子凭证', action: 'list' }
  return FALLBACK
}
