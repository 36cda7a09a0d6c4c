/**
 * The code page's confirmation sheet (composables/useConfirmationSheet.ts)
 * over the real API layer (api/payments → http/request), `uni.request`
 * answering as the wallet would.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

vi.mock('@/platform', () => ({ API_BASE_URL: 'https://wallet.test' }))

import type { ConfirmRequest } from '@/api/payments'
import { useConfirmationSheet } from '@/composables/useConfirmationSheet'

type Reply = { statusCode: number; data: unknown }
let replies: Reply[]
let sent: Array<{ url: string; method: string; data: unknown }>

const REQ: ConfirmRequest = {
  id: 'pay-1',
  institution: '演示药房',
  medfee_sumamt: '300.00',
  fund_pay_sumamt: '0.00',
  acct_pay: '300.00',
  psn_cash_pay: '0.00',
  expires_at: '2099-01-01T00:00:00Z',
} as ConfirmRequest

function record(status: string, extra: Record<string, unknown> = {}) {
  return { statusCode: 200, data: { id: 'pay-1', status, status_name: status, institution: '演示药房',
    medfee_sumamt: '300.00', acct_pay: '300.00', created_at: '2026-01-05T09:00:00Z', settled_at: null, ...extra } }
}

function refusal(statusCode: number, code: string, message: string, detail: Record<string, unknown> = {}): Reply {
  return { statusCode, data: { code, message, detail } }
}

beforeEach(() => {
  vi.useFakeTimers()
  replies = []
  sent = []
  vi.stubGlobal('uni', {
    request(options: any) {
      sent.push({ url: options.url, method: options.method, data: options.data })
      const reply = replies.shift()
      setTimeout(() => {
        if (!reply) throw new Error(`unexpected request ${options.url}`)
        options.success(reply)
      }, 10)
    },
  })
})

afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('useConfirmationSheet', () => {
  it('a wrong PIN starts over with the tries left; the right one waits, then follows the record to 支付成功', async () => {
    const sheet = useConfirmationSheet({ pollMs: 2000 })
    sheet.open(REQ)
    expect(sheet.request.value?.id).toBe('pay-1')
    expect(sheet.state.value).toBe('pin')

    replies.push(refusal(400, 'PIN_INCORRECT', '支付密码错误', { tries_left: 4 }))
    const first = sheet.submitPin('111111')
    expect(sheet.state.value).toBe('sending')
    await vi.advanceTimersByTimeAsync(20)
    await first
    expect(sheet.state.value).toBe('pin')
    expect(sheet.error.value?.code).toBe('PIN_INCORRECT')
    expect(sheet.error.value?.detail.tries_left).toBe(4)

    replies.push({ statusCode: 200, data: { id: 'pay-1', status: 'confirmed' } }, record('pending'), record('settled', { settled_at: '2026-01-05T09:00:05Z' }))
    void sheet.submitPin('246810')
    await vi.advanceTimersByTimeAsync(20)
    expect(sent[1]).toMatchObject({ url: 'https://wallet.test/api/payments/pay-1/confirm', method: 'POST', data: { pin: '246810' } })
    expect(sheet.state.value).toBe('waiting')
    expect(sheet.error.value).toBeNull()

    await vi.advanceTimersByTimeAsync(2020) // still pending
    expect(sheet.request.value?.id).toBe('pay-1')
    expect(sheet.result.value).toBeNull()
    await vi.advanceTimersByTimeAsync(2020) // settled
    expect(sent.map((s) => s.url).slice(2)).toEqual(['https://wallet.test/api/records/pay-1', 'https://wallet.test/api/records/pay-1'])
    expect(sheet.request.value).toBeNull()
    expect(sheet.result.value?.kind).toBe('success')
    expect(sheet.result.value?.notice.id).toBe('pay-1')

    // Handled: the same request pushed again does not reopen the sheet.
    sheet.open(REQ)
    expect(sheet.request.value).toBeNull()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(sent).toHaveLength(4)
  })

  it('PIN_LOCKED leaves only 关闭', async () => {
    const sheet = useConfirmationSheet()
    sheet.open(REQ)
    replies.push(refusal(423, 'PIN_LOCKED', '支付密码已锁定', { locked_until: '2026-01-05T10:00:00Z' }))
    void sheet.submitPin('111111')
    await vi.advanceTimersByTimeAsync(20)
    expect(sheet.state.value).toBe('locked')
    expect(sheet.error.value?.detail.locked_until).toBe('2026-01-05T10:00:00Z')
    sheet.close()
    expect(sheet.request.value).toBeNull()
    sheet.open(REQ)
    expect(sheet.request.value).toBeNull()
  })

  it.each(['PAYMENT_EXPIRED', 'PAYMENT_NOT_PENDING', 'PAYMENT_NOT_FOUND'])('%s closes the request for good', async (code) => {
    const sheet = useConfirmationSheet()
    sheet.open(REQ)
    replies.push(refusal(409, code, '本次支付已失效'))
    void sheet.submitPin('246810')
    await vi.advanceTimersByTimeAsync(20)
    expect(sheet.state.value).toBe('closed-error')
    expect(sheet.error.value?.message).toBe('本次支付已失效')
    sheet.close()
    sheet.open(REQ)
    expect(sheet.request.value).toBeNull()
  })

  it('a record that ends failed shows its err_msg', async () => {
    const sheet = useConfirmationSheet({ pollMs: 2000 })
    sheet.open(REQ)
    replies.push({ statusCode: 200, data: { id: 'pay-1', status: 'confirmed' } }, record('failed', { err_msg: '个人账户余额不足' }))
    void sheet.submitPin('246810')
    await vi.advanceTimersByTimeAsync(2040)
    expect(sheet.state.value).toBe('closed-error')
    expect(sheet.error.value).toMatchObject({ code: 'PAYMENT_FAILED', message: '个人账户余额不足' })
    expect(sheet.result.value).toBeNull()
  })

  it('拒绝支付 declines, closes with a notice, and is not reopened', async () => {
    const sheet = useConfirmationSheet()
    sheet.open(REQ)
    replies.push({ statusCode: 200, data: { id: 'pay-1', status: 'declined' } })
    const done = sheet.refuse()
    await vi.advanceTimersByTimeAsync(20)
    await done
    expect(sent[0]).toMatchObject({ url: 'https://wallet.test/api/payments/pay-1/decline', method: 'POST' })
    expect(sheet.request.value).toBeNull()
    expect(sheet.declinedNotice.value).toBe('已拒绝 演示药房 的本次支付')
    sheet.open(REQ)
    expect(sheet.request.value).toBeNull()
  })

  it('a decline that fails still closes (nothing is charged without the PIN)', async () => {
    const sheet = useConfirmationSheet()
    sheet.open(REQ)
    replies.push(refusal(409, 'PAYMENT_NOT_PENDING', '该笔支付已处理'))
    const done = sheet.refuse()
    await vi.advanceTimersByTimeAsync(20)
    await done
    expect(sheet.request.value).toBeNull()
    expect(sheet.declinedNotice.value).toContain('已拒绝')
  })

  it('the pushed outcome keeps its balance when the polled record arrives second', () => {
    const sheet = useConfirmationSheet()
    sheet.open(REQ)
    const pushed = { id: 'pay-1', institution: '演示药房', medfee_sumamt: '300.00', acct_pay: '300.00', balc: '700.00' }
    sheet.finish('success', pushed as never)
    sheet.finish('success', { ...pushed, balc: undefined } as never)
    expect(sheet.result.value?.notice.balc).toBe('700.00')
    expect(sheet.request.value).toBeNull()
    sheet.closeResult()
    expect(sheet.result.value).toBeNull()
  })

  it('a reversal of another payment does not close the open sheet', () => {
    const sheet = useConfirmationSheet()
    sheet.open(REQ)
    sheet.finish('reversed', { id: 'pay-0', institution: '演示药房', medfee_sumamt: '1.00', acct_pay: '1.00' } as never)
    expect(sheet.request.value?.id).toBe('pay-1')
    expect(sheet.result.value?.kind).toBe('reversed')
  })
})
