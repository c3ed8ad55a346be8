/**
 * Per-batch traffic events from a worker to the main thread, without a message per event and
 * without the main thread walking every peer: each worker owns one single-producer ring of peer
 * ids in shared memory. After a batch, the worker marks each peer whose counters it moved (its own
 * flag word in the peer record) and, if the flag was clear, appends the id; the main thread drains
 * the ring, clears each flag, then reads that peer's counters (wg-core noteDataSent /
 * noteDataReceived: byte counters, timers). A peer is in a ring at most once, so a ring as large as
 * the peers never fills; when one does (more active peers than {@link RING_ENTRIES}), the worker
 * sets the ring's overflow word and the main thread looks at every peer once.
 *
 * Ordering: the worker writes its counters, then swaps its flag to 1 (Atomics.exchange); the main
 * thread swaps it to 0, then reads them. Either the worker's swap comes after the main thread's
 * (it reads 0 and appends the id again: the next drain sees the counters) or before (the main
 * thread's swap reads it, so the counters written before it are visible).
 *
 * Layout (Int32 words, one block of {@link RING_WORDS} per worker): [head: written by the worker]
 * [tail: written by the main thread] (both count modulo 2^32) [overflow] [reserved] [ids: RING_ENTRIES].
 */

/** Peer ids a ring holds at most (more active peers than this: the overflow word, a full walk). */
export const RING_ENTRIES = 4096;
const MASK = RING_ENTRIES - 1;
const HEAD = 0;
const TAIL = 1;
const OVERFLOW = 2;
const IDS = 4;
export const RING_WORDS = IDS + RING_ENTRIES;

/** Buffer for `rings` rings (one per worker). */
export function activityBuffer(rings: number): SharedArrayBuffer {
  return new SharedArrayBuffer(rings * RING_WORDS * 4);
}

/** The worker's side: marks peers active. */
export class ActivityWriter {
  readonly #w: Int32Array;

  constructor(buffer: SharedArrayBuffer, ring: number) {
    this.#w = new Int32Array(buffer, ring * RING_WORDS * 4, RING_WORDS);
  }

  /**
   * Peer `id`'s counters moved (written before this call); `flags[flag]` is this worker's flag word
   * in its record. Appends the id unless it is already waiting.
   */
  mark(flags: Int32Array, flag: number, id: number): void {
    if (Atomics.exchange(flags, flag, 1) !== 0) return;
    const w = this.#w;
    const head = w[HEAD]!;
    if (((head - Atomics.load(w, TAIL)) | 0) >= RING_ENTRIES) {
      Atomics.store(w, OVERFLOW, 1);
      return;
    }
    w[IDS + (head & MASK)] = id;
    Atomics.store(w, HEAD, (head + 1) | 0);
  }
}

/** The main thread's side: which peers moved since the last drain. */
export class ActivityReader {
  readonly #w: Int32Array;

  constructor(buffer: SharedArrayBuffer, ring: number) {
    this.#w = new Int32Array(buffer, ring * RING_WORDS * 4, RING_WORDS);
  }

  /**
   * Calls `each(id)` for every peer marked since the last call, after clearing its flag (`flagOf(id)`:
   * the record's words and the flag's index, or null when the record is gone). Returns true when the
   * ring overflowed: the caller must then look at every peer (and clear every flag) itself.
   */
  drain(flagOf: (id: number) => [Int32Array, number] | null, each: (id: number) => void): boolean {
    const w = this.#w;
    const head = Atomics.load(w, HEAD);
    let tail = w[TAIL]!;
    for (; tail !== head; tail = (tail + 1) | 0) {
      const id = w[IDS + (tail & MASK)]!;
      const f = flagOf(id);
      if (f !== null) Atomics.exchange(f[0], f[1], 0);
      each(id);
    }
    Atomics.store(w, TAIL, tail);
    return Atomics.exchange(w, OVERFLOW, 0) !== 0;
  }
}
