/**
 * 结算 (2102) and its repeat loop. The envelope is built ONCE; while the
 * answer is 1009 (the payer confirms on the phone), a repeatable infcode
 * (5002 / 5001 / 1006: the outcome is not known yet) or no answer at all,
 * the very same msgid + body is sent again every `repeatMs` (re-signed by
 * the transport, new nonce). 0 → the receipt; any other infcode stops with
 * the gateway's err_msg. `cancel` (停止等待) stops asking.
 *
 * States: idle → sending → (waiting | unknown)* → settled | refused; cancel → idle.
 */
import { computed, ref } from 'vue'
import { callEnvelope, type GatewayAnswer } from '@/api/terminal'
import { receiptItems, setlinfoOf } from '@/utils/receipt'
import { INFCODE, envelope, isRepeatable, type Envelope, type TerminalCredentials } from '@/utils/terminal'
import { errText, type PosContext } from './context'

export type SettleState = 'idle' | 'sending' | 'waiting' | 'unknown' | 'settled' | 'refused'

export interface Receipt {
  setlinfo: Record<string, string>
  items: Array<Record<string, string>>
  msgid: string
  at: string
}

export interface SettleLoopDeps {
  /** Sends one envelope (the transport signs it afresh each time). */
  send?: (creds: TerminalCredentials, env: Envelope) => Promise<GatewayAnswer>
  repeatMs?: number
}

export function useSettleLoop(ctx: PosContext, deps: SettleLoopDeps = {}) {
  const send = deps.send ?? callEnvelope
  const repeatMs = deps.repeatMs ?? 2000
  const state = ref<SettleState>('idle')
  const message = ref('')
  const attempts = ref(0)
  const receipt = ref<Receipt | null>(null)
  let timer: ReturnType<typeof setTimeout> | null = null
  let env: Envelope | null = null

  /** The bill may not change: a settlement is running or done. */
  const locked = computed(() => ['sending', 'waiting', 'unknown', 'settled'].includes(state.value))
  /** Still asking the gateway (停止等待 is offered). */
  const waiting = computed(() => state.value === 'waiting' || state.value === 'unknown')

  async function start(input: Record<string, unknown> | null): Promise<void> {
    const creds = ctx.creds.value
    if (!creds || !input) return
    ctx.txError.value = null
    attempts.value = 0
    // Built once: every repeat sends the same msgid and the same body.
    env = envelope(creds, '2102', input, { signNo: ctx.signNo.value })
    state.value = 'sending'
    message.value = '正在提交结算…'
    await once()
  }

  async function once(): Promise<void> {
    timer = null
    const creds = ctx.creds.value
    const sent = env
    if (!creds || !sent) return
    attempts.value += 1
    let answer: GatewayAnswer
    try {
      answer = await send(creds, sent)
    } catch (err) {
      if (env !== sent) return // cancelled meanwhile
      // No answer at all: the outcome is unknown; ask again with the same msgid.
      state.value = 'unknown'
      message.value = `网络异常（${errText(err)}），正在用相同流水号重新查询结果，请勿重复收费…`
      repeat()
      return
    }
    if (env !== sent) return // cancelled meanwhile
    if (answer.infcode === INFCODE.OK) {
      state.value = 'settled'
      message.value = '结算成功'
      const output = (answer.output ?? {}) as Record<string, unknown>
      const lines = (sent.input as { drugdetail?: unknown } | undefined)?.drugdetail
      receipt.value = { setlinfo: setlinfoOf(answer), items: receiptItems(output, lines), msgid: sent.msgid, at: String(sent.inf_time) }
      env = null
      return
    }
    if (answer.infcode === INFCODE.CONFIRMATION_PENDING) {
      state.value = 'waiting'
      message.value = '等待参保人在手机上确认…'
      repeat()
      return
    }
    if (isRepeatable(answer.infcode)) {
      state.value = 'unknown'
      message.value = answer.err_msg || '结算结果确认中，请勿重复收费…'
      repeat()
      return
    }
    state.value = 'refused'
    message.value = ''
    ctx.txError.value = { infcode: answer.infcode, text: answer.err_msg || `结算失败（${answer.infcode}）` }
    env = null
  }

  function repeat(): void {
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => void once(), repeatMs)
  }

  /** Stop the loop without a word (new transaction, sign-out, page closed). */
  function stop(): void {
    if (timer) clearTimeout(timer)
    timer = null
    env = null
  }

  /** 停止等待 (the msgid stays valid: a later 结算 with the same bill is a new msgid). */
  function cancel(): void {
    stop()
    state.value = 'idle'
    message.value = '已停止等待。如参保人稍后确认，该笔不会自动结算，请重新结算。'
  }

  /** Back to no settlement at all. */
  function reset(): void {
    stop()
    state.value = 'idle'
    message.value = ''
    receipt.value = null
  }

  return { state, message, attempts, receipt, locked, waiting, start, cancel, stop, reset }
}
