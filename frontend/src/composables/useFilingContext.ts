/**
 * What the filing pages share: the person's insured region's rules
 * (GET /api/filings/rules) and the province/city list (GET /api/filings/regions),
 * each asked once per app run (regions never change while the app runs; the
 * rules are asked again after a failure).
 */
import { ref } from 'vue'
import { getFilingRegions, getFilingRules, type FilingRules, type RegionProvince } from '@/api/filings'
import { toApiError, type ApiError } from '@/http/errors'

let rulesCache: FilingRules | null = null
let regionsCache: RegionProvince[] | null = null

export function useFilingContext() {
  const rules = ref<FilingRules | null>(rulesCache)
  const provinces = ref<RegionProvince[]>(regionsCache ?? [])
  const error = ref<ApiError | null>(null)
  const ready = ref(rulesCache !== null && regionsCache !== null)

  async function load(): Promise<void> {
    error.value = null
    try {
      const [r, g] = await Promise.all([
        rulesCache ? Promise.resolve(rulesCache) : getFilingRules(),
        regionsCache ? Promise.resolve({ provinces: regionsCache }) : getFilingRegions(),
      ])
      rulesCache = r
      regionsCache = g.provinces
      rules.value = r
      provinces.value = g.provinces
      ready.value = true
    } catch (err) {
      error.value = toApiError(err, '加载备案规则失败，请重试')
    }
  }

  return { rules, provinces, error, ready, load }
}
