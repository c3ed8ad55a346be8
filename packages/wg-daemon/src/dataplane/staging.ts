/**
 * What a worker's tx pipeline holds for peers without a usable send keypair in the session table:
 * their packets, in a wg-core StagedQueue each (QUEUE_STAGED_SIZE, oldest dropped; given up after
 * REKEY_ATTEMPT_TIME), and when it last asked the main thread's Device for a handshake
 * (Device.wantSession, at most once per REKEY_TIMEOUT per peer while packets wait). The packets never
 * leave the worker: it seals them itself once the keypair is published (tx.ts retryStaged), as
 * wireguard-go's SendStagedPackets does after the handshake.
 */
import { REKEY_TIMEOUT, StagedQueue } from "@wg-ts/core";

export class Staging {
  readonly #queues = new Map<number, StagedQueue>();
  readonly #asked = new Map<number, number>();

  /** Peers with packets waiting. */
  get peers(): number {
    return this.#queues.size;
  }

  /** Peer ids with packets waiting. */
  ids(): IterableIterator<number> {
    return this.#queues.keys();
  }

  has(id: number): boolean {
    return this.#queues.size > 0 && this.#queues.has(id);
  }

  /**
   * Stages `packet` (a copy the caller gives up) for peer `id` at `now` (ms).
   * @returns dropped: packets dropped to make room; ask: the Device should be asked for a handshake now
   */
  stage(id: number, packet: Uint8Array, now: number): { dropped: number; ask: boolean } {
    let q = this.#queues.get(id);
    if (q === undefined) this.#queues.set(id, (q = new StagedQueue()));
    const dropped = q.push(packet, now);
    const asked = this.#asked.get(id);
    const ask = asked === undefined || now - asked >= REKEY_TIMEOUT;
    if (ask) this.#asked.set(id, now);
    return { dropped, ask };
  }

  /** Peer `id`'s waiting packets, oldest first, removed from here (its handshake is done). */
  take(id: number): StagedQueue | undefined {
    const q = this.#queues.get(id);
    this.#queues.delete(id);
    this.#asked.delete(id);
    return q;
  }

  /** Drops the queues that waited REKEY_ATTEMPT_TIME (the Device has given up). @returns packets dropped */
  expire(now: number): number {
    let n = 0;
    for (const [id, q] of this.#queues) {
      const dropped = q.expire(now);
      if (dropped === 0) continue;
      n += dropped;
      this.take(id);
    }
    return n;
  }

  /** Drops everything (the worker stops). @returns packets dropped */
  clear(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.clear();
    this.#queues.clear();
    this.#asked.clear();
    return n;
  }
}
