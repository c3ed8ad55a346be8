// The Internet checksum (src/dataplane/checksum.ts) against RFC 1071's definition, written out here
// byte by byte, and RFC 1071's own worked example: every alignment, length and starting sum; the
// range checksum TSO uses (TypeScript and the native addon's) against the same definition.
import { describe, expect, it } from "vitest";
import { finish, type SumRanges, sum16, sum16Ranges } from "../src/dataplane/checksum.js";
import { loadBatchAead } from "../src/native-aead.js";

/** RFC 1071 section 4.1, literally: 16-bit big-endian words, an odd byte padded with zero, end-around carry. */
function reference(b: Uint8Array, start: number, end: number, initial: number): number {
  let sum = initial;
  const carry = (): void => {
    while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  };
  carry();
  for (let i = start; i < end; i += 2) {
    sum += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
    carry();
  }
  return ~sum & 0xffff;
}

/** Deterministic bytes (xorshift32). */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

describe("Internet checksum (RFC 1071)", () => {
  it("RFC 1071 section 3's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2", () => {
    const b = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
    expect(~finish(sum16(b, 0, b.length)) & 0xffff).toBe(0xddf2);
    // long enough for the word loop: the example 16 times (the sum of 16 copies, folded)
    const long = new Uint8Array(128);
    for (let i = 0; i < 16; i++) long.set(b, i * 8);
    expect(finish(sum16(long, 0, long.length))).toBe(reference(long, 0, long.length, 0));
  });

  it("equals the byte-by-byte definition for every alignment, odd and even lengths, up to 64 KiB, with a starting sum", () => {
    const data = bytes(65536 + 16, 7);
    for (let shift = 0; shift < 4; shift++) {
      const view = data.subarray(shift); // byteOffset 0..3
      for (const [start, len] of [[0, 0], [0, 1], [1, 63], [2, 64], [3, 65], [20, 1400], [21, 1399], [22, 1480], [40, 1420], [0, 65535], [1, 65534]] as const) {
        for (const initial of [0, 6 + 1380, 0x1fffe, 123456789]) {
          expect(finish(sum16(view, start, start + len, initial)), `shift ${shift} start ${start} len ${len} initial ${initial}`).toBe(
            reference(view, start, start + len, initial),
          );
        }
      }
    }
  });

  it("arrays summed in turn, and an array whose bytes changed since it was last summed (sum16 keeps word views)", () => {
    const a = bytes(1500, 1);
    const b = bytes(1500, 2).subarray(1);
    const c = bytes(1500, 3).subarray(2);
    for (let round = 0; round < 3; round++) {
      for (const x of [a, b, c, b, a, c, c]) expect(finish(sum16(x, 20, 1420))).toBe(reference(x, 20, 1420, 0));
      a.fill(round + 1, 100, 900); // same array, new contents: the sum follows them
      c.fill(0xff - round, 0, 700);
    }
  });

  it("all-ones and all-zero data (the one's-complement corner cases)", () => {
    for (const fill of [0x00, 0xff]) {
      const b = new Uint8Array(1500).fill(fill);
      for (const [start, end] of [[0, 1500], [2, 1402], [20, 1420], [1, 1499]] as const) {
        expect(finish(sum16(b, start, end))).toBe(reference(b, start, end, 0));
        expect(finish(sum16(b, start, end, 0xffff))).toBe(reference(b, start, end, 0xffff));
      }
    }
  });

  it("random ranges of random data", () => {
    const data = bytes(4096, 99);
    let seed = 12345;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    for (let t = 0; t < 3000; t++) {
      const view = data.subarray(next(4));
      const start = next(80);
      const end = Math.min(view.length, start + next(2000));
      const initial = next(1 << 20);
      expect(finish(sum16(view, start, end, initial))).toBe(reference(view, start, end, initial));
    }
  });
});

describe("sum16Ranges (TypeScript, and the native addon's where it loads)", () => {
  const native = loadBatchAead().addon?.sum16Ranges;
  const impls: [string, SumRanges][] = [["TypeScript", sum16Ranges], ...(native ? [["native", native] as [string, SumRanges]] : [])];
  const folded = (b: Uint8Array, s: number, e: number): number => ~reference(b, s, e, 0) & 0xffff;

  it.each(impls)("%s: each range's folded sum, every alignment, odd and even steps, capped by out.length", (_name, f) => {
    const data = bytes(70_000, 5);
    for (let shift = 0; shift < 4; shift++) {
      const view = data.subarray(shift);
      for (const [start, end, step] of [[0, 0, 1], [0, 1, 1], [3, 301, 45], [40, 40 + 60_000, 1380], [41, 41 + 60_001, 1379], [2, 1402, 1400], [1, 65_536, 65_536], [7, 1000, 2]] as const) {
        const out = new Float64Array(600);
        const n = f(view, start, end, step, out);
        expect(n).toBe(Math.min(600, Math.ceil((end - start) / step)));
        for (let k = 0; k < n; k++) expect(out[k], `shift ${shift} [${start}, ${end}) step ${step} range ${k}`).toBe(folded(view, start + k * step, Math.min(end, start + (k + 1) * step)));
      }
    }
    const ones = new Uint8Array(3000).fill(0xff);
    const out = new Float64Array(3);
    expect(f(ones, 0, 3000, 1000, out)).toBe(3);
    expect([...out]).toEqual([0xffff, 0xffff, 0xffff]);
  });

  // Skipped only where the addon does not load (not linux-x64; native-aead.test.ts requires it to load there).
  it.skipIf(!native)("native: a malformed call throws (types, a range outside the buffer, step < 1), never reads outside", () => {
    const f = native!;
    const b = new Uint8Array(100);
    const out = new Float64Array(4);
    expect(() => f(b, 0, 101, 10, out)).toThrow(RangeError);
    expect(() => f(b, -1, 10, 10, out)).toThrow(RangeError);
    expect(() => f(b, 10, 5, 10, out)).toThrow(RangeError);
    expect(() => f(b, 0, 10, 0, out)).toThrow(RangeError);
    expect(() => f(new Uint16Array(10) as unknown as Uint8Array, 0, 10, 5, out)).toThrow(TypeError);
    expect(() => f(b, 0, 10, 5, new Float32Array(4) as unknown as Float64Array)).toThrow(TypeError);
  });
});
