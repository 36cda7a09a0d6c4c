import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { configureAuth } from '@/http/request'

const TOKEN_KEY = 'yb.session.token'

/**
 * The signed-in person's session. The transport asks it for the bearer token;
 * a 401 clears it. Token refresh is not wired yet (the backend has no auth
 * endpoint yet): request.ts already funnels concurrent 401s into one shared
 * refresh promise, so adding it later is one function here.
 */
export const useSessionStore = defineStore('session', () => {
  const token = ref<string | null>(null)
  const isSignedIn = computed(() => token.value !== null)

  function setToken(value: string | null): void {
    token.value = value
    try {
      if (value) uni.setStorageSync(TOKEN_KEY, value)
      else uni.removeStorageSync(TOKEN_KEY)
    } catch {
      // storage unavailable: keep the token in memory only
    }
  }

  function clear(): void {
    setToken(null)
  }

  function init(): void {
    try {
      const stored = uni.getStorageSync(TOKEN_KEY)
      token.value = typeof stored === 'string' && stored ? stored : null
    } catch {
      token.value = null
    }
    configureAuth({ getToken: () => token.value, onExpired: clear })
  }

  return { token, isSignedIn, setToken, clear, init }
})
