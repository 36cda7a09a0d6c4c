import { request } from '@/http/request'
import { withPerson } from '@/utils/family'

/** A code as pushed on /ws/code/ and answered by GET /api/voucher/code (schema: CodeCurrentApiOutput). Times are Unix seconds. */
export interface VoucherCode {
  code: string
  step: number
  /** when the page should show the next code (end of the step) */
  expires_at: number
  /** after this the code is refused at the counter */
  valid_until: number
  step_seconds: number
}

/** A code as the socket pushes it (codes/consumers.py): the REST fields, and for a code sent
 * ahead of its step, when it becomes valid. */
export interface PushedCode extends VoucherCode {
  /** when the code starts to be valid (its step's start) */
  valid_from?: number
  /** sent before its step began (the page switches to it at valid_from) */
  early?: boolean
}

/** schema: WsTicketApiOutput */
export interface WsTicket {
  ticket: string
  expires_in: number
}

/** REST fallback of the code page: a fresh code now (a bound relative's with `person` = the binding id). */
export function getCode(person = ''): Promise<VoucherCode> {
  return request<VoucherCode>({ url: withPerson('/api/voucher/code', person) })
}

/** A single-use ticket for one WebSocket connect (fetch a new one for every connect). */
export function getWsTicket(): Promise<WsTicket> {
  return request<WsTicket>({ url: '/api/ws-ticket', method: 'POST' })
}

/** The SVG text of a code's QR or barcode (H5). */
export function getCodeSvg(kind: 'qr' | 'barcode', code: string, person = ''): Promise<string> {
  return request<string>({
    url: withPerson(`/api/voucher/code/${kind}?code=${encodeURIComponent(code)}&format=svg`, person),
    responseType: 'text',
  })
}

/** The PNG bytes of a code's QR or barcode (mini-programs). */
export function getCodePng(kind: 'qr' | 'barcode', code: string, person = ''): Promise<ArrayBuffer> {
  return request<ArrayBuffer>({
    url: withPerson(`/api/voucher/code/${kind}?code=${encodeURIComponent(code)}&format=png`, person),
    responseType: 'arraybuffer',
  })
}
