/**
 * Layout of the SharedArrayBuffers between the main thread (wg-core Device: handshakes, timers)
 * and the data-plane workers. One peer per data plane in this prototype.
 *
 * keypairs (Int32 words), written only by the main thread:
 *   [generation] bumped (Atomics.add) after every change; workers re-read everything when it moves
 *   [stop] set to 1 by close(): workers leave their loops at the next poll timeout
 *   [sendValid] 1 when the send slot may be used   [remoteIndex] the peer's receiver index
 *   [sendKey 8 words]
 *   3 receive slots (wg-core's current/previous/next keypairs), each:
 *     [valid] [localIndex] [recvKey 8 words]
 *   [endpointAddr] peer IPv4 as a big-endian u32  [endpointPort]
 * counters (BigInt64): [0] next send counter of the send slot; every sender (workers and the main
 *   thread) reserves counters with Atomics.add, so no counter is ever used twice
 * stats (Float64, one block of STATS_WORDS per worker): see ST
 */
export const KP = {
  generation: 0,
  stop: 1,
  sendValid: 2,
  remoteIndex: 3,
  sendKey: 4,
  recvSlots: 12,
  endpointAddr: 42,
  endpointPort: 43,
} as const;
export const RECV_SLOTS = 3;
export const RECV_SLOT_WORDS = 10; // valid, localIndex, key[8]
export const KEYPAIR_WORDS = 44;
export const ST = { packets: 0, bytes: 1, batches: 2, syscalls: 3, superPackets: 4, drops: 5, errors: 6, control: 7 } as const;
export const STATS_WORDS = 8;

/** Messages a worker posts to the main thread (rare events only; never per data packet in steady state). */
export type WorkerEvent =
  | { kind: "ready"; role: "tx" | "rx" }
  /** A handshake/cookie message, or a transport message for an index no receive slot has. */
  | { kind: "control"; datagram: Uint8Array; from: { address: string; port: number } }
  /** A tunnel packet while no send keypair is valid (the core stages it and starts a handshake). */
  | { kind: "nokey"; packet: Uint8Array }
  /** First authenticated packet on a receive slot since the last change (key confirmation, roaming). */
  | { kind: "received"; localIndex: number; from: { address: string; port: number } };

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
  keypairs: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  stats: SharedArrayBuffer;
}
