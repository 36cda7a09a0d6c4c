/**
 * The person's sign-in as pages use it (home, 登录): one place that signs
 * in and out and keeps the voucher store in step with the session.
 */
import type { Channel } from '@/platform'
import { useSessionStore } from '@/stores/session'
import { useVoucherStore } from '@/stores/voucher'

export function useAccount() {
  const session = useSessionStore()
  const voucher = useVoucherStore()

  /** POST /api/auth/login, then forget the previous person's voucher data. */
  async function signIn(openid: string, channel: Channel): Promise<void> {
    await session.login(openid, channel)
    voucher.reset()
  }

  /** POST /api/auth/logout and clear the local session and voucher data. */
  async function signOut(): Promise<void> {
    await session.logout()
    voucher.reset()
  }

  /** /api/me for a signed-in person (the token refreshed first when close to
   * expiry). False when signed out or the session could not be kept. */
  async function loadMe(): Promise<boolean> {
    if (!session.isSignedIn) return false
    if (!(await session.ensureFresh())) return false
    await voucher.loadMe()
    return true
  }

  return { session, voucher, signIn, signOut, loadMe }
}
