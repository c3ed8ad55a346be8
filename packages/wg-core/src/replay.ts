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
 * save/load/merge hand a receive window between threads (a SharedArrayBuffer of Uint32 or Int32 words).
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

export class ReplayWindow {
  /** The ring: block i is words 2i (bits 0..31) and 2i+1 (bits 32..63). */
  readonly #ring = new Uint32Array(RING_BLOCKS * 2);
  /** Highest counter accepted so far. */
  #last = 0;

  /**
   * Checks a received counter and records it (RFC 6479 §3, as wireguard-go `Filter.ValidateCounter`).
   * Never throws: a non-integer or negative counter is rejected.
   * @param counter the message's 64-bit counter, as a number < 2^53
   * @param limit counters ≥ limit are rejected (RejectAfterMessages)
   * @returns true if the counter is new (and it is now recorded); false if replayed, too old or ≥ limit
   */
  validate(counter: number, limit: number): boolean {
    if (!(counter < limit) || !Number.isSafeInteger(counter) || counter < 0) return false;
    const ring = this.#ring;
    let indexBlock = Math.floor(counter / BLOCK_BITS);
    if (counter > this.#last) {
      // Move the window forward, zeroing the blocks it slides over (at most the whole ring).
      const current = Math.floor(this.#last / BLOCK_BITS);
      const diff = Math.min(indexBlock - current, RING_BLOCKS);
      for (let i = current + 1; i <= current + diff; i++) {
        const b = (i % RING_BLOCKS) * 2;
        ring[b] = 0;
        ring[b + 1] = 0;
      }
      this.#last = counter;
    } else if (this.#last - counter > REPLAY_WINDOW_SIZE) {
      return false; // behind the window
    }
    indexBlock %= RING_BLOCKS;
    const indexBit = counter % BLOCK_BITS;
    const word = indexBlock * 2 + (indexBit >>> 5);
    const mask = (1 << (indexBit & 31)) >>> 0;
    const old = ring[word]!;
    if ((old & mask) !== 0) return false;
    ring[word] = old | mask;
    return true;
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
    const last = this.#last;
    words[offset] = last % TWO_32; // an Int32Array stores ToInt32, i.e. the same 32 bits
    words[offset + 1] = Math.floor(last / TWO_32);
    words.set(this.#ring, offset + 2);
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
    this.#last = last;
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
    this.#last = last;
  }

  /** {@link merge} with a state written by {@link save} (loaded into a temporary window). Never throws. */
  mergeSaved(words: Uint32Array | Int32Array, offset: number): void {
    const other = new ReplayWindow();
    other.load(words, offset);
    this.merge(other);
  }

  /** Back to the initial state (a new session's keypair). */
  reset(): void {
    this.#last = 0;
    this.#ring.fill(0);
  }
}
