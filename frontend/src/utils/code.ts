/** Pure helpers of the code page (unit-tested in tests/code-utils.test.ts). */

/** "8812345678…" → "8812 3456 78…" (groups of 4, for reading aloud / typing at the counter). */
export function groupDigits(code: string, size = 4): string {
  const parts: string[] = []
  for (let i = 0; i < code.length; i += size) parts.push(code.slice(i, i + size))
  return parts.join(' ')
}

/** Only the digits of a pasted / scanned code (spaces and dashes dropped). */
export function digitsOnly(text: string): string {
  return (text || '').replace(/\D+/g, '')
}

/**
 * Device clock correction, in seconds, from a freshly received code: the
 * server's "now" lies in [step × step_seconds, expires_at) — or, for a code
 * sent early (before its step), in the step before it: [valid_from −
 * step_seconds, valid_from). If the device clock is outside that window,
 * shift it just inside; otherwise trust it.
 */
export function clockOffset(
  code: { step: number; step_seconds: number; expires_at: number; early?: boolean },
  nowSec: number,
): number {
  const start = (code.early ? code.step - 1 : code.step) * code.step_seconds
  const end = code.early ? code.step * code.step_seconds : code.expires_at
  if (nowSec < start) return start - nowSec
  if (nowSec >= end) return end - 0.5 - nowSec
  return 0
}

/** When a code may be shown: its step's start (a code sent early waits for it). */
export function validFrom(code: { step: number; step_seconds: number; valid_from?: number }): number {
  return Number(code.valid_from) || code.step * code.step_seconds
}

/** Whole seconds left until `at` (never negative). */
export function secondsLeft(at: number, nowSec: number): number {
  return Math.max(0, Math.ceil(at - nowSec))
}

/** ISO time → Unix seconds (NaN when unparseable). */
export function isoToSeconds(iso: string | null | undefined): number {
  if (!iso) return NaN
  return Date.parse(iso) / 1000
}

/** "1:05" / "0:09" for a countdown. */
export function formatCountdown(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  const m = Math.floor(s / 60)
  const r = s % 60
  return `${m}:${r < 10 ? '0' : ''}${r}`
}

/** "HH:mm:ss" of an ISO time (the scan banner). */
export function timeOfDay(iso: string | null | undefined): string {
  if (!iso) return ''
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return String(iso)
  const pad = (n: number) => (n < 10 ? `0${n}` : String(n))
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
}
