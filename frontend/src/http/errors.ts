/**
 * The one error type every request rejects with.
 *
 * kind:
 *  - 'network'  no HTTP response at all (offline, DNS, timeout, aborted)
 *  - 'auth'     HTTP 401 (after the shared token refresh, if any, failed)
 *  - 'business' 4xx whose body is the backend error shape {code, message, detail}
 *  - 'http'     anything else: 5xx, 4xx without the error shape, unexpected bodies
 *
 * `message` is always Chinese and fit to show to a person; the transport
 * never shows it — pages decide how (inline, toast, modal).
 */
export type ApiErrorKind = 'network' | 'http' | 'business' | 'auth'

export interface ApiErrorInit {
  kind: ApiErrorKind
  code: string
  message: string
  status?: number
  detail?: Record<string, unknown>
}

export class ApiError extends Error {
  readonly kind: ApiErrorKind
  readonly code: string
  /** HTTP status, 0 when there was no response. */
  readonly status: number
  readonly detail: Record<string, unknown>

  constructor(init: ApiErrorInit) {
    super(init.message)
    this.name = 'ApiError'
    this.kind = init.kind
    this.code = init.code
    this.status = init.status ?? 0
    this.detail = init.detail ?? {}
  }
}

export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError
}

/** Any thrown value as an ApiError: itself when it is one, else an UNEXPECTED
 * error with the given Chinese message (pages show errors one way). */
export function toApiError(value: unknown, message = '出现未知错误，请稍后重试'): ApiError {
  return isApiError(value) ? value : new ApiError({ kind: 'http', code: 'UNEXPECTED', message })
}

/** The backend's error body: {"code": "STABLE_CODE", "message": "中文说明", "detail": {...}}. */
export interface ErrorBody {
  code: string
  message: string
  detail?: Record<string, unknown>
}

export function isErrorBody(body: unknown): body is ErrorBody {
  if (typeof body !== 'object' || body === null) return false
  const b = body as Record<string, unknown>
  return typeof b.code === 'string' && b.code !== '' && typeof b.message === 'string'
}

export const NETWORK_MESSAGE = '网络连接失败，请检查网络后重试'
export const TIMEOUT_MESSAGE = '网络请求超时，请稍后重试'
export const AUTH_MESSAGE = '登录已失效，请重新登录'

export function httpMessage(status: number): string {
  if (status >= 500) return `服务暂时不可用（${status}），请稍后重试`
  return `请求失败（${status}）`
}

/** Map one HTTP response (status + parsed body) to an ApiError. */
export function errorFromResponse(status: number, body: unknown): ApiError {
  const shaped = isErrorBody(body) ? body : null
  if (status === 401) {
    return new ApiError({
      kind: 'auth',
      code: shaped?.code ?? 'UNAUTHENTICATED',
      message: shaped?.message ?? AUTH_MESSAGE,
      status,
      detail: shaped?.detail,
    })
  }
  if (status >= 400 && status < 500 && shaped) {
    return new ApiError({ kind: 'business', code: shaped.code, message: shaped.message, status, detail: shaped.detail })
  }
  return new ApiError({
    kind: 'http',
    code: shaped?.code ?? `HTTP_${status}`,
    message: shaped?.message ?? httpMessage(status),
    status,
    detail: shaped?.detail,
  })
}

/** Map a uni.request `fail` (no response) to an ApiError. */
export function errorFromFailure(errMsg: string | undefined): ApiError {
  const timedOut = /timeout/i.test(errMsg ?? '')
  return new ApiError({
    kind: 'network',
    code: timedOut ? 'NETWORK_TIMEOUT' : 'NETWORK_ERROR',
    message: timedOut ? TIMEOUT_MESSAGE : NETWORK_MESSAGE,
    detail: errMsg ? { errMsg } : undefined,
  })
}
