import { request } from '@/http/request'
import type { Channel } from '@/platform'

/** POST /api/auth/login and /api/auth/refresh (schema: SessionOutput). */
export interface SessionGrant {
  token: string
  expires_at: string
  channel: Channel
}

/** The demo stands in for the channel's OAuth (code2session): channel + openid. */
export function login(channel: Channel, openid: string): Promise<SessionGrant> {
  return request<SessionGrant>({ url: '/api/auth/login', method: 'POST', auth: false, data: { channel, openid } })
}

/**
 * Exchange a still-valid token for a new one (the old one stops working).
 * Sent with `auth: false` and an explicit header: a 401 here must not enter
 * the transport's shared refresh, which would wait on itself.
 */
export function refresh(token: string): Promise<SessionGrant> {
  return request<SessionGrant>({
    url: '/api/auth/refresh',
    method: 'POST',
    auth: false,
    header: { Authorization: `Bearer ${token}` },
  })
}

/** schema: LogoutApiOutput */
export interface LoggedOut {
  ok: boolean
}

export function logout(): Promise<LoggedOut> {
  return request<LoggedOut>({ url: '/api/auth/logout', method: 'POST' })
}
