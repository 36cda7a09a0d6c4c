/**
 * The only caller of uni.request.
 *
 * - Resolves with the parsed body of a 2xx response (or of a status the caller
 *   listed in `acceptStatus`, e.g. 503 from /readyz, which carries a body).
 * - Otherwise rejects with an ApiError (see errors.ts). It never resolves
 *   `false`/`null` to signal failure and never shows a toast.
 * - 401 on an authenticated request: every concurrent 401 awaits ONE shared
 *   refresh promise, then each retries once; if the refresh fails they all
 *   reject with kind 'auth'.
 */
import { API_BASE_URL } from '@/platform'
import { ApiError, errorFromFailure, errorFromResponse } from './errors'

// No PATCH: wx.request does not support it. Use POST/PUT for partial updates.
export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE'

export interface RequestOptions {
  url: string
  method?: Method
  data?: Record<string, unknown> | unknown[] | string
  header?: Record<string, string>
  /** Send the bearer token and take part in the shared refresh (default true). */
  auth?: boolean
  /** Non-2xx statuses whose body is still the answer (e.g. [503] for /readyz). */
  acceptStatus?: number[]
  /** Sent as Idempotency-Key on writes (see DESIGN.md, idempotency). */
  idempotencyKey?: string
  timeout?: number
  /**
   * 'json' (default): parse the body. 'text': the body as a string (e.g. an
   * SVG). 'arraybuffer': raw bytes (e.g. a PNG; see platform.imageDataUrl).
   * Error bodies are still mapped to ApiError (text is parsed as JSON if it can be).
   */
  responseType?: 'json' | 'text' | 'arraybuffer'
}

export interface AuthHooks {
  getToken: () => string | null
  /** Obtain a new token; resolve true on success. Called at most once at a time. */
  refresh?: () => Promise<boolean>
  /** Called when a refresh failed or was impossible (e.g. clear the session). */
  onExpired?: () => void
}

let authHooks: AuthHooks | null = null
let refreshing: Promise<boolean> | null = null

export function configureAuth(hooks: AuthHooks | null): void {
  authHooks = hooks
}

const DEFAULT_TIMEOUT = 15000

function joinUrl(url: string): string {
  if (/^https?:\/\//.test(url)) return url
  return `${API_BASE_URL}${url.startsWith('/') ? '' : '/'}${url}`
}

interface RawResponse {
  statusCode: number
  data: unknown
  /** The bearer token this attempt carried (null if none). */
  token: string | null
}

function send(options: RequestOptions): Promise<RawResponse> {
  const header: Record<string, string> = { Accept: 'application/json', ...(options.header ?? {}) }
  const token = options.auth === false ? null : authHooks?.getToken() ?? null
  if (token) header.Authorization = `Bearer ${token}`
  if (options.idempotencyKey) header['Idempotency-Key'] = options.idempotencyKey
  if (options.data !== undefined && options.method && options.method !== 'GET') {
    header['Content-Type'] = header['Content-Type'] ?? 'application/json'
  }
  const kind = options.responseType ?? 'json'
  return new Promise((resolve, reject) => {
    uni.request({
      url: joinUrl(options.url),
      method: options.method ?? 'GET',
      data: options.data as UniApp.RequestOptions['data'],
      header,
      timeout: options.timeout ?? DEFAULT_TIMEOUT,
      dataType: kind === 'json' ? 'json' : 'text',
      responseType: kind === 'arraybuffer' ? 'arraybuffer' : 'text',
      success: (res) => {
        const ok = res.statusCode >= 200 && res.statusCode < 300
        // A text/bytes answer is returned as is; a failed one is parsed for the error shape.
        const data = kind !== 'json' && ok ? res.data : parseBody(decodeIfBytes(res.data))
        resolve({ statusCode: res.statusCode, data, token })
      },
      fail: (err) => reject(errorFromFailure(err?.errMsg)),
    })
  })
}

/** An error answer to an arraybuffer request: its bytes as text (for the JSON error shape). */
function decodeIfBytes(data: unknown): unknown {
  if (!(data instanceof ArrayBuffer)) return data
  try {
    return typeof TextDecoder === 'function' ? new TextDecoder().decode(data) : data
  } catch {
    return data
  }
}

/** uni.request parses JSON for us, but a non-JSON error page arrives as a string. */
function parseBody(data: unknown): unknown {
  if (typeof data !== 'string') return data
  try {
    return JSON.parse(data)
  } catch {
    return data
  }
}

function sharedRefresh(): Promise<boolean> {
  const refresh = authHooks?.refresh
  if (!refresh) return Promise.resolve(false)
  if (!refreshing) {
    refreshing = refresh()
      .catch(() => false)
      .finally(() => {
        refreshing = null
      })
  }
  return refreshing
}

function accepted(status: number, options: RequestOptions): boolean {
  return (status >= 200 && status < 300) || (options.acceptStatus ?? []).includes(status)
}

export async function request<T>(options: RequestOptions): Promise<T> {
  let res = await send(options)
  if (res.statusCode === 401 && options.auth !== false && authHooks) {
    // If the token already changed while this request was in flight (another
    // 401 refreshed it), just retry with the new one instead of refreshing again.
    const current = authHooks.getToken()
    const refreshed = current !== null && current !== res.token ? true : await sharedRefresh()
    if (refreshed) {
      res = await send(options)
    }
    if (res.statusCode === 401) {
      authHooks?.onExpired?.()
    }
  }
  if (accepted(res.statusCode, options)) {
    return res.data as T
  }
  throw errorFromResponse(res.statusCode, res.data)
}

export { ApiError }
