/**
 * A pipeline's events for the main thread (shared.ts {@link WorkerEvent}: handshake and cookie
 * messages, a keypair's first datagram, packets without a keypair, a handshake to start), queued
 * by the packet path as numbers and byte copies — never as event objects there — and handed over
 * by the loop that runs the pipeline once its step is done: the worker loop after each step
 * (postMessage), the main loop after each burst (the Engine's hooks, dataplane/io.ts).
 *
 * Why no objects on the packet path: an object literal that a hot function allocates rarely (once
 * per handshake or keypair) gets a map V8 lets go of with the last such object; the optimized code
 * of that function holds the map weakly and is thrown away at the next full GC — and V8 11.3
 * (Node 20) never optimizes the function again. The rx pipeline's #open and #handle ran baseline
 * code from the first full GC on: a received lone packet took 74–78 µs from recvmmsg to the TUN
 * write instead of 61 (benchmarks/README.md, section 20).
 */
import type { WorkerEvent } from "./shared.js";
import { SOCKADDR6, readSockaddr } from "./udp.js";

const CONTROL = 0;
const RECEIVED = 1;
const SLOW = 2;
const SESSION = 3;

export class EventQueue {
  /** One entry per event, in order; its numbers, packet and sender follow in the other arrays. */
  readonly #kinds: number[] = [];
  readonly #numbers: number[] = [];
  readonly #packets: Uint8Array[] = [];
  /** Copies of the senders' sockaddr_in6. */
  readonly #names: Buffer[] = [];

  /** Whether events wait for {@link drain}. */
  get pending(): boolean {
    return this.#kinds.length > 0;
  }

  /** A handshake or cookie message (a copy of its own) from the sockaddr_in6 at names[at]. */
  control(datagram: Uint8Array, names: Buffer, at: number): void {
    this.#kinds.push(CONTROL);
    this.#packets.push(datagram);
    this.#names.push(Buffer.from(names.subarray(at, at + SOCKADDR6)));
  }

  /** A datagram opened with keypair (slot, generation) from names[at] (`data`: it carried a packet). */
  received(slot: number, generation: number, names: Buffer, at: number, data: boolean): void {
    this.#kinds.push(RECEIVED);
    this.#numbers.push(slot, generation, data ? 1 : 0);
    this.#names.push(Buffer.from(names.subarray(at, at + SOCKADDR6)));
  }

  /** A packet (a copy of its own) for a peer without a usable keypair. */
  slow(packet: Uint8Array): void {
    this.#kinds.push(SLOW);
    this.#packets.push(packet);
  }

  /** Peer `peer` has packets waiting for a handshake. */
  session(peer: number): void {
    this.#kinds.push(SESSION);
    this.#numbers.push(peer);
  }

  /** Hands every queued event to `post` in order, as {@link WorkerEvent}s; the queue is empty afterwards, even if `post` throws. */
  drain(post: (e: WorkerEvent) => void): void {
    const kinds = this.#kinds;
    const numbers = this.#numbers;
    const packets = this.#packets;
    const names = this.#names;
    let n = 0;
    let p = 0;
    let a = 0;
    try {
      for (let i = 0; i < kinds.length; i++) {
        switch (kinds[i]) {
          case CONTROL:
            post({ kind: "control", datagram: packets[p++]!, from: readSockaddr(names[a++]!, 0) });
            break;
          case RECEIVED:
            post({ kind: "received", slot: numbers[n]!, generation: numbers[n + 1]!, from: readSockaddr(names[a++]!, 0), data: numbers[n + 2] === 1 });
            n += 3;
            break;
          case SLOW:
            post({ kind: "slow", packet: packets[p++]! });
            break;
          case SESSION:
            post({ kind: "session", peer: numbers[n++]! });
            break;
        }
      }
    } finally {
      kinds.length = 0;
      numbers.length = 0;
      packets.length = 0;
      names.length = 0;
    }
  }
}
