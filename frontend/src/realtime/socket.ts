/**
 * The one app-level WebSocket manager.
 *
 * - asks uni.connectSocket for an explicit SocketTask (passing `complete` is
 *   what makes uni return one) and, on Alipay, `multiple: true` (from
 *   platform/), so this socket is not Alipay's single global one;
 * - messages are JSON with a `type`; listeners subscribe per type;
 * - heartbeat: a {"type": "ping"} every HEARTBEAT_MS; if nothing at all was
 *   received for 2 intervals the socket is treated as dead and reopened;
 * - reconnect with exponential backoff + jitter (1 s → 30 s), reset on open;
 * - pause() on app hide closes it without reconnecting; resume() on show
 *   reopens it (the server re-sends the current code on connect).
 * - the target may be a function, called before EVERY connect (first open,
 *   each reconnect, each resume): single-use credentials such as a
 *   `?ticket=` from POST /api/ws-ticket must be fetched afresh each time —
 *   re-using the first URL would be refused after the first drop. If the
 *   function rejects (offline, signed out) that attempt counts as a failed
 *   connect and is retried with backoff.
 * - a close by the server with an application close code (4000–4999, e.g.
 *   4401 login ended, 4403 channel authorization revoked) is dispatched to
 *   `close` listeners as {type: 'close', code, reason} before the reconnect
 *   is scheduled, so a channel can stop for good instead of looping.
 */
import { socketConnectOptions, wsBaseUrl } from '@/platform'

export interface SocketMessage {
  type: string
  [key: string]: unknown
}

type Listener = (message: SocketMessage) => void

/** Where to connect: a path (with query) under wsBaseUrl(), and optional subprotocols. */
export interface SocketTarget {
  path: string
  protocols?: string[]
}

/** A fixed path, or a function resolving a fresh target before every connect. */
export type SocketTargetSource = string | (() => Promise<string | SocketTarget>)
export type SocketState = 'idle' | 'connecting' | 'open' | 'waiting' | 'paused'

export const HEARTBEAT_MS = 25_000
const BACKOFF_MIN_MS = 1_000
const BACKOFF_MAX_MS = 30_000

export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt)
  return Math.round(base / 2 + random() * (base / 2))
}

export class SocketManager {
  state: SocketState = 'idle'
  private task: UniApp.SocketTask | null = null
  private path: SocketTargetSource | null = null
  /** Bumped by every connect/teardown, so a late target resolution is dropped. */
  private generation = 0
  private attempt = 0
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null
  private lastMessageAt = 0
  private listeners = new Map<string, Set<Listener>>()
  private stateListeners = new Set<(state: SocketState) => void>()

  /**
   * Open (or re-target) the socket. `path` is e.g. '/ws/code/', or a function
   * resolving a fresh target (e.g. with a new single-use ticket) per connect.
   */
  open(path: SocketTargetSource): void {
    this.path = path
    this.attempt = 0
    this.teardown()
    this.connect()
  }

  /** Close for good (sign-out, leaving the code page). */
  close(): void {
    this.path = null
    this.teardown()
    this.setState('idle')
  }

  pause(): void {
    if (!this.path) return
    this.teardown()
    this.setState('paused')
  }

  resume(): void {
    if (!this.path || this.state === 'open' || this.state === 'connecting') return
    this.attempt = 0
    this.teardown()
    this.connect()
  }

  send(message: SocketMessage): boolean {
    if (!this.task || this.state !== 'open') return false
    this.task.send({ data: JSON.stringify(message) })
    return true
  }

  on(type: string, listener: Listener): () => void {
    const set = this.listeners.get(type) ?? new Set<Listener>()
    set.add(listener)
    this.listeners.set(type, set)
    return () => set.delete(listener)
  }

  onState(listener: (state: SocketState) => void): () => void {
    this.stateListeners.add(listener)
    return () => this.stateListeners.delete(listener)
  }

  private setState(state: SocketState): void {
    this.state = state
    this.stateListeners.forEach((listener) => listener(state))
  }

  private connect(): void {
    const source = this.path
    if (!source) return
    this.setState('connecting')
    const generation = ++this.generation
    if (typeof source === 'string') {
      this.connectTo({ path: source })
      return
    }
    source().then(
      (target) => {
        if (generation !== this.generation || this.path !== source) return
        this.connectTo(typeof target === 'string' ? { path: target } : target)
      },
      () => {
        if (generation !== this.generation || this.path !== source) return
        this.scheduleReconnect()
      },
    )
  }

  private connectTo(target: SocketTarget): void {
    // Passing `complete` makes uni return the SocketTask instead of a Promise.
    type Options = UniApp.ConnectSocketOption & { complete: () => void }
    const options: Options = { url: `${wsBaseUrl()}${target.path}`, ...socketConnectOptions(), complete: () => undefined }
    if (target.protocols?.length) options.protocols = target.protocols
    let task: UniApp.SocketTask
    try {
      task = uni.connectSocket<Options>(options)
    } catch {
      this.scheduleReconnect()
      return
    }
    this.task = task
    task.onOpen(() => {
      if (this.task !== task) return
      this.attempt = 0
      this.lastMessageAt = Date.now()
      this.setState('open')
      this.startHeartbeat()
    })
    task.onMessage((event: UniApp.OnSocketMessageCallbackResult) => {
      if (this.task !== task) return
      this.lastMessageAt = Date.now()
      this.dispatch(event.data)
    })
    task.onError(() => {
      if (this.task === task) this.scheduleReconnect()
    })
    task.onClose((event?: { code?: number; reason?: string }) => {
      if (this.task !== task) return
      const code = Number(event?.code) || 0
      if (code >= 4000 && code <= 4999) this.emit({ type: 'close', code, reason: String(event?.reason ?? '') })
      if (this.task === task) this.scheduleReconnect()
    })
  }

  private dispatch(raw: unknown): void {
    if (typeof raw !== 'string') return
    let message: SocketMessage
    try {
      message = JSON.parse(raw)
    } catch {
      return
    }
    if (!message || typeof message.type !== 'string' || message.type === 'pong' || message.type === 'close') return
    this.emit(message)
  }

  private emit(message: SocketMessage): void {
    this.listeners.get(message.type)?.forEach((listener) => listener(message))
    this.listeners.get('*')?.forEach((listener) => listener(message))
  }

  private startHeartbeat(): void {
    this.stopHeartbeat()
    this.heartbeatTimer = setInterval(() => {
      if (Date.now() - this.lastMessageAt > 2 * HEARTBEAT_MS) {
        this.teardown()
        this.scheduleReconnect()
        return
      }
      this.send({ type: 'ping' })
    }, HEARTBEAT_MS)
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer)
    this.heartbeatTimer = null
  }

  private scheduleReconnect(): void {
    this.stopHeartbeat()
    this.task = null
    if (!this.path || this.state === 'paused' || this.reconnectTimer) return
    this.setState('waiting')
    const delay = backoffDelay(this.attempt++)
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      this.connect()
    }, delay)
  }

  /** Drop the current task and timers without scheduling anything. */
  private teardown(): void {
    this.generation += 1
    this.stopHeartbeat()
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
    const task = this.task
    this.task = null
    if (task) {
      try {
        task.close({})
      } catch {
        // already closed
      }
    }
  }
}

/** The app's single socket. */
export const appSocket = new SocketManager()
