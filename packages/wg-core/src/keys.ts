/**
 * WireGuard keys as users see them: 32-byte Curve25519 private/public keys and 32-byte pre-shared
 * keys, written as 44 characters of standard base64 (whitepaper §5.4; `wg(8)` "genkey"/"pubkey"/"genpsk").
 *
 * Parsing is strict like wireguard-tools' `key_from_base64`: exactly 43 base64 characters plus one '=',
 * canonical (the two unused low bits of the last character are zero). Errors name *what* was bad and
 * never echo the value. Secret keys ({@link PrivateKey}, {@link PresharedKey}) own a private copy of
 * their bytes, print as "<redacted>" through toString / util.inspect / JSON, and can be wiped.
 */
import { inspect } from "node:util";
import { clampPrivateKey, constantTimeEqual, KEY_LENGTH, publicKeyOf, wipe } from "./crypto.js";

/** Thrown by {@link parseKey} and the `fromBase64` / `fromBytes` constructors. Never contains key material. */
export class KeyFormatError extends Error {
  override name = "KeyFormatError";
}

const REDACTED = "<redacted>";
const BASE64_KEY = /^[A-Za-z0-9+/]{43}=$/;

/**
 * Decodes a key written as base64 (`wg genkey` format).
 * @param base64 44 characters: 43 of the standard base64 alphabet, then '='
 * @param what what the key is, for the error message (e.g. "private key", "peer 3 public key")
 * @returns 32-byte key
 * @throws KeyFormatError naming `what` (the value itself is never included)
 */
export function parseKey(base64: string, what: string): Uint8Array {
  if (typeof base64 !== "string") throw new KeyFormatError(`${what}: expected a base64 string`);
  if (base64.length !== 44) {
    throw new KeyFormatError(`${what}: expected 44 characters of base64 (32 bytes), got ${base64.length} characters`);
  }
  if (!BASE64_KEY.test(base64)) {
    throw new KeyFormatError(`${what}: not standard base64 (43 characters of A-Z a-z 0-9 + / followed by one '=')`);
  }
  const bytes = new Uint8Array(Buffer.from(base64, "base64"));
  // 43 characters carry 258 bits; the last 2 must be zero, else two strings decode to the same key.
  if (bytes.length !== KEY_LENGTH || Buffer.from(bytes).toString("base64") !== base64) {
    wipe(bytes);
    throw new KeyFormatError(`${what}: non-canonical base64 (the last character before '=' has unused bits set)`);
  }
  return bytes;
}

/**
 * Encodes a key as 44 characters of standard base64.
 * @param bytes 32-byte key
 */
export function encodeKey(bytes: Uint8Array): string {
  if (bytes.length !== KEY_LENGTH) throw new KeyFormatError(`key: expected ${KEY_LENGTH} bytes, got ${bytes.length}`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

function copyKey(bytes: Uint8Array, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== KEY_LENGTH) {
    throw new KeyFormatError(`${what}: expected ${KEY_LENGTH} bytes`);
  }
  return Uint8Array.from(bytes);
}

/**
 * What {@link PrivateKey} and {@link PresharedKey} share: a private copy of 32 secret bytes, their
 * base64 form on request, wiping, and "<redacted>" through toString / util.inspect / JSON.
 */
abstract class SecretKey {
  readonly #bytes: Uint8Array;

  protected constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** 32 fresh bytes from `random`. */
  protected static randomBytes(random: (out: Uint8Array) => void): Uint8Array {
    const bytes = new Uint8Array(KEY_LENGTH);
    random(bytes);
    return bytes;
  }

  /** The 32 secret bytes (the key's own buffer: do not modify; all zero after {@link wipe}). */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** The 44-character base64 form (secret: what `wg show ... private-key` / `preshared-keys` print). */
  toBase64(): string {
    return encodeKey(this.#bytes);
  }

  /** Overwrites the key bytes with zeros. */
  wipe(): void {
    wipe(this.#bytes);
  }

  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}

/** A Curve25519 private key (whitepaper §5.4: S_priv). Redacted when printed. */
export class PrivateKey extends SecretKey {
  #public: PublicKey | undefined;
  #wiped = false;

  private constructor(bytes: Uint8Array) {
    super(bytes);
  }

  /**
   * A fresh key, clamped like `wg genkey` (RFC 7748 §5).
   * @param random fills its argument with cryptographically secure random bytes
   */
  static generate(random: (out: Uint8Array) => void): PrivateKey {
    return new PrivateKey(clampPrivateKey(SecretKey.randomBytes(random)));
  }

  /** Parses `wg genkey` output. Not clamped: X25519 clamps, and `wg` prints keys back unchanged. */
  static fromBase64(base64: string, what = "private key"): PrivateKey {
    return new PrivateKey(parseKey(base64, what));
  }

  /** @param bytes 32-byte private key (copied) */
  static fromBytes(bytes: Uint8Array, what = "private key"): PrivateKey {
    return new PrivateKey(copyKey(bytes, what));
  }

  /** DH-Pubkey(S_priv), computed once. */
  publicKey(): PublicKey {
    if (this.#wiped) throw new KeyFormatError("private key: used after wipe()");
    this.#public ??= PublicKey.fromBytes(publicKeyOf(this.bytes));
    return this.#public;
  }

  /** Overwrites the key bytes with zeros; {@link publicKey} throws afterwards. */
  override wipe(): void {
    super.wipe();
    this.#wiped = true;
  }
}

/** A Curve25519 public key (whitepaper §5.4: S_pub). Printing shows its base64 form. */
export class PublicKey {
  readonly #bytes: Uint8Array;
  readonly #base64: string;

  private constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#base64 = encodeKey(bytes);
  }

  static fromBase64(base64: string, what = "public key"): PublicKey {
    return new PublicKey(parseKey(base64, what));
  }

  /** @param bytes 32-byte public key (copied) */
  static fromBytes(bytes: Uint8Array, what = "public key"): PublicKey {
    return new PublicKey(copyKey(bytes, what));
  }

  /** The 32 bytes (the key's own buffer: do not modify). */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  toBase64(): string {
    return this.#base64;
  }

  /** Constant-time comparison with another key or 32 raw bytes. */
  equals(other: PublicKey | Uint8Array): boolean {
    return constantTimeEqual(this.#bytes, other instanceof PublicKey ? other.#bytes : other);
  }

  toString(): string {
    return this.#base64;
  }
  toJSON(): string {
    return this.#base64;
  }
  [inspect.custom](): string {
    return `PublicKey(${this.#base64})`;
  }
}

/** A 32-byte pre-shared symmetric key (whitepaper §5.2: Q). Redacted when printed. */
export class PresharedKey extends SecretKey {
  private constructor(bytes: Uint8Array) {
    super(bytes);
  }

  /** A fresh key like `wg genpsk`. @param random fills its argument with secure random bytes */
  static generate(random: (out: Uint8Array) => void): PresharedKey {
    return new PresharedKey(SecretKey.randomBytes(random));
  }

  static fromBase64(base64: string, what = "preshared key"): PresharedKey {
    return new PresharedKey(parseKey(base64, what));
  }

  /** @param bytes 32-byte key (copied) */
  static fromBytes(bytes: Uint8Array, what = "preshared key"): PresharedKey {
    return new PresharedKey(copyKey(bytes, what));
  }
}
