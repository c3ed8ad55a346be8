/**
 * The receive-side anti-replay window (whitepaper §5.4.6 "the receiver must keep track of the counters
 * it has seen", RFC 6479 "IPsec Anti-Replay Algorithm without Bit Shifting"). Same geometry as the Linux
 * kernel and wireguard-go `replay/replay.go`: a ring of 128 blocks of 64 bits, of which one block is
 * "redundant", so the window covers the last 127 × 64 = 8128 counters.
 *
 * Initial state: nothing seen (the highest counter is 0 and counter 0 is not yet recorded).
 * Guarantee: {@link ReplayWindow.validate} returns true at most once per counter, never for a counter
 * ≥ limit, and never for a counter more than 8128 below the highest accepted one. The 64-bit blocks are
 * stored as pairs of 32-bit words (no BigInt on the hot path); counters are numbers < 2^53.
 * The state is one region of REPLAY_STATE_WORDS words, so it can live in shared memory: the rule is
 * {@link validateReplayCounter}, run by {@link ReplayWindow} on its own region and by the session table
 * (session-table.ts) on a slot's region, which every thread checks under the slot's window lock.
 * save/load/merge hand a window between threads by copy — the daemon's fast path of before the shared
 * session table (kept until it moves onto the table, phase B of docs/architecture.md).
 */

const BLOCK_BITS = 64;
const RING_BLOCKS = 128;
/** Counters this far behind the highest seen one are still accepted if new: (128 − 1) × 64. */
export const REPLAY_WINDOW_SIZE = (RING_BLOCKS - 1) * BLOCK_BITS;
/** Uint32 words a saved window takes: [last low 32 bits, last high bits, ring 256 words]. */
export const REPLAY_STATE_WORDS = 2 + RING_BLOCKS * 2;

const TWO_32 = 2 ** 32;

/** True if words[offset .. offset + REPLAY_STATE_WORDS) exists. */
function fits(words: Uint32Array | Int32Array, offset: number): boolean {
  return Number.isSafeInteger(offset) && offset >= 0 && offset + REPLAY_STATE_WORDS <= words.length;
}

/** The low n bits set (0 ≤ n ≤ 32), as a uint32. */
function lowBits(n: number): number {
  return n >= 32 ? 0xffffffff : ((1 << n) >>> 0) - 1;
}

/** Word offsets inside a window's state region. */
const LAST_LO = 0;
const LAST_HI = 1;
const RING = 2;

/**
 * The replay rule itself (RFC 6479 §3, as wireguard-go `Filter.ValidateCounter` and the kernel's
 * `counter_validate`), on a window state held in `w[base .. base + REPLAY_STATE_WORDS)`:
 * `[last low 32 bits, last high bits, ring: block i = words 2i (bits 0..31), 2i+1 (bits 32..63)]`.
 * It is the only copy of the rule: {@link ReplayWindow} runs it on its own region, the shared session
 * table (session-table.ts) on a region of a SharedArrayBuffer under the slot's window lock. Not atomic:
 * one caller at a time per region.
 * Never throws: a non-integer or negative counter is rejected.
 * @param counter the message's 64-bit counter, as a number < 2^53
 * @param limit counters ≥ limit are rejected (RejectAfterMessages)
 * @returns true if the counter is new (and it is now recorded); false if replayed, too old or ≥ limit
 */
export function validateReplayCounter(w: Uint32Array, base: number, counter: number, limit: number): boolean {
  if (!(counter < limit) || !Number.isSafeInteger(counter) || counter < 0) return false;
  const last = w[base + LAST_HI]! * TWO_32 + w[base + LAST_LO]!;
  let indexBlock = Math.floor(counter / BLOCK_BITS);
  const ring = base + RING;
  if (counter > last) {
    // Move the window forward, zeroing the blocks it slides over (at most the whole ring).
    const current = Math.floor(last / BLOCK_BITS);
    const diff = Math.min(indexBlock - current, RING_BLOCKS);
    for (let i = current + 1; i <= current + diff; i++) {
      const b = ring + (i % RING_BLOCKS) * 2;
      w[b] = 0;
      w[b + 1] = 0;
    }
    w[base + LAST_LO] = counter % TWO_32;
    w[base + LAST_HI] = Math.floor(counter / TWO_32);
  } else if (last - counter > REPLAY_WINDOW_SIZE) {
    return false; // behind the window
  }
  indexBlock %= RING_BLOCKS;
  const indexBit = counter % BLOCK_BITS;
  const word = ring + indexBlock * 2 + (indexBit >>> 5);
  const mask = (1 << (indexBit & 31)) >>> 0;
  const old = w[word]!;
  if ((old & mask) !== 0) return false;
  w[word] = (old | mask) >>> 0;
  return true;
}

export class ReplayWindow {
  /** The state region (layout: {@link validateReplayCounter}). */
  readonly #w: Uint32Array;
  readonly #base: number;

  /**
   * A window in the initial state with its own memory, or — `words`/`base` given — a window whose
   * state lives in `words[base .. base + REPLAY_STATE_WORDS)` (a session-table slot in shared memory;
   * the region is used as it is, not reset).
   * @throws RangeError if the region does not fit in `words`
   */
  constructor(words?: Uint32Array, base = 0) {
    if (words === undefined) {
      this.#w = new Uint32Array(REPLAY_STATE_WORDS);
      this.#base = 0;
    } else {
      if (!fits(words, base)) throw new RangeError(`ReplayWindow: ${REPLAY_STATE_WORDS} words at ${base} do not fit in ${words.length}`);
      this.#w = words;
      this.#base = base;
    }
  }

  /** Highest counter accepted so far. */
  get #last(): number {
    return this.#w[this.#base + LAST_HI]! * TWO_32 + this.#w[this.#base + LAST_LO]!;
  }

  /** The ring (a view of the state region). */
  get #ring(): Uint32Array {
    return this.#w.subarray(this.#base + RING, this.#base + REPLAY_STATE_WORDS);
  }

  #setLast(last: number): void {
    this.#w[this.#base + LAST_LO] = last % TWO_32;
    this.#w[this.#base + LAST_HI] = Math.floor(last / TWO_32);
  }

  /**
   * Checks a received counter and records it ({@link validateReplayCounter}). Not for a window that
   * other threads check concurrently (the session table locks its windows).
   * @param counter the message's 64-bit counter, as a number < 2^53
   * @param limit counters ≥ limit are rejected (RejectAfterMessages)
   * @returns true if the counter is new (and it is now recorded); false if replayed, too old or ≥ limit
   */
  validate(counter: number, limit: number): boolean {
    return validateReplayCounter(this.#w, this.#base, counter, limit);
  }

  /**
   * Writes the whole state to words[offset .. offset + REPLAY_STATE_WORDS) (to hand a receive window to
   * another thread through a SharedArrayBuffer). An Int32Array gets the same bit patterns.
   * @throws RangeError if the range does not fit in words
   */
  save(words: Uint32Array | Int32Array, offset: number): void {
    if (!fits(words, offset)) {
      throw new RangeError(`ReplayWindow.save: ${REPLAY_STATE_WORDS} words at ${offset} do not fit in ${words.length}`);
    }
    // An Int32Array stores ToInt32, i.e. the same 32 bits.
    words.set(this.#w.subarray(this.#base, this.#base + REPLAY_STATE_WORDS), offset);
  }

  /**
   * Replaces the state with one written by {@link save} (words are read back with `>>> 0`). Never
   * throws: a range that does not fit or a `last` that is not a safe integer resets the window to the
   * initial state. Bits above `last` in its block, which validate() never sets, are cleared.
   */
  load(words: Uint32Array | Int32Array, offset: number): void {
    if (!fits(words, offset)) {
      this.reset();
      return;
    }
    const last = (words[offset + 1]! >>> 0) * TWO_32 + (words[offset]! >>> 0);
    if (!Number.isSafeInteger(last)) {
      this.reset();
      return;
    }
    const ring = this.#ring;
    ring.set(words.subarray(offset + 2, offset + REPLAY_STATE_WORDS)); // Int32 → Uint32 keeps the bits
    this.#setLast(last);
    const b = (Math.floor(last / BLOCK_BITS) % RING_BLOCKS) * 2;
    const keep = (last % BLOCK_BITS) + 1; // bits 0 .. last % 64 of the block
    ring[b] = ring[b]! & lowBits(Math.min(keep, 32));
    ring[b + 1] = ring[b + 1]! & lowBits(Math.max(keep - 32, 0));
  }

  /**
   * Union (RFC 6479 ring, whitepaper §5.4.6): afterwards every counter that `this` or `other` would
   * reject as already seen or too old is rejected, `last` is the larger of the two, and any other
   * counter inside the window is still accepted once. `other` is unchanged. Walks at most 2 × 128
   * blocks: for when a receive window moves between threads, not per packet.
   */
  merge(other: ReplayWindow): void {
    const ring = this.#ring;
    const src = other.#ring;
    const last = Math.max(this.#last, other.#last);
    const top = Math.floor(last / BLOCK_BITS);
    // Slide this window forward to `last` as validate() does: blocks past ours hold nothing we saw.
    const current = Math.floor(this.#last / BLOCK_BITS);
    const diff = Math.min(top - current, RING_BLOCKS);
    for (let i = current + 1; i <= current + diff; i++) {
      const b = (i % RING_BLOCKS) * 2;
      ring[b] = 0;
      ring[b + 1] = 0;
    }
    // OR in other's blocks that the merged ring still covers (top − 127 .. other's top block; none if
    // they are more than the ring apart). Older blocks of other are too old for the merged window too.
    const otherTop = Math.floor(other.#last / BLOCK_BITS);
    for (let i = Math.max(top - RING_BLOCKS + 1, 0); i <= otherTop; i++) {
      const b = (i % RING_BLOCKS) * 2;
      ring[b] = ring[b]! | src[b]!;
      ring[b + 1] = ring[b + 1]! | src[b + 1]!;
    }
    this.#setLast(last);
  }

  /** {@link merge} with a state written by {@link save} (loaded into a temporary window). Never throws. */
  mergeSaved(words: Uint32Array | Int32Array, offset: number): void {
    const other = new ReplayWindow();
    other.load(words, offset);
    this.merge(other);
  }

  /** Back to the initial state (a new session's keypair). */
  reset(): void {
    this.#w.fill(0, this.#base, this.#base + REPLAY_STATE_WORDS);
  }
}
