/**
 * TAI64N timestamps for handshake initiations (whitepaper §5.1 and §5.4.2: the responder rejects an
 * initiation whose timestamp is not greater than the last one it accepted from that peer — replay
 * protection for the first message).
 *
 * Layout (https://cr.yp.to/libtai/tai64.html): 8-byte big-endian label 2^62 + 10 + Unix seconds, then a
 * 4-byte big-endian nanosecond count. Like wireguard-go `tai64n/tai64n.go` (base 0x400000000000000a,
 * `whitenerMask = 0x1000000 - 1`) and the kernel's `tai64n_now`, the nanoseconds are rounded down to a
 * multiple of 2^24 ns (≈16.8 ms) so the timestamp does not leak a fine-grained clock.
 * Pure: the caller passes `nowMs` (milliseconds since the Unix epoch, see docs/architecture.md).
 */

/** Byte length of a TAI64N timestamp. */
export const TAI64N_LENGTH = 12;

const TWO_32 = 0x1_0000_0000;
/** 2^62 + 10 (TAI − UTC in 1972), the label of the Unix epoch; high word 0x40000000, low word 10. */
const BASE_HI = 0x4000_0000;
const BASE_LO = 10;
const WHITENER_MASK = 0x0100_0000 - 1;

/**
 * The whitened TAI64N timestamp of `nowMs`.
 * @param nowMs milliseconds since the Unix epoch (may be fractional)
 * @returns 12-byte timestamp
 */
export function tai64n(nowMs: number): Uint8Array {
  const out = new Uint8Array(TAI64N_LENGTH);
  const secs = Math.floor(nowMs / 1000);
  let nanos = Math.floor((nowMs - secs * 1000) * 1e6);
  if (!(nanos >= 0)) nanos = 0;
  if (nanos > 999_999_999) nanos = 999_999_999;
  nanos = (nanos & ~WHITENER_MASK) >>> 0;
  const lo = BASE_LO + secs;
  const view = new DataView(out.buffer);
  view.setUint32(0, BASE_HI + Math.floor(lo / TWO_32));
  view.setUint32(4, ((lo % TWO_32) + TWO_32) % TWO_32);
  view.setUint32(8, nanos);
  return out;
}

/**
 * Orders two timestamps (bytewise big-endian, as wireguard-go `Timestamp.After`).
 * @param a 12-byte timestamp
 * @param b 12-byte timestamp
 * @returns negative if a < b, 0 if equal, positive if a > b
 */
export function compareTai64n(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
