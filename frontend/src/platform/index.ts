/**
 * Everything that differs between H5, WeChat and Alipay mini-programs.
 * This module (with http/, realtime/, the skin entry and pages.json) is the
 * only place allowed to use conditional compilation, and it names platforms
 * explicitly (H5 / MP-WEIXIN / MP-ALIPAY), never the broad MP.
 */
import { DEFAULT_CHANNEL, channelFromUrl, isChannel, skinClass, type Channel, type Skin } from './channel'

export * from './channel'
export * from './camera'

export type BuildPlatform = 'h5' | 'mp-weixin' | 'mp-alipay'

/** Where the API lives. H5 is served by Django itself: same origin. */
export const MP_API_ORIGIN = 'https://yibao.example.cn'

export const BUILD_PLATFORM: BuildPlatform = (() => {
  let platform = 'h5' as BuildPlatform
  // #ifdef MP-WEIXIN
  platform = 'mp-weixin'
  // #endif
  // #ifdef MP-ALIPAY
  platform = 'mp-alipay'
  // #endif
  return platform
})()

export const API_BASE_URL: string = (() => {
  let base: string = MP_API_ORIGIN
  // #ifdef H5
  base = ''
  // #endif
  return base
})()

/** Origin for WebSockets: ws(s):// of the page on H5, wss:// of the API on mini-programs. */
export function wsBaseUrl(): string {
  // #ifdef H5
  const { protocol, host } = window.location
  return `${protocol === 'https:' ? 'wss:' : 'ws:'}//${host}`
  // #endif
  // #ifdef MP-WEIXIN || MP-ALIPAY
  return MP_API_ORIGIN.replace(/^http/, 'ws')
  // #endif
}

/**
 * Extra options for uni.connectSocket. Alipay keeps ONE global socket unless
 * `multiple: true` is passed (uni-app does not pass it), so ask explicitly.
 */
export function socketConnectOptions(): Record<string, unknown> {
  // #ifdef MP-ALIPAY
  return { multiple: true }
  // #endif
  // #ifdef H5 || MP-WEIXIN
  return {}
  // #endif
}

const CHANNEL_STORAGE_KEY = 'yb.channel'

/**
 * The channel this app runs in.
 * Mini-programs: fixed at build time. H5: `?channel=wechat|alipay|nhsa` in the
 * URL (before or after the #), persisted in storage; else the stored one;
 * else wechat.
 */
export function resolveChannel(): Channel {
  let channel: Channel | null = null
  // #ifdef MP-WEIXIN
  channel = 'wechat'
  // #endif
  // #ifdef MP-ALIPAY
  channel = 'alipay'
  // #endif
  // #ifdef H5
  channel = resolveH5Channel()
  // #endif
  return channel ?? DEFAULT_CHANNEL
}

// #ifdef H5
function resolveH5Channel(): Channel | null {
  const fromUrl = channelFromUrl(window.location.search, window.location.hash)
  if (fromUrl) {
    try {
      uni.setStorageSync(CHANNEL_STORAGE_KEY, fromUrl)
    } catch {
      // storage full or disabled (private mode): the URL still wins this time
    }
    return fromUrl
  }
  try {
    const stored: unknown = uni.getStorageSync(CHANNEL_STORAGE_KEY)
    return isChannel(stored) ? stored : null
  } catch {
    return null
  }
}
// #endif

/** Only the H5 demo can switch channels; a mini-program IS its channel. */
export const CAN_CHOOSE_CHANNEL: boolean = (() => {
  let choosable = false
  // #ifdef H5
  choosable = true
  // #endif
  return choosable
})()

/**
 * Remember a channel chosen on the H5 sign-in page: in storage, and in the
 * URL's `?channel=` (which wins over storage on the next load), keeping the
 * hash route as it is. Nothing to do on mini-programs.
 */
export function rememberChannel(channel: Channel): void {
  // #ifdef H5
  try {
    uni.setStorageSync(CHANNEL_STORAGE_KEY, channel)
  } catch {
    // storage full or disabled: the URL below still carries it
  }
  const url = new URL(window.location.href)
  if (url.searchParams.get('channel') !== channel) {
    url.searchParams.set('channel', channel)
    window.history.replaceState(window.history.state, '', url.toString())
  }
  // #endif
  // #ifdef MP-WEIXIN || MP-ALIPAY
  void channel
  // #endif
}

/**
 * Make the skin visible. H5: a root class on <html> that selects the CSS
 * variables (styles/skin.scss). Mini-programs: the skin is compiled in, so
 * there is nothing to switch at run time.
 */
export function applySkin(skin: Skin): void {
  // #ifdef H5
  const root = document.documentElement
  for (const name of Array.from(root.classList)) {
    if (name.startsWith('skin-')) root.classList.remove(name)
  }
  root.classList.add(skinClass(skin))
  root.dataset.skin = skin
  // #endif
  // #ifdef MP-WEIXIN || MP-ALIPAY
  void skin
  // #endif
}

/** Which image the server renders for the code page: SVG on H5, PNG on mini-programs. */
export const CODE_IMAGE_FORMAT: 'svg' | 'png' = (() => {
  let format: 'svg' | 'png' = 'png'
  // #ifdef H5
  format = 'svg'
  // #endif
  return format
})()

/** A `data:` URL for an <image src>: SVG text (H5) or PNG bytes (mini-programs). */
export function imageDataUrl(body: string | ArrayBuffer): string {
  if (typeof body === 'string') {
    // #ifdef H5
    const bytes = new TextEncoder().encode(body)
    let binary = ''
    for (let i = 0; i < bytes.length; i += 1) binary += String.fromCharCode(bytes[i])
    return `data:image/svg+xml;base64,${window.btoa(binary)}`
    // #endif
    // #ifdef MP-WEIXIN || MP-ALIPAY
    return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(body as string)}`
    // #endif
  }
  return `data:image/png;base64,${uni.arrayBufferToBase64(body)}`
}

/** Seconds since the epoch, from the device clock. */
export function nowSeconds(): number {
  return Date.now() / 1000
}
