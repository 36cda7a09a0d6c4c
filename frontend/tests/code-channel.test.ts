import { describe, expect, it, vi } from 'vitest'

vi.mock('@/platform', () => ({ wsBaseUrl: () => 'wss://api.test', socketConnectOptions: () => ({}) }))
vi.mock('@/api/code', () => ({ getCode: vi.fn(), getWsTicket: vi.fn() }))
vi.mock('@/api/payments', () => ({ listPending: vi.fn() }))

import { SocketManager } from '@/realtime/socket'
import { CodeChannel, POLL_GRACE_MS } from '@/realtime/code-channel'
import { useFakeSockets } from './support/fake-socket'

const sockets = useFakeSockets()
const tasks = sockets.tasks
const urls = (): string[] => sockets.options.map((o) => o.url)

function setup(overrides: Record<string, any> = {}) {
  const socket = new SocketManager()
  let n = 0
  const deps = {
    socket,
    getTicket: vi.fn(async () => ({ ticket: `t${++n}` })),
    getCode: vi.fn(async () => ({ code: 'REST', step: 1, expires_at: 60, valid_until: 90, step_seconds: 30 })),
    listPending: vi.fn(async () => [] as any[]),
    now: () => 10,
    ...overrides,
  }
  const got = { codes: [] as string[], modes: [] as string[], confirms: [] as string[], errors: [] as string[] }
  const channel = new CodeChannel({
    code: (c) => got.codes.push(c.code),
    mode: (m) => got.modes.push(m),
    confirm: (r) => got.confirms.push(r.id),
    error: (code) => got.errors.push(code),
  }, deps)
  return { socket, deps, got, channel }
}

describe('CodeChannel', () => {
  it('fetches a NEW single-use ticket for every connect, reconnects included', async () => {
    const { channel } = setup()
    channel.start()
    await vi.advanceTimersByTimeAsync(0)
    expect(urls()).toEqual(['wss://api.test/ws/code/?ticket=t1'])
    tasks[0].handlers.open()
    tasks[0].handlers.close()
    await vi.advanceTimersByTimeAsync(1500)
    expect(urls()[1]).toBe('wss://api.test/ws/code/?ticket=t2')
    channel.stop()
  })

  it('dispatches codes and payment confirmations, and sends refresh over the socket', async () => {
    const { channel, got } = setup()
    channel.start()
    await vi.advanceTimersByTimeAsync(0)
    tasks[0].handlers.open()
    tasks[0].handlers.message({ data: JSON.stringify({ type: 'code', code: 'C1', step: 1, expires_at: 60, valid_until: 90, step_seconds: 30 }) })
    tasks[0].handlers.message({ data: JSON.stringify({ type: 'payment.confirm', id: 'P1' }) })
    channel.refresh()
    expect(got.codes).toEqual(['C1'])
    expect(got.confirms).toEqual(['P1'])
    expect(tasks[0].sent).toContain(JSON.stringify({ type: 'refresh' }))
    expect(got.modes).toContain('socket')
    channel.stop()
  })

  it('falls back to HTTP polling while the socket is down, and stops polling once it is back', async () => {
    const { channel, got, deps } = setup({ getTicket: vi.fn(async () => { throw new Error('offline') }) })
    deps.listPending.mockResolvedValue([{ id: 'P9', institution: 'X', medfee_sumamt: '1.00', acct_pay: '1.00',
      psn_cash_pay: '0.00', fund_pay_sumamt: '0.00', confirm_deadline: null }])
    channel.start()
    await vi.advanceTimersByTimeAsync(POLL_GRACE_MS + 10)
    expect(got.modes).toContain('polling')
    expect(got.codes).toEqual(['REST'])
    expect(got.confirms).toEqual(['P9'])
    channel.stop()
    expect(got.modes[got.modes.length - 1]).toBe('stopped')
  })

  it('stops for good on a final error (no reconnect loop)', async () => {
    const { channel, got } = setup()
    channel.start()
    await vi.advanceTimersByTimeAsync(0)
    tasks[0].handlers.open()
    tasks[0].handlers.message({ data: JSON.stringify({ type: 'error', code: 'NOT_ACTIVATED', message: '未激活' }) })
    tasks[0].handlers.close()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(got.errors).toEqual(['NOT_ACTIVATED'])
    expect(tasks).toHaveLength(1)
  })

  it('stops for good when the server says the channel authorization was revoked (session.ended + 4403)', async () => {
    const messages: string[] = []
    const { channel, got, deps } = setup()
    const c2 = new CodeChannel({ code: () => {}, error: (_code, message) => messages.push(message) }, deps)
    channel.stop()
    c2.start()
    await vi.advanceTimersByTimeAsync(0)
    tasks[0].handlers.open()
    tasks[0].handlers.message({ data: JSON.stringify({ type: 'code', code: 'C1', step: 1, expires_at: 60, valid_until: 90, step_seconds: 30 }) })
    tasks[0].handlers.message({ data: JSON.stringify({ type: 'session.ended', code: 'CHANNEL_NOT_AUTHORIZED',
      message: '本渠道授权已撤销，如需使用请重新激活' }) })
    tasks[0].handlers.close({ code: 4403, reason: '' })
    await vi.advanceTimersByTimeAsync(60_000)
    expect(messages).toEqual(['本渠道授权已撤销，如需使用请重新激活'])
    expect(tasks).toHaveLength(1)  // no reconnect
    expect(deps.getCode).not.toHaveBeenCalled()  // and no REST fallback either
    expect(got.errors).toEqual([])
  })

  it('maps a bare 4401 close (message lost) to 登录已失效 and stops', async () => {
    const { channel, got, deps } = setup()
    const messages: string[] = []
    const c2 = new CodeChannel({ code: () => {}, error: (code, message) => messages.push(`${code}:${message}`) }, deps)
    channel.stop()
    c2.start()
    await vi.advanceTimersByTimeAsync(0)
    tasks[0].handlers.open()
    tasks[0].handlers.close({ code: 4401, reason: '' })
    await vi.advanceTimersByTimeAsync(60_000)
    expect(messages).toEqual(['SESSION_ENDED:登录已失效，请重新登录'])
    expect(tasks).toHaveLength(1)
    expect(got.errors).toEqual([])
  })

  it('keeps reconnecting after an ordinary close (no application close code)', async () => {
    const { channel, got } = setup()
    channel.start()
    await vi.advanceTimersByTimeAsync(0)
    tasks[0].handlers.open()
    tasks[0].handlers.close({ code: 1006, reason: '' })
    await vi.advanceTimersByTimeAsync(1500)
    expect(tasks.length).toBeGreaterThan(1)
    expect(got.errors).toEqual([])
    channel.stop()
  })
  it('shows a bound relative\'s code on a socket of its own (?person=), REST fallback and pending included', async () => {
    const notices: string[] = []
    const { channel, got, deps } = setup()
    channel.stop()
    const c2 = new CodeChannel({ code: (c) => got.codes.push(c.code), mulaidUsed: (n) => notices.push(`${n.relative_name}:${n.amount}`) }, deps)
    c2.start()
    await vi.advanceTimersByTimeAsync(0)
    expect(urls()).toEqual(['wss://api.test/ws/code/?ticket=t1'])
    tasks[0].handlers.open()
    c2.switchPerson('B 1')
    await vi.advanceTimersByTimeAsync(0)
    expect(tasks[0].closed).toBe(true)
    expect(urls()[1]).toBe('wss://api.test/ws/code/?ticket=t2&person=B%201')
    tasks[1].handlers.open()
    tasks[1].handlers.message({ data: JSON.stringify({ type: 'mulaid.used', relative_name: '小明', institution: 'X', amount: '12.00',
      remaining_annual_cap: null, at: '2026-01-01T00:00:00Z' }) })
    expect(notices).toEqual(['小明:12.00'])
    tasks[1].handlers.close()
    await vi.advanceTimersByTimeAsync(POLL_GRACE_MS + 10)
    expect(deps.getCode).toHaveBeenCalledWith('B 1')
    expect(deps.listPending).toHaveBeenCalledWith('B 1')
    c2.switchPerson('')
    await vi.advanceTimersByTimeAsync(0)
    expect(urls().at(-1)).toMatch(/^wss:\/\/api\.test\/ws\/code\/\?ticket=t\d+$/)
    c2.stop()
  })

  it('stops for good when the binding is gone (FAMILY_NOT_FOUND): no reconnect to a relative\'s code', async () => {
    const { channel, got } = setup()
    channel.switchPerson('B1')
    channel.start()
    await vi.advanceTimersByTimeAsync(0)
    tasks[0].handlers.open()
    tasks[0].handlers.message({ data: JSON.stringify({ type: 'error', code: 'FAMILY_NOT_FOUND', message: '未找到该亲属' }) })
    tasks[0].handlers.close()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(got.errors).toEqual(['FAMILY_NOT_FOUND'])
    expect(tasks).toHaveLength(1)
  })
})
