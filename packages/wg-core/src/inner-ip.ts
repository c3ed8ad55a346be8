/**
 * Inner IP packets (whitepaper §2, §5.4.6): what the tunnel hands to encapsulate and what a
 * transport message carries. The core reads only the IPv4/IPv6 fixed header: its version nibble
 * and length field (padding is removed by that length). Pure functions; nothing throws, nothing
 * is allocated.
 */

/** True when `p` starts like an IPv4 or IPv6 packet with a complete fixed header. */
export function isIpPacket(p: Uint8Array): boolean {
  if (p.length === 0) return false;
  const v = p[0]! >>> 4;
  return (v === 4 && p.length >= 20) || (v === 6 && p.length >= 40);
}

/**
 * The length of the IP packet at `at` in `p` (`n` bytes valid there) from its header's length
 * field, or −1 when it is not a well-formed IPv4/IPv6 packet that fits.
 */
export function innerLength(p: Uint8Array, n: number, at = 0): number {
  const v = p[at]! >>> 4;
  if (v === 4) {
    if (n < 20) return -1;
    const len = (p[at + 2]! << 8) | p[at + 3]!;
    return len >= 20 && len <= n ? len : -1;
  }
  if (v === 6) {
    if (n < 40) return -1;
    const len = 40 + ((p[at + 4]! << 8) | p[at + 5]!);
    return len <= n ? len : -1;
  }
  return -1;
}
