/** 撤销结算 (2103, a new msgid) of the receipt's settlement, after a confirmation. */
import { ref, type Ref } from 'vue'
import { call } from '@/api/terminal'
import { errText, type PosContext } from './context'
import type { Receipt } from './useSettleLoop'

/** 4005: already reversed — the wanted outcome. */
const ALREADY_REVERSED = 4005

export function useReversal(ctx: PosContext, receipt: Ref<Receipt | null>) {
  const asking = ref(false)
  const reversed = ref(false)

  async function reverse(): Promise<void> {
    const creds = ctx.creds.value
    const setlId = receipt.value?.setlinfo.setl_id
    if (!creds || !setlId) return
    ctx.busy.value = 'reverse'
    ctx.txError.value = null
    try {
      const answer = await call(creds, '2103', { data: { setl_id: setlId } }, ctx.signNo.value)
      if (answer.infcode === 0 || answer.infcode === ALREADY_REVERSED) {
        reversed.value = true
      } else {
        ctx.txError.value = { infcode: answer.infcode, text: answer.err_msg || '撤销失败' }
      }
    } catch (err) {
      ctx.txError.value = { infcode: -1, text: errText(err) }
    } finally {
      ctx.busy.value = ''
      asking.value = false
    }
  }

  function reset(): void {
    asking.value = false
    reversed.value = false
  }

  return { asking, reversed, reverse, reset }
}
