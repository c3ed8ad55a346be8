/**
 * A transport keypair: one direction-pair of session keys derived by a completed handshake
 * (whitepaper §5.4.5 "Derivation of Transport Data Keys", §5.4.6 "Subsequent Messages").
 *
 * The keypair's state lives in a slot of a {@link SessionTable} (shared memory: keys, send counter,
 * replay window, creation time); a Keypair is the owner thread's handle on that slot and generation
 * (session-table.ts), with the peer it belongs to. Sealing and opening are transport.ts's, on the
 * table — the same code whichever thread runs it.
 *
 * Initial state: sending counter 0, empty replay window, `createdAt` = the moment the handshake
 * completed. Guarantees: the sending counter only grows and is never reused (by any thread); the
 * receive side accepts each counter at most once (replay.ts, window 8128) and nothing ≥ COUNTER_LIMIT;
 * a keypair older than REJECT_AFTER_TIME or wiped is never used again, and wiping zeroes its keys in
 * the shared buffer. The local index is the one the handshake registered in the device's index
 * table, so the peer addresses us with it.
 */
import { inspect } from "node:util";
import { COUNTER_LIMIT } from "./constants.js";
import { wipe } from "./crypto.js";
import { isExpired, SessionTable } from "./session-table.js";

export class Keypair<P = unknown> {
  /** The table holding this keypair's state, and its slot and generation there. */
  readonly table: SessionTable;
  readonly slot: number;
  readonly generation: number;
  readonly #sendKey: Uint8Array;
  readonly #receiveKey: Uint8Array;
  private wiped = false;

  /**
   * Installs the keys in a slot of `table` (a private one-slot table when none is given: tests).
   * @param sendKey 32-byte sending key (copied into the table, then wiped here)
   * @param receiveKey 32-byte receiving key (copied, then wiped)
   * @param peerId the owner's id of `peer` (allowed-IPs source check in transport.ts)
   */
  constructor(
    readonly peer: P,
    sendKey: Uint8Array,
    receiveKey: Uint8Array,
    readonly localIndex: number,
    readonly remoteIndex: number,
    readonly isInitiator: boolean,
    readonly createdAt: number,
    table?: SessionTable,
    peerId = 0,
  ) {
    this.table = table ?? SessionTable.create({ maxSlots: 1, initialSlots: 1 });
    this.slot = this.table.install({ localIndex, remoteIndex, sendKey, receiveKey, isInitiator, createdAt, peer: peerId });
    this.generation = this.table.generation(this.slot);
    if (sendKey !== receiveKey) wipe(sendKey, receiveKey);
    else wipe(sendKey);
    this.#sendKey = this.table.sendKey(this.slot);
    this.#receiveKey = this.table.receiveKey(this.slot);
  }

  /**
   * 32-byte sending key: a view of the slot's bytes in the shared buffer while the keypair is live
   * (do not keep it: the slot holds another keypair's key once this one is wiped and the slot reused);
   * zeros once wiped (the slot's bytes are zeroed in place).
   */
  get sendKey(): Uint8Array {
    return this.wiped ? new Uint8Array(32) : this.#sendKey;
  }

  /** 32-byte receiving key: like {@link sendKey}. */
  get receiveKey(): Uint8Array {
    return this.wiped ? new Uint8Array(32) : this.#receiveKey;
  }

  /**
   * Next counter to send with (reading it reserves nothing). Assigning moves it (tests, expiry);
   * values ≥ COUNTER_LIMIT are stored as COUNTER_LIMIT: the keypair can no longer send.
   */
  get sendCounter(): number {
    if (this.wiped) return COUNTER_LIMIT;
    return this.table.sendCounter(this.slot);
  }
  set sendCounter(v: number) {
    this.table.setSendCounter(this.slot, this.generation, Math.min(v, COUNTER_LIMIT));
  }

  /**
   * Reserves `n` consecutive send counters and returns the first; nobody else (another thread
   * sharing the slot included) ever gets them. The result may be ≥ COUNTER_LIMIT: the caller
   * must not send with counters at or past the limit.
   */
  reserveSendCounters(n: number): number {
    if (this.wiped) return COUNTER_LIMIT;
    return this.table.reserveSendCounters(this.slot, n);
  }

  /**
   * True while the keypair may still send: not wiped, younger than REJECT_AFTER_TIME, counter left
   * (transport.ts's rules; the owner knows its slot is live while not wiped: it is the only eraser).
   */
  canSend(now: number): boolean {
    return !this.wiped && !isExpired(this.createdAt, now) && this.sendCounter < COUNTER_LIMIT;
  }

  /** True while the keypair may still receive: not wiped and younger than REJECT_AFTER_TIME. */
  canReceive(now: number): boolean {
    return !this.wiped && !isExpired(this.createdAt, now);
  }

  /** Makes the keypair unusable for sending, in every thread (wireguard-go ExpireCurrentKeypairs). */
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

  /** Zeroes the keys in the table (key erasure, whitepaper §6.3) and frees the slot for a later keypair. */
  wipe(): void {
    if (this.wiped) return;
    this.wiped = true;
    this.table.erase(this.slot, this.generation);
  }
}
