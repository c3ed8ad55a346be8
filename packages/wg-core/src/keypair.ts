/**
 * A transport keypair: one direction-pair of session keys derived by a completed handshake
 * (whitepaper §5.4.5 "Derivation of Transport Data Keys", §5.4.6 "Subsequent Messages").
 *
 * Initial state: sending counter 0, empty replay window, `createdAt` = the moment the handshake
 * completed. Guarantees: the sending counter only grows and is never reused; the receive side
 * accepts each counter at most once (replay.ts, window 8128) and nothing ≥ COUNTER_LIMIT; a keypair
 * older than REJECT_AFTER_TIME or wiped is never used again. The local index is the one the
 * handshake registered in the device's index table, so the peer addresses us with it.
 */
import { inspect } from "node:util";
import { COUNTER_LIMIT, REJECT_AFTER_TIME } from "./constants.js";
import { wipe } from "./crypto.js";
import { ReplayWindow } from "./replay.js";

export class Keypair<P = unknown> {
  /** Next counter to send with. */
  sendCounter = 0;
  readonly replay = new ReplayWindow();
  private wiped = false;

  /**
   * @param sendKey 32-byte sending key (owned, wiped by {@link wipe})
   * @param receiveKey 32-byte receiving key (owned)
   */
  constructor(
    readonly peer: P,
    readonly sendKey: Uint8Array,
    readonly receiveKey: Uint8Array,
    readonly localIndex: number,
    readonly remoteIndex: number,
    readonly isInitiator: boolean,
    readonly createdAt: number,
  ) {}

  /** True while the keypair may still send: not wiped, younger than REJECT_AFTER_TIME, counter left. */
  canSend(now: number): boolean {
    return !this.wiped && this.sendCounter < COUNTER_LIMIT && now - this.createdAt < REJECT_AFTER_TIME;
  }

  /** True while the keypair may still receive: not wiped and younger than REJECT_AFTER_TIME. */
  canReceive(now: number): boolean {
    return !this.wiped && now - this.createdAt < REJECT_AFTER_TIME;
  }

  /** Makes the keypair unusable for sending (wireguard-go ExpireCurrentKeypairs). */
  expireSending(): void {
    this.sendCounter = COUNTER_LIMIT;
  }

  get isWiped(): boolean {
    return this.wiped;
  }

  /** Never prints keys. */
  toString(): string {
    return `Keypair(local ${this.localIndex}, remote ${this.remoteIndex}, sent ${this.sendCounter})`;
  }
  toJSON(): string {
    return this.toString();
  }
  [inspect.custom](): string {
    return this.toString();
  }

  /** Zeroes the keys (key erasure, whitepaper §6.3). */
  wipe(): void {
    wipe(this.sendKey, this.receiveKey);
    this.wiped = true;
  }
}
