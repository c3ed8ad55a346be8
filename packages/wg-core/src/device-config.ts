/**
 * A {@link Device}'s configuration inputs (UAPI `set=1`; wireguard-go device/uapi.go): the
 * constructor's options, the peer settings `addPeer` / `updatePeer` accept, their validation, and
 * the one error configuration calls throw (the data path never throws).
 */
import type { TransportAead } from "./aead.js";
import type { X25519Backend } from "./crypto.js";
import { parseCidr } from "./allowed-ips.js";
import type { Device } from "./device.js";
import type { Endpoint } from "./endpoint.js";
import { PresharedKey, type PrivateKey, type PublicKey } from "./keys.js";

/** Fills `out` with cryptographically secure random bytes (daemon: crypto.randomFillSync). */
export type RandomSource = (out: Uint8Array) => void;

export interface DeviceOptions {
  /** Our static private key, or null for none yet. */
  privateKey: PrivateKey | Uint8Array | null;
  random: RandomSource;
  /** ChaCha20-Poly1305 implementation of the transport, and of the handshake through its `chaChaPoly` (default: node:crypto). */
  aead?: TransportAead;
  /** X25519 implementation of the handshake (default: node:crypto, crypto.ts `nodeX25519`). */
  x25519?: X25519Backend;
  /** The tunnel interface's MTU, which caps transport padding (default 0: unknown, no cap); see {@link Device.mtu}. */
  mtu?: number;
}

export interface PeerConfig {
  publicKey: PublicKey | Uint8Array;
  presharedKey?: PresharedKey | Uint8Array | null;
  endpoint?: Endpoint | null;
  /** CIDR strings, e.g. "10.0.0.2/32", "fd00::/64". */
  allowedIps?: readonly string[];
  /** Seconds, 0 = off. */
  persistentKeepalive?: number;
}

/** Changes for {@link Device.updatePeer} (UAPI `set=1`); absent fields are left unchanged. */
export interface PeerUpdate {
  presharedKey?: PresharedKey | Uint8Array | null;
  endpoint?: Endpoint | null;
  /** Allowed IPs to add (or, with `replaceAllowedIps`, the complete new list). */
  allowedIps?: readonly string[];
  /** UAPI `replace_allowed_ips=true`: remove all of the peer's allowed IPs first. */
  replaceAllowedIps?: boolean;
  /** Seconds, 0 = off. */
  persistentKeepalive?: number;
}

/** Thrown by configuration calls (addPeer, updatePeer) for invalid settings; never by the data path. */
export class DeviceConfigError extends Error {
  override name = "DeviceConfigError";
}

/** The preshared key given as a key, bytes or nothing (null: none). */
export function toPsk(k: PresharedKey | Uint8Array | null | undefined): PresharedKey | null {
  if (k === undefined || k === null) return null;
  return k instanceof PresharedKey ? k : PresharedKey.fromBytes(k);
}

/** @throws DeviceConfigError unless every string is a CIDR */
export function validateCidrs(cidrs: readonly string[]): void {
  for (const c of cidrs) {
    try {
      parseCidr(c);
    } catch (e) {
      throw new DeviceConfigError(e instanceof Error ? e.message : "invalid allowed IP");
    }
  }
}

/** @throws DeviceConfigError unless an integer from 0 to 65535 (seconds) */
export function validateKeepalive(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 65535) {
    throw new DeviceConfigError("persistent keepalive must be an integer from 0 to 65535 seconds");
  }
}
