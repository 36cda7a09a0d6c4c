/**
 * The POS settle loop (composables/pos/useSettleLoop.ts) over the real signed
 * transport (api/terminal → http/request), with `uni.request` answering as the
 * gateway would: the very same envelope is repeated while the answer is 1009 /
 * repeatable / missing, the loop ends on 0 or a refusal, and 停止等待 stops it.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

vi.mock('@/platform', () => ({ API_BASE_URL: 'https://wallet.test' }))

import { createPosContext } from '@/composables/pos/context'
import { useSettleLoop } from '@/composables/pos/useSettleLoop'
import { billInput } from '@/utils/bill'

type Reply = { infcode: number; err_msg?: string; output?: Record<string, unknown> } | 'no-answer'
let replies: Reply[]
let sent: Array<{ url: string; body: string; header: Record<string, string> }>

const CREDS = { fixmedins_code: 'P11010000001', fixmedins_name: '演示药房', secret: 's3cret' }
const INPUT = billInput(
  [{ med_list_codg: 'XA01', name: '阿莫西林胶囊', unit: '盒', list_class: 'A', price: '12.50', quantity: '2' }],
  { ecToken: 'tok-1', insutype: '310' },
)
const SETTLED = {
  infcode: 0,
  output: {
    setlinfo: { setl_id: 'S0001', medfee_sumamt: 25, acct_pay: 25, psn_cash_pay: 0, psn_name: '张三' },
    detlcutinfo: [{ feedetl_sn: '0001', det_item_fee_sumamt: 25, pric: 12.5, cnt: 2 }],
  },
}

beforeEach(() => {
  vi.useFakeTimers()
  replies = []
  sent = []
  vi.stubGlobal('uni', {
    request(options: any) {
      sent.push({ url: options.url, body: options.data, header: options.header })
      const reply = replies.shift()
      setTimeout(() => {
        if (!reply) throw new Error('unexpected request')
        if (reply === 'no-answer') options.fail({ errMsg: 'request:fail' })
        else options.success({ statusCode: 200, data: reply })
      }, 10)
    },
  })
})

afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

function signedIn() {
  const ctx = createPosContext()
  ctx.creds.value = CREDS
  ctx.signNo.value = 'SIGN-1'
  return ctx
}

describe('useSettleLoop', () => {
  it('repeats the same msgid and body while the payer confirms, then prints the receipt', async () => {
    const ctx = signedIn()
    const loop = useSettleLoop(ctx, { repeatMs: 2000 })
    replies.push({ infcode: 1009, err_msg: '等待参保人确认' }, { infcode: 1009 }, SETTLED)

    const started = loop.start(INPUT)
    expect(loop.state.value).toBe('sending')
    expect(loop.locked.value).toBe(true)
    await vi.advanceTimersByTimeAsync(20)
    await started
    expect(loop.state.value).toBe('waiting')
    expect(loop.message.value).toBe('等待参保人在手机上确认…')
    expect(loop.waiting.value).toBe(true)
    expect(sent).toHaveLength(1)

    await vi.advanceTimersByTimeAsync(2020)
    expect(sent).toHaveLength(2)
    expect(loop.state.value).toBe('waiting')
    await vi.advanceTimersByTimeAsync(2020)
    expect(sent).toHaveLength(3)

    // The very same envelope every time, each signed afresh (new nonce).
    expect(new Set(sent.map((s) => s.body)).size).toBe(1)
    expect(new Set(sent.map((s) => s.header['x-tif-nonce'])).size).toBe(3)
    const env = JSON.parse(sent[0].body)
    expect(env.infno).toBe('2102')
    expect(env.sign_no).toBe('SIGN-1')
    expect(env.input).toEqual(INPUT)
    expect(sent[0].url).toBe('https://wallet.test/fsi/api/rsfComIfsService/callService')

    expect(loop.state.value).toBe('settled')
    expect(loop.attempts.value).toBe(3)
    expect(loop.waiting.value).toBe(false)
    expect(loop.locked.value).toBe(true)
    expect(ctx.txError.value).toBeNull()
    const receipt = loop.receipt.value!
    expect(receipt.msgid).toBe(env.msgid)
    expect(receipt.setlinfo).toMatchObject({ setl_id: 'S0001', medfee_sumamt: '25', psn_name: '张三' })
    // The item row: the core's amounts joined with the name and code that were sent.
    expect(receipt.items).toEqual([expect.objectContaining({
      feedetl_sn: '0001', med_list_codg: 'XA01', med_list_name: '阿莫西林胶囊', det_item_fee_sumamt: '25', cnt: '2',
    })])

    await vi.advanceTimersByTimeAsync(10_000)
    expect(sent).toHaveLength(3) // settled: no more asking
  })

  it('asks again with the same msgid when there is no answer or the outcome is unknown', async () => {
    const ctx = signedIn()
    const loop = useSettleLoop(ctx, { repeatMs: 2000 })
    replies.push('no-answer', { infcode: 5002, err_msg: '结算结果未知' }, SETTLED)

    void loop.start(INPUT)
    await vi.advanceTimersByTimeAsync(20)
    expect(loop.state.value).toBe('unknown')
    expect(loop.message.value).toContain('正在用相同流水号重新查询结果')
    await vi.advanceTimersByTimeAsync(2020)
    expect(loop.state.value).toBe('unknown')
    expect(loop.message.value).toBe('结算结果未知')
    await vi.advanceTimersByTimeAsync(2020)
    expect(loop.state.value).toBe('settled')
    expect(sent).toHaveLength(3)
    expect(new Set(sent.map((s) => s.body)).size).toBe(1)
  })

  it('stops on a refusal and shows the gateway\'s message', async () => {
    const ctx = signedIn()
    const loop = useSettleLoop(ctx, { repeatMs: 2000 })
    replies.push({ infcode: 1009 }, { infcode: 1010, err_msg: '参保人拒绝支付' })

    void loop.start(INPUT)
    await vi.advanceTimersByTimeAsync(2040)
    expect(loop.state.value).toBe('refused')
    expect(loop.locked.value).toBe(false)
    expect(loop.message.value).toBe('')
    expect(ctx.txError.value).toEqual({ infcode: 1010, text: '参保人拒绝支付' })
    expect(loop.receipt.value).toBeNull()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(sent).toHaveLength(2)
  })

  it('停止等待 stops asking, and an answer already in flight is ignored', async () => {
    const ctx = signedIn()
    const loop = useSettleLoop(ctx, { repeatMs: 2000 })
    replies.push({ infcode: 1009 }, SETTLED)

    void loop.start(INPUT)
    await vi.advanceTimersByTimeAsync(20)
    expect(loop.state.value).toBe('waiting')
    await vi.advanceTimersByTimeAsync(1995) // the repeat is sent (t=2010), its answer not yet back (t=2020)
    expect(sent).toHaveLength(2)
    loop.cancel()
    await vi.advanceTimersByTimeAsync(20)
    expect(loop.state.value).toBe('idle')
    expect(loop.message.value).toContain('已停止等待')
    expect(loop.receipt.value).toBeNull()
    expect(loop.locked.value).toBe(false)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(sent).toHaveLength(2)
  })

  it('a network failure after 停止等待 does not restart the loop', async () => {
    const ctx = signedIn()
    const loop = useSettleLoop(ctx, { repeatMs: 2000 })
    replies.push('no-answer')

    void loop.start(INPUT)
    loop.cancel()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(loop.state.value).toBe('idle')
    expect(sent).toHaveLength(1)
  })

  it('does nothing without a signed-in terminal or a valid bill', async () => {
    const loop = useSettleLoop(createPosContext())
    await loop.start(INPUT)
    const ready = useSettleLoop(signedIn())
    await ready.start(null)
    expect(sent).toHaveLength(0)
    expect(loop.state.value).toBe('idle')
    expect(ready.state.value).toBe('idle')
  })
})
