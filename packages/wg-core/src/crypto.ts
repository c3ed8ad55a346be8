/**
 * The cryptographic primitives WireGuard names in the whitepaper §5.4 ("Protocol & Cryptography"):
 *
 *   DH      X25519 (RFC 7748), through node:crypto (see {@link dh})
 *   HASH    BLAKE2s-256 (RFC 7693), blake2s.ts
 *   MAC     keyed BLAKE2s, 16-byte output, blake2s.ts
 *   HMAC    HMAC-BLAKE2s (RFC 2104), blake2s.ts
 *   KDFn    HKDF built from HMAC (RFC 5869, as the whitepaper restates it)
 *   AEAD    ChaCha20-Poly1305 (RFC 8439), 96-bit nonce = 32 zero bits ‖ 64-bit little-endian counter
 *   XAEAD   XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha), 192-bit random nonce — cookie replies only
 *
 * Everything here is pure: no clock, no randomness (callers pass random bytes in), no I/O.
 * AEAD runs on a {@link ChaChaPolyBackend} the caller picks (aead.ts; the Device takes its
 * transport AEAD's), measured by `pnpm bench`; XAEAD uses @noble/ciphers.
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from "node:crypto";
import type { ChaChaPolyBackend } from "./aead.js";
import { blake2s, blake2s256, HMAC_SCHEDULE_WORDS, hmacBlake2s, hmacKeySchedule, hmacWithSchedule } from "./blake2s.js";

/** Byte length of keys, hashes and chaining keys (whitepaper §5.4: 32 bytes). */
export const KEY_LENGTH = 32;
/** Byte length of BLAKE2s-256 output. */
export const HASH_LENGTH = 32;
/** Byte length of MAC1/MAC2 (keyed BLAKE2s truncated to 16 bytes). */
export const MAC_LENGTH = 16;
/** Poly1305 tag length. */
export const AEAD_TAG_LENGTH = 16;
/** XChaCha20-Poly1305 nonce length. */
export const XAEAD_NONCE_LENGTH = 24;

/** HASH(input): BLAKE2s-256 over the concatenation of `parts`. */
export function hash(...parts: readonly Uint8Array[]): Uint8Array {
  return parts.length <= 2 ? blake2s256(parts[0] ?? EMPTY_INPUT, parts[1]) : blake2s(parts);
}

const EMPTY_INPUT = new Uint8Array(0);

/**
 * MAC(key, input): keyed BLAKE2s with a 16-byte digest (whitepaper §5.4.4).
 * @param key 32-byte key (HASH(LABEL-MAC1 ‖ Spub) or the 16-byte cookie)
 */
export function mac(key: Uint8Array, input: Uint8Array): Uint8Array {
  return blake2s([input], MAC_LENGTH, key);
}

/**
 * HMAC(key, input) with BLAKE2s as the hash (RFC 2104), in plain JS (blake2s.ts): on the 32–65-byte
 * inputs of the handshake's KDFs, node:crypto's per-call Hmac object costs more than the hashing
 * (benchmarks/README.md). Pinned by the kernel's HMAC-BLAKE2s self-test vectors
 * (test/vectors.test.ts).
 */
export function hmac(key: Uint8Array, input: Uint8Array): Uint8Array {
  return hmacBlake2s(key, input);
}

/**
 * Copies a node:crypto result into its own buffer and zeroes the original (which may sit in
 * Node's shared Buffer pool), so that {@link wipe} on the result really erases the secret.
 */
function ownedCopy(d: Buffer): Uint8Array {
  const out = new Uint8Array(d);
  d.fill(0);
  return out;
}

/**
 * An HMAC key whose key schedule is computed once (blake2s.ts {@link hmacKeySchedule}), for a
 * public chaining key that many KDFs start from (Ci := HASH(CONSTRUCTION)): each HMAC under it then
 * skips the compressions of the two pad blocks. Holds no secret: only for public keys.
 */
export class HmacKey {
  /** The key (a copy). */
  readonly bytes: Uint8Array;
  readonly #schedule: Int32Array;

  /** @param key the key (public; copied) */
  constructor(key: Uint8Array) {
    this.bytes = key.slice();
    this.#schedule = hmacKeySchedule(this.bytes);
  }

  /** HMAC(key, input), equal to {@link hmac}(this.bytes, input). */
  hmac(input: Uint8Array): Uint8Array {
    // HMAC(K, ε) ends its inner hash on the ipad block, which the schedule holds compressed.
    return input.length === 0 ? hmac(this.bytes, input) : hmacWithSchedule(this.#schedule, input);
  }
}

/** The counter byte i of τi := HMAC(τ0, τ(i−1) ‖ i). */
const KDF_COUNTER = [Uint8Array.of(0), Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)] as const;
/** τ0's key schedule in KDF2/KDF3, wiped before kdf() returns. */
const kdfSchedule = new Int32Array(HMAC_SCHEDULE_WORDS);

/**
 * KDFn(key, input) from the whitepaper §5.4: τ0 := HMAC(key, input), τ1 := HMAC(τ0, 0x1),
 * τi := HMAC(τ0, τ(i−1) ‖ i). Returns τ1..τn; τ0 is wiped. τ0 keys two or three HMACs in KDF2 and
 * KDF3, so its HMAC key schedule is computed once for them (RFC 2104's pad blocks compressed once).
 * @param n 1, 2 or 3
 * @param key 32-byte chaining key, or a public one with its schedule precomputed ({@link HmacKey})
 */
export function kdf(n: 1 | 2 | 3, key: Uint8Array | HmacKey, input: Uint8Array): Uint8Array[] {
  const t0 = key instanceof HmacKey ? key.hmac(input) : hmac(key, input);
  if (n === 1) {
    const t1 = hmac(t0, KDF_COUNTER[1]); // τ1 := HMAC(τ0, 0x1)
    wipe(t0);
    return [t1];
  }
  hmacKeySchedule(t0, kdfSchedule);
  wipe(t0);
  let prev = hmacWithSchedule(kdfSchedule, KDF_COUNTER[1]); // τ1 := HMAC(τ0, 0x1)
  const out: Uint8Array[] = [prev];
  for (let i = 2; i <= n; i++) {
    prev = hmacWithSchedule(kdfSchedule, prev, KDF_COUNTER[i]!); // τi := HMAC(τ0, τ(i−1) ‖ i)
    out.push(prev);
  }
  kdfSchedule.fill(0);
  return out;
}

/**
 * DH(private, public): X25519 (RFC 7748 §5) through node:crypto (OpenSSL). Returns null for a
 * low-order public key (all-zero shared secret, which OpenSSL refuses to derive), which WireGuard
 * treats as a failed handshake.
 *
 * Keys enter OpenSSL by the cheapest import the running Node has (see {@link x25519PrivateKey}),
 * not through @noble/curves' constant-time ladder, which made handshakes the bottleneck
 * (benchmarks/README.md). RFC 7748 and Wycheproof vectors (test/vectors.test.ts) pin the results.
 * @param privateKey 32-byte private key (clamped by X25519 itself)
 * @param publicKey 32-byte public key
 */
export function dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null {
  if (privateKey.length !== KEY_LENGTH || publicKey.length !== KEY_LENGTH) return null;
  try {
    const shared = ownedCopy(diffieHellman({ privateKey: x25519PrivateKey(privateKey), publicKey: x25519PublicKey(publicKey) }));
    return isZero(shared) ? null : shared;
  } catch {
    return null; // OpenSSL refuses an all-zero result ("failed during derivation")
  }
}

/** DH-Pubkey(private): the X25519 public key of a 32-byte private key, X25519(private, 9). */
export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  if (privateKey.length !== KEY_LENGTH) throw new RangeError("X25519 private key must be 32 bytes");
  return publicKeyOfKeyObject(x25519PrivateKey(privateKey));
}

/** A public key loaded for DH by an {@link X25519Backend}: its 32 bytes, and whatever the backend keeps for them. */
export interface DhPublic {
  /** The key's bytes (a copy; public). */
  readonly bytes: Uint8Array;
}

/** A private key loaded for DH by an {@link X25519Backend} (its owner still wipes the raw bytes). */
export interface DhPrivate {
  /** DH-Pubkey(private), 32 bytes. */
  readonly publicKey: Uint8Array;
  /** DH(this, publicKey), 32 bytes; null for a public key the backend refuses or a low-order one (all-zero result). */
  dh(publicKey: DhPublic): Uint8Array | null;
}

/**
 * X25519 (RFC 7748 §5) for the handshake: {@link nodeX25519} (node:crypto) by default, the daemon's
 * native addon where it loads (wg-daemon native-aead.ts). Keys of one backend go only to that backend.
 */
export interface X25519Backend {
  /** Short name for benchmarks and logs. */
  readonly name: string;
  /** Loads a 32-byte private key (not retained) for several DH operations; RangeError for another length. */
  privateKey(bytes: Uint8Array): DhPrivate;
  /** Loads a public key (copied) for several DH operations; one it refuses makes every DH with it null. */
  publicKey(bytes: Uint8Array): DhPublic;
}

/**
 * An X25519 private key loaded into OpenSSL once, for several DH operations with it (our static
 * key; a handshake's ephemeral key, used two or three times). Saves the key import that
 * {@link dh} repeats on every call. The caller still owns and wipes the 32 raw bytes; the OpenSSL
 * copy is freed (and cleansed by OpenSSL) when this object is garbage-collected, so whoever
 * holds one drops it when the key is wiped or replaced.
 */
export class DhPrivateKey implements DhPrivate {
  readonly #key: KeyObject;
  /** DH-Pubkey(private), 32 bytes. */
  readonly publicKey: Uint8Array;

  /** @param privateKey 32-byte private key (not retained) */
  constructor(privateKey: Uint8Array) {
    if (privateKey.length !== KEY_LENGTH) throw new RangeError("X25519 private key must be 32 bytes");
    this.#key = x25519PrivateKey(privateKey);
    this.publicKey = publicKeyOfKeyObject(this.#key);
  }

  /**
   * DH(this, publicKey); null for a low-order public key, like {@link dh}. A public key used more
   * than once (a peer's static key, the other side's ephemeral key) is best passed as a
   * {@link DhPublicKey}, imported once.
   */
  dh(publicKey: Uint8Array | DhPublic): Uint8Array | null {
    const key =
      publicKey instanceof DhPublicKey ? publicKey.keyObject : DhPublicKey.import(publicKey instanceof Uint8Array ? publicKey : publicKey.bytes);
    if (key === null) return null;
    try {
      const shared = ownedCopy(diffieHellman({ privateKey: this.#key, publicKey: key }));
      return isZero(shared) ? null : shared;
    } catch {
      return null;
    }
  }

  toString(): string {
    return "<redacted>";
  }
  toJSON(): string {
    return "<redacted>";
  }
}

/**
 * An X25519 public key loaded into OpenSSL once (a public key is no secret: it may be kept as
 * long as its owner needs it), for {@link DhPrivateKey.dh}.
 */
export class DhPublicKey implements DhPublic {
  readonly bytes: Uint8Array;
  /** The OpenSSL key, or null when the bytes are not a 32-byte key OpenSSL accepts. */
  readonly keyObject: KeyObject | null;

  /** @param bytes 32-byte public key (copied) */
  constructor(bytes: Uint8Array) {
    this.bytes = bytes.slice();
    this.keyObject = DhPublicKey.import(bytes);
  }

  /** Imports 32 raw bytes; null when OpenSSL refuses them. */
  static import(bytes: Uint8Array): KeyObject | null {
    if (bytes.length !== KEY_LENGTH) return null;
    try {
      return x25519PublicKey(bytes);
    } catch {
      return null;
    }
  }
}

/** X25519 through node:crypto's KeyObjects ({@link DhPrivateKey}, {@link DhPublicKey}). */
export const nodeX25519: X25519Backend = {
  name: "node:crypto",
  privateKey: (bytes) => new DhPrivateKey(bytes),
  publicKey: (bytes) => new DhPublicKey(bytes),
};

/**
 * The public key OpenSSL computed when it imported a private key (it derives it on import), read
 * back as `raw-public` (Node 24) or through the public half's JWK `x` (no secret leaves OpenSSL):
 * much cheaper than the X25519(private, 9) of a second DH.
 */
function publicKeyOfKeyObject(privateKey: KeyObject): Uint8Array {
  const publicKey = createPublicKey(privateKey);
  const out = RAW_KEYS
    ? (publicKey.export({ format: "raw-public" } as never) as Buffer)
    : Buffer.from(publicKey.export({ format: "jwk" }).x ?? "", "base64url");
  if (out.length !== KEY_LENGTH) throw new Error("X25519 public key export failed");
  return new Uint8Array(out);
}

/** The X25519 base point u = 9 (RFC 7748 §4.1). */
const BASE_POINT = Uint8Array.of(9, ...new Uint8Array(31));
const BASE_POINT_B64 = base64url(BASE_POINT);

function base64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64url");
}

/** Whether this Node imports and exports raw X25519 keys (`raw-private` / `raw-public`, Node 24). */
const RAW_KEYS: boolean = (() => {
  try {
    createPrivateKey({ key: BASE_POINT, format: "raw-private", asymmetricKeyType: "x25519" } as never);
    return true;
  } catch {
    return false;
  }
})();

/**
 * Imports a raw 32-byte X25519 private key into OpenSSL: `raw-private` where Node has it, else
 * JWK. A JWK private key must carry an `x`; Node 20 stores it unchecked and X25519 derivation
 * uses only `d`, so the base point is a placeholder there (Node 24 checks `x` against `d`, and
 * has `raw-private`). PKCS#8 DER works everywhere but goes through OpenSSL's decoder (slower).
 */
function x25519PrivateKey(d: Uint8Array): KeyObject {
  if (RAW_KEYS) return createPrivateKey({ key: d, format: "raw-private", asymmetricKeyType: "x25519" } as never);
  return createPrivateKey({ key: { kty: "OKP", crv: "X25519", d: base64url(d), x: BASE_POINT_B64 }, format: "jwk" });
}

/** Imports a raw 32-byte X25519 public key: `raw-public` where Node has it, else JWK. */
function x25519PublicKey(x: Uint8Array): KeyObject {
  if (RAW_KEYS) return createPublicKey({ key: x, format: "raw-public", asymmetricKeyType: "x25519" } as never);
  return createPublicKey({ key: { kty: "OKP", crv: "X25519", x: base64url(x) }, format: "jwk" });
}

/**
 * Clamps 32 random bytes into an X25519 private key in place (RFC 7748 §5, as `wg genkey` does).
 * @param key 32-byte buffer
 */
export function clampPrivateKey(key: Uint8Array): Uint8Array {
  key[0] = key[0]! & 248;
  key[31] = (key[31]! & 127) | 64;
  return key;
}

/** The 12-byte AEAD nonce: 32 zero bits followed by the 64-bit little-endian counter (whitepaper §5.4.6). */
export function aeadNonce(counter: number): Uint8Array {
  const nonce = new Uint8Array(12);
  writeCounter(nonce, 4, counter);
  return nonce;
}

/** Writes a message counter as 64-bit little-endian. Counters are < 2^53 (see constants.ts). */
export function writeCounter(buf: Uint8Array, offset: number, counter: number): void {
  const lo = counter >>> 0;
  const hi = Math.floor(counter / 0x1_0000_0000) >>> 0;
  buf[offset] = lo & 0xff;
  buf[offset + 1] = (lo >>> 8) & 0xff;
  buf[offset + 2] = (lo >>> 16) & 0xff;
  buf[offset + 3] = lo >>> 24;
  buf[offset + 4] = hi & 0xff;
  buf[offset + 5] = (hi >>> 8) & 0xff;
  buf[offset + 6] = (hi >>> 16) & 0xff;
  buf[offset + 7] = hi >>> 24;
}

/**
 * AEAD(key, counter, plaintext, authtext): ChaCha20-Poly1305 (RFC 8439 §2.8) on `backend`, as the
 * handshake uses it (counter 0); the transport path seals in place through {@link TransportAead}.
 * Null only if the backend refuses valid arguments (a broken implementation): never a throw.
 * @param key 32-byte key
 */
export function aeadSeal(backend: ChaChaPolyBackend, key: Uint8Array, counter: number, plaintext: Uint8Array, authtext: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(plaintext.length + AEAD_TAG_LENGTH);
  return backend.seal(key, aeadNonce(counter), authtext, plaintext, out, 0) === out.length ? out : null;
}

/** Inverse of {@link aeadSeal}; null when the tag does not verify (nothing unauthenticated is returned). */
export function aeadOpen(backend: ChaChaPolyBackend, key: Uint8Array, counter: number, ciphertext: Uint8Array, authtext: Uint8Array): Uint8Array | null {
  if (ciphertext.length < AEAD_TAG_LENGTH) return null;
  const out = new Uint8Array(ciphertext.length - AEAD_TAG_LENGTH);
  return backend.open(key, aeadNonce(counter), authtext, ciphertext, out, 0) === out.length ? out : null;
}

/**
 * XAEAD(key, nonce, plaintext, authtext): XChaCha20-Poly1305, used only for cookie replies
 * (whitepaper §5.4.7).
 * @param key 32-byte key
 * @param nonce 24-byte random nonce
 */
export function xaeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, authtext: Uint8Array): Uint8Array {
  return xchacha20poly1305(key, nonce, authtext).encrypt(plaintext);
}

/** Inverse of {@link xaeadSeal}; null when the tag does not verify. */
export function xaeadOpen(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, authtext: Uint8Array): Uint8Array | null {
  try {
    return xchacha20poly1305(key, nonce, authtext).decrypt(ciphertext);
  } catch {
    return null;
  }
}

/** Constant-time equality of two byte strings (length is not secret). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** True when every byte is zero, in constant time. */
export function isZero(a: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i]!;
  return acc === 0;
}

/** Overwrites a secret with zeros. */
export function wipe(...secrets: (Uint8Array | undefined | null)[]): void {
  for (const s of secrets) s?.fill(0);
}
