/**
 * One GET shown on a page: the answer, or the error to show (an ApiError,
 * UNEXPECTED with `message` for anything else), and a `load` to (re)try.
 */
import { ref, type Ref } from 'vue'
import { toApiError, type ApiError } from '@/http/errors'

export function useLoad<T>(fetch: () => Promise<T>, message = '加载失败，请重试') {
  const data = ref<T | null>(null) as Ref<T | null>
  const error = ref<ApiError | null>(null)

  async function load(): Promise<void> {
    error.value = null
    try {
      data.value = await fetch()
    } catch (err) {
      error.value = toApiError(err, message)
    }
  }

  return { data, error, load }
}
