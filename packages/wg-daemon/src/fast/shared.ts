/**
 * Layout of the SharedArrayBuffers between the main thread (wg-core Device: handshakes, timers)
 * and the data-plane workers. Prototype: one peer, one current keypair.
 *
 * keypairs (Int32 words):
 *   [generation] bumped (Atomics.add) after every change; workers re-read the slot when it moves
 *   [valid] 1 when the keys below may be used
 *   [localIndex] our receiver index (incoming type-4 messages carry it)
 *   [remoteIndex] the peer's receiver index (we put it in outgoing messages)
 *   [sendKey 8 words][recvKey 8 words]
 *   [stop] set to 1 by close(): workers leave their loops at the next poll timeout
 * counters (BigInt64): [0] next send counter; senders reserve ranges with Atomics.add
 * stats (Float64, one block per worker): see ST
 */
export const KP = { generation: 0, valid: 1, localIndex: 2, remoteIndex: 3, sendKey: 4, recvKey: 12, stop: 20 } as const;
export const KEYPAIR_WORDS = 21;
export const ST = { packets: 0, bytes: 1, batches: 2, syscalls: 3, superPackets: 4, drops: 5, errors: 6, control: 7 } as const;
export const STATS_WORDS = 8;

export interface WorkerInit {
  role: "tx" | "rx";
  tunFd: number;
  udpFd: number;
  mtu: number;
  offload: boolean;
  batch: number;
  /** Block in read/recvmmsg (true) or use non-blocking calls + poll(2) with a timeout (false). */
  blocking: boolean;
  /** Coalesce received TCP segments into GSO super-packets on the TUN write (needs offload). */
  gro: boolean;
  /** Send runs of equal-sized datagrams as one UDP GSO super-datagram (UDP_SEGMENT). */
  udpGso: boolean;
  /** The socket has UDP_GRO on: received buffers may hold several datagrams. */
  udpGro: boolean;
  /** Non-blocking mode: retries (≈1 µs syscalls) before sleeping in poll(2); trades idle CPU for wake-up latency. */
  spin: number;
  peer: { address: string; port: number };
  keypairs: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  stats: SharedArrayBuffer;
}
