/**
 * Money on the client: integer fen inside, yuan strings at the edges.
 * The API and the terminal envelope carry yuan as strings with up to two
 * decimals ("12.30"); never parse them into floats. Pure, unit-tested.
 */

const YUAN = /^(-)?(\d+)(?:\.(\d{1,2}))?$/

/** "12.3" / "12.30" / "12" → 1230. Throws on anything else. */
export function yuanToFen(value: string | number | null | undefined): number {
  const text = typeof value === 'number' ? String(value) : (value ?? '').trim()
  const match = YUAN.exec(text)
  if (!match) throw new Error(`not an amount: ${String(value)}`)
  const [, sign, whole, frac = ''] = match
  const fen = Number(whole) * 100 + Number((frac + '00').slice(0, 2))
  if (!Number.isSafeInteger(fen)) throw new Error(`amount too large: ${text}`)
  return sign ? -fen : fen
}

/** Like yuanToFen, but null for an invalid entry (form fields). */
export function parseYuan(value: string | null | undefined): number | null {
  try {
    return yuanToFen(value)
  } catch {
    return null
  }
}

/** 1230 → "12.30" (always two decimals, no thousands separator: the wire form). */
export function fenToYuan(fen: number): string {
  if (!Number.isSafeInteger(fen)) throw new Error(`fen must be an integer: ${fen}`)
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(fen)
  const frac = abs % 100
  return `${sign}${Math.floor(abs / 100)}.${frac < 10 ? '0' : ''}${frac}`
}

/** An amount from the API shown with two decimals ("12.3" → "12.30"); the raw text if it is not one. */
export function showYuan(value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—'
  const fen = parseYuan(String(value))
  return fen === null ? String(value) : fenToYuan(fen)
}

/** unit price (yuan text) × quantity (integer) → fen, or null when either is invalid. */
export function lineFen(price: string, quantity: string | number): number | null {
  const p = parseYuan(price)
  const q = typeof quantity === 'number' ? quantity : /^\d+$/.test(quantity.trim()) ? Number(quantity) : NaN
  if (p === null || p < 0 || !Number.isSafeInteger(q) || q <= 0) return null
  return p * q
}
