/**
 * The Internet checksum (RFC 1071): a one's-complement sum of big-endian 16-bit words, folded and
 * complemented. What TSO segmentation (gso.ts) and GRO coalescing (gro.ts) write into IPv4 and TCP
 * headers.
 *
 * Long ranges are summed 32 bits at a time in the host's order, each word's two 16-bit halves in
 * their own small-integer accumulators (JS bitwise operators work on int32; the halves never leave
 * the small-integer range for a range of 64 KiB): a one's-complement sum is independent of byte
 * order up to a byte swap of the result (RFC 1071 section 2 (B)), so the folded sum of
 * little-endian words, swapped, equals the big-endian sum. 2.5–3× faster than a byte loop on a
 * 1400-byte segment (benchmarks/README.md section 14).
 */

/** True on a little-endian host (x86-64, arm64): the word loop below assumes it. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Below this many bytes the byte loop is as fast as making a word view. */
const WORDS_FROM = 64;

/**
 * The 32-bit view sum16 reads an array through, with the array's byte offset, kept for the last
 * two arrays summed (TSO: the segment buffer; GRO: its own buffer): a view per call, with the
 * `buffer` and `byteOffset` reads it needs, cost a few per cent of a worker's time (benchmarks/README.md
 * section 16). The view covers the array from its byte offset rounded down to 4.
 */
interface WordView {
  array: Uint8Array | null;
  byteOffset: number;
  /** Byte offset in the array's buffer where `words` starts. */
  base: number;
  words: Int32Array;
}
const views: [WordView, WordView] = [
  { array: null, byteOffset: 0, base: 0, words: new Int32Array(0) },
  { array: null, byteOffset: 0, base: 0, words: new Int32Array(0) },
];

function wordView(b: Uint8Array): WordView {
  if (views[0].array === b) return views[0];
  const v = views[1];
  if (v.array !== b) {
    v.array = b;
    v.byteOffset = b.byteOffset;
    v.base = v.byteOffset & ~3;
    v.words = new Int32Array(b.buffer, v.base, (v.byteOffset + b.length - v.base) >>> 2);
  }
  views[1] = views[0];
  views[0] = v;
  return v;
}

/** Folds a non-negative sum (any size a double holds exactly) to 16 bits, end-around carry. */
function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/** One's-complement sum of b[start..end) as big-endian 16-bit words, added to `sum` (not folded). */
export function sum16(b: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  if (LITTLE_ENDIAN && end - i >= WORDS_FROM) {
    const v = wordView(b);
    if (((v.byteOffset + i) & 3) === 2) {
      sum += (b[i]! << 8) | b[i + 1]!;
      i += 2;
    }
    if (((v.byteOffset + i) & 3) === 0) {
      const n = (end - i) >>> 2;
      const w = v.words;
      let lo = 0;
      let hi = 0;
      let k = (v.byteOffset + i - v.base) >>> 2;
      const last = k + n;
      for (; k + 1 < last; k += 2) {
        const x = w[k]!;
        const y = w[k + 1]!;
        lo += (x & 0xffff) + (y & 0xffff);
        hi += (x >>> 16) + (y >>> 16);
      }
      if (k < last) {
        const x = w[k]!;
        lo += x & 0xffff;
        hi += x >>> 16;
      }
      const s = fold(lo + hi); // little-endian words: swap the bytes of the folded sum
      sum += ((s & 0xff) << 8) | (s >>> 8);
      i += n << 2;
    }
  }
  // Sums of 16-bit words fit easily in a double; fold only at the end.
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  return sum;
}

/** Folds a sum to 16 bits and complements it (the Internet checksum, RFC 1071). */
export function finish(sum: number): number {
  return ~fold(sum) & 0xffff;
}

/**
 * Sums consecutive ranges of `b`: out[i] = the one's-complement sum of b[start + i·step, min(start +
 * (i+1)·step, end)) as big-endian 16-bit words, folded to 16 bits (not complemented), for at most
 * `out.length` ranges; returns how many. The shape of the native addon's `sum16Ranges`
 * (native/src/csum.c), which TSO segmentation uses where it loads: one call per super-packet.
 */
export type SumRanges = (b: Uint8Array, start: number, end: number, step: number, out: Float64Array) => number;

/** {@link SumRanges} in TypeScript ({@link sum16} per range): the fallback where the addon does not load. */
export const sum16Ranges: SumRanges = (b, start, end, step, out) => {
  let k = 0;
  for (let s = start; s < end && k < out.length; s += step, k++) out[k] = fold(sum16(b, s, Math.min(s + step, end)));
  return k;
};
