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

  /** Back to the initial state (a new session's keypair). */
  reset(): void {
    this.#w.fill(0, this.#base, this.#base + REPLAY_STATE_WORDS);
  }
}
