/**
 * The code page's payment confirmation, as a state machine over one request
 * at a time (the `payment.confirm` push, or a pending payment while polling):
 *
 *   open(req) → pin ─confirm(pin)→ sending ─ok→ waiting ─record settled→ result 支付成功
 *                 ↑                    │               └─record failed/expired/declined→ closed-error
 *                 └── PIN_INCORRECT ───┤
 *                      PIN_LOCKED ─────┴→ locked;  PAYMENT_EXPIRED / NOT_PENDING / NOT_FOUND → closed-error
 *   decline() → the sheet closes with a notice;  close() → the sheet closes.
 *
 * A request once handled (confirmed, declined, closed, finished) is never
 * reopened by a later push or poll. After the PIN the record is followed
 * every `pollMs` (the settlement completes when the terminal repeats its
 * 2102), so the outcome appears even without the socket. `finish` takes the
 * pushed outcome (payment.completed / payment.reversed).
 */
import { ref } from 'vue'
import { confirmPayment, declinePayment, getRecord, type ConfirmRequest, type RecordDetail } from '@/api/payments'
import type { SheetState } from '@/components/biz/pay/types'
import { ApiError, toApiError } from '@/http/errors'
import type { PaymentNotice } from '@/realtime/code-channel'

export type ResultKind = 'success' | 'reversed'

export interface ConfirmationDeps {
  confirm?: (id: string, pin: string) => Promise<unknown>
  decline?: (id: string) => Promise<unknown>
  record?: (id: string) => Promise<RecordDetail>
  pollMs?: number
}

/** Refusals after which this request can no longer be confirmed. */
const CLOSING_CODES = ['PAYMENT_EXPIRED', 'PAYMENT_NOT_PENDING', 'PAYMENT_NOT_FOUND']
const FAILED_STATUSES = ['failed', 'expired', 'declined']

export function useConfirmationSheet(deps: ConfirmationDeps = {}) {
  const confirm = deps.confirm ?? confirmPayment
  const decline = deps.decline ?? declinePayment
  const record = deps.record ?? getRecord
  const pollMs = deps.pollMs ?? 2000

  const request = ref<ConfirmRequest | null>(null)
  const state = ref<SheetState>('pin')
  const error = ref<ApiError | null>(null)
  const declinedNotice = ref('')
  const result = ref<{ kind: ResultKind; notice: PaymentNotice } | null>(null)
  const handled = new Set<string>()
  let poll: ReturnType<typeof setTimeout> | null = null

  function open(req: ConfirmRequest): void {
    if (handled.has(req.id)) return
    if (request.value?.id === req.id) return
    request.value = req
    state.value = 'pin'
    error.value = null
    declinedNotice.value = ''
  }

  async function submitPin(pin: string): Promise<void> {
    const req = request.value
    if (!req) return
    state.value = 'sending'
    try {
      await confirm(req.id, pin)
      handled.add(req.id)
      error.value = null
      state.value = 'waiting'
      follow(req.id)
    } catch (err) {
      const e = toApiError(err, '确认失败，请重试')
      error.value = e
      if (e.code === 'PIN_LOCKED') state.value = 'locked'
      else if (CLOSING_CODES.includes(e.code)) {
        handled.add(req.id)
        state.value = 'closed-error'
      } else state.value = 'pin'
    }
  }

  async function refuse(): Promise<void> {
    const req = request.value
    if (!req) return
    state.value = 'sending'
    try {
      await decline(req.id)
    } catch {
      // already lapsed or handled: either way nothing will be charged without the PIN
    }
    handled.add(req.id)
    request.value = null
    declinedNotice.value = `已拒绝 ${req.institution} 的本次支付`
  }

  function close(): void {
    if (request.value) handled.add(request.value.id)
    request.value = null
  }

  /** After the PIN: the settlement finishes when the terminal asks again; follow the record. */
  function follow(id: string): void {
    stopFollowing()
    const tick = async () => {
      poll = null
      try {
        const r = await record(id)
        if (r.status === 'settled') {
          finish('success', { ...r, balc: undefined })
          return
        }
        if (FAILED_STATUSES.includes(r.status)) {
          error.value = new ApiError({ kind: 'business', code: 'PAYMENT_FAILED', message: r.err_msg || '本次支付未完成' })
          state.value = 'closed-error'
          return
        }
      } catch {
        // keep following
      }
      if (request.value?.id === id) poll = setTimeout(tick, pollMs)
    }
    poll = setTimeout(tick, pollMs)
  }

  function stopFollowing(): void {
    if (poll) clearTimeout(poll)
    poll = null
  }

  function finish(kind: ResultKind, notice: PaymentNotice): void {
    handled.add(notice.id)
    if (request.value?.id === notice.id || kind === 'success') {
      request.value = null
      stopFollowing()
    }
    // A push carries the balance; keep it when the polled record (without one) arrives second.
    if (result.value && result.value.notice.id === notice.id && result.value.kind === kind) return
    result.value = { kind, notice }
  }

  function closeResult(): void {
    result.value = null
  }

  return { request, state, error, declinedNotice, result, open, submitPin, refuse, close, finish, closeResult, stopFollowing }
}
