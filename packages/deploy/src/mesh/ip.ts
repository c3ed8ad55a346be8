/**
 * IP addresses and prefixes as written in WireGuard configs (`10.1.0.1/16`, `fd00::1/64`, `10.0.0.2`).
 *
 * A written prefix keeps its host bits (wg-quick and wg(8) accept `10.1.0.1/16` and mask it); the
 * {@link Prefix.network} is the masked form used to compare prefixes. Pure functions, no I/O.
 */
import { isIP } from "node:net";

/** One parsed `address[/length]`. */
export interface Prefix {
  /** 4 or 6 */
  family: 4 | 6;
  /** the address as written, without the length */
  address: string;
  /** prefix length; a bare address gets the host length (32 or 128) */
  length: number;
  /** the address as an unsigned integer (32 or 128 bits) */
  value: bigint;
  /** the value with the host bits cleared */
  network: bigint;
  /** true when no `/length` was written */
  bare: boolean;
}

function ipv4ToBigInt(address: string): bigint {
  return address.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function ipv6ToBigInt(address: string): bigint {
  let text = address;
  // an embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1] !== undefined) {
    const n = ipv4ToBigInt(v4[1]);
    text = `${text.slice(0, v4.index)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const headParts = head === "" ? [] : head.split(":");
  const tailParts = tail === undefined || tail === "" ? [] : tail.split(":");
  const missing = 8 - headParts.length - tailParts.length;
  const parts = [...headParts, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...tailParts];
  return parts.reduce((acc, part) => (acc << 16n) | BigInt(parseInt(part, 16)), 0n);
}

/**
 * Parses `address` or `address/length`.
 * @returns the prefix, or a reason (without echoing anything secret: addresses are not secret)
 */
export function parsePrefix(text: string): Prefix | { error: string } {
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  const lengthText = slash < 0 ? undefined : text.slice(slash + 1);
  const family = isIP(address);
  if (family !== 4 && family !== 6) return { error: `"${text}" is not an IPv4 or IPv6 address` };
  const bits = family === 4 ? 32 : 128;
  let length = bits;
  if (lengthText !== undefined) {
    if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > bits) {
      return { error: `"${text}" has a bad prefix length (0-${bits} for IPv${family})` };
    }
    length = Number(lengthText);
  }
  const value = family === 4 ? ipv4ToBigInt(address) : ipv6ToBigInt(address);
  const hostBits = BigInt(bits - length);
  const network = (value >> hostBits) << hostBits;
  return { family, address, length, value, network, bare: lengthText === undefined };
}

/** `address/length` with the host bits cleared, as a comparable key ("4:167837696/16"). */
export function networkKey(prefix: Prefix): string {
  return `${prefix.family}:${prefix.network}/${prefix.length}`;
}

/** The single-host prefix of an address: `10.1.0.1/16` -> `10.1.0.1/32`. */
export function hostPrefix(prefix: Prefix): string {
  return `${prefix.address}/${prefix.family === 4 ? 32 : 128}`;
}
