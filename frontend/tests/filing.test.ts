import { describe, expect, it } from 'vitest'
import type { RegionProvince } from '@/api/filings'
import { newFilingKey } from '@/api/filings'
import {
  FILING_ADVICE,
  FILING_TYPES,
  addDays,
  addMonths,
  basisOptions,
  basisProblem,
  chineseDate,
  commitmentText,
  createInput,
  daysLeft,
  defaultEndDate,
  destinationProblem,
  destinationProvinces,
  diagnosisCodeProblem,
  earliestBeginDate,
  emptyDraft,
  filingAdviceFor,
  filingStatusLabel,
  filingTypeInfo,
  isIsoDate,
  longTermRuleText,
  parseInstitutionCodes,
  ratioText,
  regionLabel,
  temporaryRuleText,
  todayIso,
  validityText,
  type FilingDraft,
} from '@/utils/filing'

const PROVINCES: RegionProvince[] = [
  { code: '110000', name: '北京市', cities: [{ code: '110100', name: '北京市' }] },
  { code: '440000', name: '广东省', cities: [{ code: '440100', name: '广州市' }, { code: '440300', name: '深圳市' }] },
  { code: '510000', name: '四川省', cities: [{ code: '510100', name: '成都市' }] },
  { code: '990000', name: '空省', cities: [] },
]
const RULES = {
  insured_region: '110100',
  late_filing_days: 30,
  max_days_ahead: 90,
  temporary_valid_months: 6,
  long_term_min_months: 6,
}
const TODAY = '2026-11-27'

function draft(patch: Partial<FilingDraft> = {}): FilingDraft {
  return { ...emptyDraft(TODAY), ...patch }
}

describe('the six filing types', () => {
  it('lists each national type once, with its engine kind, term and plain-language help', () => {
    expect(FILING_TYPES.map((t) => [t.key, t.label, t.kind, t.term])).toEqual([
      ['retired_resettled', '异地安置退休', 'long_term', 'long'],
      ['long_term_residence', '异地长期居住', 'long_term', 'long'],
      ['stationed_work', '常驻异地工作', 'long_term', 'long'],
      ['referral', '异地转诊转院', 'referral', 'temporary'],
      ['emergency', '急诊抢救', 'emergency', 'temporary'],
      ['temporary_other', '其他临时外出', 'temporary_other', 'temporary'],
    ])
    for (const t of FILING_TYPES) {
      expect(t.help.length).toBeGreaterThan(20)
      expect(t.docs.length).toBeGreaterThan(0)
    }
    expect(filingTypeInfo('emergency')?.help).toContain('视同已备案')
    expect(filingTypeInfo('nope')).toBeUndefined()
  })

  it('says the ratio change per kind from the insured region adjustments', () => {
    const adjust = { long_term: 0, referral: -100, emergency: -100, temporary_other: -200 }
    expect(ratioText('long_term', adjust)).toBe('报销比例与参保地相同')
    expect(ratioText('temporary_other', adjust)).toBe('报销比例比参保地低20个百分点')
    expect(ratioText('referral', { referral: -125 })).toBe('报销比例比参保地低12.5个百分点')
    expect(ratioText('referral', null)).toBe('')
  })

  it('states the change / cancel rule and the validity with the region numbers, or without any', () => {
    expect(longTermRuleText({ long_term_min_months: 6 })).toContain('备案满6个月后方可变更或取消')
    expect(longTermRuleText(null)).not.toMatch(/\d/)
    expect(temporaryRuleText({ temporary_valid_months: 3 })).toContain('最长3个月')
    expect(commitmentText('异地长期居住')).toContain('「异地长期居住」')
    expect(commitmentText('异地长期居住', '参保地的承诺书')).toBe('参保地的承诺书')
    expect(commitmentText('异地长期居住', ' ')).toContain('「异地长期居住」')
  })
})

describe('dates', () => {
  it('checks ISO dates exactly', () => {
    expect(isIsoDate('2026-02-28')).toBe(true)
    expect(isIsoDate('2026-02-29')).toBe(false)
    expect(isIsoDate('2026-2-1')).toBe(false)
    expect(isIsoDate('')).toBe(false)
  })

  it('adds days and months by the calendar (short months clamp)', () => {
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01')
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28')
    expect(addMonths('2026-08-31', 6)).toBe('2027-02-28')
    expect(addMonths('2027-08-31', 6)).toBe('2028-02-29')
    expect(addMonths('2026-11-27', 6)).toBe('2027-05-27')
    expect(defaultEndDate('2026-11-27', 6)).toBe('2027-05-26')
    expect(earliestBeginDate(TODAY, 30)).toBe('2026-10-28')
    expect(earliestBeginDate(TODAY, -5)).toBe(TODAY)
  })

  it('shows dates and validity in Chinese', () => {
    expect(todayIso(new Date(2026, 0, 5, 23, 59))).toBe('2026-01-05')
    expect(chineseDate('2026-01-05')).toBe('2026年1月5日')
    expect(validityText({ begin_date: '2026-11-27', end_date: null })).toBe('2026年11月27日起长期有效（取消前持续有效）')
    expect(validityText({ begin_date: '2026-11-27', end_date: '2027-05-26' })).toBe('2026年11月27日至2027年5月26日')
    expect(daysLeft({ end_date: '2026-12-12' }, TODAY)).toBe(15)
    expect(daysLeft({ end_date: null }, TODAY)).toBeNull()
  })
})

describe('regions', () => {
  it('leaves out the insured province and empty provinces', () => {
    expect(destinationProvinces(PROVINCES, '110100').map((p) => p.code)).toEqual(['440000', '510000'])
    expect(destinationProvinces(PROVINCES, null).map((p) => p.code)).toEqual(['110000', '440000', '510000'])
  })

  it('names a city with its province, a municipality once', () => {
    expect(regionLabel(PROVINCES, '440300')).toBe('广东省 深圳市')
    expect(regionLabel(PROVINCES, '110100')).toBe('北京市')
    expect(regionLabel(PROVINCES, '440000')).toBe('广东省（全省）')
    expect(regionLabel(PROVINCES, '440900')).toBe('广东省')
    expect(regionLabel(PROVINCES, '123456')).toBe('123456')
  })
})

describe('the draft', () => {
  it('refuses each missing or wrong detail with its own message', () => {
    expect(destinationProblem(draft(), RULES, TODAY)).toBe('请选择备案类型')
    expect(destinationProblem(draft({ type: 'long_term_residence' }), RULES, TODAY)).toContain('请选择就医地')
    expect(destinationProblem(draft({ type: 'long_term_residence', destAdmdvs: '110100' }), RULES, TODAY)).toContain('同一省份')
    expect(destinationProblem(draft({ type: 'long_term_residence', destAdmdvs: '440300', beginDate: '2026-10-01' }), RULES, TODAY))
      .toBe('开始日期最早可选30天前（补办备案）')
    expect(destinationProblem(draft({ type: 'long_term_residence', destAdmdvs: '440300', beginDate: '2026-11-01' }), { ...RULES, late_filing_days: 0 }, TODAY))
      .toBe('开始日期不能早于今天')
    expect(destinationProblem(draft({ type: 'long_term_residence', destAdmdvs: '440300' }), RULES, TODAY)).toBe('')
    // a trip yet to come: up to 90 days ahead
    expect(destinationProblem(draft({ type: 'long_term_residence', destAdmdvs: '440300', beginDate: '2027-02-25' }), RULES, TODAY)).toBe('')
    expect(destinationProblem(draft({ type: 'long_term_residence', destAdmdvs: '440300', beginDate: '2027-02-26' }), RULES, TODAY))
      .toBe('开始日期最晚可选90天后')
    expect(destinationProblem(draft({ type: 'long_term_residence', destAdmdvs: '440300', beginDate: '2027-01-01' }), { ...RULES, max_days_ahead: 30 }, TODAY))
      .toBe('开始日期最晚可选30天后')
    // a late filing within the window is fine
    expect(destinationProblem(draft({ type: 'temporary_other', destAdmdvs: '510100', beginDate: '2026-11-01', endDate: '2027-04-30' }), RULES, TODAY)).toBe('')
  })

  it('checks a temporary filing end date against its start and the validity', () => {
    const base = { type: 'temporary_other' as const, destAdmdvs: '510100' }
    expect(destinationProblem(draft(base), RULES, TODAY)).toBe('请选择结束日期')
    expect(destinationProblem(draft({ ...base, endDate: '2026-11-26' }), RULES, TODAY)).toBe('结束日期不能早于开始日期')
    expect(destinationProblem(draft({ ...base, endDate: '2027-05-27' }), RULES, TODAY)).toBe('临时备案有效期最长6个月')
    expect(destinationProblem(draft({ ...base, endDate: '2027-05-26' }), RULES, TODAY)).toBe('')
  })

  it('asks for the referral details, the diagnosis code in ICD-10 form', () => {
    const base = { type: 'referral' as const, destAdmdvs: '440300', endDate: '2027-01-01' }
    const referral = { ...emptyDraft(TODAY).referral }
    expect(destinationProblem(draft({ ...base, referral }), RULES, TODAY)).toBe('请填写转出医院名称')
    const unnumbered = { ...referral, reflinMedinsName: '北京某医院', diagCode: 'J18.900' }
    expect(destinationProblem(draft({ ...base, referral: unnumbered }), RULES, TODAY)).toContain('机构编码')
    const named = { ...unnumbered, reflinMedinsNo: 'H11010000001', diagCode: 'j18-900' }
    expect(destinationProblem(draft({ ...base, referral: named }), RULES, TODAY)).toContain('诊断编码格式不正确')
    const coded = { ...named, diagCode: ' j18.900 ' }
    expect(destinationProblem(draft({ ...base, referral: coded }), RULES, TODAY)).toBe('请填写诊断名称')
    expect(destinationProblem(draft({ ...base, referral: { ...coded, diagName: '肺炎' } }), RULES, TODAY)).toBe('')
    expect(diagnosisCodeProblem('K35.800X001')).toBe('')
    expect(diagnosisCodeProblem('I10')).toBe('')
    expect(diagnosisCodeProblem('')).toBe('请填写诊断编码')
    expect(diagnosisCodeProblem('18.900')).not.toBe('')
  })

  it('needs the commitment accepted, or a document type and number', () => {
    expect(basisProblem(draft({ type: 'long_term_residence' }))).toBe('请阅读并同意承诺书')
    expect(basisProblem(draft({ type: 'long_term_residence', commitmentAccepted: true }))).toBe('')
    expect(basisProblem(draft({ type: 'stationed_work', basis: 'proof' }))).toBe('请选择证明材料类型')
    expect(basisProblem(draft({ type: 'stationed_work', basis: 'proof', docType: 'residence_permit', docNo: '  ' }))).toBe('请填写证明材料编号')
    expect(basisProblem(draft({ type: 'stationed_work', basis: 'proof', docType: 'residence_permit', docNo: 'x'.repeat(41) }))).toBe('证明材料编号过长')
    expect(basisProblem(draft({ type: 'stationed_work', basis: 'proof', docType: 'residence_permit', docNo: '4403001234' }))).toBe('')
  })

  it('builds the create body: no end date for long-term, commitment or proof, referral normalised', () => {
    expect(createInput(draft({ type: 'long_term_residence', destAdmdvs: '440300', endDate: '2027-01-01', commitmentAccepted: true })))
      .toEqual({ type: 'long_term_residence', dest_admdvs: '440300', begin_date: TODAY, basis: 'commitment', commitment_accepted: true })
    expect(createInput(draft({ type: 'temporary_other', destAdmdvs: '510100', endDate: '2027-05-26', basis: 'proof', docType: 'other', docNo: ' A1 ' })))
      .toEqual({ type: 'temporary_other', dest_admdvs: '510100', begin_date: TODAY, end_date: '2027-05-26', basis: 'proof',
        proof: { doc_type: 'other', doc_no: 'A1' } })
    const referral = { reflinMedinsNo: ' H11 ', reflinMedinsName: ' 北京某医院 ', diagCode: 'j18.900', diagName: '肺炎', diseCondDscr: '',
      institutions: 'h440300001，H440300002 h440300001' }
    expect(createInput(draft({ type: 'referral', destAdmdvs: '440300', endDate: '2027-01-01', commitmentAccepted: true, referral })).referral)
      .toEqual({ reflin_medins_no: 'H11', reflin_medins_name: '北京某医院', diag_code: 'J18.900', diag_name: '肺炎', dise_cond_dscr: '',
        institutions: ['H440300001', 'H440300002'] })
    expect(() => createInput(draft())).toThrow()
  })

  it('lets emergency rest on nothing (basis omitted), the others on a commitment or proof', () => {
    expect(basisOptions('emergency')).toEqual(['not_required', 'commitment', 'proof'])
    expect(basisOptions('temporary_other')).toEqual(['commitment', 'proof'])
    expect(basisProblem(draft({ type: 'emergency', basis: 'not_required' }))).toBe('')
    expect(basisProblem(draft({ type: 'referral', basis: 'not_required' }))).toBe('请选择备案依据')
    expect(createInput(draft({ type: 'emergency', destAdmdvs: '440300', endDate: '2026-12-31', basis: 'not_required' })))
      .toEqual({ type: 'emergency', dest_admdvs: '440300', begin_date: TODAY, end_date: '2026-12-31' })
  })

  it('splits typed institution codes', () => {
    expect(parseInstitutionCodes(' a1、b2; a1 ,c3 ')).toEqual(['A1', 'B2', 'C3'])
    expect(parseInstitutionCodes('')).toEqual([])
  })
})

describe('statuses and refusals', () => {
  it('labels statuses', () => {
    expect(filingStatusLabel('active')).toBe('有效')
    expect(filingStatusLabel('cancelled')).toBe('已撤销')
    expect(filingStatusLabel('expired')).toBe('已过期')
    expect(filingStatusLabel('other')).toBe('other')
  })

  it('advises on every refusal of the contract, and falls back to retrying', () => {
    for (const code of ['FILING_DEST_SAME_PROVINCE', 'FILING_DATES_INVALID', 'FILING_LONG_TERM_EXISTS', 'FILING_TOO_EARLY',
      'FILING_NOT_FOUND', 'FILING_REGION_NOT_OPEN', 'FILING_DIAGNOSIS_INVALID']) {
      expect(FILING_ADVICE[code]).toBeDefined()
      expect(filingAdviceFor(code).advice).not.toBe('')
    }
    expect(filingAdviceFor('FILING_DEST_SAME_PROVINCE').action).toBe('edit')
    expect(filingAdviceFor('FILING_LONG_TERM_EXISTS').action).toBe('list')
    expect(filingAdviceFor('CORE_UNAVAILABLE').action).toBe('retry')
  })

  it('makes 32-hex idempotency keys', () => {
    expect(newFilingKey(() => 0.5)).toBe('8'.repeat(32))
    expect(newFilingKey()).toMatch(/^[0-9a-f]{32}$/)
  })
})
