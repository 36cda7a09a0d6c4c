/** 个人账户余额: the wallet's cached copy of the core's balance, with its time. */
import { ref } from 'vue'
import { getBalance, type Balance } from '@/api/payments'
import { isApiError } from '@/http/errors'

export function useBalance() {
  const balance = ref<Balance | null>(null)
  const error = ref('')
  const loading = ref(false)

  /** GET /api/account/balance (`refresh`: ask the core now, ?refresh=1). */
  async function load(refresh = false): Promise<void> {
    loading.value = true
    error.value = ''
    try {
      balance.value = await getBalance(refresh)
    } catch (err) {
      error.value = isApiError(err) ? err.message : '余额暂时无法获取'
    } finally {
      loading.value = false
    }
  }

  return { balance, error, loading, load }
}
