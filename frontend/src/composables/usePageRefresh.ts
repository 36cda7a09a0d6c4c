/**
 * A signed-in page's data: loaded each time the page shows (a signed-out
 * person is sent to sign in first) and again on pull-down refresh.
 */
import { onPullDownRefresh, onShow } from '@dcloudio/uni-app'
import { useSessionStore } from '@/stores/session'

export function usePageRefresh(load: () => Promise<unknown>): void {
  const session = useSessionStore()
  onShow(() => {
    if (session.requireSignIn()) void load()
  })
  onPullDownRefresh(async () => {
    await load()
    uni.stopPullDownRefresh()
  })
}
