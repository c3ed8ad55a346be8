/**
 * The transport-data AEAD (whitepaper §5.4.6): ChaCha20-Poly1305 (RFC 8439 §2.8) with an empty
 * authenticated-data string and the 96-bit nonce 32 zero bits ‖ 64-bit little-endian counter.
 *
 * Two interchangeable implementations behind {@link TransportAead}, chosen by `pnpm bench`
 * (benchmarks/src/micro.ts): {@link nodeTransportAead} (OpenSSL through node:crypto) and
 * {@link nobleTransportAead} (pure-JS @noble/ciphers, writing straight into the caller's buffer).
 * Both are stateless, write into a caller-owned buffer (in place is allowed: `out` may be the input's
 * own buffer as long as the output does not start after the input) and never throw on any input:
 * failures — a bad tag, a truncated ciphertext, a wrong key length, no room in `out` — return −1,
 * and `open` never writes unauthenticated plaintext into `out`.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { AEAD_TAG_LENGTH, KEY_LENGTH, writeCounter } from "./crypto.js";

export interface TransportAead {
  /** Short name for benchmarks and logs ("node:crypto", "noble"). */
  readonly name: string;
  /**
   * Encrypts and authenticates `plaintext` into `out[outOffset ..]`.
   * @param key 32-byte sending key
   * @param counter message counter (< 2^53), the nonce's low 64 bits
   * @param plaintext bytes to encrypt (any length, including 0)
   * @param out destination with room for plaintext.length + 16 bytes at outOffset
   * @returns bytes written (plaintext.length + 16), or −1 if the arguments are unusable
   */
  seal(key: Uint8Array, counter: number, plaintext: Uint8Array, out: Uint8Array, outOffset: number): number;
  /**
   * Verifies and decrypts `ciphertext` (which ends with its 16-byte tag) into `out[outOffset ..]`.
   * @param key 32-byte receiving key
   * @param counter message counter from the packet header
   * @param ciphertext encrypted bytes followed by the 16-byte Poly1305 tag
   * @param out destination with room for ciphertext.length − 16 bytes at outOffset
   * @returns plaintext length, or −1 if authentication fails or the arguments are unusable
   */
  open(key: Uint8Array, counter: number, ciphertext: Uint8Array, out: Uint8Array, outOffset: number): number;
}

/** Shared nonce scratch: both implementations consume the nonce synchronously. */
const nonce = new Uint8Array(12);

function setNonce(counter: number): boolean {
  if (!Number.isSafeInteger(counter) || counter < 0) return false;
  writeCounter(nonce, 4, counter);
  return true;
}

function usable(key: Uint8Array, inLength: number, outLength: number, out: Uint8Array, outOffset: number): boolean {
  return (
    key.length === KEY_LENGTH &&
    outLength >= 0 &&
    inLength >= 0 &&
    Number.isSafeInteger(outOffset) &&
    outOffset >= 0 &&
    outOffset + outLength <= out.length
  );
}

/** ChaCha20-Poly1305 from @noble/ciphers, using its `encrypt(plaintext, output)` form: no extra copy. */
export const nobleTransportAead: TransportAead = {
  name: "noble",
  seal(key, counter, plaintext, out, outOffset) {
    const n = plaintext.length + AEAD_TAG_LENGTH;
    if (!usable(key, plaintext.length, n, out, outOffset) || !setNonce(counter)) return -1;
    try {
      chacha20poly1305(key, nonce).encrypt(plaintext, out.subarray(outOffset, outOffset + n));
      return n;
    } catch {
      return -1;
    }
  },
  open(key, counter, ciphertext, out, outOffset) {
    const n = ciphertext.length - AEAD_TAG_LENGTH;
    if (!usable(key, ciphertext.length, n, out, outOffset) || !setNonce(counter)) return -1;
    try {
      // noble verifies the tag before it writes anything to the output.
      chacha20poly1305(key, nonce).decrypt(ciphertext, out.subarray(outOffset, outOffset + n));
      return n;
    } catch {
      return -1;
    }
  },
};

/** ChaCha20-Poly1305 from OpenSSL through node:crypto (`chacha20-poly1305`, 16-byte tag). */
export const nodeTransportAead: TransportAead = {
  name: "node:crypto",
  seal(key, counter, plaintext, out, outOffset) {
    const n = plaintext.length + AEAD_TAG_LENGTH;
    if (!usable(key, plaintext.length, n, out, outOffset) || !setNonce(counter)) return -1;
    try {
      const cipher = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: AEAD_TAG_LENGTH });
      const body = cipher.update(plaintext);
      const tail = cipher.final();
      out.set(body, outOffset);
      if (tail.length > 0) out.set(tail, outOffset + body.length);
      out.set(cipher.getAuthTag(), outOffset + plaintext.length);
      return n;
    } catch {
      return -1;
    }
  },
  open(key, counter, ciphertext, out, outOffset) {
    const n = ciphertext.length - AEAD_TAG_LENGTH;
    if (!usable(key, ciphertext.length, n, out, outOffset) || !setNonce(counter)) return -1;
    try {
      const decipher = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: AEAD_TAG_LENGTH });
      decipher.setAuthTag(ciphertext.subarray(n));
      const body = decipher.update(ciphertext.subarray(0, n));
      decipher.final(); // throws if the tag does not verify: nothing has been written to `out` yet
      out.set(body, outOffset);
      return n;
    } catch {
      return -1;
    }
  },
};

/**
 * The implementation the device uses unless told otherwise: node:crypto, measured faster by
 * `benchmarks/src/micro.ts` side by side with noble (see the report in benchmarks/README or `pnpm bench`).
 */
export const defaultTransportAead: TransportAead = nodeTransportAead;
