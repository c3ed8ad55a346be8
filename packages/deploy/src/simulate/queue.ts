/**
 * The simulator's clock: a priority queue of events by virtual time (ms since the Unix epoch, like
 * wg-core's `now`). Ties are broken by insertion order, so a run is a pure function of its inputs.
 * Nothing here reads a real clock or sets a real timer.
 */

interface Entry {
  at: number;
  seq: number;
  run: () => void;
}

export class EventQueue {
  #now: number;
  #seq = 0;
  readonly #heap: Entry[] = [];

  constructor(start: number) {
    this.#now = start;
  }

  /** Virtual time of the event being run (or the start). */
  get now(): number {
    return this.#now;
  }

  get size(): number {
    return this.#heap.length;
  }

  /** Runs `run` at virtual time `at` (never before the current time). */
  at(at: number, run: () => void): void {
    const e: Entry = { at: Math.max(at, this.#now), seq: this.#seq++, run };
    const h = this.#heap;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  /** Runs every event up to and including time `end`, in order; afterwards `now` is `end`. */
  runUntil(end: number, afterEach?: () => void): void {
    const h = this.#heap;
    while (h.length > 0 && h[0]!.at <= end) {
      const top = h[0]!;
      const last = h.pop()!;
      if (h.length > 0) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= h.length) break;
          const r = l + 1;
          const c = r < h.length && before(h[r]!, h[l]!) ? r : l;
          if (!before(h[c]!, last)) break;
          h[i] = h[c]!;
          i = c;
        }
        h[i] = last;
      }
      this.#now = top.at;
      top.run();
      afterEach?.();
    }
    this.#now = Math.max(this.#now, end);
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
