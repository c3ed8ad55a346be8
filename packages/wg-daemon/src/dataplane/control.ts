/**
 * The rx worker's gate to the main thread: what happens to a received datagram the worker does
 * not carry itself (anything but a transport message for a published receive index).
 *
 * The main thread (wg-core's Device) is where handshakes happen, and its message port is shared
 * by every datagram handed to it: a flood of junk must not crowd out a real initiation. Like the
 * kernel and wireguard-go, wrong-size and unknown-type datagrams are dropped first, then handshake
 * messages face MAC1 (whitepaper §5.4.4) — both with wg-core's own rules: {@link classifyMessage}
 * (exact size per type) and {@link checkMac1} with the key {@link mac1Key} derives from our public
 * key. Only then does a message spend budget:
 *  - handshake messages (initiation, response) with a valid MAC1: SLOW_BUDGET per SAMPLE_MS;
 *  - cookie replies (they carry no MAC1; exact size only): COOKIE_BUDGET per SAMPLE_MS, apart;
 *  - everything else is dropped here, counted by wg-core DropReason: truncated, invalid-size,
 *    oversized, unknown-type, bad-mac1, unknown-index (transport for no published index),
 *    no-private-key (no key published: the core would drop it too), slow-path-budget.
 * So the posts per window are bounded, and a datagram that fails a check never uses a place a
 * MAC1-valid handshake message could have had. Under a flood of MAC1-valid messages the core's
 * own defences (cookie replies, MAC2, the per-source rate limiter) take over.
 *
 * Initial state: no public key (everything is dropped), budgets full. Pure logic, no I/O.
 */
import { checkMac1, classifyMessage, mac1Key } from "@wg-ts/core";
import { COOKIE_BUDGET, SAMPLE_MS, SLOW_BUDGET, type WorkerDropReason } from "./shared.js";

/** "post": hand the datagram to the main thread; otherwise why it was dropped. */
export type ControlVerdict = "post" | WorkerDropReason;

export interface ControlGateOptions {
  /** MAC1-valid handshake messages per window (default SLOW_BUDGET). */
  handshakeBudget?: number;
  /** Cookie replies per window (default COOKIE_BUDGET). */
  cookieBudget?: number;
  /** Window length in ms (default SAMPLE_MS). */
  windowMs?: number;
}

export class ControlGate {
  readonly #handshakeBudget: number;
  readonly #cookieBudget: number;
  readonly #windowMs: number;
  readonly #publicKey = new Uint8Array(32);
  #mac1Key: Uint8Array | null = null;
  #windowStart = Number.NEGATIVE_INFINITY;
  #handshakes = 0;
  #cookies = 0;

  constructor(o: ControlGateOptions = {}) {
    this.#handshakeBudget = o.handshakeBudget ?? SLOW_BUDGET;
    this.#cookieBudget = o.cookieBudget ?? COOKIE_BUDGET;
    this.#windowMs = o.windowMs ?? SAMPLE_MS;
  }

  /**
   * Our static public key (32 bytes), or null when the device has none. The MAC1 key is derived
   * again only when the key changes.
   */
  setPublicKey(publicKey: Uint8Array | null): void {
    if (publicKey === null) {
      this.#mac1Key = null;
      return;
    }
    if (this.#mac1Key !== null && equal(publicKey, this.#publicKey)) return;
    this.#publicKey.set(publicKey);
    this.#mac1Key = mac1Key(publicKey);
  }

  /**
   * Decides about one datagram, d[start, end) (default: all of `d`), that the worker does not carry
   * itself, at `now` (ms, any monotonic clock). A transport message gets here only when its index
   * is not published. Allocates nothing unless the datagram has a handshake message's exact size.
   */
  admit(d: Uint8Array, now: number, start = 0, end = d.length): ControlVerdict {
    const cls = classifyMessage(d, start, end);
    if (typeof cls === "string") return cls; // truncated, invalid-size, oversized, unknown-type
    if (cls === 4) return "unknown-index";
    const key = this.#mac1Key;
    if (key === null) return "no-private-key";
    if (now - this.#windowStart >= this.#windowMs) {
      this.#windowStart = now;
      this.#handshakes = 0;
      this.#cookies = 0;
    }
    if (cls === 3) {
      if (this.#cookies >= this.#cookieBudget) return "slow-path-budget";
      this.#cookies++;
      return "post";
    }
    // Budget spent (by MAC1-valid messages only): no MAC to compute, nothing would be posted anyway.
    if (this.#handshakes >= this.#handshakeBudget) return "slow-path-budget";
    if (!checkMac1(key, d.subarray(start, end))) return "bad-mac1";
    this.#handshakes++;
    return "post";
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
