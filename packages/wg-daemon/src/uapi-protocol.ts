/**
 * The cross-platform configuration protocol (https://www.wireguard.com/xplatform/), as
 * wireguard-go device/uapi.go speaks it: `get=1` answers device then per-peer `key=value`
 * lines and `errno=0`; `set=1` takes the same keys (plus remove, update_only, replace_peers,
 * replace_allowed_ips) and answers `errno=0` or a negative errno.
 *
 * Unlike wireguard-go, a `set` is parsed completely before anything is applied, so a request
 * with a bad line changes nothing.
 */
import { checkCidr } from "./config.js";
import { formatEndpointText, isZero, parseEndpointText, type Endpoint } from "@wg-ts/core";
import { toHex } from "./keys.js";

export const EINVAL = 22;
export const EADDRINUSE = 98;
export const EPROTO = 71;
export const EIO = 5;

export interface UapiPeerState {
  publicKey: Uint8Array;
  presharedKey: Uint8Array | null;
  endpoint: Endpoint | null;
  /** epoch milliseconds, 0 = never */
  lastHandshakeAt: number;
  txBytes: number | bigint;
  rxBytes: number | bigint;
  persistentKeepalive: number;
  allowedIps: readonly string[];
}

export interface UapiDeviceState {
  privateKey: Uint8Array | null;
  listenPort: number;
  fwmark: number;
  peers: readonly UapiPeerState[];
}

export interface PeerChange {
  publicKey: Uint8Array;
  remove: boolean;
  updateOnly: boolean;
  /** null = set to zero (no PSK) */
  presharedKey?: Uint8Array | null;
  endpoint?: Endpoint;
  persistentKeepalive?: number;
  replaceAllowedIps: boolean;
  allowedIps: string[];
}

export interface SetRequest {
  /** null = remove the private key (all zero) */
  privateKey?: Uint8Array | null;
  listenPort?: number;
  fwmark?: number;
  replacePeers: boolean;
  peers: PeerChange[];
}

export class UapiError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}

const ZERO = new Uint8Array(32);
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * An unknown UAPI key as it may appear in a log line: only when it looks like a key name. A
 * client that lost the `private_key=` prefix would otherwise put key material into the log.
 */
function printableKey(key: string): string {
  return /^[a-z_]{1,32}$/.test(key) ? key : `<${key.length} characters>`;
}

function hexKey(value: string, what: string): Uint8Array {
  if (!HEX64.test(value)) throw new UapiError(EINVAL, `invalid ${what}`);
  return new Uint8Array(Buffer.from(value, "hex"));
}

function uint(value: string, max: number, what: string): number {
  if (!/^[0-9]+$/.test(value)) throw new UapiError(EINVAL, `invalid ${what}`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n > max) throw new UapiError(EINVAL, `invalid ${what}`);
  return n;
}

/** Parses `ip:port` / `[ip6]:port` with wg-core's endpoint parser (UAPI endpoints are numeric; wg resolves names). */
export function parseUapiEndpoint(value: string): Endpoint {
  const ep = parseEndpointText(value);
  if ("problem" in ep && ep.problem === "port") throw new UapiError(EINVAL, "invalid endpoint port");
  if ("problem" in ep || ep.family === null) throw new UapiError(EINVAL, "invalid endpoint");
  return { address: ep.host, port: ep.port };
}

/**
 * Parses the body of a `set=1` request (the lines after `set=1`, without the final blank line).
 * @throws UapiError with the errno wireguard-go would answer
 */
export function parseSet(lines: readonly string[]): SetRequest {
  const req: SetRequest = { replacePeers: false, peers: [] };
  let peer: PeerChange | undefined;
  for (const line of lines) {
    const eq = line.indexOf("=");
    if (eq < 0) throw new UapiError(EPROTO, "failed to parse line");
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === "public_key") {
      peer = { publicKey: hexKey(value, "public key"), remove: false, updateOnly: false, replaceAllowedIps: false, allowedIps: [] };
      req.peers.push(peer);
      continue;
    }
    if (!peer) {
      switch (key) {
        case "private_key": {
          const k = hexKey(value, "private key");
          req.privateKey = isZero(k) ? null : k;
          break;
        }
        case "listen_port":
          req.listenPort = uint(value, 65535, "listen_port");
          break;
        case "fwmark":
          req.fwmark = uint(value, 0xffffffff, "fwmark");
          break;
        case "replace_peers":
          if (value !== "true") throw new UapiError(EINVAL, "invalid replace_peers");
          req.replacePeers = true;
          break;
        default:
          throw new UapiError(EINVAL, `invalid UAPI device key: ${printableKey(key)}`);
      }
      continue;
    }
    switch (key) {
      case "update_only":
        if (value !== "true") throw new UapiError(EINVAL, "invalid update_only");
        peer.updateOnly = true;
        break;
      case "remove":
        if (value !== "true") throw new UapiError(EINVAL, "invalid remove");
        peer.remove = true;
        break;
      case "preshared_key": {
        const k = hexKey(value, "preshared key");
        peer.presharedKey = isZero(k) ? null : k;
        break;
      }
      case "endpoint":
        peer.endpoint = parseUapiEndpoint(value);
        break;
      case "persistent_keepalive_interval":
        peer.persistentKeepalive = uint(value, 65535, "persistent_keepalive_interval");
        break;
      case "replace_allowed_ips":
        if (value !== "true") throw new UapiError(EINVAL, "invalid replace_allowed_ips");
        peer.replaceAllowedIps = true;
        peer.allowedIps = [];
        break;
      case "allowed_ip": {
        const ok = checkCidr(value);
        if (typeof ok !== "string" || !value.includes("/")) throw new UapiError(EINVAL, "invalid allowed_ip");
        peer.allowedIps.push(value);
        break;
      }
      case "protocol_version":
        if (value !== "1") throw new UapiError(EINVAL, "invalid protocol version");
        break;
      default:
        throw new UapiError(EINVAL, `invalid UAPI peer key: ${printableKey(key)}`);
    }
  }
  return req;
}

/** Serialises a `get=1` answer, including the final `errno=0` and blank line. */
export function serializeGet(state: UapiDeviceState): string {
  const out: string[] = [];
  if (state.privateKey && !isZero(state.privateKey)) out.push(`private_key=${toHex(state.privateKey)}`);
  if (state.listenPort) out.push(`listen_port=${state.listenPort}`);
  if (state.fwmark) out.push(`fwmark=${state.fwmark}`);
  for (const p of state.peers) {
    out.push(`public_key=${toHex(p.publicKey)}`);
    out.push(`preshared_key=${toHex(p.presharedKey ?? ZERO)}`);
    out.push("protocol_version=1");
    if (p.endpoint) out.push(`endpoint=${formatEndpointText(p.endpoint.address, p.endpoint.port)}`);
    const ms = p.lastHandshakeAt > 0 ? p.lastHandshakeAt : 0;
    const sec = Math.floor(ms / 1000);
    const nsec = Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6));
    out.push(`last_handshake_time_sec=${sec}`);
    out.push(`last_handshake_time_nsec=${nsec}`);
    out.push(`tx_bytes=${p.txBytes}`);
    out.push(`rx_bytes=${p.rxBytes}`);
    out.push(`persistent_keepalive_interval=${p.persistentKeepalive}`);
    for (const a of p.allowedIps) out.push(`allowed_ip=${a}`);
  }
  out.push("errno=0", "", "");
  return out.join("\n");
}

/** Parses a `get=1` answer (what `wg-ts show` reads). Keys stay hex. */
export interface GetAnswer {
  device: Map<string, string>;
  peers: Map<string, string[]>[];
  errno: number;
}

export function parseGet(text: string): GetAnswer {
  const device = new Map<string, string>();
  const peers: Map<string, string[]>[] = [];
  let errno = -1;
  let peer: Map<string, string[]> | undefined;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === "errno") {
      errno = Number(value);
      continue;
    }
    if (key === "public_key") {
      peer = new Map();
      peers.push(peer);
    }
    if (peer) peer.set(key, [...(peer.get(key) ?? []), value]);
    else device.set(key, value);
  }
  return { device, peers, errno };
}
