/**
 * BLAKE2s (RFC 7693) and HMAC-BLAKE2s (RFC 2104, 64-byte blocks), in plain JS for the short inputs
 * of WireGuard's handshake: HASH, MAC and the HMACs of KDFn (whitepaper §5.4) hash 16–180 bytes,
 * where creating a node:crypto Hash/Hmac object costs more than the few compressions themselves
 * (benchmarks/README.md, the simulator scale entry).
 *
 * Initial state: none kept between calls. The block buffer and message words are module scratch,
 * zeroed before each call returns, so no key or input stays behind; outputs are fresh arrays the
 * caller owns (and wipes). Pinned by the BLAKE2 KAT and the Linux blake2s/HMAC self-test vectors
 * (test/vectors.test.ts), cross-checked against node:crypto and @noble/hashes.
 */

/** BLAKE2s IV (RFC 7693 §2.6: the SHA-256 IV). */
const IV = Uint32Array.of(
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
);

// Message schedule σ (RFC 7693 §2.7), as compress() unrolls it (one comment line per round).
/** BLAKE2s block size in bytes. */
const BLOCK = 64;

// Scratch, wiped at the end of every public call (the message words live in compress()'s locals).
const block = new Uint8Array(BLOCK);
const hState = new Uint32Array(8);

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
  let v0 = h[0]! | 0, v1 = h[1]! | 0, v2 = h[2]! | 0, v3 = h[3]! | 0, v4 = h[4]! | 0, v5 = h[5]! | 0, v6 = h[6]! | 0, v7 = h[7]! | 0;
  let v8 = IV[0]! | 0, v9 = IV[1]! | 0, v10 = IV[2]! | 0, v11 = IV[3]! | 0;
  let v12 = IV[4]! ^ bytes; // t0
  let v13 = IV[5]! ^ Math.floor(bytes / 0x1_0000_0000); // t1
  let v14 = last ? ~IV[6]! : IV[6]! | 0; // f0
  let v15 = IV[7]! | 0;
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
 * BLAKE2s of the concatenation of `parts`, keyed when `key` is non-empty (RFC 7693 §3.3).
 * @param outLen digest length, 1–32 bytes
 * @param key 0–32-byte key (not retained)
 */
export function blake2s(parts: readonly Uint8Array[], outLen = 32, key?: Uint8Array): Uint8Array {
  const keyLen = key === undefined ? 0 : key.length;
  if (outLen < 1 || outLen > 32 || keyLen > 32) throw new RangeError("BLAKE2s: output 1-32 bytes, key 0-32 bytes");
  hState.set(IV);
  hState[0] = hState[0]! ^ 0x01010000 ^ (keyLen << 8) ^ outLen; // parameter block: fanout = depth = 1
  let t = 0; // bytes hashed so far
  let fill = 0; // bytes in `block`
  if (keyLen > 0) {
    block.set(key!);
    fill = BLOCK; // the key block, zero padded; compressed once more input (or the end) comes
  }
  for (let j = 0; j < parts.length; j++) {
    const p = parts[j]!;
    let i = 0;
    const n = p.length;
    while (i < n) {
      if (fill === BLOCK) {
        t += BLOCK;
        compress(block, 0, t, false);
        fill = 0;
      }
      // Whole blocks straight from the input, keeping the last byte(s) for the final block.
      if (fill === 0) {
        while (n - i > BLOCK) {
          t += BLOCK;
          compress(p, i, t, false);
          i += BLOCK;
        }
      }
      const end = Math.min(i + BLOCK - fill, n);
      while (i < end) block[fill++] = p[i++]!;
    }
  }
  t += fill;
  block.fill(0, fill);
  compress(block, 0, t, true);
  const out = new Uint8Array(outLen);
  for (let i = 0; i < outLen; i++) out[i] = hState[i >>> 2]! >>> (8 * (i & 3));
  block.fill(0);
  hState.fill(0);
  return out;
}

const ipad = new Uint8Array(BLOCK);
const opad = new Uint8Array(BLOCK);
const innerList: Uint8Array[] = [ipad, ipad];
const outerList: Uint8Array[] = [opad, opad];

/**
 * HMAC-BLAKE2s(key, input) (RFC 2104 with BLAKE2s-256 and 64-byte blocks; a key longer than a
 * block is hashed first), as WireGuard's KDFn use it.
 * @param key HMAC key (32 bytes in WireGuard; not retained)
 */
export function hmacBlake2s(key: Uint8Array, input: Uint8Array): Uint8Array {
  const k = key.length > BLOCK ? blake2s([key]) : key;
  ipad.fill(0x36);
  opad.fill(0x5c);
  for (let i = 0; i < k.length; i++) {
    ipad[i] = ipad[i]! ^ k[i]!;
    opad[i] = opad[i]! ^ k[i]!;
  }
  if (k !== key) k.fill(0);
  innerList[1] = input;
  const inner = blake2s(innerList); // HASH((K ^ ipad) ‖ input)
  innerList[1] = ipad;
  outerList[1] = inner;
  const out = blake2s(outerList); // HASH((K ^ opad) ‖ inner)
  outerList[1] = opad;
  inner.fill(0);
  ipad.fill(0);
  opad.fill(0);
  return out;
}
