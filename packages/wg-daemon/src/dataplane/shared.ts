/**
 * Shared memory between the main thread (wg-core Device: handshakes, timers, configuration) and the
 * data-plane workers. The keypairs themselves are NOT here: they live in the Device's session table
 * (wg-core session-table.ts, `device.sessionTable`), which the workers attach and seal/open on with
 * wg-core's transport.ts — keys, send counters and replay windows exist once, for every thread.
 * What is here says which keypair each peer sends with, where to, and how to route:
 *
 * control (Int32 words, {@link KP}), written only by the main thread:
 *   [generation] a seqlock over routeCount/linkMtu/ownKey and the routes snapshot: odd while the main
 *     thread writes, even when consistent; workers re-read when it moves and keep what they read only
 *     if it was even and unchanged around the read
 *   [stop] set to 1 by close(): workers leave their loops at the next poll timeout
 *   [go] set to 1 once the main thread hands the fds over: a started worker waits for it (Atomics.wait)
 *   [routeCount] [linkMtu] [ownKeyValid] [ownKey: 8 words] our static public key (not secret): the rx
 *     worker checks MAC1 of handshake messages with it before it bothers the main thread
 * peers (growable SharedArrayBuffer, one {@link PEER_BYTES} record per wg-core peer id — `device.peerId`,
 *   the id the session table's slots record — so records never move and the array grows in place):
 *   words 0–15, written under the record's own seqlock ({@link PR}.seq, {@link lockRecord}) by the main
 *   thread, and by the rx worker for one thing: the endpoint, when a datagram from a new source
 *   authenticates (roaming, whitepaper §2.1) — before its inner packet reaches the TUN, as in the
 *   kernel and wireguard-go, so the answer already goes to the new endpoint:
 *     [seq] [sendSlot: the current send keypair's session-table slot, −1 none] [sendGeneration]
 *     [endpointFamily 0 (none) | 4 | 6] [endpointPort] [endpointAddr: 4 words, 16 bytes (IPv4 in the first 4)]
 *   Float64 words 8–9 (bytes 64–79): the tx worker's [txBytes] (datagram bytes) [txPackets], Int32
 *   word 20 its activity flag, word 21 when it last sent; Float64 words 12–14 (bytes 96–119): the rx
 *   worker's [rxBytes] [rxPackets] [rxAuthenticated], Int32 word 30 its activity flag, word 31 when it
 *   last authenticated a datagram ({@link PS}, {@link PF}, {@link PT}).
 *   (slot, generation) names one keypair for ever (session-table.ts): the tx worker hands it to
 *   wg-core's sealBatch, which checks it, the age (REJECT_AFTER_TIME on the worker's clock) and the
 *   counter limit, and reserves counters in the slot's own cell — a key is never paired with another
 *   keypair's counter, and nothing is to give back when the workers stop or crash.
 * routes (growable SharedArrayBuffer, {@link ROUTE_WORDS} per prefix, routeCount of them, under the
 *   control seqlock): [peer id] [family | bits << 8] [address: 4 words] — every peer's allowed IPs. Each
 *   worker builds a wg-core AllowedIps<peer id> from it when the generation moves (tx: the peer for an
 *   inner destination; rx: openBatch's inner-source check against the slot's peer id).
 * stats (Float64, one block of STATS_WORDS per pipeline: the tx and rx workers', then the main
 *   thread's tx and rx — {@link statsBlock}): see ST.
 * activity (one ring per worker, activity.ts): the peers whose counters a worker moved, per batch —
 *   the main thread reports those, and only those, to wg-core.
 */
import { MAX_PEERS, addressBytes, type Endpoint, type SessionTableHandles } from "@wg-ts/core";
import { ActivityReader, activityBuffer } from "./activity.js";
import type { PipelineOptions } from "./pipeline.js";

export const KP = {
  generation: 0,
  stop: 1,
  routeCount: 2,
  /** The core's MTU (Device.mtu, the link's; 0: unknown): sealBatch caps padding at it. */
  linkMtu: 3,
  /** 0 until the main thread has stopped its own reads and published: started workers wait for 1. */
  go: 4,
  /** 1 when {@link KP.ownKey} holds the device's static public key (0: the device has no private key). */
  ownKeyValid: 5,
  /** The device's static public key, 8 words (32 bytes). */
  ownKey: 6,
} as const;
export const CONTROL_WORDS = 16;

/** Int32 word offsets in a peer record. */
export const PR = {
  seq: 0,
  sendSlot: 1,
  sendGeneration: 2,
  endpointFamily: 3,
  endpointPort: 4,
  endpointAddr: 5,
} as const;
/**
 * Takes the seqlock of the peer record at word `w` (even → odd by compare-and-swap; spins while the
 * other writer holds it, a few stores). Readers retry while it is odd or moved. Returns the held value.
 */
export function lockRecord(words: Int32Array, w: number): number {
  for (;;) {
    const s = Atomics.load(words, w + PR.seq);
    if ((s & 1) === 0 && Atomics.compareExchange(words, w + PR.seq, s, s + 1) === s) return s + 1;
  }
}

/** Releases a record taken with {@link lockRecord} (readers see a new even value). */
export function unlockRecord(words: Int32Array, w: number, held: number): void {
  Atomics.store(words, w + PR.seq, held + 1);
}

/** Writes the endpoint of the record at word `w` (held with {@link lockRecord}): 4 or 16 address bytes, or none. */
export function writeRecordEndpoint(words: Int32Array, bytes: Uint8Array, w: number, address: Uint8Array | null, port: number): void {
  words[w + PR.endpointFamily] = 0;
  words[w + PR.endpointPort] = 0;
  bytes.fill(0, (w + PR.endpointAddr) * 4, (w + PR.endpointAddr + 4) * 4);
  if (address === null) return;
  bytes.set(address, (w + PR.endpointAddr) * 4);
  words[w + PR.endpointPort] = port;
  words[w + PR.endpointFamily] = address.length === 4 ? 4 : 6;
}

/**
 * Float64 offsets in a peer record (tx words written by the tx pipeline, rx words by the rx
 * pipeline: own 32-byte halves of a line): datagram bytes (header, padding and tag included, as
 * the kernel and wireguard-go count them for `wg show`) and inner packets sent; datagram bytes,
 * inner packets delivered and `rxAuthenticated` (every datagram authenticated, keepalives included:
 * receive timers) received.
 */
export const PS = { txBytes: 8, txPackets: 9, rxBytes: 12, rxPackets: 13, rxAuthenticated: 14 } as const;
/** Int32 offsets in a peer record of each worker's activity flag (activity.ts), in its own half. */
export const PF = { tx: 20, rx: 30 } as const;
/**
 * Int32 offsets in a peer record, each in its pipeline's half: when the peer's last datagram was sent
 * (txAt) and its last one authenticated (rxAt), in µs modulo 2^32 (clock.ts `microsMod32`). The core's
 * timers depend on which came last: the report hands it both in that order (publisher.ts).
 */
export const PT = { txAt: 21, rxAt: 31 } as const;
/** Activity rings (activity.ts): the tx worker's and the rx worker's. */
export const RING = { tx: 0, rx: 1 } as const;
export const PEER_WORDS = 32;
export const PEER_BYTES = PEER_WORDS * 4;
/** Peer records allocated at first (the buffer grows in place, up to wg-core's MAX_PEERS). */
export const INITIAL_PEERS = 64;
/** Address space reserved for peer records: one per peer the Device allows (8 MiB, used as peers come). */
export const MAX_PEER_RECORDS = MAX_PEERS;
export const ROUTE_WORDS = 6;
/** Address space reserved for the routes snapshot, in prefixes (24 MiB of address space; memory as used). */
export const MAX_ROUTE_RECORDS = 1 << 20;
export const INITIAL_ROUTES = 256;

export const ST = { packets: 0, bytes: 1, batches: 2, syscalls: 3, superPackets: 4, drops: 5, errors: 6, control: 7 } as const;
/**
 * Drop reasons the workers count (wg-core DropReason names, plus `slow-path-budget`: a handshake
 * message for the core over its budget per SAMPLE_MS; `worker-stopped`: a packet still staged when
 * the tx worker stopped). Each worker's stats block holds one counter per reason
 * after the ST words (ST.drops stays the total). The rx worker's gate to the main thread
 * (control.ts) drops by wg-core's classification and MAC1 check: truncated … no-private-key;
 * the rest are openBatch's and sealBatch's reasons.
 */
export const DROP_REASONS = [
  "decrypt-failed", "replay", "counter-limit", "source-not-allowed", "invalid-inner-packet", "no-route", "encrypt-failed",
  "slow-path-budget", "staged-queue-full", "handshake-timeout", "worker-stopped",
  "truncated", "invalid-size", "oversized", "unknown-type", "bad-mac1", "unknown-index", "no-private-key",
  "expired-keypair",
] as const;
export type WorkerDropReason = (typeof DROP_REASONS)[number];
/** Stats word of drop reason `r`. */
export const dropWord = (r: WorkerDropReason): number => 8 + DROP_REASONS.indexOf(r);
export const STATS_WORDS = 8 + DROP_REASONS.length;
/** Where a pipeline runs: a worker thread, or the main thread while the workers are stopped. */
export type Tier = "worker" | "main";
/** The stats block of a pipeline (index into `stats`, STATS_WORDS each). */
export const statsBlock = (tier: Tier, role: "tx" | "rx"): number => (tier === "main" ? 2 : 0) + (role === "rx" ? 1 : 0);

/** Messages a worker posts to the main thread (rare events only; never per data packet in steady state). */
export type WorkerEvent =
  | { kind: "ready"; role: "tx" | "rx" }
  /** The TUN interface was deleted (read fails with EBADFD): the tx worker has stopped. */
  | { kind: "gone"; errno: number }
  /**
   * A handshake message whose MAC1 verifies or a cookie reply (control.ts: within their budgets),
   * for wg-core's decapsulate, untouched. Transport messages never take this way: the rx worker
   * opens them itself on the shared table (a second open by the core would be a replay).
   */
  | { kind: "control"; datagram: Uint8Array; from: { address: string; port: number } }
  /**
   * A transport datagram the rx worker opened with keypair (slot, generation), for wg-core's
   * Device.noteReceived: the first one on each keypair (key confirmation), and one from a source that
   * is not the published endpoint (roaming: the rx worker has written `from` into the peer record
   * already). `data`: an inner packet, not a keepalive. Every other datagram only moves the peer's
   * counters and marks it in the rx worker's activity ring (receive timers: activity.ts).
   */
  | { kind: "received"; slot: number; generation: number; from: { address: string; port: number }; data: boolean }
  /**
   * The main thread's own tx pipeline only: a tunnel packet for wg-core's encapsulate while the
   * peer has no usable send keypair published (the core stages it and starts a handshake). Workers
   * never hand over data packets: they stage them themselves and post "session".
   */
  | { kind: "slow"; packet: Uint8Array }
  /**
   * The tx worker staged packets for peer `peer` (the core's peer id): for Device.wantSession, which
   * starts a handshake unless the peer's keypair can send. At most one per peer per REKEY_TIMEOUT.
   */
  | { kind: "session"; peer: number };

/** The budgets of packets and messages handed to the main thread are per SAMPLE_MS. */
export const SAMPLE_MS = 100;
/** At most this many handshake messages with a valid MAC1 per SAMPLE_MS go to the main thread (rx, control.ts). */
export const SLOW_BUDGET = 512;
/** Cookie replies (no MAC1 to check) handed to the main thread per SAMPLE_MS at most (control.ts). */
export const COOKIE_BUDGET = 32;

/** The shared buffers (structured-clone-able): workerData, and what tests inspect. */
export interface SharedBuffers {
  control: SharedArrayBuffer;
  peers: SharedArrayBuffer;
  routes: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  /** The workers' activity rings (activity.ts; {@link RING}). */
  activity: SharedArrayBuffer;
  /** The Device's session table (wg-core SessionTable.handles). */
  table: { slots: SharedArrayBuffer; index: SharedArrayBuffer };
}

/** A worker's workerData: the shared buffers, its pipeline's settings (pipeline.ts), the fds. */
export interface WorkerInit extends SharedBuffers, PipelineOptions {
  role: "tx" | "rx";
  tunFd: number;
  udpFd: number;
  /** Non-blocking mode: empty reads retried before sleeping in poll(2); trades idle CPU for wake-up latency. */
  spin: number;
}

/** ES2024 growable SharedArrayBuffer (Node ≥ 20 has it; the ES2023 lib does not declare it). */
interface Growable {
  readonly maxByteLength: number;
  grow(newByteLength: number): void;
}
const GrowableSharedArrayBuffer = SharedArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => SharedArrayBuffer;

/** A growable SharedArrayBuffer of `initial` bytes, growable to `max`. */
export function growableBuffer(initial: number, max: number): SharedArrayBuffer {
  return new GrowableSharedArrayBuffer(initial, { maxByteLength: max });
}

/** Grows `b` (in place: views over the old length stay valid) to at least `bytes`, doubling. */
export function growTo(b: SharedArrayBuffer, bytes: number): void {
  if (b.byteLength >= bytes) return;
  const g = b as unknown as Growable;
  if (bytes > g.maxByteLength) throw new Error(`shared buffer full (${g.maxByteLength} bytes)`);
  g.grow(Math.min(g.maxByteLength, Math.max(bytes, 2 * b.byteLength)));
}

/**
 * Fixed-length views of all of a growable buffer as long as it is now. `new Int32Array(buffer)` over a
 * growable buffer makes a length-tracking view instead: V8 then checks every access against the
 * buffer's current length (a runtime call for `length`, Atomics not inlined; benchmarks/README.md
 * section 16). Whoever needs more than a view holds re-creates its views after {@link growTo}.
 */
export const int32View = (b: SharedArrayBuffer): Int32Array => new Int32Array(b, 0, b.byteLength >> 2);
export const float64View = (b: SharedArrayBuffer): Float64Array => new Float64Array(b, 0, b.byteLength >> 3);
export const byteView = (b: SharedArrayBuffer): Uint8Array => new Uint8Array(b, 0, b.byteLength);

/** A peer's current send keypair: its session-table slot and generation (together: one keypair for ever). */
export interface SendKeypair {
  slot: number;
  generation: number;
}
export interface Route {
  /** The core's peer id (device.peerId). */
  peer: number;
  family: 4 | 6;
  bits: number;
  /** Network address, 4 or 16 bytes. */
  bytes: Uint8Array;
}
/** What the main thread publishes (dataplane/publisher.ts): {@link SharedState} and the data plane implement it. */
export interface PeerPublishing {
  setPeer(peer: number, send: SendKeypair | null, endpoint: Endpoint | null): void;
  clearPeer(peer: number): void;
  setRoutes(routes: readonly Route[]): void;
  update(f: () => void): void;
  peerStats(peer: number): PeerTraffic;
  drainActivity(each: (peer: number) => void): boolean;
  /** The core's MTU (the padding cap), 0: unknown. */
  setLinkMtu(mtu: number): void;
  /** The device's static public key (MAC1 checks in the rx pipeline), null: no private key. */
  setPublicKey(publicKey: Uint8Array | null): void;
}

/** A peer's traffic as the pipelines counted it ({@link PS}: datagram bytes, inner packets, every authenticated datagram received). */
export interface PeerTraffic {
  txBytes: number;
  txPackets: number;
  rxBytes: number;
  rxPackets: number;
  rxAuthenticated: number;
  /** {@link PT}: when the last datagram was sent and the last one authenticated (µs mod 2^32). */
  txAt: number;
  rxAt: number;
}

/**
 * The main thread's side of the shared memory above: the only writer of control and routes, and of
 * peer records but for the rx worker's endpoint on roaming; the workers write stats. No keys: a peer
 * record names a keypair by (slot, generation).
 */
export class SharedState implements PeerPublishing {
  readonly control = new SharedArrayBuffer(CONTROL_WORDS * 4);
  readonly peers = growableBuffer(INITIAL_PEERS * PEER_BYTES, MAX_PEER_RECORDS * PEER_BYTES);
  readonly routes = growableBuffer(INITIAL_ROUTES * ROUTE_WORDS * 4, MAX_ROUTE_RECORDS * ROUTE_WORDS * 4);
  readonly stats = new SharedArrayBuffer(4 * STATS_WORDS * 8);
  readonly activity = activityBuffer(2);
  readonly #rings = [new ActivityReader(this.activity, RING.tx), new ActivityReader(this.activity, RING.rx)] as const;
  /** The control words (stop, go, generation …). */
  readonly words = new Int32Array(this.control);
  readonly #bytes = new Uint8Array(this.control);
  // Fixed-length views of the growable buffers (fast in V8), re-created when they grow.
  #peerWords = int32View(this.peers);
  #peerBytes = byteView(this.peers);
  #peerF64 = float64View(this.peers);
  #routeWords = int32View(this.routes);
  #routeBytes = byteView(this.routes);
  #depth = 0;

  /** Every buffer the workers see, with the session table's: for workerData, and for tests that inspect shared memory. */
  buffers(table: SessionTableHandles): SharedBuffers {
    return { control: this.control, peers: this.peers, routes: this.routes, stats: this.stats, activity: this.activity, table };
  }

  /** Runs `f` as one update of the control words and routes (a seqlock: odd while writing; single writer). */
  update(f: () => void): void {
    if (this.#depth++ === 0) Atomics.add(this.words, KP.generation, 1);
    try {
      f();
    } finally {
      if (--this.#depth === 0) Atomics.add(this.words, KP.generation, 1);
    }
  }

  #record(peer: number): number {
    if (!(Number.isInteger(peer) && peer >= 0 && peer < MAX_PEER_RECORDS)) throw new Error(`peer id ${peer} out of range (< ${MAX_PEER_RECORDS})`);
    if ((peer + 1) * PEER_BYTES > this.#peerWords.byteLength) {
      growTo(this.peers, (peer + 1) * PEER_BYTES);
      this.#peerWords = int32View(this.peers);
      this.#peerBytes = byteView(this.peers);
      this.#peerF64 = float64View(this.peers);
    }
    return peer * PEER_WORDS;
  }

  /** Writes peer `peer`'s record under its own seqlock (odd while written): the workers re-read a record whose seq moved. */
  setPeer(peer: number, send: SendKeypair | null, endpoint: Endpoint | null): void {
    const ep = endpoint ? addressBytes(endpoint.address) : null;
    const w = this.#record(peer);
    const words = this.#peerWords;
    const held = lockRecord(words, w);
    words[w + PR.sendSlot] = send ? send.slot : -1;
    words[w + PR.sendGeneration] = send ? send.generation : 0;
    writeRecordEndpoint(words, this.#peerBytes, w, ep, endpoint ? endpoint.port : 0);
    unlockRecord(words, w, held);
  }

  clearPeer(peer: number): void {
    this.setPeer(peer, null, null);
  }

  /** The routes snapshot (any number of prefixes), published as one update. */
  setRoutes(routes: readonly Route[]): void {
    if (routes.length * ROUTE_WORDS * 4 > this.#routeWords.byteLength) {
      growTo(this.routes, routes.length * ROUTE_WORDS * 4);
      this.#routeWords = int32View(this.routes);
      this.#routeBytes = byteView(this.routes);
    }
    this.update(() => {
      const words = this.#routeWords;
      const bytes = this.#routeBytes;
      routes.forEach((r, i) => {
        const w = i * ROUTE_WORDS;
        words[w] = r.peer;
        words[w + 1] = r.family | (r.bits << 8);
        bytes.fill(0, (w + 2) * 4, (w + 6) * 4);
        bytes.set(r.bytes.subarray(0, 16), (w + 2) * 4);
      });
      this.words[KP.routeCount] = routes.length;
    });
  }

  setLinkMtu(mtu: number): void {
    if (this.words[KP.linkMtu] !== mtu) this.update(() => (this.words[KP.linkMtu] = mtu));
  }

  /** The device's static public key (32 bytes; not secret) or null. */
  setPublicKey(k: Uint8Array | null): void {
    const at = KP.ownKey * 4;
    if (k === null) {
      if (this.words[KP.ownKeyValid] !== 0) this.update(() => (this.words[KP.ownKeyValid] = 0));
      return;
    }
    if (k.length !== 32) throw new Error("public key must be 32 bytes");
    if (this.words[KP.ownKeyValid] === 1 && k.every((b, i) => this.#bytes[at + i] === b)) return;
    this.update(() => {
      this.#bytes.set(k, at);
      this.words[KP.ownKeyValid] = 1;
    });
  }

  /** Peer `peer`'s traffic the pipelines counted (datagram bytes, inner packets, authenticated datagrams). */
  peerStats(peer: number): PeerTraffic {
    const w = peer * PEER_WORDS;
    if (!(peer >= 0) || w + PEER_WORDS > this.#peerWords.length) return { txBytes: 0, txPackets: 0, rxBytes: 0, rxPackets: 0, rxAuthenticated: 0, txAt: 0, rxAt: 0 };
    const f = this.#peerF64;
    const b = w / 2;
    return {
      txBytes: f[b + PS.txBytes]!, txPackets: f[b + PS.txPackets]!, rxBytes: f[b + PS.rxBytes]!, rxPackets: f[b + PS.rxPackets]!,
      rxAuthenticated: f[b + PS.rxAuthenticated]!, txAt: this.#peerWords[w + PT.txAt]!, rxAt: this.#peerWords[w + PT.rxAt]!,
    };
  }

  /**
   * Calls `each(peer id)` once for every peer whose counters a worker moved since the last call
   * (activity.ts); returns true when a ring overflowed, after which the caller looks at every peer.
   */
  drainActivity(each: (peer: number) => void): boolean {
    const flagOf = (flag: number) => (id: number): [Int32Array, number] | null =>
      (id + 1) * PEER_WORDS <= this.#peerWords.length ? [this.#peerWords, id * PEER_WORDS + flag] : null;
    const tx = this.#rings[RING.tx].drain(flagOf(PF.tx), each);
    const rx = this.#rings[RING.rx].drain(flagOf(PF.rx), each);
    if (!tx && !rx) return false;
    // Every flag is cleared before the caller looks at every peer (a worker then appends anew).
    for (let w = 0; w + PEER_WORDS <= this.#peerWords.length; w += PEER_WORDS) {
      Atomics.exchange(this.#peerWords, w + PF.tx, 0);
      Atomics.exchange(this.#peerWords, w + PF.rx, 0);
    }
    return true;
  }
}
