/**
 * Layout of the SharedArrayBuffers between the main thread (wg-core Device: handshakes, timers)
 * and the data-plane workers. One peer per data plane in this prototype.
 *
 * keypairs (Int32 words), written only by the main thread:
 *   [generation] a seqlock: odd while the main thread writes, even when consistent; workers copy
 *     the table when it moves and keep the copy only if it was even and unchanged around the copy
 *   [stop] set to 1 by close(): workers leave their loops at the next poll timeout
 *   [sendValid] 1 when the send slot may be used   [remoteIndex] the peer's receiver index
 *   [sendKey 8 words]
 *   3 receive slots (wg-core's current/previous/next keypairs), each:
 *     [valid] [localIndex] [recvKey 8 words]
 *   [endpointAddr] peer IPv4 as a big-endian u32  [endpointPort]
 *   [counterCell] which of the two counter cells belongs to the current send keypair
 *   [allowedCount] [MAX_ALLOWED × (family | bits << 8, 16 address bytes)] the peer's allowed IPs:
 *     decrypted packets whose inner source is outside them are dropped (whitepaper §2)
 * counters (BigInt64 × 2): the next send counter, one cell per send keypair, alternating, so a worker
 *   still encrypting with the previous keypair keeps drawing from that keypair's own cell. Every sender
 *   (workers and the main thread) reserves counters with Atomics.add: no counter is used twice per key
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
  counterCell: 44,
  allowedCount: 45,
  allowed: 46,
} as const;
/** Allowed-IPs prefixes of the peer the rx worker checks inner source addresses against. */
export const MAX_ALLOWED = 32;
/** Per prefix: [family | bits << 8] [address: 4 words, IPv4 in the first]. */
export const ALLOWED_WORDS = 5;
export const RECV_SLOTS = 3;
export const RECV_SLOT_WORDS = 10; // valid, localIndex, key[8]
export const KEYPAIR_WORDS = 46 + MAX_ALLOWED * ALLOWED_WORDS;
export const ST = { packets: 0, bytes: 1, batches: 2, syscalls: 3, superPackets: 4, drops: 5, errors: 6, control: 7 } as const;
export const STATS_WORDS = 8;

/** Messages a worker posts to the main thread (rare events only; never per data packet in steady state). */
export type WorkerEvent =
  | { kind: "ready"; role: "tx" | "rx" }
  /** The TUN interface was deleted (read fails with EBADFD): the tx worker has stopped. */
  | { kind: "gone"; errno: number }
  /**
   * A datagram for wg-core's decapsulate, untouched: a handshake/cookie message, a transport
   * message for an index no receive slot has, the first authenticated one on a receive slot
   * (key confirmation, roaming) and one sample every SAMPLE_MS (timers, roaming). The rx worker
   * has already recorded authenticated ones in its replay window and does not write them itself.
   */
  | { kind: "control"; datagram: Uint8Array; from: { address: string; port: number } }
  /**
   * A tunnel packet for wg-core's encapsulate: while no send keypair is published (the core
   * stages it and starts a handshake), and one sample every SAMPLE_MS otherwise (so the core's
   * send-side timers and rekey-after-time see traffic). The tx worker does not send it itself.
   */
  | { kind: "slow"; packet: Uint8Array };

/** One packet per direction per SAMPLE_MS takes the slow path through wg-core. */
export const SAMPLE_MS = 100;
/** At most this many packets per SAMPLE_MS are handed to the main thread while no keypair exists. */
export const SLOW_BUDGET = 512;

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
  /** Datagrams per UDP GSO send at most. */
  gsoSegments: number;
  /** The socket has UDP_GRO on: received buffers may hold several datagrams. */
  udpGro: boolean;
  /** Non-blocking mode: retries (≈1 µs syscalls) before sleeping in poll(2); trades idle CPU for wake-up latency. */
  spin: number;
  /** Forward first-per-keypair and sampled packets to the main thread (wg-core bookkeeping). */
  slowPath: boolean;
  keypairs: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  stats: SharedArrayBuffer;
}
