/**
 * Connections waiting for their header. Per connection: one record stored on the socket and four
 * listeners shared by every connection (they find the record through `this`), no closures and no timer
 * of its own: all records of a server share one headerTimeout, so arrival order is deadline order, and a
 * doubly linked list in arrival order with one timer for its head enforces every deadline.
 */
import type { Socket } from 'node:net'
import type { Peer } from './info.js'

export const kPending = Symbol('proxyproto.pending')

// Deadlines on the monotonic clock: a wall-clock step (NTP) must not stretch or cut headerTimeout.
export class Pending<O = unknown> {
  buffered: Buffer | undefined = undefined
  lastError: unknown = undefined
  prev: Pending<O> | undefined = undefined
  next: Pending<O> | undefined = undefined
  readonly deadline: number
  constructor(
    readonly queue: PendingQueue<O>,
    readonly socket: Socket,
    readonly peer: Peer,
  ) {
    this.deadline = performance.now() + queue.timeout
  }
}

export type PendingSocket<O = unknown> = Socket & { [kPending]?: Pending<O> | undefined }

export class PendingQueue<O = unknown> {
  head: Pending<O> | undefined = undefined
  tail: Pending<O> | undefined = undefined
  size = 0
  #timer: ReturnType<typeof setTimeout> | undefined = undefined

  /**
   * `owner` is what the records' listeners need (the server's state); `expire` is called for each
   * record whose deadline has passed and must remove it.
   */
  constructor(
    readonly owner: O,
    readonly timeout: number,
    private readonly expire: (p: Pending<O>) => void,
  ) {}

  push(p: Pending<O>): void {
    if (this.tail) {
      this.tail.next = p
      p.prev = this.tail
    } else this.head = p
    this.tail = p
    this.size++
    if (this.#timer === undefined) this.#schedule()
  }

  remove(p: Pending<O>): void {
    if (p.prev) p.prev.next = p.next
    else this.head = p.next
    if (p.next) p.next.prev = p.prev
    else this.tail = p.prev
    p.prev = p.next = undefined
    this.size--
    // The timer is left to fire even when the queue empties: on a busy server connections come and go
    // one after another, and re-arming it for each would cost a setTimeout/clearTimeout per connection.
  }

  #schedule(): void {
    const head = this.head!
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, head.deadline - performance.now()))
    this.#timer.unref() // the sockets keep the process alive, not the deadline
  }

  #fire(): void {
    this.#timer = undefined
    try {
      const now = performance.now()
      while (this.head !== undefined && this.head.deadline <= now) {
        const head = this.head
        this.expire(head)
        if (this.head === head) this.remove(head) // expire must remove it; never spin on one that stays
      }
    } finally {
      // Re-armed even if expire threw (a throwing proxyProtocolError listener): later deadlines still hold.
      if (this.head !== undefined && this.#timer === undefined) this.#schedule()
    }
  }
}
