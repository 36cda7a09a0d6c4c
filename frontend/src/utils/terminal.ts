/**
 * The pharmacy terminal's side of the gateway contract, pure (no uni): the
 * national envelope, msgids, TIF request signing and the Chinese texts of
 * the answer codes. See docs/subsystems/terminal-gateway.md and codes.md.
 *
 * Signing: x-tif-signature = hex HMAC-SHA256(secret, timestamp + "\n" + nonce
 * + "\n" + sha256_hex(body)). js-sha256 (pinned) rather than Web Crypto:
 * crypto.subtle exists only in secure contexts, and a cashier's browser may
 * reach the wallet over http on a LAN address. The body is signed as the
 * exact string that is sent (UTF-8 on both sides).
 */
import { sha256 } from 'js-sha256'

export interface TerminalCredentials {
  fixmedins_code: string
  fixmedins_name?: string
  secret: string
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0')
}

/** `YYYY-MM-DD HH:MM:SS` in local time (the envelope's inf_time). */
export function infTime(now: Date = new Date()): string {
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ` +
    `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`
}

/** The national msgid form: fixmedins_code + yyyyMMddHHmmss + a sequence (≤ 40 chars). */
export function newMsgid(code: string, now: Date = new Date(), random: () => number = Math.random): string {
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}` +
    `${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`
  const seq = pad(Math.floor(random() * 1_000_000), 6)
  return `${code}${stamp}${seq}`.slice(0, 40)
}

export function randomNonce(random: () => number = Math.random): string {
  let out = ''
  const hex = '0123456789abcdef'
  for (let i = 0; i < 32; i += 1) out += hex[Math.floor(random() * 16)]
  return out
}

export function signature(secret: string, timestamp: string, nonce: string, body: string): string {
  const digest = sha256(body)
  return sha256.hmac(secret, `${timestamp}\n${nonce}\n${digest}`)
}

/** The four x-tif-* headers for one body (a retry is signed again: new nonce). */
export function signHeaders(
  creds: TerminalCredentials,
  body: string,
  now: number = Date.now(),
  random: () => number = Math.random,
): Record<string, string> {
  const timestamp = String(Math.floor(now / 1000))
  const nonce = randomNonce(random)
  return {
    'x-tif-paasid': creds.fixmedins_code,
    'x-tif-timestamp': timestamp,
    'x-tif-nonce': nonce,
    'x-tif-signature': signature(creds.secret, timestamp, nonce, body),
  }
}

export interface Envelope {
  infno: string
  msgid: string
  input: Record<string, unknown>
  [key: string]: unknown
}

export function envelope(
  creds: TerminalCredentials,
  infno: string,
  input: Record<string, unknown>,
  opts: { msgid?: string; signNo?: string; now?: Date } = {},
): Envelope {
  const now = opts.now ?? new Date()
  return {
    infno,
    msgid: opts.msgid ?? newMsgid(creds.fixmedins_code, now),
    mdtrtarea_admvs: '',
    insuplc_admdvs: '',
    recer_sys_code: 'POS',
    infver: 'V1.0',
    opter_type: '1',
    opter: '0001',
    opter_name: '收银员',
    inf_time: infTime(now),
    fixmedins_code: creds.fixmedins_code,
    fixmedins_name: creds.fixmedins_name ?? '',
    sign_no: opts.signNo ?? '',
    input,
  }
}

/** The decode request body (transType ec.query). */
export function decodeBody(code: string, qrCode: string): Record<string, unknown> {
  return {
    transType: 'ec.query',
    orgId: code,
    data: {
      orgId: code,
      businessType: '02121',
      operatorId: '0001',
      operatorName: '收银员',
      officeId: '01',
      officeName: '收银台',
      deviceType: 'POS',
      qrCode,
    },
  }
}

/** Decode refusals (codes.md) in words a cashier acts on. */
export const DECODE_ERRORS: Record<string, string> = {
  EC_MALFORMED: '请求格式错误，请联系软件服务商',
  EC_AUTH_FAILED: '机构认证失败，请检查机构编码与密钥',
  EC_NOT_SIGNED_IN: '机构尚未签到，请重新签到',
  EC_INSTITUTION_NOT_DESIGNATED: '本机构不是医保定点机构，不能受理医保电子凭证',
  EC_CODE_CORRUPTED: '医保码无法识别，请重新扫码',
  EC_CODE_UNKNOWN: '无效的医保码，请参保人刷新后重新出示',
  EC_CODE_EXPIRED: '医保码已过期，请参保人刷新后重新出示',
  EC_CODE_USED: '该医保码已被使用，请参保人出示新的医保码',
  EC_VOUCHER_UNAVAILABLE: '该参保人的医保电子凭证当前不可用',
}

export function decodeErrorText(errorCode: string, message?: string): string {
  return DECODE_ERRORS[errorCode] ?? message ?? '解码失败，请重试'
}

/** Gateway infcodes the POS treats specially. */
export const INFCODE = {
  OK: 0,
  NOT_SIGNED_IN: 1004,
  CONFIRMATION_PENDING: 1009,
  CONFIRMATION_REFUSED: 1010,
  PIN_LOCKED: 1011,
  CORE_UNAVAILABLE: 5001,
  OUTCOME_UNKNOWN: 5002,
} as const

/** Answers after which the very same request (same msgid, same body) is sent again. */
export function isRepeatable(infcode: number): boolean {
  return infcode === INFCODE.CONFIRMATION_PENDING || infcode === INFCODE.OUTCOME_UNKNOWN ||
    infcode === INFCODE.CORE_UNAVAILABLE || infcode === 1006
}

export const GENDER_LABELS: Record<string, string> = { '1': '男', '2': '女', '9': '未说明' }

export function genderLabel(value: unknown): string {
  const key = String(value ?? '')
  return GENDER_LABELS[key] ?? (key || '—')
}
