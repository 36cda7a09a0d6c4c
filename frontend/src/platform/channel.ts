/**
 * Channels (where the person opened the app) and skins (how it looks).
 * Pure data, no conditional compilation: safe to import from anywhere.
 *
 * nhsa = 国家医保服务平台 APP. It has no skin of its own: it uses the
 * WeChat-like (WeUI) skin, the house default.
 */
export type Channel = 'wechat' | 'alipay' | 'nhsa'
export type Skin = 'wechat' | 'alipay'

export const CHANNELS: readonly Channel[] = ['wechat', 'alipay', 'nhsa']
export const DEFAULT_CHANNEL: Channel = 'wechat'

export const CHANNEL_LABELS: Record<Channel, string> = {
  wechat: '微信',
  alipay: '支付宝',
  nhsa: '国家医保APP',
}

export const SKIN_FOR_CHANNEL: Record<Channel, Skin> = {
  wechat: 'wechat',
  alipay: 'alipay',
  nhsa: 'wechat',
}

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && (CHANNELS as readonly string[]).includes(value)
}

/** Root class applied on H5 (`skin-wechat` / `skin-alipay`). */
export function skinClass(skin: Skin): string {
  return `skin-${skin}`
}

/** Find `channel=` in a URL's search string and in the query part of its hash. */
export function channelFromUrl(search: string, hash: string): Channel | null {
  const sources = [search, hash.includes('?') ? hash.slice(hash.indexOf('?')) : '']
  for (const source of sources) {
    const value = new URLSearchParams(source).get('channel')
    if (isChannel(value)) return value
  }
  return null
}
