import { request } from '@/http/request'
import { ApiError } from '@/http/errors'

export type ServiceStatus = 'ok' | 'degraded' | 'down'

export interface HealthCheck {
  ok: boolean
  ms?: number
  error?: string
}

/** GET /readyz — 200 when ok/degraded, 503 (same body) when down. */
export interface Readiness {
  status: ServiceStatus
  service: string
  checks: Record<string, HealthCheck>
  time: number
}

function isReadiness(body: unknown): body is Readiness {
  if (typeof body !== 'object' || body === null) return false
  const b = body as Record<string, unknown>
  return (
    (b.status === 'ok' || b.status === 'degraded' || b.status === 'down') &&
    typeof b.checks === 'object' &&
    b.checks !== null
  )
}

export async function getReadiness(): Promise<Readiness> {
  const body = await request<unknown>({ url: '/readyz', method: 'GET', auth: false, acceptStatus: [503], timeout: 10000 })
  if (!isReadiness(body)) {
    throw new ApiError({ kind: 'http', code: 'BAD_RESPONSE', message: '服务返回了无法识别的状态' })
  }
  return body
}
