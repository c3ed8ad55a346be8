/**
 * BLAKE2s (RFC 7693) and HMAC-BLAKE2s (RFC 2104, 64-byte blocks), in plain JS for the short inputs
 * of WireGuard's handshake: HASH, MAC and the HMACs of KDFn (whitepaper §5.4) hash 16–180 bytes,
 * where creating a node:crypto Hash/Hmac object costs more than the few compressions themselves
 * (benchmarks/README.md, the simulator scale entry).
 *
 * Initial state: none kept between calls. The chaining value and the block buffer are module
 * scratch, zeroed before each public call returns, so no key or input stays behind; outputs are
 * fresh arrays the caller owns (and wipes), and so is an {@link hmacKeySchedule} (secret when its
 * key is). Pinned by the BLAKE2 KAT and the Linux blake2s/HMAC self-test vectors
 * (test/vectors.test.ts), cross-checked against node:crypto and @noble/hashes.
 */

// BLAKE2s IV (RFC 7693 §2.6: the SHA-256 IV), as int32 literals so compress() reads no memory.
const IV0 = 0x6a09e667 | 0, IV1 = 0xbb67ae85 | 0, IV2 = 0x3c6ef372 | 0, IV3 = 0xa54ff53a | 0;
const IV4 = 0x510e527f | 0, IV5 = 0x9b05688c | 0, IV6 = 0x1f83d9ab | 0, IV7 = 0x5be0cd19 | 0;

// Message schedule σ (RFC 7693 §2.7), as compress() unrolls it (one comment line per round).
/** BLAKE2s block size in bytes. */
const BLOCK = 64;

// Scratch, wiped at the end of every public call (the message words live in compress()'s locals).
const block = new Uint8Array(BLOCK);
const blockWords = new Int32Array(block.buffer); // the same bytes, to zero 4 at a time
/** The chaining value h[0..7] (int32: no uint32-to-double conversions in compress()). */
const hState = new Int32Array(8);
/** Bytes hashed so far (t) and bytes waiting in {@link block}: the running hash's position. */
let total = 0;
let fill = 0;

/** Little-endian 32-bit word at `off`. */
function word(buf: Uint8Array, off: number): number {
  return buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24);
}

/**
 * F(h, m, t, f) (RFC 7693 §3.2) on {@link hState} with the block in `buf` at `off`: the ten
 * rounds unrolled, each G(a, b, c, d, x, y) (§3.1) on one line pair —
 * a += b + x; d = (d ^ a) >>> 16; c += d; b = (b ^ c) >>> 12; then y with rotations 8 and 7 —
 * columns (0 4 8 12) … (3 7 11 15), then diagonals (0 5 10 15) … (3 4 9 14), message words
 * taken in the round's σ order (listed above compress()).
 * @param bytes bytes hashed so far, this block included (< 2^53)
 * @param last whether this is the final block
 */
function compress(buf: Uint8Array, off: number, bytes: number, last: boolean): void {
  const m0 = word(buf, off + 0);
  const m1 = word(buf, off + 4);
  const m2 = word(buf, off + 8);
  const m3 = word(buf, off + 12);
  const m4 = word(buf, off + 16);
  const m5 = word(buf, off + 20);
  const m6 = word(buf, off + 24);
  const m7 = word(buf, off + 28);
  const m8 = word(buf, off + 32);
  const m9 = word(buf, off + 36);
  const m10 = word(buf, off + 40);
  const m11 = word(buf, off + 44);
  const m12 = word(buf, off + 48);
  const m13 = word(buf, off + 52);
  const m14 = word(buf, off + 56);
  const m15 = word(buf, off + 60);
  const h = hState;
  let v0 = h[0]!, v1 = h[1]!, v2 = h[2]!, v3 = h[3]!, v4 = h[4]!, v5 = h[5]!, v6 = h[6]!, v7 = h[7]!;
  let v8 = IV0, v9 = IV1, v10 = IV2, v11 = IV3;
  let v12 = IV4 ^ bytes; // t0
  let v13 = bytes < 0x1_0000_0000 ? IV5 : IV5 ^ Math.floor(bytes / 0x1_0000_0000); // t1
  let v14 = last ? ~IV6 : IV6; // f0
  let v15 = IV7;
  let t: number;
  // round 0: σ[0] = 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
  v0 = (v0 + v4 + m0) | 0; t = v12 ^ v0; v12 = (t >>> 16) | (t << 16); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 12) | (t << 20);
  v0 = (v0 + v4 + m1) | 0; t = v12 ^ v0; v12 = (t >>> 8) | (t << 24); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 7) | (t << 25);
  v1 = (v1 + v5 + m2) | 0; t = v13 ^ v1; v13 = (t >>> 16) | (t << 16); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 12) | (t << 20);
  v1 = (v1 + v5 + m3) | 0; t = v13 ^ v1; v13 = (t >>> 8) | (t << 24); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 7) | (t << 25);
  v2 = (v2 + v6 + m4) | 0; t = v14 ^ v2; v14 = (t >>> 16) | (t << 16); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 12) | (t << 20);
  v2 = (v2 + v6 + m5) | 0; t = v14 ^ v2; v14 = (t >>> 8) | (t << 24); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 7) | (t << 25);
  v3 = (v3 + v7 + m6) | 0; t = v15 ^ v3; v15 = (t >>> 16) | (t << 16); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 12) | (t << 20);
  v3 = (v3 + v7 + m7) | 0; t = v15 ^ v3; v15 = (t >>> 8) | (t << 24); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 7) | (t << 25);
  v0 = (v0 + v5 + m8) | 0; t = v15 ^ v0; v15 = (t >>> 16) | (t << 16); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 12) | (t << 20);
  v0 = (v0 + v5 + m9) | 0; t = v15 ^ v0; v15 = (t >>> 8) | (t << 24); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 7) | (t << 25);
  v1 = (v1 + v6 + m10) | 0; t = v12 ^ v1; v12 = (t >>> 16) | (t << 16); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 12) | (t << 20);
  v1 = (v1 + v6 + m11) | 0; t = v12 ^ v1; v12 = (t >>> 8) | (t << 24); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 7) | (t << 25);
  v2 = (v2 + v7 + m12) | 0; t = v13 ^ v2; v13 = (t >>> 16) | (t << 16); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 12) | (t << 20);
  v2 = (v2 + v7 + m13) | 0; t = v13 ^ v2; v13 = (t >>> 8) | (t << 24); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 7) | (t << 25);
  v3 = (v3 + v4 + m14) | 0; t = v14 ^ v3; v14 = (t >>> 16) | (t << 16); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 12) | (t << 20);
  v3 = (v3 + v4 + m15) | 0; t = v14 ^ v3; v14 = (t >>> 8) | (t << 24); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 7) | (t << 25);
  // round 1: σ[1] = 14 10 4 8 9 15 13 6 1 12 0 2 11 7 5 3
  v0 = (v0 + v4 + m14) | 0; t = v12 ^ v0; v12 = (t >>> 16) | (t << 16); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 12) | (t << 20);
  v0 = (v0 + v4 + m10) | 0; t = v12 ^ v0; v12 = (t >>> 8) | (t << 24); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 7) | (t << 25);
  v1 = (v1 + v5 + m4) | 0; t = v13 ^ v1; v13 = (t >>> 16) | (t << 16); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 12) | (t << 20);
  v1 = (v1 + v5 + m8) | 0; t = v13 ^ v1; v13 = (t >>> 8) | (t << 24); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 7) | (t << 25);
  v2 = (v2 + v6 + m9) | 0; t = v14 ^ v2; v14 = (t >>> 16) | (t << 16); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 12) | (t << 20);
  v2 = (v2 + v6 + m15) | 0; t = v14 ^ v2; v14 = (t >>> 8) | (t << 24); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 7) | (t << 25);
  v3 = (v3 + v7 + m13) | 0; t = v15 ^ v3; v15 = (t >>> 16) | (t << 16); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 12) | (t << 20);
  v3 = (v3 + v7 + m6) | 0; t = v15 ^ v3; v15 = (t >>> 8) | (t << 24); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 7) | (t << 25);
  v0 = (v0 + v5 + m1) | 0; t = v15 ^ v0; v15 = (t >>> 16) | (t << 16); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 12) | (t << 20);
  v0 = (v0 + v5 + m12) | 0; t = v15 ^ v0; v15 = (t >>> 8) | (t << 24); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 7) | (t << 25);
  v1 = (v1 + v6 + m0) | 0; t = v12 ^ v1; v12 = (t >>> 16) | (t << 16); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 12) | (t << 20);
  v1 = (v1 + v6 + m2) | 0; t = v12 ^ v1; v12 = (t >>> 8) | (t << 24); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 7) | (t << 25);
  v2 = (v2 + v7 + m11) | 0; t = v13 ^ v2; v13 = (t >>> 16) | (t << 16); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 12) | (t << 20);
  v2 = (v2 + v7 + m7) | 0; t = v13 ^ v2; v13 = (t >>> 8) | (t << 24); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 7) | (t << 25);
  v3 = (v3 + v4 + m5) | 0; t = v14 ^ v3; v14 = (t >>> 16) | (t << 16); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 12) | (t << 20);
  v3 = (v3 + v4 + m3) | 0; t = v14 ^ v3; v14 = (t >>> 8) | (t << 24); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 7) | (t << 25);
  // round 2: σ[2] = 11 8 12 0 5 2 15 13 10 14 3 6 7 1 9 4
  v0 = (v0 + v4 + m11) | 0; t = v12 ^ v0; v12 = (t >>> 16) | (t << 16); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 12) | (t << 20);
  v0 = (v0 + v4 + m8) | 0; t = v12 ^ v0; v12 = (t >>> 8) | (t << 24); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 7) | (t << 25);
  v1 = (v1 + v5 + m12) | 0; t = v13 ^ v1; v13 = (t >>> 16) | (t << 16); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 12) | (t << 20);
  v1 = (v1 + v5 + m0) | 0; t = v13 ^ v1; v13 = (t >>> 8) | (t << 24); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 7) | (t << 25);
  v2 = (v2 + v6 + m5) | 0; t = v14 ^ v2; v14 = (t >>> 16) | (t << 16); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 12) | (t << 20);
  v2 = (v2 + v6 + m2) | 0; t = v14 ^ v2; v14 = (t >>> 8) | (t << 24); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 7) | (t << 25);
  v3 = (v3 + v7 + m15) | 0; t = v15 ^ v3; v15 = (t >>> 16) | (t << 16); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 12) | (t << 20);
  v3 = (v3 + v7 + m13) | 0; t = v15 ^ v3; v15 = (t >>> 8) | (t << 24); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 7) | (t << 25);
  v0 = (v0 + v5 + m10) | 0; t = v15 ^ v0; v15 = (t >>> 16) | (t << 16); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 12) | (t << 20);
  v0 = (v0 + v5 + m14) | 0; t = v15 ^ v0; v15 = (t >>> 8) | (t << 24); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 7) | (t << 25);
  v1 = (v1 + v6 + m3) | 0; t = v12 ^ v1; v12 = (t >>> 16) | (t << 16); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 12) | (t << 20);
  v1 = (v1 + v6 + m6) | 0; t = v12 ^ v1; v12 = (t >>> 8) | (t << 24); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 7) | (t << 25);
  v2 = (v2 + v7 + m7) | 0; t = v13 ^ v2; v13 = (t >>> 16) | (t << 16); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 12) | (t << 20);
  v2 = (v2 + v7 + m1) | 0; t = v13 ^ v2; v13 = (t >>> 8) | (t << 24); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 7) | (t << 25);
  v3 = (v3 + v4 + m9) | 0; t = v14 ^ v3; v14 = (t >>> 16) | (t << 16); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 12) | (t << 20);
  v3 = (v3 + v4 + m4) | 0; t = v14 ^ v3; v14 = (t >>> 8) | (t << 24); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 7) | (t << 25);
  // round 3: σ[3] = 7 9 3 1 13 12 11 14 2 6 5 10 4 0 15 8
  v0 = (v0 + v4 + m7) | 0; t = v12 ^ v0; v12 = (t >>> 16) | (t << 16); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 12) | (t << 20);
  v0 = (v0 + v4 + m9) | 0; t = v12 ^ v0; v12 = (t >>> 8) | (t << 24); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 7) | (t << 25);
  v1 = (v1 + v5 + m3) | 0; t = v13 ^ v1; v13 = (t >>> 16) | (t << 16); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 12) | (t << 20);
  v1 = (v1 + v5 + m1) | 0; t = v13 ^ v1; v13 = (t >>> 8) | (t << 24); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 7) | (t << 25);
  v2 = (v2 + v6 + m13) | 0; t = v14 ^ v2; v14 = (t >>> 16) | (t << 16); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 12) | (t << 20);
  v2 = (v2 + v6 + m12) | 0; t = v14 ^ v2; v14 = (t >>> 8) | (t << 24); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 7) | (t << 25);
  v3 = (v3 + v7 + m11) | 0; t = v15 ^ v3; v15 = (t >>> 16) | (t << 16); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 12) | (t << 20);
  v3 = (v3 + v7 + m14) | 0; t = v15 ^ v3; v15 = (t >>> 8) | (t << 24); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 7) | (t << 25);
  v0 = (v0 + v5 + m2) | 0; t = v15 ^ v0; v15 = (t >>> 16) | (t << 16); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 12) | (t << 20);
  v0 = (v0 + v5 + m6) | 0; t = v15 ^ v0; v15 = (t >>> 8) | (t << 24); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 7) | (t << 25);
  v1 = (v1 + v6 + m5) | 0; t = v12 ^ v1; v12 = (t >>> 16) | (t << 16); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 12) | (t << 20);
  v1 = (v1 + v6 + m10) | 0; t = v12 ^ v1; v12 = (t >>> 8) | (t << 24); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 7) | (t << 25);
  v2 = (v2 + v7 + m4) | 0; t = v13 ^ v2; v13 = (t >>> 16) | (t << 16); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 12) | (t << 20);
  v2 = (v2 + v7 + m0) | 0; t = v13 ^ v2; v13 = (t >>> 8) | (t << 24); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 7) | (t << 25);
  v3 = (v3 + v4 + m15) | 0; t = v14 ^ v3; v14 = (t >>> 16) | (t << 16); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 12) | (t << 20);
  v3 = (v3 + v4 + m8) | 0; t = v14 ^ v3; v14 = (t >>> 8) | (t << 24); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 7) | (t << 25);
  // round 4: σ[4] = 9 0 5 7 2 4 10 15 14 1 11 12 6 8 3 13
  v0 = (v0 + v4 + m9) | 0; t = v12 ^ v0; v12 = (t >>> 16) | (t << 16); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 12) | (t << 20);
  v0 = (v0 + v4 + m0) | 0; t = v12 ^ v0; v12 = (t >>> 8) | (t << 24); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 7) | (t << 25);
  v1 = (v1 + v5 + m5) | 0; t = v13 ^ v1; v13 = (t >>> 16) | (t << 16); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 12) | (t << 20);
  v1 = (v1 + v5 + m7) | 0; t = v13 ^ v1; v13 = (t >>> 8) | (t << 24); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 7) | (t << 25);
  v2 = (v2 + v6 + m2) | 0; t = v14 ^ v2; v14 = (t >>> 16) | (t << 16); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 12) | (t << 20);
  v2 = (v2 + v6 + m4) | 0; t = v14 ^ v2; v14 = (t >>> 8) | (t << 24); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 7) | (t << 25);
  v3 = (v3 + v7 + m10) | 0; t = v15 ^ v3; v15 = (t >>> 16) | (t << 16); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 12) | (t << 20);
  v3 = (v3 + v7 + m15) | 0; t = v15 ^ v3; v15 = (t >>> 8) | (t << 24); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 7) | (t << 25);
  v0 = (v0 + v5 + m14) | 0; t = v15 ^ v0; v15 = (t >>> 16) | (t << 16); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 12) | (t << 20);
  v0 = (v0 + v5 + m1) | 0; t = v15 ^ v0; v15 = (t >>> 8) | (t << 24); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 7) | (t << 25);
  v1 = (v1 + v6 + m11) | 0; t = v12 ^ v1; v12 = (t >>> 16) | (t << 16); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 12) | (t << 20);
  v1 = (v1 + v6 + m12) | 0; t = v12 ^ v1; v12 = (t >>> 8) | (t << 24); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 7) | (t << 25);
  v2 = (v2 + v7 + m6) | 0; t = v13 ^ v2; v13 = (t >>> 16) | (t << 16); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 12) | (t << 20);
  v2 = (v2 + v7 + m8) | 0; t = v13 ^ v2; v13 = (t >>> 8) | (t << 24); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 7) | (t << 25);
  v3 = (v3 + v4 + m3) | 0; t = v14 ^ v3; v14 = (t >>> 16) | (t << 16); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 12) | (t << 20);
  v3 = (v3 + v4 + m13) | 0; t = v14 ^ v3; v14 = (t >>> 8) | (t << 24); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 7) | (t << 25);
  // round 5: σ[5] = 2 12 6 10 0 11 8 3 4 13 7 5 15 14 1 9
  v0 = (v0 + v4 + m2) | 0; t = v12 ^ v0; v12 = (t >>> 16) | (t << 16); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 12) | (t << 20);
  v0 = (v0 + v4 + m12) | 0; t = v12 ^ v0; v12 = (t >>> 8) | (t << 24); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 7) | (t << 25);
  v1 = (v1 + v5 + m6) | 0; t = v13 ^ v1; v13 = (t >>> 16) | (t << 16); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 12) | (t << 20);
  v1 = (v1 + v5 + m10) | 0; t = v13 ^ v1; v13 = (t >>> 8) | (t << 24); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 7) | (t << 25);
  v2 = (v2 + v6 + m0) | 0; t = v14 ^ v2; v14 = (t >>> 16) | (t << 16); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 12) | (t << 20);
  v2 = (v2 + v6 + m11) | 0; t = v14 ^ v2; v14 = (t >>> 8) | (t << 24); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 7) | (t << 25);
  v3 = (v3 + v7 + m8) | 0; t = v15 ^ v3; v15 = (t >>> 16) | (t << 16); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 12) | (t << 20);
  v3 = (v3 + v7 + m3) | 0; t = v15 ^ v3; v15 = (t >>> 8) | (t << 24); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 7) | (t << 25);
  v0 = (v0 + v5 + m4) | 0; t = v15 ^ v0; v15 = (t >>> 16) | (t << 16); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 12) | (t << 20);
  v0 = (v0 + v5 + m13) | 0; t = v15 ^ v0; v15 = (t >>> 8) | (t << 24); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 7) | (t << 25);
  v1 = (v1 + v6 + m7) | 0; t = v12 ^ v1; v12 = (t >>> 16) | (t << 16); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 12) | (t << 20);
  v1 = (v1 + v6 + m5) | 0; t = v12 ^ v1; v12 = (t >>> 8) | (t << 24); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 7) | (t << 25);
  v2 = (v2 + v7 + m15) | 0; t = v13 ^ v2; v13 = (t >>> 16) | (t << 16); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 12) | (t << 20);
  v2 = (v2 + v7 + m14) | 0; t = v13 ^ v2; v13 = (t >>> 8) | (t << 24); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 7) | (t << 25);
  v3 = (v3 + v4 + m1) | 0; t = v14 ^ v3; v14 = (t >>> 16) | (t << 16); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 12) | (t << 20);
  v3 = (v3 + v4 + m9) | 0; t = v14 ^ v3; v14 = (t >>> 8) | (t << 24); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 7) | (t << 25);
  // round 6: σ[6] = 12 5 1 15 14 13 4 10 0 7 6 3 9 2 8 11
  v0 = (v0 + v4 + m12) | 0; t = v12 ^ v0; v12 = (t >>> 16) | (t << 16); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 12) | (t << 20);
  v0 = (v0 + v4 + m5) | 0; t = v12 ^ v0; v12 = (t >>> 8) | (t << 24); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 7) | (t << 25);
  v1 = (v1 + v5 + m1) | 0; t = v13 ^ v1; v13 = (t >>> 16) | (t << 16); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 12) | (t << 20);
  v1 = (v1 + v5 + m15) | 0; t = v13 ^ v1; v13 = (t >>> 8) | (t << 24); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 7) | (t << 25);
  v2 = (v2 + v6 + m14) | 0; t = v14 ^ v2; v14 = (t >>> 16) | (t << 16); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 12) | (t << 20);
  v2 = (v2 + v6 + m13) | 0; t = v14 ^ v2; v14 = (t >>> 8) | (t << 24); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 7) | (t << 25);
  v3 = (v3 + v7 + m4) | 0; t = v15 ^ v3; v15 = (t >>> 16) | (t << 16); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 12) | (t << 20);
  v3 = (v3 + v7 + m10) | 0; t = v15 ^ v3; v15 = (t >>> 8) | (t << 24); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 7) | (t << 25);
  v0 = (v0 + v5 + m0) | 0; t = v15 ^ v0; v15 = (t >>> 16) | (t << 16); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 12) | (t << 20);
  v0 = (v0 + v5 + m7) | 0; t = v15 ^ v0; v15 = (t >>> 8) | (t << 24); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 7) | (t << 25);
  v1 = (v1 + v6 + m6) | 0; t = v12 ^ v1; v12 = (t >>> 16) | (t << 16); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 12) | (t << 20);
  v1 = (v1 + v6 + m3) | 0; t = v12 ^ v1; v12 = (t >>> 8) | (t << 24); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 7) | (t << 25);
  v2 = (v2 + v7 + m9) | 0; t = v13 ^ v2; v13 = (t >>> 16) | (t << 16); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 12) | (t << 20);
  v2 = (v2 + v7 + m2) | 0; t = v13 ^ v2; v13 = (t >>> 8) | (t << 24); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 7) | (t << 25);
  v3 = (v3 + v4 + m8) | 0; t = v14 ^ v3; v14 = (t >>> 16) | (t << 16); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 12) | (t << 20);
  v3 = (v3 + v4 + m11) | 0; t = v14 ^ v3; v14 = (t >>> 8) | (t << 24); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 7) | (t << 25);
  // round 7: σ[7] = 13 11 7 14 12 1 3 9 5 0 15 4 8 6 2 10
  v0 = (v0 + v4 + m13) | 0; t = v12 ^ v0; v12 = (t >>> 16) | (t << 16); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 12) | (t << 20);
  v0 = (v0 + v4 + m11) | 0; t = v12 ^ v0; v12 = (t >>> 8) | (t << 24); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 7) | (t << 25);
  v1 = (v1 + v5 + m7) | 0; t = v13 ^ v1; v13 = (t >>> 16) | (t << 16); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 12) | (t << 20);
  v1 = (v1 + v5 + m14) | 0; t = v13 ^ v1; v13 = (t >>> 8) | (t << 24); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 7) | (t << 25);
  v2 = (v2 + v6 + m12) | 0; t = v14 ^ v2; v14 = (t >>> 16) | (t << 16); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 12) | (t << 20);
  v2 = (v2 + v6 + m1) | 0; t = v14 ^ v2; v14 = (t >>> 8) | (t << 24); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 7) | (t << 25);
  v3 = (v3 + v7 + m3) | 0; t = v15 ^ v3; v15 = (t >>> 16) | (t << 16); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 12) | (t << 20);
  v3 = (v3 + v7 + m9) | 0; t = v15 ^ v3; v15 = (t >>> 8) | (t << 24); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 7) | (t << 25);
  v0 = (v0 + v5 + m5) | 0; t = v15 ^ v0; v15 = (t >>> 16) | (t << 16); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 12) | (t << 20);
  v0 = (v0 + v5 + m0) | 0; t = v15 ^ v0; v15 = (t >>> 8) | (t << 24); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 7) | (t << 25);
  v1 = (v1 + v6 + m15) | 0; t = v12 ^ v1; v12 = (t >>> 16) | (t << 16); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 12) | (t << 20);
  v1 = (v1 + v6 + m4) | 0; t = v12 ^ v1; v12 = (t >>> 8) | (t << 24); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 7) | (t << 25);
  v2 = (v2 + v7 + m8) | 0; t = v13 ^ v2; v13 = (t >>> 16) | (t << 16); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 12) | (t << 20);
  v2 = (v2 + v7 + m6) | 0; t = v13 ^ v2; v13 = (t >>> 8) | (t << 24); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 7) | (t << 25);
  v3 = (v3 + v4 + m2) | 0; t = v14 ^ v3; v14 = (t >>> 16) | (t << 16); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 12) | (t << 20);
  v3 = (v3 + v4 + m10) | 0; t = v14 ^ v3; v14 = (t >>> 8) | (t << 24); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 7) | (t << 25);
  // round 8: σ[8] = 6 15 14 9 11 3 0 8 12 2 13 7 1 4 10 5
  v0 = (v0 + v4 + m6) | 0; t = v12 ^ v0; v12 = (t >>> 16) | (t << 16); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 12) | (t << 20);
  v0 = (v0 + v4 + m15) | 0; t = v12 ^ v0; v12 = (t >>> 8) | (t << 24); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 7) | (t << 25);
  v1 = (v1 + v5 + m14) | 0; t = v13 ^ v1; v13 = (t >>> 16) | (t << 16); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 12) | (t << 20);
  v1 = (v1 + v5 + m9) | 0; t = v13 ^ v1; v13 = (t >>> 8) | (t << 24); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 7) | (t << 25);
  v2 = (v2 + v6 + m11) | 0; t = v14 ^ v2; v14 = (t >>> 16) | (t << 16); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 12) | (t << 20);
  v2 = (v2 + v6 + m3) | 0; t = v14 ^ v2; v14 = (t >>> 8) | (t << 24); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 7) | (t << 25);
  v3 = (v3 + v7 + m0) | 0; t = v15 ^ v3; v15 = (t >>> 16) | (t << 16); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 12) | (t << 20);
  v3 = (v3 + v7 + m8) | 0; t = v15 ^ v3; v15 = (t >>> 8) | (t << 24); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 7) | (t << 25);
  v0 = (v0 + v5 + m12) | 0; t = v15 ^ v0; v15 = (t >>> 16) | (t << 16); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 12) | (t << 20);
  v0 = (v0 + v5 + m2) | 0; t = v15 ^ v0; v15 = (t >>> 8) | (t << 24); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 7) | (t << 25);
  v1 = (v1 + v6 + m13) | 0; t = v12 ^ v1; v12 = (t >>> 16) | (t << 16); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 12) | (t << 20);
  v1 = (v1 + v6 + m7) | 0; t = v12 ^ v1; v12 = (t >>> 8) | (t << 24); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 7) | (t << 25);
  v2 = (v2 + v7 + m1) | 0; t = v13 ^ v2; v13 = (t >>> 16) | (t << 16); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 12) | (t << 20);
  v2 = (v2 + v7 + m4) | 0; t = v13 ^ v2; v13 = (t >>> 8) | (t << 24); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 7) | (t << 25);
  v3 = (v3 + v4 + m10) | 0; t = v14 ^ v3; v14 = (t >>> 16) | (t << 16); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 12) | (t << 20);
  v3 = (v3 + v4 + m5) | 0; t = v14 ^ v3; v14 = (t >>> 8) | (t << 24); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 7) | (t << 25);
  // round 9: σ[9] = 10 2 8 4 7 6 1 5 15 11 9 14 3 12 13 0
  v0 = (v0 + v4 + m10) | 0; t = v12 ^ v0; v12 = (t >>> 16) | (t << 16); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 12) | (t << 20);
  v0 = (v0 + v4 + m2) | 0; t = v12 ^ v0; v12 = (t >>> 8) | (t << 24); v8 = (v8 + v12) | 0; t = v4 ^ v8; v4 = (t >>> 7) | (t << 25);
  v1 = (v1 + v5 + m8) | 0; t = v13 ^ v1; v13 = (t >>> 16) | (t << 16); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 12) | (t << 20);
  v1 = (v1 + v5 + m4) | 0; t = v13 ^ v1; v13 = (t >>> 8) | (t << 24); v9 = (v9 + v13) | 0; t = v5 ^ v9; v5 = (t >>> 7) | (t << 25);
  v2 = (v2 + v6 + m7) | 0; t = v14 ^ v2; v14 = (t >>> 16) | (t << 16); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 12) | (t << 20);
  v2 = (v2 + v6 + m6) | 0; t = v14 ^ v2; v14 = (t >>> 8) | (t << 24); v10 = (v10 + v14) | 0; t = v6 ^ v10; v6 = (t >>> 7) | (t << 25);
  v3 = (v3 + v7 + m1) | 0; t = v15 ^ v3; v15 = (t >>> 16) | (t << 16); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 12) | (t << 20);
  v3 = (v3 + v7 + m5) | 0; t = v15 ^ v3; v15 = (t >>> 8) | (t << 24); v11 = (v11 + v15) | 0; t = v7 ^ v11; v7 = (t >>> 7) | (t << 25);
  v0 = (v0 + v5 + m15) | 0; t = v15 ^ v0; v15 = (t >>> 16) | (t << 16); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 12) | (t << 20);
  v0 = (v0 + v5 + m11) | 0; t = v15 ^ v0; v15 = (t >>> 8) | (t << 24); v10 = (v10 + v15) | 0; t = v5 ^ v10; v5 = (t >>> 7) | (t << 25);
  v1 = (v1 + v6 + m9) | 0; t = v12 ^ v1; v12 = (t >>> 16) | (t << 16); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 12) | (t << 20);
  v1 = (v1 + v6 + m14) | 0; t = v12 ^ v1; v12 = (t >>> 8) | (t << 24); v11 = (v11 + v12) | 0; t = v6 ^ v11; v6 = (t >>> 7) | (t << 25);
  v2 = (v2 + v7 + m3) | 0; t = v13 ^ v2; v13 = (t >>> 16) | (t << 16); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 12) | (t << 20);
  v2 = (v2 + v7 + m12) | 0; t = v13 ^ v2; v13 = (t >>> 8) | (t << 24); v8 = (v8 + v13) | 0; t = v7 ^ v8; v7 = (t >>> 7) | (t << 25);
  v3 = (v3 + v4 + m13) | 0; t = v14 ^ v3; v14 = (t >>> 16) | (t << 16); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 12) | (t << 20);
  v3 = (v3 + v4 + m0) | 0; t = v14 ^ v3; v14 = (t >>> 8) | (t << 24); v9 = (v9 + v14) | 0; t = v4 ^ v9; v4 = (t >>> 7) | (t << 25);
  // h[i] ^= v[i] ^ v[i + 8]
  h[0] = h[0]! ^ v0 ^ v8;
  h[1] = h[1]! ^ v1 ^ v9;
  h[2] = h[2]! ^ v2 ^ v10;
  h[3] = h[3]! ^ v3 ^ v11;
  h[4] = h[4]! ^ v4 ^ v12;
  h[5] = h[5]! ^ v5 ^ v13;
  h[6] = h[6]! ^ v6 ^ v14;
  h[7] = h[7]! ^ v7 ^ v15;
}

/**
 * Starts a hash: h := IV ^ parameter block (RFC 7693 §2.5: digest length, key length,
 * fanout = depth = 1), nothing hashed yet.
 */
function start(outLen: number, keyLen: number): void {
  const h = hState;
  h[0] = IV0 ^ 0x01010000 ^ (keyLen << 8) ^ outLen;
  h[1] = IV1;
  h[2] = IV2;
  h[3] = IV3;
  h[4] = IV4;
  h[5] = IV5;
  h[6] = IV6;
  h[7] = IV7;
  total = 0;
  fill = 0;
}

/**
 * Absorbs `p`. A full {@link block} is compressed only once more input comes, so that the last
 * block is compressed by {@link finish} with the final flag; whole blocks are compressed straight
 * from `p`.
 */
function update(p: Uint8Array): void {
  let t = total;
  let f = fill;
  let i = 0;
  const n = p.length;
  while (i < n) {
    if (f === BLOCK) {
      t += BLOCK;
      compress(block, 0, t, false);
      f = 0;
    }
    // Whole blocks straight from the input, keeping the last byte(s) for the final block.
    if (f === 0) {
      while (n - i > BLOCK) {
        t += BLOCK;
        compress(p, i, t, false);
        i += BLOCK;
      }
    }
    const end = Math.min(i + BLOCK - f, n);
    while (i < end) block[f++] = p[i++]!;
  }
  total = t;
  fill = f;
}

/** Compresses the final block, zero padded (RFC 7693 §3.3); the digest is then in {@link hState}. */
function finish(): void {
  total += fill;
  while (fill < BLOCK) block[fill++] = 0;
  compress(block, 0, total, true);
}

/** The first `outLen` bytes of h (little-endian words), as a fresh array. */
function digest(outLen: number): Uint8Array {
  const out = new Uint8Array(outLen);
  for (let i = 0; i < outLen; i++) out[i] = hState[i >>> 2]! >>> (8 * (i & 3));
  return out;
}

/** Zeroes the scratch: block and chaining value. */
function wipeScratch(): void {
  const w = blockWords;
  for (let i = 0; i < 16; i++) w[i] = 0;
  const h = hState;
  for (let i = 0; i < 8; i++) h[i] = 0;
}

/**
 * BLAKE2s of the concatenation of `parts`, keyed when `key` is non-empty (RFC 7693 §3.3).
 * @param outLen digest length, 1–32 bytes
 * @param key 0–32-byte key (not retained)
 */
export function blake2s(parts: readonly Uint8Array[], outLen = 32, key?: Uint8Array): Uint8Array {
  const keyLen = key === undefined ? 0 : key.length;
  if (outLen < 1 || outLen > 32 || keyLen > 32) throw new RangeError("BLAKE2s: output 1-32 bytes, key 0-32 bytes");
  start(outLen, keyLen);
  if (keyLen > 0) {
    block.set(key!);
    fill = BLOCK; // the key block, zero padded; compressed once more input (or the end) comes
  }
  for (let j = 0; j < parts.length; j++) update(parts[j]!);
  finish();
  const out = digest(outLen);
  wipeScratch();
  return out;
}

/** BLAKE2s-256 of `a ‖ b`: {@link blake2s} without the parts array, for HASH(H ‖ x). */
export function blake2s256(a: Uint8Array, b?: Uint8Array): Uint8Array {
  start(32, 0);
  update(a);
  if (b !== undefined) update(b);
  finish();
  const out = digest(32);
  wipeScratch();
  return out;
}

/** Size of an {@link hmacKeySchedule} in 32-bit words. */
export const HMAC_SCHEDULE_WORDS = 16;

/**
 * Fills {@link block} with `key ^ pad` (RFC 2104: the key zero padded to the 64-byte block,
 * XORed with ipad 0x36 or opad 0x5c), `key` at most 64 bytes; the block is then full.
 */
function padBlock(key: Uint8Array, pad: number): void {
  let i = 0;
  for (; i < key.length; i++) block[i] = key[i]! ^ pad;
  for (; i < BLOCK; i++) block[i] = pad;
  fill = BLOCK;
}

/** A key longer than a block is hashed first (RFC 2104 §2); the result is the caller's to wipe. */
function hmacKeyBytes(key: Uint8Array): Uint8Array {
  return key.length > BLOCK ? blake2s([key]) : key;
}

/**
 * The HMAC-BLAKE2s key schedule (RFC 2104 with 64-byte blocks): the BLAKE2s chaining values after
 * compressing the block K ^ ipad (words 0–7) and the block K ^ opad (words 8–15). Each HMAC under
 * the key then costs only the compressions of its input and of the inner digest
 * ({@link hmacWithSchedule}): two fewer per use, for a key used more than once (τ0 in KDF2/KDF3,
 * a constant chaining key). As secret as the key: the owner wipes it (`fill(0)`).
 * @param out where to write it (16 words); a fresh array by default
 */
export function hmacKeySchedule(key: Uint8Array, out: Int32Array = new Int32Array(HMAC_SCHEDULE_WORDS)): Int32Array {
  const k = hmacKeyBytes(key);
  for (let half = 0; half < 2; half++) {
    start(32, 0);
    padBlock(k, half === 0 ? 0x36 : 0x5c);
    compress(block, 0, BLOCK, false); // not the final block: the message follows
    for (let i = 0; i < 8; i++) out[8 * half + i] = hState[i]!;
  }
  if (k !== key) k.fill(0);
  wipeScratch();
  return out;
}

/**
 * The outer hash's final block, HASH((K ^ opad) ‖ inner) after its pad block: the inner digest,
 * still in {@link hState}, becomes the block, then h := `opad` state (8 words at `off`) absorbs
 * it; leaves the HMAC in {@link hState}.
 */
function outerFinal(opad: Int32Array, off: number): void {
  for (let i = 0; i < 32; i++) block[i] = hState[i >>> 2]! >>> (8 * (i & 3));
  for (let i = 8; i < 16; i++) blockWords[i] = 0;
  for (let i = 0; i < 8; i++) hState[i] = opad[off + i]!;
  compress(block, 0, BLOCK + 32, true);
}

/**
 * HMAC-BLAKE2s(K, a ‖ b) from K's {@link hmacKeySchedule}; equal to {@link hmacBlake2s}(K, a ‖ b).
 * The message must not be empty: HMAC(K, ε)'s inner hash ends on the ipad block itself, which the
 * schedule has already compressed as a non-final block (use {@link hmacBlake2s} for it).
 */
export function hmacWithSchedule(schedule: Int32Array, a: Uint8Array, b?: Uint8Array): Uint8Array {
  if (a.length + (b === undefined ? 0 : b.length) === 0) throw new RangeError("HMAC from a key schedule: empty message");
  for (let i = 0; i < 8; i++) hState[i] = schedule[i]!;
  total = BLOCK;
  fill = 0;
  update(a); // inner := HASH((K ^ ipad) ‖ a ‖ b), resumed after the ipad block
  if (b !== undefined) update(b);
  finish();
  outerFinal(schedule, 8);
  const out = digest(32);
  wipeScratch();
  return out;
}

/** The opad state of a one-shot {@link hmacBlake2s}, module scratch wiped with the rest. */
const opadState = new Int32Array(8);

/**
 * HMAC-BLAKE2s(key, input) (RFC 2104 with BLAKE2s-256 and 64-byte blocks; a key longer than a
 * block is hashed first), as WireGuard's KDFn use it.
 * @param key HMAC key (32 bytes in WireGuard; not retained)
 */
export function hmacBlake2s(key: Uint8Array, input: Uint8Array): Uint8Array {
  const k = hmacKeyBytes(key);
  // The opad block first: HASH((K ^ opad) ‖ …) resumes from it below.
  start(32, 0);
  padBlock(k, 0x5c);
  compress(block, 0, BLOCK, false);
  for (let i = 0; i < 8; i++) opadState[i] = hState[i]!;
  // inner := HASH((K ^ ipad) ‖ input); the pad block is compressed once input (or the end) comes
  start(32, 0);
  padBlock(k, 0x36);
  update(input);
  finish();
  if (k !== key) k.fill(0);
  outerFinal(opadState, 0); // HASH((K ^ opad) ‖ inner)
  const out = digest(32);
  for (let i = 0; i < 8; i++) opadState[i] = 0;
  wipeScratch();
  return out;
}
