/**
 * The POS page's calls to the wallet's terminal gateway and voucher decode,
 * signed in the browser (utils/terminal.ts). Through http/request.ts (the
 * only caller of uni.request): no bearer token, the body sent as the exact
 * string that was signed.
 */
import { request } from '@/http/request'
import { decodeBody, envelope, signHeaders, type Envelope, type TerminalCredentials } from '@/utils/terminal'

export const GATEWAY_PATH = '/fsi/api/rsfComIfsService/callService'
export const DECODE_PATH = '/localcfc/api/hsecfc/localQrCodeQuery'

/** The national answer: every field always present; amounts in output are JSON numbers
 * (数值型, two decimals on the wire) — read them with utils/money (showYuan / yuanToFen), never do
 * arithmetic on the parsed number. */
export interface GatewayAnswer<T = Record<string, unknown>> {
  infcode: number
  inf_refmsgid?: string
  refmsg_time?: string
  respond_time?: string
  err_msg?: string
  warn_msg?: string
  cainfo?: string
  signtype?: string
  output?: T
}

export interface DecodeAnswer {
  code: number
  errorCode?: string
  message?: string
  data?: {
    ecToken: string
    ecIndexNo?: string
    userName: string
    idType?: string
    idNo: string
    insuOrg: string
    gender: string
    birthday: string
    tokenExpireTime?: string
  }
}

function post<T>(url: string, creds: TerminalCredentials, body: string): Promise<T> {
  return request<T>({
    url,
    method: 'POST',
    auth: false,
    data: body,
    header: { 'Content-Type': 'application/json', ...signHeaders(creds, body) },
    timeout: 30000,
  })
}

/** Send one envelope (already built, so a repeat sends the same msgid and body). */
export function callEnvelope<T = Record<string, unknown>>(
  creds: TerminalCredentials,
  env: Envelope,
): Promise<GatewayAnswer<T>> {
  return post<GatewayAnswer<T>>(GATEWAY_PATH, creds, JSON.stringify(env))
}

export function call<T = Record<string, unknown>>(
  creds: TerminalCredentials,
  infno: string,
  input: Record<string, unknown>,
  signNo: string,
): Promise<GatewayAnswer<T>> {
  return callEnvelope<T>(creds, envelope(creds, infno, input, { signNo }))
}

export function signIn(creds: TerminalCredentials): Promise<GatewayAnswer<{ signinoutb: { sign_no: string; sign_time: string } }>> {
  return call(creds, '9001', { signIn: { opter_no: '0001', mac: '00:00:00:00:00:00', ip: '127.0.0.1' } }, '')
}

export function decode(creds: TerminalCredentials, qrCode: string): Promise<DecodeAnswer> {
  return post<DecodeAnswer>(DECODE_PATH, creds, JSON.stringify(decodeBody(creds.fixmedins_code, qrCode)))
}
