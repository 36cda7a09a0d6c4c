/** 预结算 (2101): the split, and whether 个人账户支付 will need the payer's PIN. */
import { ref } from 'vue'
import { call } from '@/api/terminal'
import { setlinfoOf } from '@/utils/receipt'
import { errText, type PosContext } from './context'

export function usePreSettle(ctx: PosContext) {
  const result = ref<Record<string, string> | null>(null)
  const confirmRequired = ref('')

  async function run(input: Record<string, unknown> | null): Promise<void> {
    const creds = ctx.creds.value
    if (!creds || !input) return
    ctx.txError.value = null
    ctx.busy.value = 'presettle'
    try {
      const answer = await call(creds, '2101', input, ctx.signNo.value)
      if (answer.infcode !== 0) {
        ctx.txError.value = { infcode: answer.infcode, text: answer.err_msg || '预结算失败' }
        result.value = null
        return
      }
      result.value = setlinfoOf(answer)
      confirmRequired.value = String((answer.output as Record<string, unknown>)?.confirm_required ?? '0')
    } catch (err) {
      ctx.txError.value = { infcode: -1, text: errText(err) }
    } finally {
      ctx.busy.value = ''
    }
  }

  /** The bill changed: the pre-settlement no longer holds. */
  function drop(): void {
    result.value = null
  }

  function clear(): void {
    result.value = null
    confirmRequired.value = ''
  }

  return { result, confirmRequired, run, drop, clear }
}
