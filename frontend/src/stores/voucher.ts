import { defineStore } from 'pinia'
import { ref } from 'vue'
import {
  getDiagnosis,
  getMe,
  listAuthorizations,
  revokeAuthorization,
  type Authorization,
  type Diagnosis,
  type Me,
} from '@/api/voucher'
import { toApiError as asApiError, type ApiError } from '@/http/errors'

/** Sort: active first, then the current channel, then newest. */
export function sortAuthorizations(items: Authorization[]): Authorization[] {
  return [...items].sort((a, b) => {
    const active = Number(b.status === 'active') - Number(a.status === 'active')
    if (active) return active
    const current = Number(!!b.current) - Number(!!a.current)
    if (current) return current
    return (Date.parse(b.created_at) || 0) - (Date.parse(a.created_at) || 0)
  })
}

/** The person's voucher as the app knows it: /api/me, authorizations, diagnosis. */
export const useVoucherStore = defineStore('voucher', () => {
  const me = ref<Me | null>(null)
  const meError = ref<ApiError | null>(null)
  const meLoading = ref(false)
  const authorizations = ref<Authorization[]>([])
  const authorizationsError = ref<ApiError | null>(null)
  const authorizationsLoading = ref(false)
  const diagnosis = ref<Diagnosis | null>(null)
  const diagnosisError = ref<ApiError | null>(null)
  const diagnosisLoading = ref(false)

  async function loadMe(): Promise<void> {
    meLoading.value = true
    meError.value = null
    try {
      me.value = await getMe()
    } catch (err) {
      me.value = null
      meError.value = asApiError(err)
    } finally {
      meLoading.value = false
    }
  }

  async function loadAuthorizations(): Promise<void> {
    authorizationsLoading.value = true
    authorizationsError.value = null
    try {
      authorizations.value = sortAuthorizations(await listAuthorizations())
    } catch (err) {
      authorizationsError.value = asApiError(err)
    } finally {
      authorizationsLoading.value = false
    }
  }

  /** Revoke, then reload the list (also on failure: the list may be stale). */
  async function revoke(id: Authorization['id']): Promise<ApiError | null> {
    let failure: ApiError | null = null
    try {
      await revokeAuthorization(id)
    } catch (err) {
      failure = asApiError(err)
    }
    await loadAuthorizations()
    return failure
  }

  async function loadDiagnosis(): Promise<void> {
    diagnosisLoading.value = true
    diagnosisError.value = null
    try {
      diagnosis.value = await getDiagnosis()
    } catch (err) {
      diagnosis.value = null
      diagnosisError.value = asApiError(err)
    } finally {
      diagnosisLoading.value = false
    }
  }

  function reset(): void {
    me.value = null
    meError.value = null
    authorizations.value = []
    authorizationsError.value = null
    diagnosis.value = null
    diagnosisError.value = null
  }

  return {
    me,
    meError,
    meLoading,
    authorizations,
    authorizationsError,
    authorizationsLoading,
    diagnosis,
    diagnosisError,
    diagnosisLoading,
    loadMe,
    loadAuthorizations,
    revoke,
    loadDiagnosis,
    reset,
  }
})
