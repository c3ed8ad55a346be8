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

