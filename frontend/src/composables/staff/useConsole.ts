/**
 * The console's session, shared by its pages (module state: one staff member
 * per browser tab).
 *
 * - `requireStaff(permission)` on every page show: asks `GET auth/me` once,
 *   then trusts it; without the permission the page sends the user to the
 *   first page their role may open.
 * - Any 401 from any call (UNAUTHENTICATED, STAFF_OTP_REQUIRED,
 *   STAFF_SESSION_EXPIRED) → `failed(err)` relaunches the login page with the
 *   reason, once however many calls fail together.
 * - Inactivity: the server ends a session idle longer than
 *   `idle_timeout_seconds`, but polling (the queue) would keep it alive, so
 *   the console also counts the user's own input (mouse, keys) and signs out
 *   at that limit (login page: 长时间未操作…).
 */
import { reactive } from 'vue'
import * as staffApi from '@/api/staff'
import type { StaffMe } from '@/api/staff'
import { ApiError, isApiError, toApiError } from '@/http/errors'
import { can, idleRemaining, landingRoute, loginRoute } from '@/utils/staff'

interface ConsoleState {
  me: StaffMe | null
  leaving: boolean
}

export const consoleState = reactive<ConsoleState>({ me: null, leaving: false })

let lastActivity = Date.now()
let idleTimer: ReturnType<typeof setInterval> | null = null
let listening = false

function markActive(): void {
  lastActivity = Date.now()
}

function startIdleWatch(): void {
  const doc = typeof document !== 'undefined' ? document : null
  if (doc && !listening) {
    for (const type of ['mousedown', 'mousemove', 'keydown', 'wheel', 'touchstart']) {
      doc.addEventListener(type, markActive, { passive: true })
    }
    listening = true
  }
  markActive()
  if (idleTimer) return
  idleTimer = setInterval(() => {
    const me = consoleState.me
    if (!me) return
    if (idleRemaining(lastActivity, Date.now(), me.idle_timeout_seconds) === 0) {
      void signOut('IDLE')
    }
  }, 5000)
}

function stopIdleWatch(): void {
  if (idleTimer) clearInterval(idleTimer)
  idleTimer = null
}

/** Go to the login page (once), telling why. */
export function goLogin(reason?: string): void {
  if (consoleState.leaving) return
  consoleState.leaving = true
  consoleState.me = null
  stopIdleWatch()
  uni.reLaunch({ url: loginRoute(reason), complete: () => (consoleState.leaving = false) })
}

/** Every page's error path: a 401 leaves for the login page; anything else is returned to show. */
export function failed(err: unknown): ApiError {
  const error = toApiError(err)
  if (error.kind === 'auth') goLogin(error.code)
  return error
}

/** The signed-in member with `permission` (or null while leaving). */
export async function requireStaff(permission?: string): Promise<StaffMe | null> {
  try {
    if (!consoleState.me) consoleState.me = await staffApi.me()
  } catch (err) {
    failed(err)
    return null
  }
  startIdleWatch()
  if (permission && !can(consoleState.me, permission)) {
    uni.reLaunch({ url: landingRoute(consoleState.me) })
    return null
  }
  return consoleState.me
}

/** After a successful login. */
export function signedIn(me: StaffMe): void {
  consoleState.me = me
  consoleState.leaving = false
  startIdleWatch()
}

export async function signOut(reason = 'LOGGED_OUT'): Promise<void> {
  try {
    await staffApi.logout()
  } catch (err) {
    // Already gone (401) or unreachable: the login page either way.
    if (!isApiError(err)) throw err
  }
  goLogin(reason)
}
