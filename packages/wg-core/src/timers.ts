/**
 * Per-peer protocol timers as timestamps (whitepaper §6.2 – §6.5; wireguard-go device/timers.go).
 *
 * Each timer is the `now` (ms) at which it fires, or Infinity when not armed. Initial state: all
 * disarmed, no handshake attempts. Protocol events arm and disarm timers through hooks named by the
 * event (`onDataSent`, `onHandshakeComplete`, …) with exactly wireguard-go's rules; {@link dueTimers}
 * is the one pure function that says which timers have fired at `now`; the device then calls
 * {@link PeerTimers.fire} for each and performs the action. Nothing here reads a clock or draws
 * randomness: jitter (0..333 ms) is passed in by the device. A device keeps its peers in a
 * {@link TimerQueue} by earliest deadline, which each PeerTimers tells when a deadline changes, so
 * finding what is due does not walk every peer.
 *
 *  - retransmit handshake: REKEY_TIMEOUT + jitter after an initiation; give up after
 *    MAX_TIMER_HANDSHAKES retries (≈ REKEY_ATTEMPT_TIME), then zero keys after 3 × REJECT_AFTER_TIME
 *  - send keepalive (passive): KEEPALIVE_TIMEOUT after data was received and nothing was sent since
 *  - new handshake: KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter after data was sent and nothing
 *    authenticated was received since
 *  - zero key material: 3 × REJECT_AFTER_TIME after the last session was derived
 *  - persistent keepalive: the configured interval after any authenticated packet in either direction
 */
import { KEEPALIVE_TIMEOUT, MAX_TIMER_HANDSHAKES, REJECT_AFTER_TIME, REKEY_TIMEOUT } from "./constants.js";

export const TIMER_RETRANSMIT_HANDSHAKE = 1;
export const TIMER_SEND_KEEPALIVE = 2;
export const TIMER_NEW_HANDSHAKE = 4;
export const TIMER_ZERO_KEY_MATERIAL = 8;
export const TIMER_PERSISTENT_KEEPALIVE = 16;
/** One of the TIMER_* bits. */
export type TimerBit = 1 | 2 | 4 | 8 | 16;
export const TIMER_BITS: readonly TimerBit[] = [1, 2, 4, 8, 16];

export class PeerTimers {
  /** The deadlines below, in TIMER_BITS order (ms; Infinity: not armed). */
  readonly #at = new Float64Array(5).fill(Infinity);
  /** Told when a deadline changes: the device's {@link TimerQueue} entry (null when not in one). */
  #watcher: TimerWatcher | null = null;
  /** Retransmissions of the current handshake attempt. */
  handshakeAttempts = 0;
  /** Data arrived while a passive keepalive was already pending: send another one after it. */
  needAnotherKeepalive = false;
  /** A "last minute" rekey on receive was already triggered for the current session. */
  sentLastMinuteHandshake = false;
  /** `now` of the last initiation sent (initiations are at most one per REKEY_TIMEOUT). */
  lastSentHandshakeAt = Number.NEGATIVE_INFINITY;
  /** Persistent keepalive interval in ms, 0 = off. */
  persistentKeepaliveInterval = 0;

  // The five deadlines: plain numbers to read and write; a write that changes one tells the
  // watcher, so a device's TimerQueue never misses a change, whoever makes it.
  get retransmitHandshakeAt(): number {
    return this.#at[0]!;
  }
  set retransmitHandshakeAt(at: number) {
    this.#set(0, at);
  }
  get sendKeepaliveAt(): number {
    return this.#at[1]!;
  }
  set sendKeepaliveAt(at: number) {
    this.#set(1, at);
  }
  get newHandshakeAt(): number {
    return this.#at[2]!;
  }
  set newHandshakeAt(at: number) {
    this.#set(2, at);
  }
  get zeroKeyMaterialAt(): number {
    return this.#at[3]!;
  }
  set zeroKeyMaterialAt(at: number) {
    this.#set(3, at);
  }
  get persistentKeepaliveAt(): number {
    return this.#at[4]!;
  }
  set persistentKeepaliveAt(at: number) {
    this.#set(4, at);
  }

  #set(i: number, at: number): void {
    if (at === this.#at[i]) return;
    this.#at[i] = at;
    this.#watcher?.timersChanged();
  }

  /** @internal set by {@link TimerQueue.add} and {@link TimerQueue.remove} */
  watch(watcher: TimerWatcher | null): void {
    this.#watcher = watcher;
  }

  /** Data (non-keepalive) was sent: expect an answer, else rekey (timersDataSent). */
  onDataSent(now: number, jitter: number): void {
    if (this.newHandshakeAt === Infinity) this.newHandshakeAt = now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter;
  }

  /** Data (non-keepalive) was received: answer with a keepalive unless we send first (timersDataReceived). */
  onDataReceived(now: number): void {
    if (this.sendKeepaliveAt === Infinity) this.sendKeepaliveAt = now + KEEPALIVE_TIMEOUT;
    else this.needAnotherKeepalive = true;
  }

  /** Any authenticated packet (data, keepalive, handshake) was sent (timersAnyAuthenticatedPacketSent). */
  onAnyAuthenticatedPacketSent(): void {
    this.sendKeepaliveAt = Infinity;
  }

  /** Any authenticated packet was received (timersAnyAuthenticatedPacketReceived). */
  onAnyAuthenticatedPacketReceived(): void {
    this.newHandshakeAt = Infinity;
  }

  /** Any authenticated packet went either way (timersAnyAuthenticatedPacketTraversal). */
  onAnyAuthenticatedPacketTraversal(now: number): void {
    if (this.persistentKeepaliveInterval > 0) this.persistentKeepaliveAt = now + this.persistentKeepaliveInterval;
  }

  /** An initiation was sent (timersHandshakeInitiated). */
  onHandshakeInitiated(now: number, jitter: number): void {
    this.lastSentHandshakeAt = now;
    this.retransmitHandshakeAt = now + REKEY_TIMEOUT + jitter;
  }

  /** A handshake completed: a session was confirmed (timersHandshakeComplete). */
  onHandshakeComplete(): void {
    this.retransmitHandshakeAt = Infinity;
    this.handshakeAttempts = 0;
    this.sentLastMinuteHandshake = false;
  }

  /** New transport keys were derived (timersSessionDerived). */
  onSessionDerived(now: number): void {
    this.zeroKeyMaterialAt = now + 3 * REJECT_AFTER_TIME;
  }

  /** Disarms everything (peer removed or device key cleared). */
  stop(): void {
    this.retransmitHandshakeAt = Infinity;
    this.sendKeepaliveAt = Infinity;
    this.newHandshakeAt = Infinity;
    this.zeroKeyMaterialAt = Infinity;
    this.persistentKeepaliveAt = Infinity;
    this.handshakeAttempts = 0;
    this.needAnotherKeepalive = false;
  }

  /**
   * Disarms a fired timer and applies its own bookkeeping. Returns what the device must do:
   *  - retransmit: "retry" (send a new initiation) or "give-up" (flush staged packets)
   *  - send keepalive: "keepalive" (and re-arms itself if another one is needed)
   *  - new handshake: "initiate"; zero key material: "zero"; persistent keepalive: "keepalive"
   */
  fire(bit: TimerBit, now: number): "retry" | "give-up" | "keepalive" | "initiate" | "zero" {
    switch (bit) {
      case TIMER_RETRANSMIT_HANDSHAKE:
        this.retransmitHandshakeAt = Infinity;
        if (this.handshakeAttempts > MAX_TIMER_HANDSHAKES) {
          // Give up (RekeyAttemptTime reached): stop keepalives, erase keys later.
          this.sendKeepaliveAt = Infinity;
          if (this.zeroKeyMaterialAt === Infinity) this.zeroKeyMaterialAt = now + 3 * REJECT_AFTER_TIME;
          return "give-up";
        }
        this.handshakeAttempts++;
        return "retry";
      case TIMER_SEND_KEEPALIVE:
        this.sendKeepaliveAt = Infinity;
        if (this.needAnotherKeepalive) {
          this.needAnotherKeepalive = false;
          this.sendKeepaliveAt = now + KEEPALIVE_TIMEOUT;
        }
        return "keepalive";
      case TIMER_NEW_HANDSHAKE:
        this.newHandshakeAt = Infinity;
        return "initiate";
      case TIMER_ZERO_KEY_MATERIAL:
        this.zeroKeyMaterialAt = Infinity;
        return "zero";
      case TIMER_PERSISTENT_KEEPALIVE:
        this.persistentKeepaliveAt = Infinity;
        return "keepalive";
    }
  }
}

/** The one pure timer evaluation: a bitmask of the TIMER_* timers due at `now`. */
export function dueTimers(t: Readonly<PeerTimers>, now: number): number {
  let due = 0;
  if (t.retransmitHandshakeAt <= now) due |= TIMER_RETRANSMIT_HANDSHAKE;
  if (t.sendKeepaliveAt <= now) due |= TIMER_SEND_KEEPALIVE;
  if (t.newHandshakeAt <= now) due |= TIMER_NEW_HANDSHAKE;
  if (t.zeroKeyMaterialAt <= now) due |= TIMER_ZERO_KEY_MATERIAL;
  if (t.persistentKeepaliveAt <= now && t.persistentKeepaliveInterval > 0) due |= TIMER_PERSISTENT_KEEPALIVE;
  return due;
}

/** The earliest armed timer (Infinity when none): when the caller should next call `tick`. */
export function nextDeadline(t: Readonly<PeerTimers>): number {
  return Math.min(t.retransmitHandshakeAt, t.sendKeepaliveAt, t.newHandshakeAt, t.zeroKeyMaterialAt, t.persistentKeepaliveAt);
}

/** What a {@link PeerTimers} tells when one of its deadlines changed. */
interface TimerWatcher {
  timersChanged(): void;
}

/** A peer's place in a {@link TimerQueue}. */
class QueueEntry<P> implements TimerWatcher {
  /** nextDeadline(timers) when the entry was last placed in the heap (Infinity: not in it). */
  key = Infinity;
  /** Index in the heap, −1 when not in it. */
  pos = -1;
  /** In the queue's list of changed entries. */
  changed = false;
  /** False once removed from the queue. */
  live = true;

  constructor(
    readonly owner: P,
    readonly timers: PeerTimers,
    /** Rank among the queue's entries by when they were added. */
    readonly order: number,
    readonly queue: { readonly changed: QueueEntry<P>[]; firstChange(): void },
  ) {}

  timersChanged(): void {
    if (this.changed) return;
    this.changed = true;
    const list = this.queue.changed;
    list.push(this);
    if (list.length === 1) this.queue.firstChange();
  }
}

/**
 * A device's peers ordered by their earliest armed timer ({@link nextDeadline}): a binary min-heap
 * of peers with a finite deadline, each peer's place updated when its {@link PeerTimers} deadlines
 * changed (they tell their entry; the heap is brought up to date lazily, at the next {@link next}
 * or {@link due}). So asking for the next deadline or the peers due costs what the peers whose
 * timers changed or are due cost, not what all the device's peers cost.
 *
 * Initial state: empty. Guarantees: {@link next} is the minimum of nextDeadline over the owners
 * added and not removed (Infinity when none); {@link due} gives exactly those whose nextDeadline is
 * at or before `now`, in the order they were added (a device's peer order); {@link onChange} is
 * called at the first deadline change after each {@link next} or {@link due} (and after the first
 * {@link add}), so a caller that sleeps until `next()` learns when that may have moved.
 */
export class TimerQueue<P> {
  readonly #heap: QueueEntry<P>[] = [];
  readonly #changed: QueueEntry<P>[] = [];
  /** Called synchronously, inside whatever changed a deadline; must not call back into the queue. */
  onChange: (() => void) | null = null;
  readonly #sink = { changed: this.#changed, firstChange: () => this.onChange?.() };
  readonly #found: QueueEntry<P>[] = [];
  readonly #entries = new Map<PeerTimers, QueueEntry<P>>();
  #order = 0;

  /** Adds `owner` with its timers (which then tell this queue when their deadlines change). */
  add(timers: PeerTimers, owner: P): void {
    if (this.#entries.has(timers)) return;
    const e = new QueueEntry(owner, timers, this.#order++, this.#sink);
    this.#entries.set(timers, e);
    timers.watch(e);
    e.timersChanged();
  }

  /** Removes the owner of `timers`: it is no longer due, whatever its timers say. */
  remove(timers: PeerTimers): void {
    const e = this.#entries.get(timers);
    if (e === undefined) return;
    this.#entries.delete(timers);
    timers.watch(null);
    e.live = false;
    if (e.pos >= 0) this.#removeAt(e.pos);
  }

  /** The earliest deadline of any owner's timers (Infinity when none is armed). */
  next(): number {
    this.#update();
    return this.#heap[0]?.key ?? Infinity;
  }

  /** Appends to `out` every owner with a timer due at `now`, in the order they were added. */
  due(now: number, out: P[]): void {
    this.#update();
    const heap = this.#heap;
    const found = this.#found;
    // The entries with key ≤ now form a subtree at the root of the heap: visit only it.
    if (heap.length === 0 || !(heap[0]!.key <= now)) return;
    found.push(heap[0]!);
    for (let i = 0; i < found.length; i++) {
      const l = 2 * found[i]!.pos + 1;
      if (l < heap.length && heap[l]!.key <= now) found.push(heap[l]!);
      if (l + 1 < heap.length && heap[l + 1]!.key <= now) found.push(heap[l + 1]!);
    }
    if (found.length > 1) found.sort(byOrder);
    for (const e of found) out.push(e.owner);
    found.length = 0;
  }

  /** Moves every changed entry to its place for its timers' current earliest deadline. */
  #update(): void {
    const changed = this.#changed;
    for (let i = 0; i < changed.length; i++) {
      const e = changed[i]!;
      e.changed = false;
      if (!e.live) continue;
      const key = nextDeadline(e.timers);
      if (key === Infinity) {
        if (e.pos >= 0) this.#removeAt(e.pos);
        continue;
      }
      const old = e.key;
      e.key = key;
      if (e.pos < 0) {
        e.pos = this.#heap.length;
        this.#heap.push(e);
        this.#up(e.pos);
      } else if (key < old) this.#up(e.pos);
      else if (key > old) this.#down(e.pos);
    }
    changed.length = 0;
  }

  #removeAt(pos: number): void {
    const heap = this.#heap;
    const e = heap[pos]!;
    e.pos = -1;
    e.key = Infinity;
    const last = heap.pop()!;
    if (pos === heap.length) return;
    heap[pos] = last;
    last.pos = pos;
    this.#up(pos);
    this.#down(last.pos);
  }

  #up(pos: number): void {
    const heap = this.#heap;
    const e = heap[pos]!;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      const p = heap[parent]!;
      if (!(e.key < p.key)) break;
      heap[pos] = p;
      p.pos = pos;
      pos = parent;
    }
    heap[pos] = e;
    e.pos = pos;
  }

  #down(pos: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const e = heap[pos]!;
    for (;;) {
      const l = 2 * pos + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && heap[r]!.key < heap[l]!.key ? r : l;
      const child = heap[c]!;
      if (!(child.key < e.key)) break;
      heap[pos] = child;
      child.pos = pos;
      pos = c;
    }
    heap[pos] = e;
    e.pos = pos;
  }
}

function byOrder(a: QueueEntry<unknown>, b: QueueEntry<unknown>): number {
  return a.order - b.order;
}
