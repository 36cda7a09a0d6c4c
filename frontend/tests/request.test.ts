import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

vi.mock('@/platform', () => ({ API_BASE_URL: 'https://api.test' }))

import { configureAuth, request } from '@/http/request'
import { ApiError } from '@/http/errors'

type Reply = { statusCode: number; data: unknown } | { fail: string }
let replies: Reply[]
let calls: Array<{ url: string; header: Record<string, string> }>

beforeEach(() => {
  replies = []
  calls = []
  configureAuth(null)
  vi.stubGlobal('uni', {
    request(options: any) {
      calls.push({ url: options.url, header: options.header })
      const reply = replies.shift()
      setTimeout(() => {
        if (!reply) throw new Error('unexpected request')
        if ('fail' in reply) options.fail({ errMsg: reply.fail })
        else options.success(reply)
      })
    },
  })
})

afterEach(() => {
  vi.unstubAllGlobals()
})

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError)
    return err as ApiError
  }
  throw new Error('resolved, expected a rejection')
}

describe('request', () => {
  it('resolves the body of a 2xx and prefixes the base URL', async () => {
    replies.push({ statusCode: 200, data: { ok: 1 } })
    await expect(request({ url: '/readyz' })).resolves.toEqual({ ok: 1 })
    expect(calls[0].url).toBe('https://api.test/readyz')
  })

  it('resolves a listed non-2xx status (503 from /readyz)', async () => {
    replies.push({ statusCode: 503, data: { status: 'down' } })
    await expect(request({ url: '/readyz', acceptStatus: [503] })).resolves.toEqual({ status: 'down' })
  })

  it('maps a 4xx with the error shape to kind business', async () => {
    replies.push({ statusCode: 409, data: { code: 'PIN_LOCKED', message: '支付密码已锁定', detail: { retry_after: 60 } } })
    const err = await rejection(request({ url: '/api/x', method: 'POST', data: {} }))
    expect(err).toMatchObject({ kind: 'business', code: 'PIN_LOCKED', message: '支付密码已锁定', status: 409 })
    expect(err.detail).toEqual({ retry_after: 60 })
  })

  it('maps 401 to kind auth', async () => {
    replies.push({ statusCode: 401, data: { code: 'UNAUTHENTICATED', message: '请先登录' } })
    const err = await rejection(request({ url: '/api/x' }))
    expect(err).toMatchObject({ kind: 'auth', code: 'UNAUTHENTICATED' })
  })

  it('maps 5xx and shapeless 4xx to kind http', async () => {
    replies.push({ statusCode: 502, data: '<html>bad gateway</html>' }, { statusCode: 404, data: 'nope' })
    expect(await rejection(request({ url: '/a' }))).toMatchObject({ kind: 'http', code: 'HTTP_502', status: 502 })
    expect(await rejection(request({ url: '/b' }))).toMatchObject({ kind: 'http', code: 'HTTP_404' })
  })

  it('maps no response to kind network, and timeouts to NETWORK_TIMEOUT', async () => {
    replies.push({ fail: 'request:fail' }, { fail: 'request:fail timeout' })
    expect(await rejection(request({ url: '/a' }))).toMatchObject({ kind: 'network', code: 'NETWORK_ERROR', status: 0 })
    expect(await rejection(request({ url: '/b' }))).toMatchObject({ kind: 'network', code: 'NETWORK_TIMEOUT' })
  })

  it('sends the bearer token and Idempotency-Key', async () => {
    configureAuth({ getToken: () => 't1' })
    replies.push({ statusCode: 201, data: {} })
    await request({ url: '/api/x', method: 'POST', data: {}, idempotencyKey: 'k1' })
    expect(calls[0].header).toMatchObject({ Authorization: 'Bearer t1', 'Idempotency-Key': 'k1' })
  })

  it('concurrent 401s share one refresh, then each retries once', async () => {
    let token = 'old'
    const refresh = vi.fn(async () => {
      token = 'new'
      return true
    })
    configureAuth({ getToken: () => token, refresh })
    replies.push(
      { statusCode: 401, data: {} },
      { statusCode: 401, data: {} },
      { statusCode: 200, data: 'a' },
      { statusCode: 200, data: 'b' },
    )
    const results = await Promise.all([request({ url: '/a' }), request({ url: '/b' })])
    expect(results.sort()).toEqual(['a', 'b'])
    expect(refresh).toHaveBeenCalledTimes(1)
    expect(calls.slice(2).map((c) => c.header.Authorization)).toEqual(['Bearer new', 'Bearer new'])
  })

  it('a failed refresh rejects with auth and expires the session', async () => {
    const onExpired = vi.fn()
    configureAuth({ getToken: () => 'old', refresh: async () => false, onExpired })
    replies.push({ statusCode: 401, data: {} })
    expect(await rejection(request({ url: '/a' }))).toMatchObject({ kind: 'auth' })
    expect(onExpired).toHaveBeenCalledTimes(1)
  })
})
