/**
 * MAC1, MAC2 and cookie replies: WireGuard's DoS mitigation (whitepaper §5.3, §5.4.4, §5.4.7).
 *
 * {@link CookieChecker} is the receiving side, one per device: it verifies MAC1 on every handshake
 * message (keyed by HASH(LABEL-MAC1 ‖ Spub_local)), verifies MAC2 when under load, and creates
 * cookie replies. The cookie for a source is τ := MAC(Rm, source address ‖ port), where the
 * random secret Rm is replaced when older than COOKIE_REFRESH_TIME (2 min). Initially no secret
 * exists, so no MAC2 verifies until a cookie reply has been sent.
 *
 * {@link CookieGenerator} is the sending side, one per peer: it stamps MAC1 and, while it holds a
 * cookie younger than COOKIE_REFRESH_TIME, MAC2 on outgoing handshake messages; it accepts a
 * cookie reply only for the MAC1 it last sent (the reply's authenticated data). Initially it
 * holds no cookie, so MAC2 is zero.
 */
import { COOKIE_REFRESH_TIME, LABEL_COOKIE, LABEL_MAC1 } from "./constants.js";
import { constantTimeEqual, hash, mac, wipe, xaeadOpen, xaeadSeal } from "./crypto.js";
import { COOKIE_REPLY_SIZE, CookieReplyLayout, MESSAGE_COOKIE_REPLY, writeHeader, writeU32 } from "./messages.js";

const encoder = new TextEncoder();
const LABEL_MAC1_BYTES = encoder.encode(LABEL_MAC1);
const LABEL_COOKIE_BYTES = encoder.encode(LABEL_COOKIE);

/** HASH(LABEL-MAC1 ‖ Spub): the MAC1 key for messages sent to the owner of `publicKey`. */
export function mac1Key(publicKey: Uint8Array): Uint8Array {
  return hash(LABEL_MAC1_BYTES, publicKey);
}

/** HASH(LABEL-COOKIE ‖ Spub): the key that encrypts cookies sent by the owner of `publicKey`. */
export function cookieKey(publicKey: Uint8Array): Uint8Array {
  return hash(LABEL_COOKIE_BYTES, publicKey);
}

/** Offsets of MAC1/MAC2 in a handshake message of length `n`: they are its last 32 bytes. */
function macOffsets(n: number): [mac1: number, mac2: number] {
  return [n - 32, n - 16];
}

/**
 * msg.mac1 = MAC(HASH(LABEL-MAC1 ‖ Spub_m), msg[0:offset(mac1)]), in constant time (whitepaper §5.4.4).
 * For any receiver of handshake messages (the device's {@link CookieChecker}, the daemon's receive
 * workers, which drop what is not for us before the device sees it).
 * @param key 32-byte MAC1 key of the receiver, {@link mac1Key}(receiver's static public key)
 * @param msg a whole handshake message (initiation or response; its size already checked)
 */
export function checkMac1(key: Uint8Array, msg: Uint8Array): boolean {
  const [m1] = macOffsets(msg.length);
  if (m1 < 0) return false;
  const expected = mac(key, msg.subarray(0, m1));
  return constantTimeEqual(expected, msg.subarray(m1, m1 + 16));
}

/** Receiver-side MAC checks and cookie replies (one per device). */
export class CookieChecker {
  private mac1Key: Uint8Array;
  private encryptionKey: Uint8Array;
  private secret = new Uint8Array(32);
  private secretSetAt = Number.NEGATIVE_INFINITY;

  /** @param publicKey our 32-byte static public key */
  constructor(publicKey: Uint8Array) {
    this.mac1Key = mac1Key(publicKey);
    this.encryptionKey = cookieKey(publicKey);
  }

  /** Re-keys after our static key changed; the cookie secret stays. */
  setPublicKey(publicKey: Uint8Array): void {
    this.mac1Key = mac1Key(publicKey);
    this.encryptionKey = cookieKey(publicKey);
  }

  /** msg.mac1 = MAC(HASH(LABEL-MAC1 ‖ Spub_m), msg[0:offset(mac1)]), in constant time ({@link checkMac1}). */
  checkMac1(msg: Uint8Array): boolean {
    return checkMac1(this.mac1Key, msg);
  }

  /**
   * msg.mac2 = MAC(τ, msg[0:offset(mac2)]) with τ = MAC(Rm, source). False when the secret has
   * expired (no cookie issued in the last two minutes is valid any more).
   * @param source the sender's address bytes ‖ port (see endpoint.ts)
   */
  checkMac2(msg: Uint8Array, source: Uint8Array, now: number): boolean {
    if (now - this.secretSetAt > COOKIE_REFRESH_TIME) return false;
    const [, m2] = macOffsets(msg.length);
    // τ := MAC(Rm, Am)
    const cookie = mac(this.secret, source);
    const expected = mac(cookie, msg.subarray(0, m2));
    wipe(cookie);
    return constantTimeEqual(expected, msg.subarray(m2, m2 + 16));
  }

  /**
   * Writes a cookie reply (64 bytes) to `msg` into `out`: receiver = the message's sender index,
   * cookie = XAEAD(HASH(LABEL-COOKIE ‖ Spub_m), nonce, τ, msg.mac1).
   */
  createReply(
    msg: Uint8Array,
    receiverIndex: number,
    source: Uint8Array,
    now: number,
    random: (out: Uint8Array) => void,
    out: Uint8Array,
  ): void {
    if (now - this.secretSetAt > COOKIE_REFRESH_TIME) {
      // Rm changes every two minutes.
      random(this.secret);
      this.secretSetAt = now;
    }
    // τ := MAC(Rm, Am)
    const cookie = mac(this.secret, source);
    const [m1, m2] = macOffsets(msg.length);
    writeHeader(out, MESSAGE_COOKIE_REPLY);
    writeU32(out, CookieReplyLayout.receiver, receiverIndex);
    const nonce = out.subarray(CookieReplyLayout.nonce, CookieReplyLayout.nonce + 24);
    random(nonce);
    // msg.cookie := XAEAD(HASH(LABEL-COOKIE ‖ Spub_m), msg.nonce, τ, M)
    out.set(xaeadSeal(this.encryptionKey, nonce, cookie, msg.subarray(m1, m2)), CookieReplyLayout.cookie);
    wipe(cookie);
  }
}

/** Sender-side MAC1/MAC2 stamping and cookie storage (one per peer). */
export class CookieGenerator {
  private readonly mac1Key: Uint8Array;
  private readonly decryptionKey: Uint8Array;
  private readonly lastMac1 = new Uint8Array(16);
  private hasLastMac1 = false;
  private readonly cookie = new Uint8Array(16);
  private cookieSetAt = Number.NEGATIVE_INFINITY;

  /** @param remotePublicKey the peer's 32-byte static public key */
  constructor(remotePublicKey: Uint8Array) {
    this.mac1Key = mac1Key(remotePublicKey);
    this.decryptionKey = cookieKey(remotePublicKey);
  }

  /** True while a cookie younger than COOKIE_REFRESH_TIME is held. */
  hasCookie(now: number): boolean {
    return now - this.cookieSetAt < COOKIE_REFRESH_TIME;
  }

  /** Stamps msg.mac1 and msg.mac2 (zero unless a fresh cookie is held) on a handshake message. */
  addMacs(msg: Uint8Array, now: number): void {
    const [m1, m2] = macOffsets(msg.length);
    // msg.mac1 := MAC(HASH(LABEL-MAC1 ‖ Spub_m'), msg[0:offset(mac1)])
    const m = mac(this.mac1Key, msg.subarray(0, m1));
    msg.set(m, m1);
    this.lastMac1.set(m);
    this.hasLastMac1 = true;
    if (this.hasCookie(now)) {
      // msg.mac2 := MAC(Lm, msg[0:offset(mac2)])
      msg.set(mac(this.cookie, msg.subarray(0, m2)), m2);
    } else {
      msg.fill(0, m2, m2 + 16);
    }
  }

  /** Decrypts a cookie reply to our last MAC1 and stores the cookie. False if it does not verify. */
  consumeReply(reply: Uint8Array, now: number): boolean {
    if (!this.hasLastMac1 || reply.length !== COOKIE_REPLY_SIZE) return false;
    const nonce = reply.subarray(CookieReplyLayout.nonce, CookieReplyLayout.nonce + 24);
    const sealed = reply.subarray(CookieReplyLayout.cookie, CookieReplyLayout.cookie + CookieReplyLayout.cookieLength);
    const cookie = xaeadOpen(this.decryptionKey, nonce, sealed, this.lastMac1);
    if (cookie === null) return false;
    this.cookie.set(cookie);
    wipe(cookie);
    this.cookieSetAt = now;
    return true;
  }
}
