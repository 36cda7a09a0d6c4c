/**
 * Pure display helpers (no uni, no platform): dates, labels, demo ids.
 * Everything here is unit-tested in tests/format.test.ts.
 */

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n)
}

/**
 * An ISO-8601 timestamp from the API as local `YYYY-MM-DD HH:mm`.
 * Returns '' for null/empty and the input itself when it cannot be parsed
 * (better to show the raw value than nothing).
 */
export function formatDateTime(value: string | null | undefined): string {
  if (!value) return ''
  // iOS' Date does not parse "2026-01-05 10:00:00"; the API sends ISO with "T".
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) return value
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}`
  )
}

export const VOUCHER_STATUS_LABELS: Record<string, string> = {
  inactive: '未激活',
  active: '已激活',
  frozen: '已冻结',
  revoked: '已注销',
}

export function voucherStatusLabel(status: string | null | undefined): string {
  if (!status) return '未激活'
  return VOUCHER_STATUS_LABELS[status] ?? status
}

export const AUTHORIZATION_STATUS_LABELS: Record<string, string> = {
  active: '有效',
  revoked: '已解除',
}

export function authorizationStatusLabel(status: string): string {
  return AUTHORIZATION_STATUS_LABELS[status] ?? status
}

export const INSUTYPE_LABELS: Record<string, string> = {
  '310': '职工基本医疗保险',
  '390': '城乡居民基本医疗保险',
}

export function insutypeLabel(insutype: string | null | undefined): string {
  if (!insutype) return ''
  return INSUTYPE_LABELS[insutype] ?? insutype
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'

/** A random lowercase alphanumeric string (not for secrets: Math.random). */
export function randomToken(length: number, random: () => number = Math.random): string {
  let out = ''
  for (let i = 0; i < length; i += 1) out += ALPHABET[Math.floor(random() * ALPHABET.length)]
  return out
}

/** The demo sign-in's prefilled openid: "demo-" + 10 random characters. */
export function demoOpenid(random: () => number = Math.random): string {
  return `demo-${randomToken(10, random)}`
}

/**
 * The value of a uni `<input>` event: `event.detail.value` (uni's own event,
 * on every target), else the DOM target's value.
 */
export function inputValue(event: unknown): string {
  const e = event as { detail?: { value?: unknown }; target?: { value?: unknown } } | null
  const value = e?.detail?.value ?? e?.target?.value
  return typeof value === 'string' ? value : ''
}

/**
 * A person's name as the national app shows it on the voucher card: every
 * character but the last masked ("张三" → "*三", "欧阳娜娜" → "***娜"). A
 * one-character name is shown as is.
 */
export function maskName(name: string | null | undefined): string {
  const chars = Array.from((name ?? '').trim())
  if (chars.length < 2) return chars.join('')
  return '*'.repeat(chars.length - 1) + chars[chars.length - 1]
}

/**
 * A route inside this app to go to after signing in ("/pages-family/invite/index?token=…"),
 * or '' for anything else (no scheme, no host, no "//", no "..": never an open redirect).
 */
export function safeAppRoute(value: string | null | undefined): string {
  const route = (value ?? '').trim()
  if (!/^\/pages(-[a-z]+)?\/[A-Za-z0-9_\-/]+(\?[A-Za-z0-9_\-=&%.~]*)?$/.test(route)) return ''
  if (route.includes('//') || route.includes('..')) return ''
  return route
}
