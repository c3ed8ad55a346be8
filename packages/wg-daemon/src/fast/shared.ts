/**
 * Layout of the SharedArrayBuffers between the main thread (wg-core Device: handshakes, timers)
 * and the data-plane workers. Up to MAX_PEERS peers, each in a fixed slot.
 *
 * keypairs (Int32 words), written only by the main thread:
 *   [generation] a seqlock: odd while the main thread writes, even when consistent; workers copy
 *     the table when it moves and keep the copy only if it was even and unchanged around the copy
 *   [stop] set to 1 by close(): workers leave their loops at the next poll timeout
 *   [go] set to 1 once the main thread hands the fds over: a started worker waits for it (Atomics.wait)
 *   [routeCount] [linkMtu] [returned] [go]
 *   [ownKeyValid] [ownKey: 8 words] our static public key (not secret): the rx worker checks MAC1 of
 *     handshake messages with the MAC1 key wg-core derives from it before it bothers the main thread
 *   MAX_PEERS peer slots of PEER_WORDS (offsets PK):
 *     [sendValid] [remoteIndex] [counterCell: which of the slot's two counter cells the send keypair uses]
 *     [endpointFamily 0 (none) | 4 | 6] [endpointPort] [endpointAddr: 4 words, 16 bytes (IPv4 in the first 4)]
 *     [sendKey 8 words]
 *     3 receive slots (wg-core's current/previous/next keypairs), each: [valid] [localIndex] [recvKey 8 words]
 *       [replay window: REPLAY_STATE_WORDS, wg-core ReplayWindow.save()] — the core's window when published;
 *       a worker starts from it the first time it sees that keypair (no counter the core accepted is accepted again)
 *   MAX_ROUTES routes of ROUTE_WORDS: [peer slot] [family | bits << 8] [address: 4 words]
 *     the read-only routes snapshot (every peer's allowed IPs): the tx worker picks the peer for an
 *     inner destination by longest-prefix match, the rx worker drops a decrypted packet whose inner
 *     source does not route back to the peer that sent it (whitepaper §2). Both build a wg-core
 *     AllowedIps<number> from it when the generation moves.
 *   the returned windows, written only by the rx worker as it stops ({@link RETURN_BASE}): [count] then
 *     count entries of [localIndex] [replay window]: the windows the core merges before it reads the
 *     socket itself again (fast/io.ts), so nothing the workers accepted can be replayed to the core.
 * counters (BigInt64 × 2 per peer slot): the next send counter, one cell per send keypair, alternating,
 *   so a worker still encrypting with the previous keypair keeps drawing from that keypair's own cell.
 *   Every sender (workers and the main thread) reserves counters with Atomics.add: no counter is used twice per key
 * stats (Float64, one block of STATS_WORDS per worker): see ST
 * peerStats (Float64 × PEER_STATS_WORDS per peer slot): see PS (tx worker writes tx words, rx worker rx words)
 */
import { REPLAY_STATE_WORDS } from "@wg-ts/core";

export const KP = {
  generation: 0,
  stop: 1,
  routeCount: 2,
  /** The core's MTU (Device.mtu, the link's; 0: unknown): the tx worker pads with wg-core's paddedLength capped at it. */
  linkMtu: 3,
  /** The rx worker's count of windows in the return area (set as it stops). */
  returned: 4,
  /** 0 until the main thread has stopped its own reads and published: started workers wait for 1. */
  go: 5,
  /** 1 when {@link KP.ownKey} holds the device's static public key (0: the device has no private key). */
  ownKeyValid: 6,
  /** The device's static public key, 8 words (32 bytes). */
  ownKey: 7,
  peers: 15,
} as const;
export const PK = {
  sendValid: 0,
  remoteIndex: 1,
  counterCell: 2,
  endpointFamily: 3,
  endpointPort: 4,
  endpointAddr: 5,
  sendKey: 9,
  recvSlots: 17,
} as const;
/** Peers the workers serve at most (more: the daemon falls back to the main-thread path). */
export const MAX_PEERS = 64;
export const RECV_SLOTS = 3;
/** valid, localIndex, key[8], replay window. */
export const RECV_SLOT_WORDS = 10 + REPLAY_STATE_WORDS;
/** Offset of the replay window in a receive slot. */
export const RECV_WINDOW = 10;
export const PEER_WORDS = PK.recvSlots + RECV_SLOTS * RECV_SLOT_WORDS;
/** Allowed-IPs prefixes over all peers at most. */
export const MAX_ROUTES = 4096;
export const ROUTE_WORDS = 6;
export const ROUTES_BASE = KP.peers + MAX_PEERS * PEER_WORDS;
/** The returned windows: MAX_PEERS × RECV_SLOTS entries of RETURN_WORDS ([localIndex] [window]). */
export const RETURN_BASE = ROUTES_BASE + MAX_ROUTES * ROUTE_WORDS;
export const RETURN_WORDS = 1 + REPLAY_STATE_WORDS;
export const KEYPAIR_WORDS = RETURN_BASE + MAX_PEERS * RECV_SLOTS * RETURN_WORDS;
export const PS = { txBytes: 0, txPackets: 1, rxBytes: 2, rxPackets: 3 } as const;
export const PEER_STATS_WORDS = 4;
/** Word offset of peer slot `slot` in the keypairs table. */
export const peerBase = (slot: number): number => KP.peers + slot * PEER_WORDS;
export const ST = { packets: 0, bytes: 1, batches: 2, syscalls: 3, superPackets: 4, drops: 5, errors: 6, control: 7 } as const;
/**
 * Drop reasons the workers count (wg-core DropReason names, plus `slow-path-budget`: a packet for
 * the core over its budget per SAMPLE_MS). Each worker's stats block holds one counter per reason
 * after the ST words (ST.drops stays the total). The rx worker's gate to the main thread
 * (control.ts) drops by wg-core's classification and MAC1 check: truncated … no-private-key.
 */
export const DROP_REASONS = [
  "decrypt-failed", "replay", "counter-limit", "source-not-allowed", "invalid-inner-packet", "no-route", "encrypt-failed",
  "slow-path-budget",
  "truncated", "invalid-size", "oversized", "unknown-type", "bad-mac1", "unknown-index", "no-private-key",
] as const;
export type WorkerDropReason = (typeof DROP_REASONS)[number];
/** Stats word of drop reason `r`. */
export const dropWord = (r: WorkerDropReason): number => 8 + DROP_REASONS.indexOf(r);
export const STATS_WORDS = 8 + DROP_REASONS.length;

/** Messages a worker posts to the main thread (rare events only; never per data packet in steady state). */
export type WorkerEvent =
  | { kind: "ready"; role: "tx" | "rx" }
  /** The TUN interface was deleted (read fails with EBADFD): the tx worker has stopped. */
  | { kind: "gone"; errno: number }
  /**
   * A datagram for wg-core's decapsulate, untouched: a handshake message whose MAC1 verifies or a
   * cookie reply (control.ts: within their budgets), the first authenticated transport message on
   * a receive slot (key confirmation, roaming) and one sample every SAMPLE_MS (timers, roaming).
   * The rx worker has already recorded authenticated ones in its replay window and does not write
   * them itself. Anything else (junk, forged MAC1, unknown indices) is dropped in the worker.
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
/**
 * At most this many packets per SAMPLE_MS are handed to the main thread while no keypair exists
 * (tx); at most this many handshake messages with a valid MAC1 per SAMPLE_MS (rx, control.ts).
 */
export const SLOW_BUDGET = 512;
/** Cookie replies (no MAC1 to check) handed to the main thread per SAMPLE_MS at most (control.ts). */
export const COOKIE_BUDGET = 32;

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
  peerStats: SharedArrayBuffer;
}
