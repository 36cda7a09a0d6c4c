import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { configureAuth } from '@/http/request'
import { login as apiLogin, logout as apiLogout, refresh as apiRefresh, type SessionGrant } from '@/api/auth'
import { DEFAULT_CHANNEL, isChannel, type Channel } from '@/platform'

/** Storage key of one channel's session. Each channel is its own app in real life. */
export function sessionStorageKey(channel: Channel): string {
  return `yb.session.${channel}`
}

export const LOGIN_PAGE = '/pages/login/index'

/** Refresh a token this long before it expires (on launch / when a page asks). */
const REFRESH_MARGIN_MS = 5 * 60 * 1000

interface StoredSession {
  token: string
  expires_at: string
  channel: Channel
}

function isStoredSession(value: unknown): value is StoredSession {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return typeof v.token === 'string' && v.token !== '' && typeof v.expires_at === 'string' && isChannel(v.channel)
}

/**
 * The signed-in person's session, one per channel (on H5 all channels share
 * one origin's storage; in real life each channel is its own app).
 *
 * Wires request.ts' auth hooks: the bearer token, the shared refresh
 * (POST /api/auth/refresh) and, when that fails, clearing the session and
 * going to the sign-in page.
 */
export const useSessionStore = defineStore('session', () => {
  const channel = ref<Channel>(DEFAULT_CHANNEL)
  const token = ref<string | null>(null)
  const expiresAt = ref<string | null>(null)
  const isSignedIn = computed(() => token.value !== null)

  function persist(): void {
    try {
      const key = sessionStorageKey(channel.value)
      if (token.value && expiresAt.value) {
        const stored: StoredSession = { token: token.value, expires_at: expiresAt.value, channel: channel.value }
        uni.setStorageSync(key, JSON.stringify(stored))
      } else {
        uni.removeStorageSync(key)
      }
    } catch {
      // storage unavailable: keep the session in memory only
    }
  }

  function load(): void {
    token.value = null
    expiresAt.value = null
    try {
      const raw: unknown = uni.getStorageSync(sessionStorageKey(channel.value))
      const parsed: unknown = typeof raw === 'string' && raw ? JSON.parse(raw) : raw
      if (isStoredSession(parsed) && parsed.channel === channel.value && !expired(parsed.expires_at)) {
        token.value = parsed.token
        expiresAt.value = parsed.expires_at
      }
    } catch {
      // unreadable: signed out
    }
  }

  function expired(iso: string, margin = 0): boolean {
    const at = Date.parse(iso)
    return Number.isFinite(at) && at - margin <= Date.now()
  }

  function setGrant(grant: SessionGrant): void {
    if (isChannel(grant.channel)) channel.value = grant.channel
    token.value = grant.token
    expiresAt.value = grant.expires_at
    persist()
  }

  function clear(): void {
    token.value = null
    expiresAt.value = null
    persist()
  }

  /** Used by request.ts for every concurrent 401 (it calls this at most once at a time). */
  async function refresh(): Promise<boolean> {
    const current = token.value
    if (!current) return false
    try {
      setGrant(await apiRefresh(current))
      return true
    } catch {
      return false
    }
  }

  /** Refresh a token that is about to expire. Resolves false when signed out. */
  async function ensureFresh(): Promise<boolean> {
    if (!token.value) return false
    if (expiresAt.value && expired(expiresAt.value, REFRESH_MARGIN_MS)) {
      const ok = await refresh()
      if (!ok) clear()
      return ok
    }
    return true
  }

  let redirectedAt = 0

  function goToSignIn(): void {
    // Several requests may fail together; navigate once.
    if (Date.now() - redirectedAt < 2000) return
    redirectedAt = Date.now()
    const pages = typeof getCurrentPages === 'function' ? getCurrentPages() : []
    const top = pages[pages.length - 1] as { route?: string } | undefined
    if (top?.route && `/${top.route}` === LOGIN_PAGE) return
    uni.reLaunch({ url: `${LOGIN_PAGE}?expired=1` })
  }

  /** For pages that need a session: false (and off to the sign-in page) when signed out. */
  function requireSignIn(): boolean {
    if (token.value) return true
    uni.reLaunch({ url: LOGIN_PAGE })
    return false
  }

  function onExpired(): void {
    clear()
    goToSignIn()
  }

  async function login(openid: string, as: Channel = channel.value): Promise<SessionGrant> {
    const grant = await apiLogin(as, openid)
    channel.value = as
    setGrant(grant)
    return grant
  }

  async function logout(): Promise<void> {
    try {
      if (token.value) await apiLogout()
    } catch {
      // signing out locally is what matters
    } finally {
      clear()
    }
  }

  /** Switch to another channel's session (the sign-in page's channel choice). */
  function useChannel(next: Channel): void {
    if (next === channel.value && token.value) return
    channel.value = next
    load()
  }

  function init(initial: Channel): void {
    channel.value = initial
    load()
    configureAuth({ getToken: () => token.value, refresh, onExpired })
  }

  return {
    channel,
    token,
    expiresAt,
    isSignedIn,
    setGrant,
    clear,
    refresh,
    ensureFresh,
    login,
    logout,
    useChannel,
    init,
    onExpired,
    requireSignIn,
  }
})
