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
  readonly replay = new ReplayWindow();
  private wiped = false;
  #sendCounter = 0;
  /** Optional shared counter cell (see {@link shareSendCounter}). */
  #cells: BigInt64Array | null = null;
  #cell = 0;

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

  /**
   * Next counter to send with (reading it reserves nothing). Assigning moves it (tests, expiry);
   * values ≥ COUNTER_LIMIT are stored as COUNTER_LIMIT: the keypair can no longer send.
   */
  get sendCounter(): number {
    if (this.#cells === null) return this.#sendCounter;
    return Math.min(Number(Atomics.load(this.#cells, this.#cell)), COUNTER_LIMIT);
  }
  set sendCounter(v: number) {
    const c = Math.min(v, COUNTER_LIMIT);
    if (this.#cells === null) this.#sendCounter = c;
    else Atomics.store(this.#cells, this.#cell, BigInt(c));
  }

  /**
   * Reserves `n` consecutive send counters and returns the first; nobody else (another thread
   * sharing the cell included) ever gets them. The result may be ≥ COUNTER_LIMIT: the caller
   * must not send with counters at or past the limit.
   */
  reserveSendCounters(n: number): number {
    if (this.#cells === null) {
      const first = this.#sendCounter;
      this.#sendCounter = Math.min(first + n, COUNTER_LIMIT);
      return first;
    }
    return Number(Atomics.add(this.#cells, this.#cell, BigInt(n)));
  }

  /**
   * From now on the send counter lives in `cells[index]` (e.g. a SharedArrayBuffer that worker
   * threads also reserve from with Atomics.add): the cell is set to the current counter, and every
   * read, assignment and reservation goes through it. {@link unshareSendCounter} takes it back.
   */
  shareSendCounter(cells: BigInt64Array, index: number): void {
    const next = this.sendCounter;
    this.#cells = cells;
    this.#cell = index;
    Atomics.store(cells, index, BigInt(next));
  }

  /** Keeps counting locally, after everything the shared cell handed out. */
  unshareSendCounter(): void {
    if (this.#cells === null) return;
    const next = this.sendCounter;
    this.#cells = null;
    this.#sendCounter = next;
  }

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
