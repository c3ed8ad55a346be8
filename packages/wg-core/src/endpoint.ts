/**
 * Endpoints (whitepaper §2.1 "Cryptokey Routing", roaming): where a peer's datagrams go and came
 * from. An endpoint is `{ address, port }` with an IPv4 dotted quad or an IPv6 address without
 * brackets (docs/architecture.md). The core never opens one; it records the source of the last
 * authenticated packet and derives byte strings from addresses for cookies and rate limiting.
 * Endpoint text (`host:port`, `[ipv6]:port`) is read here once for the daemon's config, its UAPI and
 * wg-deploy's mesh database; each words its own errors. Parsing never throws: malformed text yields
 * null or a {@link EndpointProblem}.
 */
import { parseIpLiteral } from "./allowed-ips.js";

/** A UDP endpoint. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** True when two endpoints are the same address and port (textual comparison). */
export function sameEndpoint(a: Endpoint | null | undefined, b: Endpoint): boolean {
  return a != null && a.port === b.port && a.address === b.address;
}

/**
 * The 4 (IPv4) or 16 (IPv6) bytes of an address, or null when it is not a valid literal
 * (allowed-ips.ts {@link parseIpLiteral}). IPv6 zone suffixes (`%eth0`) are ignored; IPv4-mapped
 * IPv6 stays 16 bytes.
 */
export function addressBytes(address: string): Uint8Array | null {
  return parseIpLiteral(address.includes(":") ? address.split("%")[0]! : address);
}

/** Endpoint text read by {@link parseEndpointText}: `host:port` or `[ipv6]:port`. */
export interface EndpointText {
  /** The host without brackets: an IPv4 or IPv6 address (IPv6 may carry a `%zone`) or a host name. */
  host: string;
  /** 4 or 6 for an address, null for a host name (resolved by the caller, never by the core). */
  family: 4 | 6 | null;
  /** 0..65535; a caller that needs a peer's port refuses 0 itself. */
  port: number;
}

/** Why endpoint text was refused, for the caller to word (config line, UAPI errno, CSV cell). */
export type EndpointProblem =
  /** `[` without a matching `]:` */
  | "brackets"
  /** no `:` after a host */
  | "no-port"
  /** the text in brackets is not an IPv6 address */
  | "ipv6-address"
  /** a `:` in a host without brackets (IPv6 needs them) */
  | "ipv6-unbracketed"
  /** neither an IPv4 address nor a host name */
  | "host"
  /** the port is not a decimal number from 0 to 65535 */
  | "port";

/** A host name as RFC 1123 §2.1 writes one: dot-separated labels of letters, digits and `-`, 253 characters at most. */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?$/;
/** An IPv6 zone: an interface name or index (no white space, `%`, `/` or brackets). */
const ZONE = /^[^\s%/[\]]+$/;
const PORT = /^[0-9]+$/;

/** The family of an address literal, IPv6 with an optional zone; null when `text` is none. */
function literalFamily(text: string): 4 | 6 | null {
  const percent = text.indexOf("%");
  if (percent >= 0) {
    // Only an IPv6 address takes a zone.
    return ZONE.test(text.slice(percent + 1)) && parseIpLiteral(text.slice(0, percent))?.length === 16 ? 6 : null;
  }
  const bytes = parseIpLiteral(text);
  return bytes === null ? null : bytes.length === 4 ? 4 : 6;
}

/**
 * Reads an endpoint's host alone (no port): an IPv6 address with or without brackets, an IPv4
 * address, or a host name. Brackets hold IPv6 only, as in wireguard-go (netip.ParseAddrPort).
 * @returns the host without brackets and its family, or null
 */
export function parseEndpointHost(text: string): { host: string; family: 4 | 6 | null } | null {
  if (text.startsWith("[") && text.endsWith("]")) {
    const host = text.slice(1, -1);
    return literalFamily(host) === 6 ? { host, family: 6 } : null;
  }
  const family = literalFamily(text);
  if (family !== null) return { host: text, family };
  return HOST_NAME.test(text) ? { host: text, family: null } : null;
}

/**
 * Reads `host:port` or `[ipv6]:port` (wg(8) `Endpoint =`, UAPI `endpoint=`): the host is checked
 * before the port, so the problem named is the first one in the text. Never throws.
 */
export function parseEndpointText(text: string): EndpointText | { problem: EndpointProblem } {
  let host: string;
  let portText: string;
  let family: 4 | 6 | null;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0 || text[close + 1] !== ":") return { problem: "brackets" };
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (literalFamily(host) !== 6) return { problem: "ipv6-address" };
    family = 6;
  } else {
    const colon = text.lastIndexOf(":");
    if (colon <= 0) return { problem: "no-port" };
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(":")) return { problem: "ipv6-unbracketed" };
    family = literalFamily(host);
    if (family === null && !HOST_NAME.test(host)) return { problem: "host" };
  }
  const port = Number(portText);
  if (!PORT.test(portText) || port > 65535) return { problem: "port" };
  return { host, family, port };
}

/** The text of an endpoint: `host:port`, an IPv6 host in brackets (`[fd00::1]:51820`). */
export function formatEndpointText(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
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
