/**
 * IPv4 arithmetic for the topology model: pick host addresses, test containment, size subnets.
 * Addresses are handled as unsigned 32-bit numbers. The text is parsed by wg-core (`parseIpAddress`,
 * `parseIpPrefix`); the functions here add the topology's rules (IPv4 only, a CIDR needs its
 * length and no host bits) and throw a clear error on bad input.
 */
import { CidrFormatError, parseIpAddress, parseIpPrefix, type IpPrefix } from "@wg-ts/core";

/** A parsed IPv4 prefix. */
export interface Ipv4Prefix {
  /** Network address as an unsigned 32-bit integer (host bits zero). */
  readonly network: number;
  readonly length: number;
}

/** 4 bytes, most significant first, as an unsigned 32-bit integer. */
function toUint32(bytes: Uint8Array): number {
  return bytes.reduce((acc, byte) => acc * 256 + byte, 0);
}

/** Parses "a.b.c.d" into an unsigned 32-bit integer. */
export function parseIpv4(text: string): number {
  let bytes: Uint8Array | undefined;
  try {
    bytes = parseIpAddress(text);
  } catch (e) {
    if (!(e instanceof CidrFormatError)) throw e;
  }
  if (bytes?.length !== 4) throw new Error(`invalid IPv4 address "${text}"`);
  return toUint32(bytes);
}

/** Formats an unsigned 32-bit integer as "a.b.c.d". */
export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Parses "a.b.c.d/n"; the host bits must be zero. */
export function parseCidr(text: string): Ipv4Prefix {
  let prefix: IpPrefix;
  try {
    prefix = parseIpPrefix(text);
  } catch (e) {
    if (!(e instanceof CidrFormatError)) throw e;
    throw new Error(e.family === 4 ? `invalid IPv4 CIDR ${e.message}` : `invalid IPv4 CIDR "${text}"`);
  }
  if (prefix.family !== 4) throw new Error(`invalid IPv4 CIDR "${text}"`);
  if (!prefix.lengthWritten) throw new Error(`invalid IPv4 CIDR "${text}": the prefix length is missing (write ${text}/32 for one address)`);
  const address = toUint32(prefix.address);
  const length = prefix.bits;
  const size = 2 ** (32 - length);
  if (address % size !== 0) throw new Error(`CIDR "${text}" has host bits set (network is ${formatIpv4(address - (address % size))}/${length})`);
  return { network: address, length };
}

/** Number of addresses in a prefix. */
export function prefixSize(prefix: Ipv4Prefix): number {
  return 2 ** (32 - prefix.length);
}

/** True if `address` lies inside `cidr`. */
export function cidrContains(cidr: string, address: string): boolean {
  const prefix = parseCidr(cidr);
  const value = parseIpv4(address);
  return value >= prefix.network && value < prefix.network + prefixSize(prefix);
}

/** True if the two prefixes share at least one address. */
export function cidrsOverlap(a: string, b: string): boolean {
  return prefixesOverlap(parseCidr(a), parseCidr(b));
}

/** {@link cidrsOverlap} of parsed prefixes (for checks over many pairs: parse each once). */
export function prefixesOverlap(pa: Ipv4Prefix, pb: Ipv4Prefix): boolean {
  return pa.network < pb.network + prefixSize(pb) && pb.network < pa.network + prefixSize(pa);
}

/**
 * Scaleway reserves the first two and the last two addresses of every private subnet
 * (topology.md "Scaleway platform facts"). Returns the `index`-th address of `cidr`
 * (0 = network address) and refuses reserved ones, so the lab picks the same host
 * addresses the cloud can use.
 */
export function usableHostAddress(cidr: string, index: number): string {
  const prefix = parseCidr(cidr);
  const size = prefixSize(prefix);
  if (!Number.isInteger(index) || index < 2 || index > size - 3) {
    throw new Error(`host index ${index} in ${cidr} is reserved or outside the subnet (usable: 2..${size - 3})`);
  }
  return formatIpv4(prefix.network + index);
}

/** "a.b.c.d/n" for an address inside `cidr`, with the prefix length of `cidr`. */
export function withPrefixLength(address: string, cidr: string): string {
  return `${address}/${parseCidr(cidr).length}`;
}
