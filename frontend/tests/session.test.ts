import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

vi.mock('@/platform', () => ({
  API_BASE_URL: 'https://api.test',
  DEFAULT_CHANNEL: 'wechat',
  isChannel: (v: unknown) => v === 'wechat' || v === 'alipay' || v === 'nhsa',
}))

import { createPinia, setActivePinia } from 'pinia'
import { useSessionStore, sessionStorageKey } from '@/stores/session'
import { request } from '@/http/request'

type Reply = { statusCode: number; data: unknown }
let replies: Reply[]
let calls: Array<{ url: string; method: string; header: Record<string, string>; data: unknown }>
let storage: Map<string, unknown>
let relaunches: string[]

const LATER = () => new Date(Date.now() + 3600_000).toISOString()

beforeEach(() => {
  setActivePinia(createPinia())
  replies = []
  calls = []
  storage = new Map()
  relaunches = []
  vi.stubGlobal('uni', {
    request(options: any) {
      calls.push({ url: options.url, method: options.method, header: options.header, data: options.data })
      const reply = replies.shift()
      setTimeout(() => {
        if (!reply) throw new Error(`unexpected request ${options.url}`)
        options.success(reply)
      })
    },
    getStorageSync: (k: string) => storage.get(k) ?? '',
    setStorageSync: (k: string, v: unknown) => storage.set(k, v),
    removeStorageSync: (k: string) => storage.delete(k),
    reLaunch: ({ url }: { url: string }) => relaunches.push(url),
  })
})

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('session store', () => {
  it('logs in, stores the session per channel, and sends the bearer token', async () => {
    const session = useSessionStore()
    session.init('alipay')
    replies.push({ statusCode: 200, data: { token: 'tok-a', expires_at: LATER(), channel: 'alipay' } })
    await session.login('demo-1')
    expect(calls[0]).toMatchObject({ url: 'https://api.test/api/auth/login', method: 'POST', data: { channel: 'alipay', openid: 'demo-1' } })
    expect(calls[0].header.Authorization).toBeUndefined()
    expect(JSON.parse(storage.get(sessionStorageKey('alipay')) as string)).toMatchObject({ token: 'tok-a', channel: 'alipay' })

    replies.push({ statusCode: 200, data: { ok: 1 } })
    await request({ url: '/api/me' })
    expect(calls[1].header.Authorization).toBe('Bearer tok-a')

    // Another channel has its own (empty) session; switching back restores it.
    session.useChannel('wechat')
    expect(session.isSignedIn).toBe(false)
    session.useChannel('alipay')
    expect(session.token).toBe('tok-a')
  })

  it('ignores an expired stored session', () => {
    storage.set(sessionStorageKey('wechat'), JSON.stringify({ token: 'old', expires_at: '2000-01-01T00:00:00Z', channel: 'wechat' }))
    const session = useSessionStore()
    session.init('wechat')
    expect(session.isSignedIn).toBe(false)
  })

  it('refreshes on 401 with POST /api/auth/refresh and retries with the new token', async () => {
    storage.set(sessionStorageKey('wechat'), JSON.stringify({ token: 'old', expires_at: LATER(), channel: 'wechat' }))
    const session = useSessionStore()
    session.init('wechat')
    replies.push(
      { statusCode: 401, data: { code: 'UNAUTHENTICATED', message: '登录已失效' } },
      { statusCode: 200, data: { token: 'new', expires_at: LATER(), channel: 'wechat' } },
      { statusCode: 200, data: { activated: false } },
    )
    await expect(request({ url: '/api/me' })).resolves.toEqual({ activated: false })
    expect(calls.map((c) => c.url)).toEqual([
      'https://api.test/api/me',
      'https://api.test/api/auth/refresh',
      'https://api.test/api/me',
    ])
    expect(calls[1]).toMatchObject({ method: 'POST' })
    expect(calls[1].header.Authorization).toBe('Bearer old')
    expect(calls[2].header.Authorization).toBe('Bearer new')
    expect(session.token).toBe('new')
    expect(relaunches).toEqual([])
  })

  it('a refused refresh clears the session and goes to the sign-in page once', async () => {
    storage.set(sessionStorageKey('wechat'), JSON.stringify({ token: 'old', expires_at: LATER(), channel: 'wechat' }))
    const session = useSessionStore()
    session.init('wechat')
    replies.push(
      { statusCode: 401, data: {} },
      { statusCode: 401, data: {} },
      { statusCode: 401, data: { code: 'UNAUTHENTICATED', message: '登录已失效' } },
    )
    const results = await Promise.allSettled([request({ url: '/api/me' }), request({ url: '/api/voucher/diagnosis' })])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(calls.filter((c) => c.url.endsWith('/api/auth/refresh'))).toHaveLength(1)
    expect(session.isSignedIn).toBe(false)
    expect(storage.has(sessionStorageKey('wechat'))).toBe(false)
    expect(relaunches).toEqual(['/pages/login/index?expired=1'])
  })

  it('ensureFresh refreshes a token about to expire', async () => {
    const soon = new Date(Date.now() + 60_000).toISOString()
    storage.set(sessionStorageKey('wechat'), JSON.stringify({ token: 'old', expires_at: soon, channel: 'wechat' }))
    const session = useSessionStore()
    session.init('wechat')
    replies.push({ statusCode: 200, data: { token: 'fresh', expires_at: LATER(), channel: 'wechat' } })
    await expect(session.ensureFresh()).resolves.toBe(true)
    expect(session.token).toBe('fresh')
  })
})
