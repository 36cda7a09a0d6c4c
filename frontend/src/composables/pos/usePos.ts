/**
 * The POS page's state, composed once by the page (`providePos`) and read by
 * its panels (`usePos`): the terminal session, the person, the bill, the
 * pre-settlement, the settle loop and the reversal, all over one PosContext.
 */
import { inject, onUnmounted, provide, reactive, type InjectionKey } from 'vue'
import { createPosContext } from './context'
import { useBill } from './useBill'
import { usePersonDecode } from './usePersonDecode'
import { usePreSettle } from './usePreSettle'
import { useReversal } from './useReversal'
import { useSettleLoop } from './useSettleLoop'
import { useTerminalSession } from './useTerminalSession'

function createPos() {
  const ctx = createPosContext()
  const loop = useSettleLoop(ctx)
  const preSettle = usePreSettle(ctx)
  const bill = useBill({ locked: loop.locked, changed: preSettle.drop })
  const reversal = useReversal(ctx, loop.receipt)

  /** A new bill for the same person (after a decode) or for nobody. */
  function resetBill(): void {
    loop.reset()
    bill.clear()
    preSettle.clear()
    reversal.reset()
    ctx.txError.value = null
  }

  const person = usePersonDecode(ctx, { decoded: resetBill })
  const terminal = useTerminalSession(ctx, {
    signedIn: () => void bill.loadCatalogue(),
    signingOut: loop.stop,
  })

  function newTransaction(): void {
    resetBill()
    person.clear()
  }

  function signOut(): void {
    terminal.signOut()
    newTransaction()
  }

  function inputOf(): Record<string, unknown> | null {
    const p = person.person.value
    return p ? bill.input(p.ecToken, person.insutype.value) : null
  }

  return reactive({
    ...ctx,
    terminal,
    person,
    bill,
    preSettle,
    loop,
    reversal,
    newTransaction,
    signOut,
    preSettleBill: () => preSettle.run(inputOf()),
    settleBill: () => loop.start(inputOf()),
    stop: () => {
      loop.stop()
      person.stopScanner()
    },
  })
}

export type Pos = ReturnType<typeof createPos>

const POS: InjectionKey<Pos> = Symbol('pos')

/** The page: create the state, share it with the panels, stop everything on unmount. */
export function providePos(): Pos {
  const pos = createPos()
  provide(POS, pos)
  onUnmounted(() => pos.stop())
  return pos
}

/** A panel: the page's state. */
export function usePos(): Pos {
  const pos = inject(POS)
  if (!pos) throw new Error('usePos() outside the POS page')
  return pos
}
