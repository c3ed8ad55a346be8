/**
 * The transport-data AEAD (whitepaper §5.4.6): ChaCha20-Poly1305 (RFC 8439 §2.8) with an empty
 * authenticated-data string and the 96-bit nonce 32 zero bits ‖ 64-bit little-endian counter.
 *
 * Two interchangeable implementations behind {@link TransportAead}, chosen by `pnpm bench`
 * (benchmarks/src/micro.ts): {@link nodeTransportAead} (OpenSSL through node:crypto) and
 * {@link nobleTransportAead} (pure-JS @noble/ciphers, writing straight into the caller's buffer).
 * Both are thin wrappers over a {@link ChaChaPolyBackend} (explicit nonce and AAD, which is what
 * the published vectors exercise). They are stateless, write into a caller-owned buffer (in place
 * is allowed: `out` may be the input's own buffer as long as the output does not start after the
 * input) and never throw on any input: failures — a bad tag, a truncated ciphertext, a wrong key
 * length, no room in `out` — return −1, and `open` never writes unauthenticated plaintext to `out`.
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
  /**
   * The same implementation with an explicit nonce and authtext, for the handshake's
   * AEAD(κ, 0, …, H) (whitepaper §5.4.2–5.4.3); absent: node:crypto's ({@link nodeChaChaPoly}).
   */
  readonly chaChaPoly?: ChaChaPolyBackend;
}

/**
 * ChaCha20-Poly1305 (RFC 8439 §2.8) with an explicit nonce and AAD, writing into a caller-owned
 * buffer: the primitive under both {@link TransportAead}s, exported so published vectors (RFC 8439,
 * Wycheproof) run against exactly the code the transport uses. Same failure rule: −1, never a throw.
 */
export interface ChaChaPolyBackend {
  readonly name: string;
  /**
   * @param key 32-byte key
   * @param nonce 12-byte nonce
   * @param aad additional authenticated data (any length)
   * @returns bytes written (plaintext.length + 16), or −1
   */
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, outOffset: number): number;
  /** @returns plaintext length, or −1 if the tag does not verify or the arguments are unusable */
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array, out: Uint8Array, outOffset: number): number;
}

const EMPTY = new Uint8Array(0);

function usable(key: Uint8Array, nonce: Uint8Array, inLength: number, outLength: number, out: Uint8Array, outOffset: number): boolean {
  return (
    key.length === KEY_LENGTH &&
    nonce.length === 12 &&
    outLength >= 0 &&
    inLength >= 0 &&
    Number.isSafeInteger(outOffset) &&
    outOffset >= 0 &&
    outOffset + outLength <= out.length
  );
}

/**
 * One cipher step of a backend: writes `n` bytes (the checked output length) at `out[outOffset ..]`,
 * or throws. May assume {@link usable} arguments.
 */
type Step = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, input: Uint8Array, out: Uint8Array, outOffset: number, n: number) => void;

/**
 * A {@link ChaChaPolyBackend} from its two cipher steps, with the checks and the failure rule both
 * share: unusable arguments or anything thrown (a bad tag) give −1.
 */
function backend(name: string, sealStep: Step, openStep: Step): ChaChaPolyBackend {
  return {
    name,
    seal(key, nonce, aad, plaintext, out, outOffset) {
      const n = plaintext.length + AEAD_TAG_LENGTH;
      if (!usable(key, nonce, plaintext.length, n, out, outOffset)) return -1;
      try {
        sealStep(key, nonce, aad, plaintext, out, outOffset, n);
        return n;
      } catch {
        return -1;
      }
    },
    open(key, nonce, aad, ciphertext, out, outOffset) {
      const n = ciphertext.length - AEAD_TAG_LENGTH;
      if (!usable(key, nonce, ciphertext.length, n, out, outOffset)) return -1;
      try {
        openStep(key, nonce, aad, ciphertext, out, outOffset, n);
        return n;
      } catch {
        return -1;
      }
    },
  };
}

/** @noble/ciphers, using its `encrypt(plaintext, output)` form: no extra copy. */
export const nobleChaChaPoly: ChaChaPolyBackend = backend(
  "noble",
  (key, nonce, aad, plaintext, out, outOffset, n) => {
    chacha20poly1305(key, nonce, aad).encrypt(plaintext, out.subarray(outOffset, outOffset + n));
  },
  (key, nonce, aad, ciphertext, out, outOffset, n) => {
    // noble verifies the tag before it writes anything to the output.
    chacha20poly1305(key, nonce, aad).decrypt(ciphertext, out.subarray(outOffset, outOffset + n));
  },
);

/** OpenSSL through node:crypto (`chacha20-poly1305`, 16-byte tag). */
export const nodeChaChaPoly: ChaChaPolyBackend = backend(
  "node:crypto",
  (key, nonce, aad, plaintext, out, outOffset) => {
    const cipher = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: AEAD_TAG_LENGTH });
    if (aad.length > 0) cipher.setAAD(aad, { plaintextLength: plaintext.length });
    const body = cipher.update(plaintext);
    const tail = cipher.final();
    out.set(body, outOffset);
    if (tail.length > 0) out.set(tail, outOffset + body.length);
    out.set(cipher.getAuthTag(), outOffset + plaintext.length);
  },
  (key, nonce, aad, ciphertext, out, outOffset, n) => {
    const decipher = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: AEAD_TAG_LENGTH });
    decipher.setAuthTag(ciphertext.subarray(n));
    if (aad.length > 0) decipher.setAAD(aad, { plaintextLength: n });
    const body = decipher.update(ciphertext.subarray(0, n));
    decipher.final(); // throws if the tag does not verify: nothing has been written to `out` yet
    out.set(body, outOffset);
  },
);

/** Shared nonce scratch: both backends consume the nonce synchronously. */
const nonce = new Uint8Array(12);

/** The transport AEAD over a backend: nonce = 32 zero bits ‖ 64-bit LE counter, empty AAD. */
export function transportAead(backend: ChaChaPolyBackend): TransportAead {
  return {
    name: backend.name,
    chaChaPoly: backend,
    seal(key, counter, plaintext, out, outOffset) {
      if (!Number.isSafeInteger(counter) || counter < 0) return -1;
      writeCounter(nonce, 4, counter);
      return backend.seal(key, nonce, EMPTY, plaintext, out, outOffset);
    },
    open(key, counter, ciphertext, out, outOffset) {
      if (!Number.isSafeInteger(counter) || counter < 0) return -1;
      writeCounter(nonce, 4, counter);
      return backend.open(key, nonce, EMPTY, ciphertext, out, outOffset);
    },
  };
}

/** ChaCha20-Poly1305 from @noble/ciphers (pure JS). */
export const nobleTransportAead: TransportAead = transportAead(nobleChaChaPoly);

/** ChaCha20-Poly1305 from OpenSSL through node:crypto. */
export const nodeTransportAead: TransportAead = transportAead(nodeChaChaPoly);

/**
 * The implementation the device uses unless told otherwise: node:crypto, faster than noble in
 * `benchmarks/src/micro.ts` side by side (benchmarks/README.md, section 6). The daemon passes the
 * native addon instead where it loads (wg-daemon native-aead.ts).
 */
export const defaultTransportAead: TransportAead = nodeTransportAead;
