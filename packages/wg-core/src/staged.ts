/**
 * Packets waiting for a session with one peer (whitepaper §6.2: data is queued while the handshake
 * it started is under way; wireguard-go `QueueStagedSize`, the kernel's `MAX_STAGED_PACKETS`): at
 * most QUEUE_STAGED_SIZE, the oldest dropped when another comes. The Device's peers stage here; so
 * do the daemon's pipelines on other threads, which then ask the Device for a handshake
 * (Device.wantSession) instead of handing it the packets.
 */
import { QUEUE_STAGED_SIZE, REKEY_ATTEMPT_TIME } from "./constants.js";

export class StagedQueue {
  readonly #packets: Uint8Array[] = [];
  /** When the queue last went from empty to non-empty (ms). */
  #since = 0;

  get length(): number {
    return this.#packets.length;
  }

  /**
   * Stages `packet` (kept as given: copy it first if its buffer is reused) at `now`.
   * @returns how many packets were dropped to make room (0 or 1: "staged-queue-full")
   */
  push(packet: Uint8Array, now: number): number {
    if (this.#packets.length === 0) this.#since = now;
    this.#packets.push(packet);
    if (this.#packets.length <= QUEUE_STAGED_SIZE) return 0;
    this.#packets.shift();
    return 1;
  }

  /** The oldest packet, removed; undefined when none waits. */
  shift(): Uint8Array | undefined {
    return this.#packets.shift();
  }

  /** Drops every packet. @returns how many */
  clear(): number {
    const n = this.#packets.length;
    this.#packets.length = 0;
    return n;
  }

  /**
   * For a queue outside the Device (whose timers give up on the handshake after REKEY_ATTEMPT_TIME
   * and drop what its peer staged): drops everything once the queue has waited that long.
   * @returns how many were dropped ("handshake-timeout")
   */
  expire(now: number): number {
    return this.#packets.length > 0 && now - this.#since >= REKEY_ATTEMPT_TIME ? this.clear() : 0;
  }
}
