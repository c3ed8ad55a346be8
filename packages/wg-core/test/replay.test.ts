import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { REPLAY_STATE_WORDS, REPLAY_WINDOW_SIZE, ReplayWindow } from "../src/replay.js";
import { mulberry32 } from "./support/prng.js";

interface Step {
  n?: string;
  for?: { from: string; while: string; step: 1 | -1 };
  expected: boolean;
  test?: number;
}
interface Vectors {
  constants: Record<string, string>;
  sequences: { name: string; steps: Step[] }[];
}
const vectors = JSON.parse(
  readFileSync(new URL("../../../test-vectors/wireguard-go-replay.json", import.meta.url), "utf8"),
) as Vectors;

/**
 * Evaluates the Go constant expressions of replay_test.go exactly (BigInt), with Go precedence:
 * `*` and `<<` bind tighter than `+` and `-`, comparisons bind loosest.
 */
function evaluate(expr: string, env: Record<string, bigint>): bigint {
  const tokens = expr.match(/\d+|[A-Za-z_]\w*|<<|<=|>=|[-+*()<>]/g) ?? [];
  let pos = 0;
  const peek = (): string | undefined => tokens[pos];
  const primary = (): bigint => {
    const t = tokens[pos++];
    if (t === "(") {
      const v = additive();
      if (tokens[pos++] !== ")") throw new Error(`bad expression ${expr}`);
      return v;
    }
    if (t !== undefined && /^\d+$/.test(t)) return BigInt(t);
    if (t !== undefined && t in env) return env[t]!;
    throw new Error(`bad token ${t} in ${expr}`);
  };
  const multiplicative = (): bigint => {
    let v = primary();
    for (let op = peek(); op === "*" || op === "<<"; op = peek()) {
      pos++;
      const r = primary();
      v = op === "*" ? v * r : v << r;
    }
    return v;
  };
  const additive = (): bigint => {
    let v = multiplicative();
    for (let op = peek(); op === "+" || op === "-"; op = peek()) {
      pos++;
      const r = multiplicative();
      v = op === "+" ? v + r : v - r;
    }
    return v;
  };
  const comparison = (): bigint => {
    const v = additive();
    const op = peek();
    if (op === "<=" || op === ">=" || op === "<" || op === ">") {
      pos++;
      const r = additive();
      const ok = op === "<=" ? v <= r : op === ">=" ? v >= r : op === "<" ? v < r : v > r;
      return ok ? 1n : 0n;
    }
    return v;
  };
  const v = comparison();
  if (pos !== tokens.length) throw new Error(`trailing tokens in ${expr}`);
  return v;
}

const env: Record<string, bigint> = {};
for (const [name, expr] of Object.entries(vectors.constants)) env[name] = evaluate(expr, env);

// Our counters are numbers < 2^53 (see constants.ts), so the Go limit 2^64 − 2^13 − 1 cannot be passed
// as is. Counters within ±64 of it are shifted to the same distance from LIMIT = 2^52 (which keeps the
// huge forward jump that clears the whole ring); every other counter in the file is < 2^16, unchanged.
const GO_LIMIT = env["RejectAfterMessages"]!;
const LIMIT = 2 ** 52;
function toNumber(n: bigint): number {
  const d = n - GO_LIMIT;
  if (d >= -64n && d <= 64n) return LIMIT + Number(d);
  if (n >= 1n << 52n) throw new Error(`unexpected large counter ${n}`);
  return Number(n);
}

describe("ReplayWindow against wireguard-go replay_test.go", () => {
  it("uses the kernel's window size", () => {
    expect(BigInt(REPLAY_WINDOW_SIZE)).toBe(env["windowSize"]);
    expect(REPLAY_WINDOW_SIZE).toBe(8128);
  });

  for (const seq of vectors.sequences) {
    it(seq.name, () => {
      const w = new ReplayWindow();
      let checked = 0;
      const T = (n: bigint, expected: boolean, label: string): void => {
        checked++;
        if (w.validate(toNumber(n), LIMIT) !== expected) {
          throw new Error(`${seq.name} step ${label}: validate(${n}) should be ${expected}`);
        }
      };
      seq.steps.forEach((step, index) => {
        if (step.n !== undefined) {
          T(evaluate(step.n, env), step.expected, `${step.test ?? index + 1} (n = ${step.n})`);
          return;
        }
        const loop = step.for!;
        for (let i = evaluate(loop.from, env); evaluate(loop.while, { ...env, i }) === 1n; i += BigInt(loop.step)) {
          T(i, step.expected, `loop i = ${i}`);
        }
      });
      expect(checked).toBeGreaterThan(0);
    });
  }
});


describe("ReplayWindow against a reference model", () => {
  // Reference: accept iff counter < limit, not more than the window behind the highest accepted
  // counter, and never accepted before (RFC 6479 semantics without the bitmap).
  for (const seed of [1, 2, 3, 42]) {
    it(`agrees on 20000 random counters (seed ${seed})`, () => {
      const rand = mulberry32(seed);
      const w = new ReplayWindow();
      const seen = new Set<number>();
      let last = 0;
      const limit = 8_000_000; // above every counter generated here (≈ 20000 × 5% × 10000 on average)
      let head = 0;
      let accepted = 0;
      for (let i = 0; i < 20_000; i++) {
        const r = rand();
        // Mostly near the head (reordering and duplicates), sometimes far behind, sometimes a big jump.
        if (r < 0.05) head += Math.floor(rand() * 20_000);
        else head += Math.floor(rand() * 3);
        let counter: number;
        const k = rand();
        if (k < 0.7) counter = head - Math.floor(rand() * 200);
        else if (k < 0.9) counter = head - Math.floor(rand() * (REPLAY_WINDOW_SIZE + 200));
        else counter = head + Math.floor(rand() * 300);
        if (counter < 0) counter = 0;
        const expected = counter < limit && !(counter <= last && last - counter > REPLAY_WINDOW_SIZE) && !seen.has(counter);
        if (expected) {
          seen.add(counter);
          if (counter > last) last = counter;
          accepted++;
        }
        if (w.validate(counter, limit) !== expected) throw new Error(`step ${i}: counter ${counter} should be ${expected}`);
      }
      expect(accepted).toBeGreaterThan(1000);
    });
  }

  it("rejects invalid counters without throwing", () => {
    const w = new ReplayWindow();
    for (const c of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) expect(w.validate(c, 2 ** 60)).toBe(false);
    expect(w.validate(5, Number.NaN)).toBe(false);
    expect(w.validate(5, 5)).toBe(false);
    expect(w.validate(4, 5)).toBe(true);
  });

  it("reset() forgets everything", () => {
    const w = new ReplayWindow();
    for (let i = 0; i < 100; i++) expect(w.validate(i, 1000)).toBe(true);
    w.reset();
    for (let i = 0; i < 100; i++) expect(w.validate(i, 1000)).toBe(true);
    expect(w.validate(50, 1000)).toBe(false);
  });
});

describe("ReplayWindow save/load/merge (handing a receive window between threads)", () => {
  const saved = (w: ReplayWindow): Uint32Array => {
    const words = new Uint32Array(REPLAY_STATE_WORDS);
    w.save(words, 0);
    return words;
  };
  const copy = (w: ReplayWindow): ReplayWindow => {
    const c = new ReplayWindow();
    c.load(saved(w), 0);
    return c;
  };
  // validate() records, so every probe runs on a fresh copy of the saved state.
  const scratch = new ReplayWindow();
  const probe = (state: Uint32Array, counter: number, limit: number): boolean => {
    scratch.load(state, 0);
    return scratch.validate(counter, limit);
  };
  const INITIAL = new Uint32Array(REPLAY_STATE_WORDS);

  /** A window fed random counters around `base` (duplicates, reordering, some behind the window). */
  function randomWindow(seed: number, base: number, n: number, limit: number): ReplayWindow {
    const rand = mulberry32(seed);
    const w = new ReplayWindow();
    let head = base;
    for (let i = 0; i < n; i++) {
      head += rand() < 0.02 ? Math.floor(rand() * 3000) : Math.floor(rand() * 3);
      const counter = Math.max(0, head - Math.floor(rand() * (REPLAY_WINDOW_SIZE + 300)));
      w.validate(rand() < 0.5 ? head : counter, limit);
    }
    return w;
  }

  it("takes 258 words", () => {
    expect(REPLAY_STATE_WORDS).toBe(258);
  });

  it("save → load round trip gives identical validate results on a range of counters", () => {
    const limit = 2 ** 40;
    for (const [seed, base] of [
      [1, 0],
      [2, 100_000],
      [3, 2 ** 32 - 3000],
    ] as const) {
      const w = randomWindow(seed, base, 5000, limit);
      const words = new Uint32Array(REPLAY_STATE_WORDS + 10).fill(0xdeadbeef);
      w.save(words, 3);
      // Exactly the 258 words at the offset are written.
      expect([...words.subarray(0, 3), ...words.subarray(3 + REPLAY_STATE_WORDS)]).toEqual(Array(10).fill(0xdeadbeef));
      const loaded = new ReplayWindow();
      loaded.load(words, 3);
      expect(saved(loaded)).toEqual(words.subarray(3, 3 + REPLAY_STATE_WORDS));
      // The same sequence (with duplicates, so recording matters too) on both gives the same answers.
      const last = words[3]! + words[4]! * 2 ** 32;
      const rand = mulberry32(seed + 100);
      let accepted = 0;
      let rejected = 0;
      for (let i = 0; i < 20_000; i++) {
        const c = Math.max(0, last - REPLAY_WINDOW_SIZE - 200 + Math.floor(rand() * (REPLAY_WINDOW_SIZE + 600)));
        const r = w.validate(c, limit);
        if (loaded.validate(c, limit) !== r) throw new Error(`seed ${seed}: validate(${c}) differs after save/load`);
        if (r) accepted++;
        else rejected++;
      }
      expect(accepted).toBeGreaterThan(1000);
      expect(rejected).toBeGreaterThan(1000);
    }
  });

  it("Int32Array storage works with counters ≥ 2^31 and ≥ 2^32 in last", () => {
    const limit = 2 ** 53;
    const table = new Int32Array(new SharedArrayBuffer(4 * (2 * REPLAY_STATE_WORDS + 1)));
    for (const last of [2 ** 31 + 5, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 2 ** 31 + 70, 2 ** 52 + 12_345, 2 ** 53 - 1]) {
      const w = new ReplayWindow();
      for (const c of [last - 8128, last - 8000, last - 64, last - 63, last - 1, last]) expect(w.validate(c, limit)).toBe(true);
      w.save(table, REPLAY_STATE_WORDS + 1);
      // Bit patterns: the low word of 2^31 + 5 reads back negative from the Int32Array.
      expect(table[REPLAY_STATE_WORDS + 1]! >>> 0).toBe(last % 2 ** 32);
      expect(table[REPLAY_STATE_WORDS + 2]! >>> 0).toBe(Math.floor(last / 2 ** 32));
      expect(new Uint32Array(table.buffer, 4 * (REPLAY_STATE_WORDS + 1), REPLAY_STATE_WORDS)).toEqual(saved(w));
      const loaded = new ReplayWindow();
      loaded.load(table, REPLAY_STATE_WORDS + 1);
      const state = saved(loaded);
      expect(state).toEqual(saved(w));
      for (const c of [last - 8128, last - 8000, last - 64, last - 63, last - 1, last]) expect(probe(state, c, limit)).toBe(false);
      expect(probe(state, last - 8129, limit)).toBe(false); // too old
      for (const c of [last - 8127, last - 8001, last - 65, last - 62, last - 2]) expect(probe(state, c, limit)).toBe(true);
      expect(probe(state, last + 1, limit)).toBe(last + 1 < limit);
      if (last + 64 < limit) expect(probe(state, last + 64, limit)).toBe(true);
    }
    expect(Math.min(...table)).toBeLessThan(0); // some words really had the top bit set
  });

  it("load never throws: a bad range or a last that is not a safe integer resets to the initial state", () => {
    const full = randomWindow(5, 50_000, 2000, 2 ** 40);
    const check = (words: Uint32Array | Int32Array, offset: number): void => {
      const w = copy(full);
      expect(() => w.load(words, offset)).not.toThrow();
      expect(saved(w)).toEqual(INITIAL);
    };
    const words = new Uint32Array(REPLAY_STATE_WORDS + 2);
    full.save(words, 1);
    for (const offset of [-1, 1.5, Number.NaN, 3, words.length]) {
      check(words, offset);
      expect(() => full.save(words, offset)).toThrow(RangeError);
    }
    words[2] = 0x20_0000; // last = 2^53 + low bits: not safe
    check(words, 1);
    const ints = new Int32Array(REPLAY_STATE_WORDS);
    full.save(ints, 0);
    ints[1] = -1; // high word 0xffffffff
    check(ints, 0);
    // Bits above last (which validate never sets) are dropped, so those counters are still new.
    const junk = new Uint32Array(REPLAY_STATE_WORDS).fill(0xffffffff);
    junk[0] = 64 * 5 + 40; // last = 360: bits 0..40 of block 5 stay
    junk[1] = 0;
    const w = new ReplayWindow();
    w.load(junk, 0);
    expect(w.validate(360, 1000)).toBe(false);
    expect(w.validate(361, 1000)).toBe(true);
    expect(w.validate(383, 1000)).toBe(true);
    expect(w.validate(300, 1000)).toBe(false);
  });

  it("merge into the initial state copies the other window", () => {
    const b = randomWindow(6, 70_000, 3000, 2 ** 40);
    const m = new ReplayWindow();
    m.merge(b);
    expect(saved(m)).toEqual(saved(b));
    // Counter 0 recorded versus the initial state (last 0 too, but nothing recorded).
    const zero = new ReplayWindow();
    expect(zero.validate(0, 10)).toBe(true);
    const m0 = new ReplayWindow();
    m0.merge(zero);
    expect(m0.validate(0, 10)).toBe(false);
    expect(m0.validate(1, 10)).toBe(true);
  });

  it("merging the initial state changes nothing", () => {
    const a = randomWindow(7, 0, 3000, 2 ** 40);
    const before = saved(a);
    a.merge(new ReplayWindow());
    expect(saved(a)).toEqual(before);
    a.mergeSaved(INITIAL, 0);
    expect(saved(a)).toEqual(before);
    const i = new ReplayWindow();
    i.merge(new ReplayWindow());
    expect(saved(i)).toEqual(INITIAL);
    expect(i.validate(0, 10)).toBe(true);
    expect(i.validate(0, 10)).toBe(false);
  });

  it("far-apart lasts keep only the newer window's blocks, both ways", () => {
    const limit = 2 ** 40;
    const old = randomWindow(8, 0, 3000, limit);
    const oldLast = Number(saved(old)[0]);
    for (const gap of [REPLAY_WINDOW_SIZE + 64 + 1, 128 * 64, 128 * 64 + 63, 129 * 64, 1_000_000]) {
      const recent = new ReplayWindow();
      const top = oldLast + gap;
      for (let c = top - 300; c <= top; c += 3) expect(recent.validate(c, limit)).toBe(true);
      for (const [x, y] of [
        [old, recent],
        [recent, old],
      ] as const) {
        const m = copy(x);
        m.merge(y);
        expect(saved(m)).toEqual(saved(recent));
      }
    }
    // At exactly the window apart, the older window's last is the oldest counter still in it.
    for (const base of [1000, 2 ** 32 + 17]) {
      const a = new ReplayWindow();
      expect(a.validate(base, limit)).toBe(true);
      const b = new ReplayWindow();
      expect(b.validate(base + REPLAY_WINDOW_SIZE, limit)).toBe(true);
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const) {
        const m = copy(x);
        m.merge(y);
        const state = saved(m);
        expect(probe(state, base + REPLAY_WINDOW_SIZE, limit)).toBe(false); // seen by b
        expect(probe(state, base, limit)).toBe(false); // seen by a, just inside the window
        expect(probe(state, base - 1, limit)).toBe(false); // too old
        expect(probe(state, base + 1, limit)).toBe(true);
        expect(probe(state, base + REPLAY_WINDOW_SIZE - 1, limit)).toBe(true);
        expect(probe(state, base + REPLAY_WINDOW_SIZE + 1, limit)).toBe(true);
      }
    }
  });

  it("mergeSaved reads a state saved in an Int32Array, and treats a bad one as the initial state", () => {
    const limit = 2 ** 53;
    const a = randomWindow(9, 2 ** 32 - 4000, 3000, limit);
    const b = randomWindow(10, 2 ** 32 - 2000, 3000, limit);
    const table = new Int32Array(new SharedArrayBuffer(4 * (REPLAY_STATE_WORDS + 4)));
    b.save(table, 4);
    const viaMerge = copy(a);
    viaMerge.merge(b);
    const viaSaved = copy(a);
    viaSaved.mergeSaved(table, 4);
    expect(saved(viaSaved)).toEqual(saved(viaMerge));
    expect(saved(viaSaved)).not.toEqual(saved(a));
    viaSaved.mergeSaved(table, 5); // does not fit: merges the initial state
    expect(saved(viaSaved)).toEqual(saved(viaMerge));
  });

  // Property: counters split at random between two windows (as packets between threads); the merge M
  // must reject exactly what either rejects plus what is too old for max(last), and accept the rest.
  it("merge is the union of two windows fed one random stream (property, seeded)", () => {
    let farApart = 0;
    let near = 0;
    let oneInitial = 0;
    let probes = 0;
    for (let run = 0; run < 60; run++) {
      const rand = mulberry32(1000 + run);
      const base = [0, 5000, 2 ** 31 - 3000, 2 ** 32 - 6000, 2 ** 52][run % 5]!;
      const stream: number[] = [];
      let head = base;
      const n = run % 7 === 0 ? Math.floor(rand() * 5) : Math.floor(rand() * 4000);
      for (let i = 0; i < n; i++) {
        const r = rand();
        if (r < 0.01) head += 8192 + Math.floor(rand() * 30_000); // more than the whole ring
        else if (r < 0.02) head += REPLAY_WINDOW_SIZE - 100 + Math.floor(rand() * 200); // about the window
        else if (r < 0.04) head += Math.floor(rand() * 2000);
        else head += Math.floor(rand() * 3);
        const k = rand();
        let c: number;
        if (k < 0.5) c = head - Math.floor(rand() * 200); // reordered
        else if (k < 0.65) c = head - Math.floor(rand() * (REPLAY_WINDOW_SIZE + 300)); // old, maybe too old
        else if (k < 0.8 && stream.length > 0) c = stream[Math.floor(rand() * stream.length)]!; // duplicate
        else c = head + Math.floor(rand() * 100);
        stream.push(Math.max(0, c));
      }
      // Sometimes only one side sees the end of the stream (after a jump): lasts far apart.
      const tailTo = rand() < 0.4 ? Math.floor(rand() * 2) : -1;
      const tailStart = tailTo < 0 ? stream.length : Math.floor(stream.length * (0.5 + rand() * 0.5));
      const max = stream.length > 0 ? Math.max(...stream) : base;
      const limit = rand() < 0.3 ? Math.max(1, max - Math.floor(rand() * 50)) : 2 ** 53; // some counters ≥ limit
      const pA = [0.5, 0.9, 0.1, 1, 0][run % 5]!;
      const windows = [new ReplayWindow(), new ReplayWindow()] as const;
      const seen = [new Set<number>(), new Set<number>()] as const;
      const lasts = [0, 0];
      stream.forEach((c, i) => {
        const side = i >= tailStart ? tailTo : rand() < pA ? 0 : 1;
        if (windows[side]!.validate(c, limit)) {
          seen[side]!.add(c);
          lasts[side] = Math.max(lasts[side]!, c);
        }
      });
      const [sa, sb] = [saved(windows[0]), saved(windows[1])];
      const L = Math.max(lasts[0]!, lasts[1]!);
      if (Math.abs(lasts[0]! - lasts[1]!) > 128 * 64) farApart++;
      else if (seen[0].size > 0 && seen[1].size > 0) near++;
      if (seen[0].size === 0 || seen[1].size === 0) oneInitial++;

      const m = copy(windows[0]);
      m.merge(windows[1]);
      const sm = saved(m);
      expect(saved(windows[1])).toEqual(sb); // other is unchanged
      const m2 = copy(windows[1]);
      m2.merge(windows[0]);
      expect(saved(m2)).toEqual(sm); // symmetric
      expect(sm[0]! + sm[1]! * 2 ** 32).toBe(L);

      const candidates = new Set<number>([...seen[0], ...seen[1], ...stream.slice(0, 500)]);
      for (let c = Math.max(0, L - REPLAY_WINDOW_SIZE - 150); c <= L + 150; c++) candidates.add(c);
      for (const c of [limit - 1, limit, limit + 1]) if (Number.isSafeInteger(c)) candidates.add(c); // limit ≥ 1
      for (const c of candidates) {
        const got = probe(sm, c, limit);
        // Model: the union of what was accepted, the window of the larger last, the limit.
        const model = c < limit && L - c <= REPLAY_WINDOW_SIZE && !seen[0].has(c) && !seen[1].has(c);
        // Directly from the two windows: M accepts iff both would, and c is not too old for M.
        const direct = probe(sa, c, limit) && probe(sb, c, limit) && L - c <= REPLAY_WINDOW_SIZE;
        if (got !== model || got !== direct) {
          throw new Error(`run ${run}: counter ${c} (last ${L}, lasts ${lasts}, limit ${limit}): merged ${got}, model ${model}, direct ${direct}`);
        }
        probes++;
      }
    }
    // The runs covered every case.
    expect(farApart).toBeGreaterThan(5);
    expect(near).toBeGreaterThan(5);
    expect(oneInitial).toBeGreaterThan(5);
    expect(probes).toBeGreaterThan(60 * 8000);
  });
});
