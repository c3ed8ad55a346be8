/**
 * IP addresses and prefixes as written in WireGuard configs (`10.1.0.1/16`, `fd00::1/64`, `10.0.0.2`).
 *
 * A written prefix keeps its host bits (wg-quick and wg(8) accept `10.1.0.1/16` and mask it); the
 * {@link Prefix.network} is the masked form used to compare prefixes. Pure functions, no I/O. The text is
 * parsed by wg-core (`parseIpPrefix`), so the mesh accepts exactly the addresses wg-ts routes.
 */
import { CidrFormatError, parseIpPrefix } from "@wg-ts/core";

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

/**
 * Parses `address` or `address/length` (wg-core's {@link parseIpPrefix}, the parser the routing table uses).
 * @returns the prefix, or a reason (without echoing anything secret: addresses are not secret)
 */
export function parsePrefix(text: string): Prefix | { error: string } {
  try {
    const parsed = parseIpPrefix(text);
    const value = parsed.address.reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
    const hostBits = BigInt(parsed.address.length * 8 - parsed.bits);
    const network = (value >> hostBits) << hostBits;
    const address = parsed.lengthWritten ? text.slice(0, text.indexOf("/")) : text;
    return { family: parsed.family, address, length: parsed.bits, value, network, bare: !parsed.lengthWritten };
  } catch (e) {
    if (!(e instanceof CidrFormatError)) throw e;
    if (e.problem === "address") return { error: `"${text}" is not an IPv4 or IPv6 address` };
    return { error: `"${text}" has a bad prefix length (0-${e.family === 4 ? 32 : 128} for IPv${e.family})` };
  }
}

/** `address/length` with the host bits cleared, as a comparable key ("4:167837696/16"). */
export function networkKey(prefix: Prefix): string {
  return `${prefix.family}:${prefix.network}/${prefix.length}`;
}

/** The single-host prefix of an address: `10.1.0.1/16` -> `10.1.0.1/32`. */
export function hostPrefix(prefix: Prefix): string {
  return `${prefix.address}/${prefix.family === 4 ? 32 : 128}`;
}
