import { afterEach, beforeEach, vi } from 'vitest'

/** A uni SocketTask the test drives by hand: fire its handlers, read what was sent. */
export class FakeTask {
  handlers: Record<string, (arg?: any) => void> = {}
  sent: string[] = []
  closed = false
  onOpen(fn: () => void) { this.handlers.open = fn }
  onMessage(fn: (e: any) => void) { this.handlers.message = fn }
  onError(fn: () => void) { this.handlers.error = fn }
  onClose(fn: () => void) { this.handlers.close = fn }
  send({ data }: { data: string }) { this.sent.push(data) }
  close() { this.closed = true }
}

/**
 * For each test: fake timers and a `uni.connectSocket` that hands out
 * FakeTasks. The returned object's lists are refilled before every test:
 * `tasks` in the order they were opened, `options` as they were asked for.
 */
export function useFakeSockets(): { tasks: FakeTask[]; options: any[] } {
  const state = { tasks: [] as FakeTask[], options: [] as any[] }
  beforeEach(() => {
    vi.useFakeTimers()
    state.tasks.length = 0
    state.options.length = 0
    vi.stubGlobal('uni', {
      connectSocket(options: any) {
        state.options.push(options)
        const task = new FakeTask()
        state.tasks.push(task)
        return task
      },
    })
  })
  afterEach(() => {
    vi.useRealTimers()
    vi.unstubAllGlobals()
  })
  return state
}
