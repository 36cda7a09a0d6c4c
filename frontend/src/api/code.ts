import { request } from '@/http/request'

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

/** schema: WsTicketApiOutput */
export interface WsTicket {
  ticket: string
  expires_in: number
}

/** REST fallback of the code page: a fresh code now. */
export function getCode(): Promise<VoucherCode> {
  return request<VoucherCode>({ url: '/api/voucher/code' })
}

/** A single-use ticket for one WebSocket connect (fetch a new one for every connect). */
export function getWsTicket(): Promise<WsTicket> {
  return request<WsTicket>({ url: '/api/ws-ticket', method: 'POST' })
}

/** The SVG text of a code's QR or barcode (H5). */
export function getCodeSvg(kind: 'qr' | 'barcode', code: string): Promise<string> {
  return request<string>({
    url: `/api/voucher/code/${kind}?code=${encodeURIComponent(code)}&format=svg`,
    responseType: 'text',
  })
}

/** The PNG bytes of a code's QR or barcode (mini-programs). */
export function getCodePng(kind: 'qr' | 'barcode', code: string): Promise<ArrayBuffer> {
  return request<ArrayBuffer>({
    url: `/api/voucher/code/${kind}?code=${encodeURIComponent(code)}&format=png`,
    responseType: 'arraybuffer',
  })
}
