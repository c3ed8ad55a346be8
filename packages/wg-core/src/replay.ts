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
 */

const BLOCK_BITS = 64;
const RING_BLOCKS = 128;
/** Counters this far behind the highest seen one are still accepted if new: (128 − 1) × 64. */
export const REPLAY_WINDOW_SIZE = (RING_BLOCKS - 1) * BLOCK_BITS;

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

  /** Back to the initial state (a new session's keypair). */
  reset(): void {
    this.#last = 0;
    this.#ring.fill(0);
  }
}
