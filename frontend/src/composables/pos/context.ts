/**
 * What the POS page's composables share: the signed-in terminal, which call
 * is in flight, and the last transaction error shown under the bill or the
 * receipt.
 */
import { ref, type Ref } from 'vue'
import { isApiError } from '@/http/errors'
import type { TerminalCredentials } from '@/utils/terminal'

export interface TxError {
  infcode: number
  text: string
}

export interface PosContext {
  creds: Ref<TerminalCredentials | null>
  signNo: Ref<string>
  /** The call in flight ('' none): signin, demo, decode, presettle, reverse. */
  busy: Ref<string>
  txError: Ref<TxError | null>
}

export function createPosContext(): PosContext {
  return { creds: ref(null), signNo: ref(''), busy: ref(''), txError: ref(null) }
}

/** A failed request's text (the ApiError's Chinese message). */
export function errText(err: unknown): string {
  return isApiError(err) ? err.message : '请求失败，请重试'
}
