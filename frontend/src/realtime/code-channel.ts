/**
 * The code page's realtime channel, on top of the app-level socket manager.
 *
 * - ONE socket to /ws/code/, through `appSocket`. Each connect (first open,
 *   every reconnect, every resume after onShow) fetches a NEW single-use
 *   ticket from POST /api/ws-ticket: a ticket in a URL that is reused on
 *   reconnect would be refused after the first drop.
 * - Messages in: code, scanned, payment.confirm, payment.completed,
 *   payment.reversed, account.credited, mulaid.used (家庭共济: my account paid
 *   for a relative), mulaid.confirm (my PIN asked for a relative's bill), pin.changed (the PIN was
 *   changed or reset on some channel; a fresh code follows), error. Out: refresh. `person` = a bound relative's code.
 * - HTTP fallback while the socket is not open (after a short grace): GET
 *   /api/voucher/code when there is no code or the shown one has reached
 *   its expires_at, and GET /api/payments/pending for confirmations.
 * - An `error` message (NOT_ACTIVATED, VOUCHER_UNAVAILABLE,
 *   CHANNEL_NOT_AUTHORIZED…) is final: the channel stops (no reconnect loop).
 * - The server re-checks the login and the channel authorization at every
 *   push; when one ends it sends `session.ended` {code, message} and closes
 *   with 4401 (登录已失效) or 4403 (本渠道授权已撤销 / 凭证不可用). Both are
 *   final; the close code alone (message lost) is mapped to the same text.
 */
import { getCode, getWsTicket, type PushedCode } from '@/api/code'
import type { PayerConfirmation } from '@/api/family'
import type { SecurityNotice } from '@/api/security'
import { listPending, type ConfirmRequest, type Payment } from '@/api/payments'
import { isApiError } from '@/http/errors'
import { codeSocketPath } from '@/utils/family'
import { appSocket, type SocketManager, type SocketMessage, type SocketState } from './socket'

export const CODE_SOCKET_PATH = '/ws/code/'
/** How long a socket may be down before HTTP polling takes over. */
export const POLL_GRACE_MS = 3_000
export const POLL_INTERVAL_MS = 3_000

export type CodeChannelMode = 'connecting' | 'socket' | 'polling' | 'stopped'

export interface ScanNotice {
  institution: string
  at: string
}

export interface PaymentNotice {
  id: string
  institution: string
  medfee_sumamt?: string
  acct_pay?: string
  psn_cash_pay?: string
  fund_pay_sumamt?: string
  balc?: string
}

/** The `mulaid.used` push to the payer (issue #13 contract). Amounts are yuan strings. */
export interface MulaidNotice {
  relative_name: string
  institution: string
  amount: string
  remaining_annual_cap: string | null
  at: string
}

export interface CodeChannelHandlers {
  code: (code: PushedCode) => void
  scanned?: (notice: ScanNotice) => void
  confirm?: (request: ConfirmRequest) => void
  completed?: (notice: PaymentNotice) => void
  reversed?: (notice: PaymentNotice) => void
  credited?: (message: SocketMessage) => void
  /** 家庭共济: my personal account paid part of a relative's bill. */
  mulaidUsed?: (notice: MulaidNotice) => void
  /** 家庭共济: a relative's bill asks for MY PIN (above my confirm-above amount). */
  mulaidConfirm?: (request: PayerConfirmation) => void
  /** The payment PIN was changed or reset (on any channel): a fresh code follows. */
  pinChanged?: (notice: SecurityNotice) => void
  /** A final refusal (from the socket's `error` or the REST fallback). */
  error?: (code: string, message: string) => void
  mode?: (mode: CodeChannelMode) => void
}

export interface CodeChannelDeps {
  socket: SocketManager
  getTicket: () => Promise<{ ticket: string }>
  getCode: (person: string) => Promise<PushedCode>
  listPending: (person: string) => Promise<Payment[]>
  now: () => number
}

const FINAL_CODES = new Set(['NOT_ACTIVATED', 'VOUCHER_UNAVAILABLE', 'CHANNEL_NOT_AUTHORIZED', 'UNAUTHENTICATED',
  'SESSION_ENDED', 'FAMILY_NOT_FOUND', 'FAMILY_NOT_ACTIVE'])

/** Application close codes of /ws/code/ (docs/subsystems/realtime.md), for when the last message was lost. */
export const CLOSE_CODES: Record<number, { code: string; message: string }> = {
  4401: { code: 'SESSION_ENDED', message: '登录已失效，请重新登录' },
  4403: { code: 'CHANNEL_NOT_AUTHORIZED', message: '本渠道授权已撤销，如需使用请重新激活' },
}

export function pendingToConfirm(p: Payment): ConfirmRequest {
  return {
    id: p.id,
    institution: p.institution,
    medfee_sumamt: p.medfee_sumamt,
    acct_pay: p.acct_pay,
    psn_cash_pay: p.psn_cash_pay,
    fund_pay_sumamt: p.fund_pay_sumamt,
    expires_at: p.confirm_deadline,
  }
}

export class CodeChannel {
  mode: CodeChannelMode = 'stopped'
  /** Whose code: '' = the signed-in person's own; else a binding id (亲情账户: the relative's own code). */
  person = ''
  private unsubscribe: Array<() => void> = []
  private pollTimer: ReturnType<typeof setTimeout> | null = null
  private graceTimer: ReturnType<typeof setTimeout> | null = null
  private expiresAt = 0
  private running = false
  private readonly deps: CodeChannelDeps

  constructor(private readonly handlers: CodeChannelHandlers, deps: Partial<CodeChannelDeps> = {}) {
    this.deps = {
      socket: deps.socket ?? appSocket,
      getTicket: deps.getTicket ?? getWsTicket,
      getCode: deps.getCode ?? getCode,
      listPending: deps.listPending ?? listPending,
      now: deps.now ?? (() => Date.now() / 1000),
    }
  }

  start(): void {
    if (this.running) return
    this.running = true
    const { socket } = this.deps
    this.unsubscribe = [
      socket.on('code', (m) => this.gotCode(m as unknown as PushedCode)),
      socket.on('scanned', (m) => this.handlers.scanned?.({ institution: String(m.institution ?? ''), at: String(m.at ?? '') })),
      socket.on('payment.confirm', (m) => this.handlers.confirm?.(m as unknown as ConfirmRequest)),
      socket.on('payment.completed', (m) => this.handlers.completed?.(m as unknown as PaymentNotice)),
      socket.on('payment.reversed', (m) => this.handlers.reversed?.(m as unknown as PaymentNotice)),
      socket.on('account.credited', (m) => this.handlers.credited?.(m)),
      socket.on('mulaid.used', (m) => this.handlers.mulaidUsed?.(m as unknown as MulaidNotice)),
      socket.on('mulaid.confirm', (m) => this.handlers.mulaidConfirm?.(m as unknown as PayerConfirmation)),
      socket.on('pin.changed', (m) => this.handlers.pinChanged?.(m as unknown as SecurityNotice)),
      socket.on('error', (m) => this.refused(String(m.code ?? 'ERROR'), String(m.message ?? '出现错误'))),
      socket.on('session.ended', (m) => this.refused(String(m.code ?? 'SESSION_ENDED'),
        String(m.message ?? CLOSE_CODES[4401].message))),
      socket.on('close', (m) => {
        const known = CLOSE_CODES[Number(m.code)]
        if (known) this.refused(known.code, known.message)
      }),
      socket.onState((state) => this.socketState(state)),
    ]
    this.setMode('connecting')
    // A fresh single-use ticket for every connect; `person` picks a bound relative's code.
    socket.open(async () => codeSocketPath(CODE_SOCKET_PATH, (await this.deps.getTicket()).ticket, this.person))
    this.armGrace()
  }

  stop(): void {
    if (!this.running) return
    this.running = false
    this.unsubscribe.forEach((off) => off())
    this.unsubscribe = []
    this.deps.socket.close()
    this.stopPolling()
    this.clearGrace()
    this.setMode('stopped')
  }

  /**
   * Show another person's code (亲情账户 switcher): a new socket for `person`
   * ('' = my own). Whatever was shown belongs to the previous person and is
   * dropped by the page.
   */
  switchPerson(person: string): void {
    if (person === this.person) return
    const wasRunning = this.running
    this.stop()
    this.person = person
    this.expiresAt = 0
    if (wasRunning) this.start()
  }

  /** 刷新: a new code now (over the socket, or by REST when it is down). */
  refresh(): void {
    if (!this.running) return
    if (!this.deps.socket.send({ type: 'refresh' })) void this.fetchCode()
  }

  private gotCode(code: PushedCode): void {
    if (!code || typeof code.code !== 'string') return
    this.expiresAt = Number(code.expires_at) || 0
    this.handlers.code(code)
  }

  private refused(code: string, message: string): void {
    this.handlers.error?.(code, message)
    if (FINAL_CODES.has(code)) this.stop()
  }

  private socketState(state: SocketState): void {
    if (!this.running) return
    if (state === 'open') {
      this.clearGrace()
      this.stopPolling()
      this.setMode('socket')
    } else if (state === 'waiting' || state === 'connecting') {
      if (this.mode === 'socket') this.setMode('connecting')
      this.armGrace()
    }
  }

  private armGrace(): void {
    if (this.graceTimer || this.pollTimer) return
    this.graceTimer = setTimeout(() => {
      this.graceTimer = null
      if (this.running && this.deps.socket.state !== 'open') this.startPolling()
    }, POLL_GRACE_MS)
  }

  private clearGrace(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer)
    this.graceTimer = null
  }

  private startPolling(): void {
    if (this.pollTimer) return
    this.setMode('polling')
    const tick = async () => {
      if (!this.running || this.deps.socket.state === 'open') {
        this.pollTimer = null
        return
      }
      if (!this.expiresAt || this.deps.now() >= this.expiresAt) await this.fetchCode()
      await this.fetchPending()
      if (this.running && this.pollTimer) this.pollTimer = setTimeout(tick, POLL_INTERVAL_MS)
    }
    this.pollTimer = setTimeout(tick, 0)
  }

  private stopPolling(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer)
    this.pollTimer = null
  }

  private async fetchCode(): Promise<void> {
    try {
      this.gotCode(await this.deps.getCode(this.person))
    } catch (err) {
      if (isApiError(err) && err.kind === 'business' && FINAL_CODES.has(err.code)) this.refused(err.code, err.message)
      // network trouble: keep polling; the page blanks an expired code itself
    }
  }

  private async fetchPending(): Promise<void> {
    try {
      const pending = await this.deps.listPending(this.person)
      pending.forEach((p) => this.handlers.confirm?.(pendingToConfirm(p)))
    } catch {
      // next tick
    }
  }

  private setMode(mode: CodeChannelMode): void {
    if (this.mode === mode) return
    this.mode = mode
    this.handlers.mode?.(mode)
  }
}
