import { describe, expect, it, vi } from 'vitest'

const platform = vi.hoisted(() => ({ options: {} as Record<string, unknown> }))
vi.mock('@/platform', () => ({
  wsBaseUrl: () => 'wss://api.test',
  socketConnectOptions: () => platform.options,
}))

import { HEARTBEAT_MS, SocketManager, backoffDelay } from '@/realtime/socket'
import { useFakeSockets } from './support/fake-socket'

const sockets = useFakeSockets()
const tasks = sockets.tasks
const connectOptions = sockets.options

describe('SocketManager', () => {
  it('asks for an explicit task, with the platform options (multiple on Alipay)', () => {
    platform.options = { multiple: true }
    new SocketManager().open('/ws/code/')
    expect(connectOptions[0]).toMatchObject({ url: 'wss://api.test/ws/code/', multiple: true })
    expect(typeof connectOptions[0].complete).toBe('function')
    platform.options = {}
  })

  it('dispatches JSON messages by type', () => {
    const socket = new SocketManager()
    const got: unknown[] = []
    socket.on('code', (m) => got.push(m))
    socket.open('/ws/code/')
    tasks[0].handlers.open()
    tasks[0].handlers.message({ data: JSON.stringify({ type: 'code', value: 'abc' }) })
    tasks[0].handlers.message({ data: 'not json' })
    expect(got).toEqual([{ type: 'code', value: 'abc' }])
  })

  it('reconnects with backoff after a close, and not after pause', () => {
    const socket = new SocketManager()
    socket.open('/ws/code/')
    tasks[0].handlers.open()
    tasks[0].handlers.close()
    expect(socket.state).toBe('waiting')
    vi.advanceTimersByTime(1000)
    expect(tasks).toHaveLength(2)
    socket.pause()
    expect(tasks[1].closed).toBe(true)
    vi.advanceTimersByTime(60_000)
    expect(tasks).toHaveLength(2)
    socket.resume()
    expect(tasks).toHaveLength(3)
  })

  it('sends heartbeats and reopens a silent socket', () => {
    const socket = new SocketManager()
    socket.open('/ws/code/')
    tasks[0].handlers.open()
    vi.advanceTimersByTime(HEARTBEAT_MS)
    expect(tasks[0].sent).toEqual([JSON.stringify({ type: 'ping' })])
    vi.advanceTimersByTime(2 * HEARTBEAT_MS)
    expect(tasks[0].closed).toBe(true)
    vi.advanceTimersByTime(1000)
    expect(tasks.length).toBe(2)
  })

  it('backoff grows and caps at 30 s', () => {
    expect(backoffDelay(0, () => 1)).toBe(1000)
    expect(backoffDelay(3, () => 1)).toBe(8000)
    expect(backoffDelay(20, () => 1)).toBe(30000)
    expect(backoffDelay(20, () => 0)).toBe(15000)
  })
})
