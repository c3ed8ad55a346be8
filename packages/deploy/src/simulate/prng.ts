/**
 * The simulator's only source of randomness: sfc32 (Chris Doty-Humphrey's Small Fast Counter), seeded
 * with a 32-bit seed and a stream name, so every consumer (each Device, the network, the traffic)
 * draws from its own stream and adding a consumer does not shift the others. The same seed gives the
 * same numbers on every run and machine. Not cryptographically secure: it makes simulated keys,
 * indexes and ephemerals reproducible, nothing else.
 */

/** A seeded stream of numbers. */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** @param seed any integer; @param stream a name that separates independent streams of one seed */
  constructor(seed: number, stream: string) {
    // Mix the stream name into the seed (FNV-1a), then let sfc32 run a few rounds.
    let h = 0x811c9dc5 ^ (seed >>> 0);
    for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 0x01000193);
    this.#a = 0x9e3779b9;
    this.#b = seed >>> 0;
    this.#c = h >>> 0;
    this.#d = 1;
    for (let i = 0; i < 16; i++) this.u32();
  }

  /** A uniform unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A uniform number in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** True with probability `p`. Draws nothing when p is 0, so a lossless link leaves the stream alone. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** An exponentially distributed value of mean `mean` (Poisson arrivals). */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Fills `out` (a wg-core `RandomSource`). */
  fill(out: Uint8Array): void {
    let i = 0;
    for (; i + 4 <= out.length; i += 4) {
      const v = this.u32();
      out[i] = v & 0xff;
      out[i + 1] = (v >>> 8) & 0xff;
      out[i + 2] = (v >>> 16) & 0xff;
      out[i + 3] = v >>> 24;
    }
    if (i < out.length) {
      const v = this.u32();
      for (let k = 0; i < out.length; i++, k += 8) out[i] = (v >>> k) & 0xff;
    }
  }
}
