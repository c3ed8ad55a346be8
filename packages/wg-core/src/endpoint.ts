/**
 * Endpoints (whitepaper §2.1 "Cryptokey Routing", roaming): where a peer's datagrams go and came
 * from. An endpoint is `{ address, port }` with an IPv4 dotted quad or an IPv6 address without
 * brackets (docs/architecture.md). The core never opens one; it records the source of the last
 * authenticated packet and derives byte strings from addresses for cookies and rate limiting.
 * Parsing never throws: malformed text yields null.
 */

/** A UDP endpoint. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** True when two endpoints are the same address and port (textual comparison). */
export function sameEndpoint(a: Endpoint | null | undefined, b: Endpoint): boolean {
  return a != null && a.port === b.port && a.address === b.address;
}

function parseIpv4(s: string, out: Uint8Array, off: number): boolean {
  const parts = s.split(".");
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return false;
    const v = Number(p);
    if (v > 255) return false;
    out[off + i] = v;
  }
  return true;
}

/**
 * The 4 (IPv4) or 16 (IPv6) bytes of an address, or null when it is not a valid literal.
 * IPv6 zone suffixes (`%eth0`) are ignored; IPv4-mapped IPv6 stays 16 bytes.
 */
export function addressBytes(address: string): Uint8Array | null {
  if (address.includes(":")) return parseIpv6(address.split("%")[0]!);
  const out = new Uint8Array(4);
  return parseIpv4(address, out, 0) ? out : null;
}

function parseIpv6(s: string): Uint8Array | null {
  const out = new Uint8Array(16);
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (h: string): string[] => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  // An embedded IPv4 address counts as two groups.
  const words: number[] = [];
  const pushGroups = (gs: string[], into: number[]): boolean => {
    for (let i = 0; i < gs.length; i++) {
      const g = gs[i]!;
      if (i === gs.length - 1 && g.includes(".")) {
        const v4 = new Uint8Array(4);
        if (!parseIpv4(g, v4, 0)) return false;
        into.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
        into.push(parseInt(g, 16));
      }
    }
    return true;
  };
  const tailWords: number[] = [];
  if (!pushGroups(head, words) || !pushGroups(tail, tailWords)) return null;
  if (halves.length === 1) {
    if (words.length !== 8) return null;
  } else {
    if (words.length + tailWords.length > 7) return null;
    while (words.length + tailWords.length < 8) words.push(0);
  }
  words.push(...tailWords);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i]! >>> 8;
    out[2 * i + 1] = words[i]! & 0xff;
  }
  return out;
}

/**
 * The bytes that identify an endpoint for cookies (whitepaper §5.4.7, "Am": source IP ‖ port):
 * address bytes followed by the port, little-endian like wireguard-go's netip.AddrPort encoding.
 * Null when the address is not a valid literal.
 */
export function endpointBytes(ep: Endpoint): Uint8Array | null {
  const a = addressBytes(ep.address);
  if (a === null) return null;
  const out = new Uint8Array(a.length + 2);
  out.set(a);
  out[a.length] = ep.port & 0xff;
  out[a.length + 1] = (ep.port >>> 8) & 0xff;
  return out;
}
