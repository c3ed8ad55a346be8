/**
 * The Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake (whitepaper §5.4.2 – §5.4.5).
 *
 * One {@link PeerHandshake} per peer holds the long-lived handshake inputs (remote static key,
 * preshared key, precomputed DH(Spriv_local, Spub_remote)), the replay/flood state of received
 * initiations, and a {@link HandshakeState}: a discriminated union whose variants carry the
 * data of the step in progress. Initial state: `zeroed`.
 *
 * Guarantees: every create/consume checks the state first; a failed consume leaves it unchanged
 * (a failed createResponse discards the consumed initiation); a consumed initiation must carry a TAI64N timestamp strictly newer than the last accepted one
 * from that peer (§5.1) and must not follow the previous accepted one within
 * HANDSHAKE_INITIATION_RATE (wireguard-go's flood guard). Successful completion returns the
 * transport keys (§5.4.5) and resets the state to `zeroed`, wiping the ephemeral secrets (their
 * OpenSSL key objects are cleansed when collected, see crypto.ts DhPrivateKey and X25519Backend).
 * Functions are pure apart from `random` and never throw on bad input: they return a reason.
 * MAC1/MAC2 are not handled here (see cookie.ts): callers verify MAC1 first.
 */
import { inspect } from "node:util";
import { CONSTRUCTION, HANDSHAKE_INITIATION_RATE, IDENTIFIER } from "./constants.js";
import { type ChaChaPolyBackend, nodeChaChaPoly } from "./aead.js";
import { aeadOpen, aeadSeal, clampPrivateKey, type DhPrivate, type DhPublic, hash, HmacKey, kdf, nodeX25519, wipe, type X25519Backend } from "./crypto.js";
import {
  INITIATION_SIZE,
  InitiationLayout,
  MESSAGE_INITIATION,
  MESSAGE_RESPONSE,
  RESPONSE_SIZE,
  ResponseLayout,
  readU32,
  writeHeader,
  writeU32,
} from "./messages.js";
import { compareTai64n, tai64n } from "./tai64n.js";

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** Ci := HASH(CONSTRUCTION) */
export const INITIAL_CHAIN_KEY: Uint8Array = hash(encoder.encode(CONSTRUCTION));
/** Hi := HASH(Ci ‖ IDENTIFIER) — before mixing in the responder's static key. */
export const INITIAL_HASH: Uint8Array = hash(INITIAL_CHAIN_KEY, encoder.encode(IDENTIFIER));
/** Ci as an HMAC key, its key schedule computed once: every handshake starts with KDF1(Ci, Epub_i). */
const INITIAL_CHAIN_HMAC_KEY = new HmacKey(INITIAL_CHAIN_KEY);

/**
 * Our static identity: the private key loaded for DH, its public key, `responderHash` =
 * HASH(INITIAL_HASH ‖ Spub_local), shared by all peers, the ChaCha20-Poly1305 implementation
 * of the handshake's AEADs and the X25519 implementation of its DHs (every key of a handshake is
 * loaded by it).
 */
export interface LocalIdentity {
  readonly staticKey: DhPrivate;
  readonly publicKey: Uint8Array;
  readonly responderHash: Uint8Array;
  readonly aead: ChaChaPolyBackend;
  readonly x25519: X25519Backend;
}

/**
 * Builds a {@link LocalIdentity} from a 32-byte private key (not retained).
 * @param aead the handshake's AEAD (default node:crypto: twice noble's speed on these small inputs)
 * @param x25519 the handshake's X25519 (default node:crypto)
 */
export function localIdentity(privateKey: Uint8Array, aead: ChaChaPolyBackend = nodeChaChaPoly, x25519: X25519Backend = nodeX25519): LocalIdentity {
  const staticKey = x25519.privateKey(privateKey);
  const publicKey = staticKey.publicKey;
  return { staticKey, publicKey, responderHash: hash(INITIAL_HASH, publicKey), aead, x25519 };
}

/** The handshake in progress for one peer. */
export type HandshakeState =
  | { readonly kind: "zeroed" }
  | {
      readonly kind: "initiation-created";
      readonly localIndex: number;
      readonly hash: Uint8Array;
      readonly chainKey: Uint8Array;
      readonly ephemeralPrivate: Uint8Array;
      readonly ephemeral: DhPrivate;
      readonly createdAt: number;
    }
  | {
      readonly kind: "initiation-consumed";
      readonly remoteIndex: number;
      readonly hash: Uint8Array;
      readonly chainKey: Uint8Array;
      /** Epub_i, loaded for DH once (consumeInitiation's es, createResponse's ee). */
      readonly remoteEphemeral: DhPublic;
    };

export const ZEROED: HandshakeState = Object.freeze({ kind: "zeroed" });

/** Transport keys derived at the end of a handshake (whitepaper §5.4.5). */
export interface SessionKeys {
  readonly sendKey: Uint8Array;
  readonly receiveKey: Uint8Array;
  readonly localIndex: number;
  readonly remoteIndex: number;
  readonly isInitiator: boolean;
}

/** Why a handshake message was not accepted. */
export type HandshakeFailure =
  | "handshake-decrypt-failed"
  | "unknown-peer"
  | "replayed-initiation"
  | "initiation-flood"
  | "unexpected-response"
  | "invalid-public-key"
  | "encrypt-failed";

/** Per-peer handshake inputs and state. */
export class PeerHandshake {
  state: HandshakeState = ZEROED;
  /** Largest TAI64N timestamp accepted from this peer (12 bytes), or null. */
  lastTimestamp: Uint8Array | null = null;
  /** `now` of the last accepted initiation, for the flood guard. */
  lastInitiationConsumedAt = Number.NEGATIVE_INFINITY;
  /** DH(Spriv_local, Spub_remote), or null when it is not computable (low-order key / no private key). */
  staticStatic: Uint8Array | null = null;
  /** The 32-byte preshared key Q (all zeros when none is configured). */
  presharedKey: Uint8Array;
  #remoteStaticKey: DhPublic | undefined;
  #remoteStaticBackend: X25519Backend | undefined;
  #initiatorHash: Uint8Array | undefined;

  /**
   * @param remoteStatic 32-byte peer public key
   * @param presharedKey 32-byte preshared key or null for none
   */
  constructor(
    readonly remoteStatic: Uint8Array,
    presharedKey: Uint8Array | null,
  ) {
    this.presharedKey = presharedKey ?? new Uint8Array(32);
  }

  /** Spub_remote loaded for DH by `x25519` once, for every handshake with this peer. */
  remoteStaticKey(x25519: X25519Backend): DhPublic {
    if (this.#remoteStaticKey === undefined || this.#remoteStaticBackend !== x25519) {
      this.#remoteStaticKey = x25519.publicKey(this.remoteStatic);
      this.#remoteStaticBackend = x25519;
    }
    return this.#remoteStaticKey;
  }

  /**
   * Hi := HASH(HASH(Ci ‖ IDENTIFIER) ‖ Spub_r), the initiator's first hash (whitepaper §5.4.2):
   * it depends on the peer's public key only, so it is computed once (public; never wiped).
   */
  get initiatorHash(): Uint8Array {
    return (this.#initiatorHash ??= hash(INITIAL_HASH, this.remoteStatic));
  }

  /** Recomputes DH(Spriv_local, Spub_remote) after our private key changed. */
  setLocal(local: LocalIdentity | null): void {
    wipe(this.staticStatic);
    this.staticStatic = local === null ? null : local.staticKey.dh(this.remoteStaticKey(local.x25519));
  }

  /** Forgets the handshake in progress, wiping its secrets. */
  clear(): void {
    const s = this.state;
    if (s.kind === "initiation-created") wipe(s.ephemeralPrivate, s.chainKey, s.hash);
    else if (s.kind === "initiation-consumed") wipe(s.chainKey, s.hash);
    this.state = ZEROED;
  }

  /** Never prints secrets: only the state's kind. */
  toString(): string {
    return `PeerHandshake(${this.state.kind})`;
  }
  toJSON(): string {
    return this.toString();
  }
  [inspect.custom](): string {
    return this.toString();
  }

  /** Local index of the pending initiation, if any (the index table points it at this peer). */
  get pendingLocalIndex(): number | undefined {
    return this.state.kind === "initiation-created" ? this.state.localIndex : undefined;
  }
}

function generateEphemeral(random: (out: Uint8Array) => void): Uint8Array {
  const e = new Uint8Array(32);
  random(e);
  return clampPrivateKey(e);
}

/**
 * Creates a handshake initiation (whitepaper §5.4.2) into `out` (148 bytes, MACs left zero for
 * cookie.ts). State must be anything; it becomes `initiation-created`.
 * @returns null on success, or why it could not be created
 */
export function createInitiation(
  local: LocalIdentity,
  hs: PeerHandshake,
  localIndex: number,
  now: number,
  random: (out: Uint8Array) => void,
  out: Uint8Array,
): HandshakeFailure | null {
  if (hs.staticStatic === null || out.length !== INITIATION_SIZE) return "invalid-public-key";
  // Hi := HASH(Ci ‖ IDENTIFIER); Hi := HASH(Hi ‖ Spub_r)
  let h = hs.initiatorHash;
  // (Epriv_i, Epub_i) := DH-GENERATE()
  const ePriv = generateEphemeral(random);
  const ephemeral = local.x25519.privateKey(ePriv);
  const ePub = ephemeral.publicKey;
  // Ci := KDF1(Ci, Epub_i)
  const [c] = kdf(1, INITIAL_CHAIN_HMAC_KEY, ePub) as [Uint8Array];
  // msg.ephemeral := Epub_i
  writeHeader(out, MESSAGE_INITIATION);
  writeU32(out, InitiationLayout.sender, localIndex);
  out.set(ePub, InitiationLayout.ephemeral);
  // Hi := HASH(Hi ‖ msg.ephemeral)
  h = hash(h, ePub);
  // (Ci, κ) := KDF2(Ci, DH(Epriv_i, Spub_r))
  const es = ephemeral.dh(hs.remoteStaticKey(local.x25519));
  if (es === null) {
    wipe(ePriv);
    return "invalid-public-key";
  }
  const [c1, k1] = kdf(2, c, es) as [Uint8Array, Uint8Array];
  wipe(es);
  // msg.static := AEAD(κ, 0, Spub_i, Hi)
  const encStatic = aeadSeal(local.aead, k1, 0, local.publicKey, h);
  if (encStatic === null) {
    wipe(ePriv, k1, c1, c);
    return "encrypt-failed";
  }
  out.set(encStatic, InitiationLayout.static);
  // Hi := HASH(Hi ‖ msg.static)
  h = hash(h, encStatic);
  // (Ci, κ) := KDF2(Ci, DH(Spriv_i, Spub_r))
  const [c2, k2] = kdf(2, c1, hs.staticStatic) as [Uint8Array, Uint8Array];
  // msg.timestamp := AEAD(κ, 0, TAI64N(), Hi)
  const encTimestamp = aeadSeal(local.aead, k2, 0, tai64n(now), h);
  if (encTimestamp === null) {
    wipe(ePriv, k1, k2, c1, c2, c);
    return "encrypt-failed";
  }
  out.set(encTimestamp, InitiationLayout.timestamp);
  // Hi := HASH(Hi ‖ msg.timestamp)
  h = hash(h, encTimestamp);
  wipe(k1, k2, c1, c);
  out.fill(0, InitiationLayout.mac1);
  hs.clear();
  hs.state = { kind: "initiation-created", localIndex, hash: h, chainKey: c2, ephemeralPrivate: ePriv, ephemeral, createdAt: now };
  return null;
}

/**
 * Consumes a handshake initiation (whitepaper §5.4.2, responder side). `findPeer` maps the
 * decrypted initiator static key to its peer. On success the peer's state becomes
 * `initiation-consumed` (replacing any initiation of ours in flight, as in wireguard-go).
 */
export function consumeInitiation<P extends { readonly handshake: PeerHandshake }>(
  local: LocalIdentity,
  msg: Uint8Array,
  now: number,
  findPeer: (staticKey: Uint8Array) => P | undefined,
): P | HandshakeFailure {
  // Hr := HASH(HASH(Ci ‖ IDENTIFIER) ‖ Spub_r)
  let h = local.responderHash;
  const ePub = msg.subarray(InitiationLayout.ephemeral, InitiationLayout.ephemeral + 32);
  const remoteEphemeral = local.x25519.publicKey(ePub);
  // Cr := KDF1(Ci, msg.ephemeral)
  const [c] = kdf(1, INITIAL_CHAIN_HMAC_KEY, ePub) as [Uint8Array];
  // Hr := HASH(Hr ‖ msg.ephemeral)
  h = hash(h, ePub);
  // (Cr, κ) := KDF2(Cr, DH(Spriv_r, msg.ephemeral))
  const es = local.staticKey.dh(remoteEphemeral);
  if (es === null) return "invalid-public-key";
  const [c1, k1] = kdf(2, c, es) as [Uint8Array, Uint8Array];
  wipe(es, c);
  // Spub_i := AEAD-DECRYPT(κ, 0, msg.static, Hr)
  const encStatic = msg.subarray(InitiationLayout.static, InitiationLayout.static + InitiationLayout.staticLength);
  const remoteStatic = aeadOpen(local.aead, k1, 0, encStatic, h);
  wipe(k1);
  if (remoteStatic === null) return "handshake-decrypt-failed";
  // Hr := HASH(Hr ‖ msg.static)
  h = hash(h, encStatic);
  const peer = findPeer(remoteStatic);
  if (peer === undefined) return "unknown-peer";
  const hs = peer.handshake;
  if (hs.staticStatic === null) return "invalid-public-key";
  // (Cr, κ) := KDF2(Cr, DH(Spriv_r, Spub_i))
  const [c2, k2] = kdf(2, c1, hs.staticStatic) as [Uint8Array, Uint8Array];
  wipe(c1);
  // timestamp := AEAD-DECRYPT(κ, 0, msg.timestamp, Hr)
  const encTimestamp = msg.subarray(InitiationLayout.timestamp, InitiationLayout.timestamp + InitiationLayout.timestampLength);
  const timestamp = aeadOpen(local.aead, k2, 0, encTimestamp, h);
  wipe(k2);
  if (timestamp === null) return "handshake-decrypt-failed";
  // Replay protection (§5.1): the timestamp must be strictly newer than the last accepted one.
  if (hs.lastTimestamp !== null && compareTai64n(timestamp, hs.lastTimestamp) <= 0) return "replayed-initiation";
  // Flood protection (wireguard-go HandshakeInitationRate).
  if (now - hs.lastInitiationConsumedAt <= HANDSHAKE_INITIATION_RATE) return "initiation-flood";
  // Hr := HASH(Hr ‖ msg.timestamp)
  h = hash(h, encTimestamp);
  hs.clear();
  hs.lastTimestamp = timestamp;
  hs.lastInitiationConsumedAt = now;
  hs.state = {
    kind: "initiation-consumed",
    remoteIndex: readU32(msg, InitiationLayout.sender),
    hash: h,
    chainKey: c2,
    remoteEphemeral,
  };
  return peer;
}

/**
 * The part of the response's key schedule both sides compute alike (whitepaper §5.4.3), between
 * the DHs and msg.empty. Wipes `ee`, `se`, τ and the intermediate chaining keys; the caller owns
 * (and wipes) the returned chaining key and κ.
 * @param chainKey Cr after the initiation (32 bytes)
 * @param h Hr after the initiation (32 bytes)
 * @param ePub the responder's ephemeral public key, msg.ephemeral (32 bytes)
 * @param ee DH(Epriv_r, Epub_i) = DH(Epriv_i, Epub_r) (32 bytes)
 * @param se DH(Epriv_r, Spub_i) = DH(Spriv_i, Epub_r) (32 bytes)
 * @param psk Q (32 bytes, zeros when none)
 */
function responseKeySchedule(
  chainKey: Uint8Array,
  h: Uint8Array,
  ePub: Uint8Array,
  ee: Uint8Array,
  se: Uint8Array,
  psk: Uint8Array,
): { chainKey: Uint8Array; hash: Uint8Array; key: Uint8Array } {
  // Cr := KDF1(Cr, Epub_r)
  const [c1] = kdf(1, chainKey, ePub) as [Uint8Array];
  // Hr := HASH(Hr ‖ msg.ephemeral)
  h = hash(h, ePub);
  // Cr := KDF1(Cr, DH(Epriv_r, Epub_i))
  const [c2] = kdf(1, c1, ee) as [Uint8Array];
  // Cr := KDF1(Cr, DH(Epriv_r, Spub_i))
  const [c3] = kdf(1, c2, se) as [Uint8Array];
  wipe(ee, se, c1, c2);
  // (Cr, τ, κ) := KDF3(Cr, Q)
  const [c4, tau, k] = kdf(3, c3, psk) as [Uint8Array, Uint8Array, Uint8Array];
  wipe(c3);
  // Hr := HASH(Hr ‖ τ)
  h = hash(h, tau);
  wipe(tau);
  return { chainKey: c4, hash: h, key: k };
}

/**
 * Creates a handshake response (whitepaper §5.4.3) into `out` (92 bytes, MACs zero) and derives
 * the responder's transport keys. State must be `initiation-consumed`; it becomes `zeroed`.
 */
export function createResponse(
  local: LocalIdentity,
  hs: PeerHandshake,
  localIndex: number,
  random: (out: Uint8Array) => void,
  out: Uint8Array,
): SessionKeys | "unexpected-response" | "invalid-public-key" | "encrypt-failed" {
  const s = hs.state;
  if (s.kind !== "initiation-consumed" || out.length !== RESPONSE_SIZE) return "unexpected-response";
  // (Epriv_r, Epub_r) := DH-GENERATE()
  const ePriv = generateEphemeral(random);
  const ephemeral = local.x25519.privateKey(ePriv);
  const ePub = ephemeral.publicKey;
  writeHeader(out, MESSAGE_RESPONSE);
  writeU32(out, ResponseLayout.sender, localIndex);
  writeU32(out, ResponseLayout.receiver, s.remoteIndex);
  // msg.ephemeral := Epub_r
  out.set(ePub, ResponseLayout.ephemeral);
  // DH(Epriv_r, Epub_i), DH(Epriv_r, Spub_i)
  const ee = ephemeral.dh(s.remoteEphemeral);
  const se = ephemeral.dh(hs.remoteStaticKey(local.x25519));
  wipe(ePriv);
  if (ee === null || se === null) {
    wipe(ee, se);
    hs.clear();
    return "invalid-public-key";
  }
  const { chainKey: c4, hash: h, key: k } = responseKeySchedule(s.chainKey, s.hash, ePub, ee, se, hs.presharedKey);
  // msg.empty := AEAD(κ, 0, ε, Hr)
  const empty = aeadSeal(local.aead, k, 0, EMPTY, h);
  if (empty === null) {
    wipe(k, c4);
    hs.clear();
    return "encrypt-failed";
  }
  out.set(empty, ResponseLayout.empty);
  // Hr := HASH(Hr ‖ msg.empty) — not needed further.
  wipe(k);
  out.fill(0, ResponseLayout.mac1);
  // (Trecv_r, Tsend_r) := KDF2(Cr, ε)  — responder receives with the initiator's send key.
  const [t1, t2] = kdf(2, c4, EMPTY) as [Uint8Array, Uint8Array];
  wipe(c4);
  const remoteIndex = s.remoteIndex;
  hs.clear();
  return { sendKey: t2, receiveKey: t1, localIndex, remoteIndex, isInitiator: false };
}

/**
 * Consumes a handshake response (whitepaper §5.4.3, initiator side) and derives the initiator's
 * transport keys. State must be `initiation-created` with the response's receiver index; on
 * success it becomes `zeroed`, on failure it is unchanged.
 */
export function consumeResponse(local: LocalIdentity, hs: PeerHandshake, msg: Uint8Array): SessionKeys | HandshakeFailure {
  const s = hs.state;
  if (s.kind !== "initiation-created" || readU32(msg, ResponseLayout.receiver) !== s.localIndex) return "unexpected-response";
  const ePub = msg.subarray(ResponseLayout.ephemeral, ResponseLayout.ephemeral + 32);
  const remoteEphemeral = local.x25519.publicKey(ePub);
  // DH(Epriv_i, msg.ephemeral), DH(Spriv_i, msg.ephemeral)
  const ee = s.ephemeral.dh(remoteEphemeral);
  const se = local.staticKey.dh(remoteEphemeral);
  if (ee === null || se === null) {
    wipe(ee, se);
    return "invalid-public-key";
  }
  const { chainKey: c4, hash: h, key: k } = responseKeySchedule(s.chainKey, s.hash, ePub, ee, se, hs.presharedKey);
  // msg.empty must decrypt: AEAD-DECRYPT(κ, 0, msg.empty, Hr)
  const ok = aeadOpen(local.aead, k, 0, msg.subarray(ResponseLayout.empty, ResponseLayout.empty + ResponseLayout.emptyLength), h);
  wipe(k);
  if (ok === null) {
    wipe(c4);
    return "handshake-decrypt-failed";
  }
  // (Tsend_i, Trecv_i) := KDF2(Ci, ε)
  const [t1, t2] = kdf(2, c4, EMPTY) as [Uint8Array, Uint8Array];
  wipe(c4);
  const localIndex = s.localIndex;
  hs.clear();
  return { sendKey: t1, receiveKey: t2, localIndex, remoteIndex: readU32(msg, ResponseLayout.sender), isInitiator: true };
}
