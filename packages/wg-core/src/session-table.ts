/**
 * The session table: every transport keypair's state (whitepaper §5.4.5, §5.4.6) in shared memory,
 * so that every thread seals and opens with the SAME keys, send counters and receive replay windows —
 * never with copies (docs/architecture.md, "Shared session table").
 *
 * Two growable SharedArrayBuffers, handed to other threads as {@link SessionTableHandles}
 * (structured-clone-able) and attached there with {@link SessionTable.attach}:
 *
 *  - `slots`: one fixed-size record per keypair ({@link SLOT_BYTES}; layout {@link SlotLayout}). A record never
 *    moves: the buffer grows in place (`SharedArrayBuffer.prototype.grow`), each thread re-creating its
 *    fixed-length views when it meets a slot past them. The replay window is the record's own region,
 *    checked by every thread under the record's window lock: one window for the life of the keypair.
 *  - `index`: local index → slot, an open-addressing hash table (linear probing) that readers probe
 *    without locks; the owner rebuilds it into another region of the buffer when it fills up and
 *    switches readers over with one atomic word (see {@link SessionTable.lookup}).
 *
 * Initial state: no slots, an empty index. Guarantees:
 *  - a slot's generation word is even while the slot is free or erased and odd while it holds a live
 *    keypair; every install and every erasure moves it on, so (slot, generation) names one keypair
 *    for ever. Fields are written while the slot is not live and published by the generation store
 *    (Atomics, sequentially consistent): a reader that loads a live generation, uses the fields and
 *    loads the same generation again used one keypair's key, counter and window — never a mix
 *    (transport.ts checks this around every seal and every window update);
 *  - send counters are reserved with Atomics.add on the slot's BigInt64 cell: no two reservations,
 *    from any threads, overlap;
 *  - a counter is accepted by the slot's window at most once whichever thread checks it (the RFC 6479
 *    rule of replay.ts under the slot's lock, after a generation check inside the lock);
 *  - {@link SessionTable.erase} zeroes the key bytes in the shared buffer itself;
 *  - no limit on slots short of `maxSlots` (default {@link DEFAULT_MAX_SLOTS}: address space is
 *    reserved, memory is used as slots are).
 *
 * Writers: only the owner (the thread that called {@link SessionTable.create}: the Device's) installs,
 * erases and expires slots and writes the index. Any thread may read, reserve send counters and
 * check counters against windows.
 */
import { inspect } from "node:util";
import { COUNTER_LIMIT, MAX_PEERS, REJECT_AFTER_TIME } from "./constants.js";
import { REPLAY_STATE_WORDS, validateReplayCounter } from "./replay.js";

/** Int32 word offsets inside a slot record. Hot words written by different threads sit on their own 64-byte lines. */
export const SlotLayout = {
  /** Even: free or erased; odd: live. Written by the owner with Atomics.store only. */
  generation: 0,
  /** Our index (uint32 bits): the peer's packets carry it as their receiver. */
  localIndex: 1,
  /** The peer's index (uint32 bits): the receiver field of the packets we seal. */
  remoteIndex: 2,
  /** Bit 0: we were the handshake's initiator. */
  flags: 3,
  /** The owner's id of the peer the keypair belongs to (allowed-IPs source check, per-peer events). */
  peer: 4,
  /** Float64 (words 6–7): epoch ms the handshake completed (REJECT_AFTER_TIME is counted from it). */
  createdAt: 6,
  /** 32-byte sending key (words 8–15). */
  sendKey: 8,
  /** 32-byte receiving key (words 16–23). */
  receiveKey: 16,
  /** BigInt64 (words 32–33): the next send counter; Atomics.add reserves. */
  counter: 32,
  /** 0 unlocked, 1 locked: guards the replay window. */
  lock: 48,
  /** The replay window's state region (replay.ts layout, REPLAY_STATE_WORDS words). */
  window: 50,
} as const;
/** Int32 words per slot record (a multiple of 16: records start on 64-byte lines). */
export const SLOT_WORDS = Math.ceil((SlotLayout.window + REPLAY_STATE_WORDS) / 16) * 16;
export const SLOT_BYTES = SLOT_WORDS * 4;
/** Default address-space reservation: 4 keypair slots per peer the Device allows (MAX_PEERS). */
export const DEFAULT_MAX_SLOTS = 4 * MAX_PEERS;

/** REJECT_AFTER_TIME (whitepaper §6.1): a keypair created at `createdAt` may no longer be used at `now`. */
export function isExpired(createdAt: number, now: number): boolean {
  return !(now - createdAt < REJECT_AFTER_TIME);
}

/** Results of {@link SessionTable.acceptCounter}. */
export const COUNTER_ACCEPTED = 0;
export const COUNTER_REPLAYED = 1;
/** The slot no longer holds that keypair (erased, maybe reused): nothing was recorded. */
export const COUNTER_STALE = 2;

/** What another thread needs to attach to a table (structured-clone-able: postMessage, workerData). */
export interface SessionTableHandles {
  readonly slots: SharedArrayBuffer;
  readonly index: SharedArrayBuffer;
}

/** Keypair fields for {@link SessionTable.install}. */
export interface SlotInit {
  localIndex: number;
  remoteIndex: number;
  /** 32-byte sending key (copied; the caller wipes its own copy). */
  sendKey: Uint8Array;
  /** 32-byte receiving key (copied). */
  receiveKey: Uint8Array;
  isInitiator: boolean;
  createdAt: number;
  /** The owner's peer id (≥ 0). */
  peer: number;
}

// Index buffer: word 0 = the active hash table, (word offset | log2 capacity) with the offset a
// multiple of 32; entries are [localIndex, ref] with ref = slot + 1, 0 = empty, −1 = deleted.
const IX_ACTIVE = 0;
const IX_FIRST = 32;
const IX_MIN_LOG2 = 6;
const EMPTY = 0;
const DELETED = -1;
const LIMIT_BIG = BigInt(COUNTER_LIMIT);
const TWO_32 = 2 ** 32;

/** ES2024 growable SharedArrayBuffer (Node ≥ 20 has it; the ES2023 lib does not declare it). */
interface Growable {
  readonly maxByteLength: number;
  grow(newByteLength: number): void;
}
const GrowableSharedArrayBuffer = SharedArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => SharedArrayBuffer;
const growable = (b: SharedArrayBuffer): Growable => b as unknown as Growable;
const ONE = 1n;

export class SessionTable {
  readonly #slots: SharedArrayBuffer;
  readonly #index: SharedArrayBuffer;
  readonly #owner: boolean;
  // Fixed-length views of `slots` (fast in V8, unlike length-tracking ones), re-created on growth.
  #capacity = 0;
  #i32: Int32Array = new Int32Array(0);
  #u32: Uint32Array = new Uint32Array(0);
  #f64: Float64Array = new Float64Array(0);
  #b64: BigInt64Array = new BigInt64Array(0);
  #u8: Uint8Array = new Uint8Array(0);
  #ix: Int32Array = new Int32Array(0);
  /** Per-slot key views, created on first use (a thread's own objects; the bytes are the table's). */
  readonly #sendKeys: Uint8Array[] = [];
  readonly #receiveKeys: Uint8Array[] = [];
  // Owner-only bookkeeping.
  #high = 0;
  readonly #free: number[] = [];
  #freeHead = 0;
  #ixLive = 0;
  #ixUsed = 0;
  readonly #regions: { offset: number; log2: number }[] = [];

  private constructor(handles: SessionTableHandles, owner: boolean) {
    this.#slots = handles.slots;
    this.#index = handles.index;
    this.#owner = owner;
    this.#refreshSlots();
    this.#refreshIndex();
  }

  /**
   * A new, empty table owned by the calling thread.
   * @param options.maxSlots address space to reserve, in slots (default {@link DEFAULT_MAX_SLOTS})
   * @param options.initialSlots slots allocated at once (default 16)
   */
  static create(options: { maxSlots?: number; initialSlots?: number } = {}): SessionTable {
    const max = Math.max(1, options.maxSlots ?? DEFAULT_MAX_SLOTS);
    const initial = Math.min(max, Math.max(1, options.initialSlots ?? 16));
    const slots = new GrowableSharedArrayBuffer(initial * SLOT_BYTES, { maxByteLength: max * SLOT_BYTES });
    // The index: at most 2 regions of each capacity up to 2^k ≥ 4 × maxSlots (see #rebuild).
    const maxLog2 = Math.max(IX_MIN_LOG2, Math.ceil(Math.log2(4 * max)));
    const maxIndexBytes = (IX_FIRST + 2 * 2 * 2 * (1 << maxLog2)) * 4;
    const index = new GrowableSharedArrayBuffer((IX_FIRST + 2 * (1 << IX_MIN_LOG2)) * 4, { maxByteLength: maxIndexBytes });
    const table = new SessionTable({ slots, index }, true);
    table.#regions.push({ offset: IX_FIRST, log2: IX_MIN_LOG2 });
    Atomics.store(table.#ix, IX_ACTIVE, IX_FIRST | IX_MIN_LOG2);
    return table;
  }

  /** A view of a table created in another thread (or this one), from its {@link handles}. Never writes slots or the index. */
  static attach(handles: SessionTableHandles): SessionTable {
    return new SessionTable(handles, false);
  }

  /** The buffers, for {@link attach} in another thread. */
  get handles(): SessionTableHandles {
    return { slots: this.#slots, index: this.#index };
  }

  /** Never prints the buffers (they hold keys). */
  toString(): string {
    return `SessionTable(${this.#capacity} slots${this.#owner ? "" : ", view"})`;
  }
  toJSON(): string {
    return this.toString();
  }
  [inspect.custom](): string {
    return this.toString();
  }

  /** Slots allocated so far (the owner's high-water mark; a view: its current view of the buffer). */
  get capacity(): number {
    return this.#capacity;
  }

  // -------------------------------------------------------------------------------------------
  // Reading (any thread)
  // -------------------------------------------------------------------------------------------

  /**
   * The live slot whose local index is `localIndex`, or −1. Lock-free: loads the active hash table
   * and probes it; the slot found is checked (live, same local index), so an entry being replaced
   * or a table being switched can only make a lookup miss, never return another keypair's slot.
   */
  lookup(localIndex: number): number {
    // The owner reads what only it writes with plain loads; other threads with Atomics.
    if (this.#owner) return this.#lookupOwn(localIndex);
    const active = Atomics.load(this.#ix, IX_ACTIVE);
    const offset = active & ~31;
    const log2 = active & 31;
    const mask = (1 << log2) - 1;
    if (offset + (2 << log2) > this.#ix.length) this.#refreshIndex();
    const ix = this.#ix;
    const key = localIndex | 0;
    let e = hash(key, log2);
    for (let n = 0; n <= mask; n++, e = (e + 1) & mask) {
      const w = offset + 2 * e;
      const ref = Atomics.load(ix, w + 1);
      if (ref === EMPTY) return -1;
      if (ref === DELETED || Atomics.load(ix, w) !== key) continue;
      const slot = ref - 1;
      if (slot >= this.#capacity) this.#refreshSlots();
      if (slot >= this.#capacity) return -1;
      const b = slot * SLOT_WORDS;
      const g = Atomics.load(this.#i32, b + SlotLayout.generation);
      return (g & 1) === 1 && this.#i32[b + SlotLayout.localIndex] === key ? slot : -1;
    }
    return -1;
  }

  /**
   * The slot's generation word: odd = live. −1 for a slot past the table. Other threads load it with
   * Atomics.load (sequentially consistent: it publishes the slot's fields); the owner, its only
   * writer, with a plain read.
   */
  generation(slot: number): number {
    if (slot >= this.#capacity) this.#refreshSlots();
    if (!(slot >= 0 && slot < this.#capacity)) return -1;
    const w = slot * SLOT_WORDS + SlotLayout.generation;
    return this.#owner ? this.#i32[w]! : Atomics.load(this.#i32, w);
  }

  /** Epoch ms the slot's keypair was created (valid between two equal live {@link generation} loads). */
  createdAt(slot: number): number {
    return this.#f64[(slot * SLOT_BYTES + SlotLayout.createdAt * 4) / 8]!;
  }

  /**
   * {@link isExpired} for the slot's keypair. The same expression, written out so the creation time
   * read from the Float64Array is never boxed into a number object to cross a call (per packet).
   */
  isExpired(slot: number, now: number): boolean {
    return !(now - this.#f64[(slot * SLOT_WORDS + SlotLayout.createdAt) / 2]! < REJECT_AFTER_TIME);
  }

  localIndex(slot: number): number {
    return this.#i32[slot * SLOT_WORDS + SlotLayout.localIndex]! >>> 0;
  }

  remoteIndex(slot: number): number {
    return this.#i32[slot * SLOT_WORDS + SlotLayout.remoteIndex]! >>> 0;
  }

  /** The remote index's 32 bits as a signed int32 (what header writers need; never a boxed number). */
  remoteIndexBits(slot: number): number {
    return this.#i32[slot * SLOT_WORDS + SlotLayout.remoteIndex]!;
  }

  isInitiator(slot: number): boolean {
    return (this.#i32[slot * SLOT_WORDS + SlotLayout.flags]! & 1) === 1;
  }

  /** The owner's id of the slot's peer. */
  peer(slot: number): number {
    return this.#i32[slot * SLOT_WORDS + SlotLayout.peer]!;
  }

  /** The slot's 32-byte sending key, a view into the shared buffer (zero once erased). */
  sendKey(slot: number): Uint8Array {
    return this.#sendKeys[slot] ?? this.#keyView(this.#sendKeys, slot, SlotLayout.sendKey);
  }

  /** The slot's 32-byte receiving key, a view into the shared buffer (zero once erased). */
  receiveKey(slot: number): Uint8Array {
    return this.#receiveKeys[slot] ?? this.#keyView(this.#receiveKeys, slot, SlotLayout.receiveKey);
  }

  /**
   * The next send counter (nothing reserved), at most COUNTER_LIMIT: a hint (the next reservation
   * may be further on), read from the cell's two 32-bit halves without allocating a BigInt. Other
   * threads read high, low, high again until the high half is stable (a value the counter had); the
   * owner reads both halves plainly — a carry by another thread at that instant (once per 2^32
   * counters) can make it off by 2^32, which a hint tolerates (rekey and limit checks near 2^49/2^53).
   */
  sendCounter(slot: number): number {
    const i32 = this.#i32;
    const w = slot * SLOT_WORDS + SlotLayout.counter;
    if (this.#owner) {
      const hi = i32[w + 1]!;
      if (hi === 0) return i32[w]! >>> 0; // the usual case, as a small integer (no boxed number)
      return Math.min(hi * TWO_32 + (i32[w]! >>> 0), COUNTER_LIMIT);
    }
    for (;;) {
      const hi = Atomics.load(i32, w + 1);
      const lo = Atomics.load(i32, w) >>> 0;
      if (Atomics.load(i32, w + 1) === hi) return Math.min(hi * TWO_32 + lo, COUNTER_LIMIT);
    }
  }

  /**
   * Reserves `n` consecutive send counters of the slot and returns the first: no other reservation,
   * in any thread, overlaps. The result may be ≥ COUNTER_LIMIT: such counters must not be sent. The
   * caller checks the generation around it (transport.ts).
   *
   * Without a carry into the high half (all but once per 2^32 counters): a compare-and-swap of the
   * low half from its last seen value, then the high half — no BigInt allocated per packet. The
   * swap fails on any change of the low half since it was seen (another reservation, a carry, an
   * expiry), short of 2^32 reservations in between; after a successful swap the high half can only
   * move by an expiry (a carry needs 2^32 more reservations), and counters handed out after an expiry
   * are ≥ COUNTER_LIMIT — so no counter is ever handed out twice. A carry takes the 64-bit Atomics.add.
   */
  reserveSendCounters(slot: number, n: number): number {
    const i32 = this.#i32;
    const w = slot * SLOT_WORDS + SlotLayout.counter;
    let lo = i32[w]!; // a guess: the swap checks it
    for (;;) {
      const ulo = lo >>> 0;
      if (ulo + n >= TWO_32) break;
      const seen = Atomics.compareExchange(i32, w, lo, (ulo + n) | 0);
      if (seen === lo) {
        const hi = Atomics.load(i32, w + 1);
        if (hi === 0) return ulo; // the usual case, as a small integer (no boxed number)
        return hi > 0 ? hi * TWO_32 + ulo : COUNTER_LIMIT;
      }
      lo = seen;
    }
    return Number(Atomics.add(this.#b64, w / 2, n === 1 ? ONE : BigInt(n)));
  }

  /**
   * Records a received, authenticated counter in the slot's replay window if the slot still holds
   * keypair `generation`: {@link COUNTER_ACCEPTED} (new, now recorded), {@link COUNTER_REPLAYED} (seen, too old or
   * ≥ COUNTER_LIMIT) or {@link COUNTER_STALE} (the keypair was erased: nothing recorded). Takes the slot's
   * window lock (a spin lock held for one RFC 6479 step), so any number of threads may call it.
   */
  acceptCounter(slot: number, generation: number, counter: number): number {
    const i32 = this.#i32;
    const b = slot * SLOT_WORDS;
    lock(i32, b + SlotLayout.lock);
    let r: number;
    // Inside the lock: erase() moves the generation on under it. (The owner, its writer, reads it plainly.)
    if ((this.#owner ? i32[b + SlotLayout.generation] : Atomics.load(i32, b + SlotLayout.generation)) !== generation) r = COUNTER_STALE;
    else r = validateReplayCounter(this.#u32, b + SlotLayout.window, counter, COUNTER_LIMIT) ? COUNTER_ACCEPTED : COUNTER_REPLAYED;
    Atomics.store(i32, b + SlotLayout.lock, 0);
    return r;
  }

  /** The slot's replay-window region as (words, offset) in this thread's view (a ReplayWindow on it: tests, diagnostics). */
  windowRegion(slot: number): [Uint32Array, number] {
    if (slot >= this.#capacity) this.#refreshSlots();
    return [this.#u32, slot * SLOT_WORDS + SlotLayout.window];
  }

  // -------------------------------------------------------------------------------------------
  // Writing (owner only)
  // -------------------------------------------------------------------------------------------

  /**
   * Writes a new keypair into a free slot (the least recently freed one, or a new one), publishes it
   * (generation → odd) and enters its local index. @returns the slot; its generation is then
   * {@link generation}(slot).
   * @throws Error from a view, or when the table is full (maxSlots) or the local index is in it
   */
  install(k: SlotInit): number {
    this.#mustOwn();
    if (this.lookup(k.localIndex) !== -1) throw new Error("SessionTable.install: local index in use");
    const slot = this.#allocate();
    const i32 = this.#i32;
    const b = slot * SLOT_WORDS;
    const g = Atomics.load(i32, b + SlotLayout.generation);
    i32[b + SlotLayout.localIndex] = k.localIndex | 0;
    i32[b + SlotLayout.remoteIndex] = k.remoteIndex | 0;
    i32[b + SlotLayout.flags] = k.isInitiator ? 1 : 0;
    i32[b + SlotLayout.peer] = k.peer | 0;
    this.#f64[(b + SlotLayout.createdAt) / 2] = k.createdAt;
    this.#u8.set(k.sendKey.subarray(0, 32), (b + SlotLayout.sendKey) * 4);
    this.#u8.set(k.receiveKey.subarray(0, 32), (b + SlotLayout.receiveKey) * 4);
    Atomics.store(this.#b64, (b + SlotLayout.counter) / 2, 0n);
    this.#u32.fill(0, b + SlotLayout.window, b + SlotLayout.window + REPLAY_STATE_WORDS);
    // Publish: everything above happens-before any read that sees the odd generation.
    Atomics.store(i32, b + SlotLayout.generation, (g | 1) === g ? g + 2 : g + 1);
    this.#indexInsert(k.localIndex | 0, slot);
    return slot;
  }

  /**
   * Key erasure (whitepaper §6.3) of keypair `generation` in `slot`, if it is still there: removes
   * its local index, moves the generation on (even) under the window lock — so no thread records a
   * counter in the window after this — and zeroes both keys in the shared buffer. A thread in the
   * middle of a seal or open with it notices at its generation check and discards its result.
   * The slot is reused later, under a new generation.
   */
  erase(slot: number, generation: number): void {
    this.#mustOwn();
    const i32 = this.#i32;
    const b = slot * SLOT_WORDS;
    if (Atomics.load(i32, b + SlotLayout.generation) !== generation || (generation & 1) === 0) return;
    this.#indexRemove(i32[b + SlotLayout.localIndex]!, slot);
    lock(i32, b + SlotLayout.lock);
    Atomics.store(i32, b + SlotLayout.generation, generation + 1);
    Atomics.store(i32, b + SlotLayout.lock, 0);
    this.#u8.fill(0, (b + SlotLayout.sendKey) * 4, (b + SlotLayout.receiveKey + 8) * 4);
    Atomics.store(this.#b64, (b + SlotLayout.counter) / 2, LIMIT_BIG);
    this.#free.push(slot);
  }

  /** No more sending with the slot's keypair, in any thread (wireguard-go ExpireCurrentKeypairs): counter → COUNTER_LIMIT. */
  expireSending(slot: number, generation: number): void {
    if (this.generation(slot) === generation) Atomics.store(this.#b64, (slot * SLOT_WORDS + SlotLayout.counter) / 2, LIMIT_BIG);
  }

  /** Sets the next send counter (values ≥ COUNTER_LIMIT are stored as COUNTER_LIMIT). For tests and the daemon's shims. */
  setSendCounter(slot: number, generation: number, v: number): void {
    if (this.generation(slot) === generation) {
      Atomics.store(this.#b64, (slot * SLOT_WORDS + SlotLayout.counter) / 2, BigInt(Math.min(Math.max(0, Math.floor(v)), COUNTER_LIMIT)));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Internals
  // -------------------------------------------------------------------------------------------

  /** {@link lookup} in the owner's thread: the same probe with plain reads (it is the only writer). */
  #lookupOwn(localIndex: number): number {
    const ix = this.#ix;
    const active = ix[IX_ACTIVE]!;
    const offset = active & ~31;
    const log2 = active & 31;
    const mask = (1 << log2) - 1;
    const key = localIndex | 0;
    let e = hash(key, log2);
    for (let n = 0; n <= mask; n++, e = (e + 1) & mask) {
      const w = offset + 2 * e;
      const ref = ix[w + 1]!;
      if (ref === EMPTY) return -1;
      if (ref === DELETED || ix[w] !== key) continue;
      const b = (ref - 1) * SLOT_WORDS;
      return (this.#i32[b + SlotLayout.generation]! & 1) === 1 && this.#i32[b + SlotLayout.localIndex] === key ? ref - 1 : -1;
    }
    return -1;
  }

  #mustOwn(): void {
    if (!this.#owner) throw new Error("SessionTable: only the owner writes the table");
  }

  #keyView(cache: Uint8Array[], slot: number, word: number): Uint8Array {
    if (slot >= this.#capacity) this.#refreshSlots();
    const at = (slot * SLOT_WORDS + word) * 4;
    const v = new Uint8Array(this.#slots, at, 32);
    cache[slot] = v;
    return v;
  }

  #refreshSlots(): void {
    const bytes = this.#slots.byteLength;
    this.#capacity = Math.floor(bytes / SLOT_BYTES);
    const len = this.#capacity * SLOT_BYTES;
    this.#i32 = new Int32Array(this.#slots, 0, len / 4);
    this.#u32 = new Uint32Array(this.#slots, 0, len / 4);
    this.#f64 = new Float64Array(this.#slots, 0, len / 8);
    this.#b64 = new BigInt64Array(this.#slots, 0, len / 8);
    this.#u8 = new Uint8Array(this.#slots, 0, len);
  }

  #refreshIndex(): void {
    this.#ix = new Int32Array(this.#index, 0, this.#index.byteLength / 4);
  }

  /** A free slot: the least recently freed (FIFO: a slot is reused as late as possible), else a new one. */
  #allocate(): number {
    if (this.#freeHead < this.#free.length) {
      const slot = this.#free[this.#freeHead++]!;
      if (this.#freeHead > 1024 && this.#freeHead * 2 > this.#free.length) {
        this.#free.splice(0, this.#freeHead);
        this.#freeHead = 0;
      }
      return slot;
    }
    const slot = this.#high;
    if (slot >= this.#capacity) {
      const max = Math.floor(growable(this.#slots).maxByteLength / SLOT_BYTES);
      if (slot >= max) throw new Error(`SessionTable: full (${max} slots)`);
      growable(this.#slots).grow(Math.min(max, Math.max(slot + 1, this.#capacity * 2)) * SLOT_BYTES);
      this.#refreshSlots();
    }
    this.#high = slot + 1;
    return slot;
  }

  #indexInsert(key: number, slot: number): void {
    let active = Atomics.load(this.#ix, IX_ACTIVE);
    if ((this.#ixUsed + 1) * 2 > 1 << (active & 31)) {
      this.#rebuild(this.#ixLive + 1);
      active = Atomics.load(this.#ix, IX_ACTIVE);
    }
    if (placeEntry(this.#ix, active, key, slot)) this.#ixUsed++;
    this.#ixLive++;
  }

  #indexRemove(key: number, slot: number): void {
    const ix = this.#ix;
    const active = Atomics.load(ix, IX_ACTIVE);
    const offset = active & ~31;
    const log2 = active & 31;
    const mask = (1 << log2) - 1;
    let e = hash(key, log2);
    for (let n = 0; n <= mask; n++, e = (e + 1) & mask) {
      const w = offset + 2 * e;
      const ref = ix[w + 1]!;
      if (ref === EMPTY) return;
      if (ref === slot + 1 && ix[w] === key) {
        Atomics.store(ix, w + 1, DELETED);
        this.#ixLive--;
        return;
      }
    }
  }

  /**
   * Copies the live entries into a fresh hash table for `live` entries (load ≤ 1/4 after the copy)
   * and makes it the active one with one Atomics.store. The region is one that is not active —
   * an existing one big enough, else one appended (sizes double, so at most two of each size).
   */
  #rebuild(live: number): void {
    let log2 = IX_MIN_LOG2;
    while (1 << log2 < 4 * live) log2++;
    const ix0 = this.#ix;
    const active = Atomics.load(ix0, IX_ACTIVE);
    let region = this.#regions.find((r) => r.log2 === log2 && r.offset !== (active & ~31));
    if (region === undefined) {
      const end = this.#regions.reduce((m, r) => Math.max(m, r.offset + (2 << r.log2)), IX_FIRST);
      const offset = Math.ceil(end / 32) * 32;
      growable(this.#index).grow((offset + (2 << log2)) * 4);
      this.#refreshIndex();
      region = { offset, log2 };
      this.#regions.push(region);
    }
    const ix = this.#ix;
    ix.fill(0, region.offset, region.offset + (2 << log2));
    const target = region.offset | log2;
    const from = active & ~31;
    const n = 1 << (active & 31);
    let used = 0;
    for (let e = 0; e < n; e++) {
      const ref = ix[from + 2 * e + 1]!;
      if (ref > 0 && placeEntry(ix, target, ix[from + 2 * e]!, ref - 1)) used++;
    }
    Atomics.store(ix, IX_ACTIVE, target);
    this.#ixUsed = used;
  }
}

/** Bucket of `key` in a table of 2^log2 entries (multiplicative hashing: indices may be attacker-chosen). */
function hash(key: number, log2: number): number {
  return Math.imul(key, 0x9e3779b1) >>> (32 - log2);
}

/**
 * Puts [key, slot + 1] in the table `active` (offset | log2): key first, then the reference, both
 * with Atomics.store, so a reader that sees the reference sees the key. @returns true if it took an
 * empty entry (false: a deleted one).
 */
function placeEntry(ix: Int32Array, active: number, key: number, slot: number): boolean {
  const offset = active & ~31;
  const log2 = active & 31;
  const mask = (1 << log2) - 1;
  for (let e = hash(key, log2); ; e = (e + 1) & mask) {
    const w = offset + 2 * e;
    const ref = ix[w + 1]!;
    if (ref === EMPTY || ref === DELETED) {
      Atomics.store(ix, w, key);
      Atomics.store(ix, w + 1, slot + 1);
      return ref === EMPTY;
    }
  }
}

/** Spins until it holds the lock word at `i` (critical sections are one replay step: no sleeping). */
function lock(i32: Int32Array, i: number): void {
  while (Atomics.compareExchange(i32, i, 0, 1) !== 0) {
    // Another thread is inside validateReplayCounter for this slot: a few dozen ns.
  }
}
