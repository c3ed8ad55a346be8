/**
 * The receive-side half of cryptokey routing (whitepaper §2) for the rx worker: a decrypted packet
 * is accepted only if its inner source address lies in one of the sending peer's allowed-IPs
 * prefixes. A linear scan over ≤ 32 prefixes (the single-peer fast path); wg-core's trie does the
 * same job for the slow path.
 */
export interface Prefix {
  family: number;
  bits: number;
  /** Network address, host bits zero (4 or 16 significant bytes). */
  bytes: Uint8Array;
}

/** Whether the IP packet at p[off..] (IPv4 or IPv6 by `v6`) has its source inside one of `allowed`. */
export function sourceAllowed(allowed: readonly Prefix[], p: Uint8Array, off: number, v6: boolean): boolean {
  const src = off + (v6 ? 8 : 12);
  const family = v6 ? 6 : 4;
  outer: for (const a of allowed) {
    if (a.family !== family) continue;
    let bits = a.bits;
    for (let i = 0; bits > 0; i++, bits -= 8) {
      const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
      if ((p[src + i]! & mask) !== a.bytes[i]) continue outer;
    }
    return true;
  }
  return false;
}
