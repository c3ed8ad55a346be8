/**
 * Seeded PRNG for tests (mulberry32): the same seed gives the same sequence on every run, so a
 * failure found on random inputs reproduces. Not for keys: the device's real `random` is
 * crypto.randomFillSync.
 */

/** A generator of uniform numbers in [0, 1), from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic random bytes (a {@link RandomSource} for Device/handshake tests): one mulberry32 output per byte. */
export function seededRandom(seed: number): (out: Uint8Array) => void {
  const next = mulberry32(seed);
  return (out) => {
    for (let i = 0; i < out.length; i++) out[i] = (next() * 4294967296) & 0xff;
  };
}
