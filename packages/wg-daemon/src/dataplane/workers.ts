/**
 * The multi-threaded data plane: opens the TUN (with TSO offload) and a UDP socket through koffi
 * and runs one worker thread per direction (worker.ts), both on the wg-core Device's session table
 * (shared memory: keys, send counters, replay windows) and wg-core's transport.ts:
 *
 *   tx worker: read(TUN) → split TSO super-packets → sealBatch (peer's current slot, generation) → UDP GSO send
 *   rx worker: recvmmsg (UDP GRO) → openBatch (index, age, counter limit, AEAD, the slot's window,
 *              inner length, allowed-IPs source) → coalesce TCP (GRO) → write(TUN)
 *
 * The main thread keeps wg-core's Device (handshakes, cookies, timers, configuration) and tells the
 * workers, through the shared peer records and routes (shared.ts), which keypair each peer sends
 * with, its endpoint and every peer's allowed IPs ({@link FastDataPlane.setPeer},
 * {@link FastDataPlane.setRoutes}); workers post only rare events back ({@link FastDataPlaneHooks}):
 * handshake datagrams, packets while no keypair is usable, a keypair's first datagram, a roam; their
 * traffic is counters in the peer records, the peers they moved marked per batch (activity.ts).
 *
 * Scope: any number of peers (records indexed by the core's peer id, in a growable buffer) and
 * allowed-IPs prefixes, IPv4 and IPv6 endpoints (one dual-stack socket).
 */
import { Worker } from "node:worker_threads";
import { F_GETFL, F_SETFL, M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, O_NONBLOCK, SHUT_RDWR, libc } from "../libc.js";
import { reclaimMemory } from "./reclaim.js";
import { lightTraffic } from "./tiering.js";
import { VNET_HDR_LEN, openTun } from "./tun.js";
import type { Endpoint, SessionTableHandles } from "@wg-ts/core";
import { MmsgBatch, SOCKADDR6, openUdp } from "./udp.js";
import { loadBatchAead } from "../native-aead.js";
import { LinuxTun, LinuxUdp } from "./devices.js";
import { sys } from "./sys.js";
import { PipelineContext } from "./pipeline.js";
import { RxPipeline } from "./rx.js";
import { TxPipeline } from "./tx.js";
import {
  DROP_REASONS, KP, STATS_WORDS, ST, SharedState, dropWord, statsBlock, type PeerPublishing, type PeerTraffic, type Route, type SendKeypair, type SharedBuffers,
  type Tier, type WorkerEvent, type WorkerInit,
} from "./shared.js";

export type { Route, SendKeypair } from "./shared.js";
import { VIRTIO_NET_HDR_F_DATA_VALID } from "./gso.js";

export interface FastDataPlaneOptions {
  /** TUN interface name (created if absent). */
  tunName: string;
  mtu: number;
  /** UDP listen port. */
  udpPort: number;
  /** The address the UDP socket binds (udp.ts `UdpOptions.address`; default any). */
  udpAddress?: Uint8Array;
  /**
   * An open packet fd to use as the TUN instead of opening {@link tunName} (a socketpair end: the
   * start-up warm-up's, warmup.ts); reads and writes carry the virtio-net header when {@link offload}.
   */
  tunFd?: number;
  /** The session table the workers seal and open on (wg-core `device.sessionTable.handles`); or {@link FastDataPlane.attachTable} before the workers start. */
  table?: SessionTableHandles;
  /** IFF_VNET_HDR + TSO (default true). */
  offload?: boolean;
  /** Datagrams per recvmmsg/sendmmsg (default 128; the rx side uses 16 × 64 KiB slots with UDP_GRO). */
  batch?: number;
  /** SO_MARK for the UDP socket. */
  fwmark?: number;
  /**
   * Block in read(2)/recvmmsg(2) (true) or make the TUN non-blocking and wait in poll(2) with a
   * 250 ms timeout (false, default): same speed under load, and workers can be stopped.
   */
  blocking?: boolean;
  /** Coalesce received TCP segments into super-packets on TUN writes (default true; needs offload). */
  gro?: boolean;
  /** Send with UDP GSO (UDP_SEGMENT) instead of sendmmsg (default true). */
  udpGso?: boolean;
  /**
   * At most this many datagrams per UDP GSO send (default 44, the most a 64 KiB send holds):
   * smaller bursts are kinder to peers with small receive buffers (old wireguard-go).
   */
  gsoSegments?: number;
  /** Receive with UDP_GRO (default true). */
  udpGro?: boolean;
  /** Non-blocking mode: empty reads retried before sleeping in poll(2) (default 0). */
  spin?: number;
  /**
   * Worker V8 young-generation cap in MiB (default 2; 0 = Node's default, which grows under load):
   * caps each worker's peak memory (measured in benchmarks/README.md, section 3).
   */
  youngGenerationMb?: number;
  /** SO_RCVBUF/SO_SNDBUF bytes (default 4 MiB). */
  socketBuffer?: number;
  /** Test only: the rx worker throws after this many replay drops (see WorkerInit.crashAfterReplays). */
  crashAfterReplays?: number;
}

/** Called on the main thread; each gets its own copy of the bytes (see WorkerEvent in shared.ts). */
export interface FastDataPlaneHooks {
  /** A datagram for device.decapsulate (handshake messages, cookie replies). */
  onControl?(datagram: Uint8Array, from: Endpoint): void;
  /** Transport datagrams the rx worker opened with (slot, generation): for device.noteReceived. */
  onReceived?(slot: number, generation: number, from: Endpoint, data: boolean): void;
  /** A tunnel packet for device.encapsulate from the main thread's tx pipeline (its peer has no usable send keypair published). */
  onSlow?(packet: Uint8Array): void;
  /** The tx worker staged packets for peer id `peer`: for device.wantSession (a handshake unless its keypair can send). */
  onSession?(peer: number): void;
  /** The TUN interface was deleted (`ip link del`): time to shut down. */
  onGone?(): void;
  /** A worker threw and has ended (a bug): the caller should stop the workers and carry on without them. */
  onWorkerError?(error: Error): void;
}

export interface DirectionStats {
  packets: number;
  bytes: number;
  batches: number;
  syscalls: number;
  superPackets: number;
  drops: number;
  /** {@link drops} by reason (wg-core DropReason names; non-zero ones only). */
  dropsByReason: Record<string, number>;
  errors: number;
  control: number;
}

export interface FastDataPlane extends PeerPublishing {
  readonly tunFd: number;
  readonly udpFd: number;
  /** The bound UDP port. */
  readonly port: number;
  /**
   * Binds a fresh socket to `port` (0 = any) and dup2()s it over the workers' fd, so they pick it
   * up without restarting. Resolves with the bound port (EADDRINUSE is retried for REBIND_RETRY_MS).
   */
  rebind(port: number): Promise<number>;
  setMark(mark: number): void;
  /** The session table the workers use (before {@link startWorkers}; a later one takes effect at the next start). */
  attachTable(table: SessionTableHandles): void;
  /**
   * Publishes peer `peer` (the core's peer id, ≥ 0; the record array grows as needed): its current
   * send keypair (null: none usable; the tx worker hands its packets to the core) and endpoint.
   */
  setPeer(peer: number, send: SendKeypair | null, endpoint: Endpoint | null): void;
  /** Empties peer `peer`'s record. */
  clearPeer(peer: number): void;
  /**
   * The routes snapshot (any number of prefixes): outbound peer selection by inner destination,
   * inbound inner-source check. Until set, nothing routes (every inner source is refused).
   */
  setRoutes(routes: readonly Route[]): void;
  /** The TUN's current link MTU (padding cap; `wg-ts up` sets the MTU after the workers start). */
  setLinkMtu(mtu: number): void;
  /**
   * The device's static public key (32 bytes), or null when it has no private key: the rx worker
   * checks MAC1 of handshake messages against it before handing them to the main thread.
   */
  setPublicKey(publicKey: Uint8Array | null): void;
  /** Runs `f` (setRoutes/setLinkMtu calls) as one update the workers see at once. */
  update(f: () => void): void;
  /** Peer `peer`'s traffic the pipelines counted (datagram bytes, inner packets, authenticated datagrams). */
  peerStats(peer: number): PeerTraffic;
  /** The peers whose counters a worker moved since the last call (activity.ts); true: a ring overflowed, look at every peer. */
  drainActivity(each: (peer: number) => void): boolean;
  /** The shared buffers (the session table's included): for tests that inspect shared memory. */
  readonly buffers: SharedBuffers | null;
  /** Writes an inner IP packet to the TUN from the main thread: bytes written or −errno. */
  writeTunnel(packet: Uint8Array): number;
  /** Each pipeline's counters: the workers' (tx, rx) and the main thread's (mainTx, mainRx). */
  stats(): { tx: DirectionStats; rx: DirectionStats; mainTx: DirectionStats; mainRx: DirectionStats };
  /** One counter (shared.ts `ST` word) of one pipeline, read alone: the load checks' (every 100 ms while traffic flows). */
  counter(tier: Tier, role: "tx" | "rx", word: number): number;
  /**
   * The pipelines the workers run, for the main thread while they are stopped (made on first use,
   * on the attached table, with smaller batches; their events go to the hooks at {@link drainMainEvents}). They write
   * the same stats blocks and activity rings as the workers: the two never run at the same time.
   */
  mainPipelines(): { tx: TxPipeline<MmsgBatch>; rx: RxPipeline<MmsgBatch> };
  /** Hands the main thread's pipelines' queued events to the hooks: the rx pipeline's first (dataplane/events.ts). */
  drainMainEvents(): void;
  /** The worker threads are running (between {@link startWorkers} and {@link stopWorkers}). */
  readonly workersRunning: boolean;
  /**
   * Starts the two worker threads; a no-op while they run. Once both are ready, `handOver` runs
   * (the caller stops its own reads of the fds and publishes), then they start their loops.
   */
  startWorkers(handOver?: () => void): Promise<void>;
  /**
   * Stops the workers (within the 250 ms poll timeout; not in blocking mode) and resolves once both
   * have exited, their memory released. Nothing to hand back: every replay window and send counter
   * is the session table's.
   */
  stopWorkers(): Promise<void>;
  close(): Promise<void>;
}

/** Datagram slots of the main thread's pipelines (light traffic; the rx side: 32 / 8 = 4 UDP GRO buffers of 64 KiB). */
const MAIN_BATCH = 32;

/** How long a rebind waits for a port held by our own just-closed socket (see rebind). */
const REBIND_RETRY_MS = 600;

/** {@link openFastDataPlane}, then {@link FastDataPlane.startWorkers}. */
export async function startFastDataPlane(o: FastDataPlaneOptions, hooks: FastDataPlaneHooks = {}): Promise<FastDataPlane> {
  const plane = openFastDataPlane(o, hooks);
  try {
    await plane.startWorkers();
  } catch (e) {
    await plane.close();
    throw e;
  }
  return plane;
}

/**
 * Opens the TUN and the UDP socket and lays out the shared memory; the workers start with
 * {@link FastDataPlane.startWorkers} (and may stop and start again: dataplane/io.ts runs them only under load).
 */
export function openFastDataPlane(o: FastDataPlaneOptions, hooks: FastDataPlaneHooks = {}): FastDataPlane {
  const c = libc();
  // Workers come and go (dataplane/io.ts): a fixed mmap threshold keeps their big allocations out of the
  // malloc arenas, which fragment and keep memory after many start/stop cycles (benchmarks/README.md,
  // section 5, "Idle memory, measured"). 16 KiB: V8's compiles take their zones in 32 KiB segments,
  // which then go straight back to the system instead of leaving the arenas sparse (section 24).
  c.mallopt(M_MMAP_THRESHOLD, 16 << 10);
  c.mallopt(M_TRIM_THRESHOLD, 128 << 10);
  const offload = o.offload ?? true;
  const tunFd = o.tunFd ?? openTun(o.tunName, { offload });
  const udpGro = o.udpGro ?? true;
  let mark = o.fwmark ?? 0;
  const udpOptions = (port: number): Parameters<typeof openUdp>[0] => ({
    port, bufferBytes: o.socketBuffer ?? 4 << 20, mark, gro: udpGro, ...(o.udpAddress ? { address: o.udpAddress } : {}),
  });
  const udpFd = openUdp(udpOptions(o.udpPort));
  const boundPort = (): number => {
    const b = Buffer.alloc(SOCKADDR6);
    const l = Buffer.alloc(4);
    l.writeUInt32LE(SOCKADDR6);
    return c.getsockname(udpFd, c.addressOf(b), c.addressOf(l)) < 0 ? -1 : b.readUInt16BE(2);
  };
  let port = boundPort();
  const blocking = o.blocking ?? false;
  if (!blocking) c.fcntl(tunFd, F_SETFL, c.fcntl(tunFd, F_GETFL, 0) | O_NONBLOCK);
  const shared = new SharedState();
  const words = shared.words;
  const stats = shared.stats;
  let table: SessionTableHandles | null = o.table ?? null;
  const init = (role: "tx" | "rx"): WorkerInit => {
    if (table === null) throw new Error("fast data plane: no session table attached");
    return {
      role, tunFd, udpFd, mtu: o.mtu, offload, batch: o.batch ?? 128, blocking, gro: o.gro ?? true,
      udpGso: o.udpGso ?? true, gsoSegments: o.gsoSegments ?? 44, udpGro, spin: o.spin ?? 0,
      crashAfterReplays: o.crashAfterReplays ?? 0, ...shared.buffers(table),
    };
  };
  const url = new URL("./worker.js", import.meta.url);
  const young = o.youngGenerationMb ?? 2;
  const onEvent = (e: WorkerEvent): void => {
    switch (e.kind) {
      case "control":
        hooks.onControl?.(e.datagram, e.from);
        break;
      case "received":
        hooks.onReceived?.(e.slot, e.generation, e.from, e.data);
        break;
      case "slow":
        hooks.onSlow?.(e.packet);
        break;
      case "session":
        hooks.onSession?.(e.peer);
        break;
      case "gone":
        hooks.onGone?.();
        break;
      case "ready":
        break;
    }
  };
  let main: { tx: TxPipeline<MmsgBatch>; rx: RxPipeline<MmsgBatch> } | null = null;
  const mainPipelines = (): { tx: TxPipeline<MmsgBatch>; rx: RxPipeline<MmsgBatch> } => {
    if (main !== null) return main;
    const data: WorkerInit = { ...init("tx"), batch: MAIN_BATCH, blocking: false, crashAfterReplays: 0 };
    const { aead, sums } = loadBatchAead();
    const tun = new LinuxTun(tunFd);
    const udp = new LinuxUdp(udpFd);
    main = {
      tx: new TxPipeline(new PipelineContext(data, "tx", aead, onEvent, "main", sums), data, tun, udp),
      rx: new RxPipeline(new PipelineContext(data, "rx", aead, onEvent, "main", sums), data, tun, udp),
    };
    return main;
  };
  let workers: Worker[] = [];
  let starting: Promise<void> | null = null;
  let stopping: Promise<void> | null = null;
  const exited = (w: Worker): Promise<void> => new Promise((r) => (w.threadId < 0 ? r() : w.once("exit", () => r())));
  const startWorkers = async (handOver?: () => void): Promise<void> => {
    if (stopping) await stopping;
    if (starting) return starting;
    if (workers.length > 0) return;
    starting = (async () => {
      Atomics.store(words, KP.stop, 0);
      Atomics.store(words, KP.go, 0);
      lightTraffic(false); // the workers' hot loops tier up on V8's default budget (tiering.ts)
      const inits = [init("tx"), init("rx")];
      const fresh = inits.map(
        (data) =>
          new Worker(url, {
            workerData: data,
            ...(young > 0 ? { resourceLimits: { maxYoungGenerationSizeMb: young } } : {}),
          }),
      );
      // Only our own listeners come off afterwards: Worker keeps internal 'newListener' hooks that
      // start its message port (removeAllListeners() would silence every later message).
      const pending: (() => void)[] = [];
      try {
        await Promise.all(
          fresh.map(
            (w) =>
              new Promise<void>((resolve, reject) => {
                const onReady = (): void => resolve();
                const onExit = (code: number): void => reject(new Error(`fast path worker exited (code ${code}) before it was ready`));
                w.once("message", onReady);
                w.once("error", reject);
                w.once("exit", onExit);
                pending.push(() => {
                  w.off("message", onReady);
                  w.off("error", reject);
                  w.off("exit", onExit);
                });
              }),
          ),
        );
      } catch (e) {
        Atomics.store(words, KP.stop, 1);
        Atomics.notify(words, KP.go);
        await Promise.all(fresh.map((w) => w.terminate()));
        throw e;
      } finally {
        for (const off of pending) off();
      }
      for (const w of fresh) {
        w.on("message", onEvent);
        w.on("error", (e) => hooks.onWorkerError?.(e)); // the worker has ended
      }
      workers = fresh;
      try {
        handOver?.();
      } finally {
        Atomics.store(words, KP.go, 1);
        Atomics.notify(words, KP.go);
      }
    })();
    try {
      await starting;
    } finally {
      starting = null;
    }
  };
  const stopWorkers = async (): Promise<void> => {
    if (starting) await starting.catch(() => {});
    if (stopping) return stopping;
    if (workers.length === 0) return;
    const leaving = workers;
    stopping = (async () => {
      Atomics.store(words, KP.stop, 1);
      Atomics.notify(words, KP.go);
      if (blocking) {
        // Workers blocked in read/recvmmsg never return to JS: they can only be left behind.
        for (const w of leaving) w.unref();
      } else await Promise.all(leaving.map(exited));
      workers = [];
      lightTraffic(true);
    })();
    try {
      await stopping;
    } finally {
      stopping = null;
    }
    // Once nothing here refers to the old Worker objects any more: GC, then malloc_trim (reclaim.ts).
    setTimeout(reclaimMemory, 50).unref();
  };

  let closed = false;
  const tunOut = Buffer.alloc(VNET_HDR_LEN + 65536);
  const tunOutAddr = c.addressOf(tunOut);
  const counters = new Float64Array(stats);
  const read = (i: number): DirectionStats => {
    const f = new Float64Array(stats, i * STATS_WORDS * 8, STATS_WORDS);
    const dropsByReason: Record<string, number> = {};
    for (const r of DROP_REASONS) if (f[dropWord(r)]! > 0) dropsByReason[r] = f[dropWord(r)]!;
    return {
      dropsByReason,
      packets: f[ST.packets]!, bytes: f[ST.bytes]!, batches: f[ST.batches]!, syscalls: f[ST.syscalls]!,
      superPackets: f[ST.superPackets]!, drops: f[ST.drops]!, errors: f[ST.errors]!, control: f[ST.control]!,
    };
  };
  return {
    tunFd,
    udpFd,
    get port() {
      return port;
    },
    async rebind(p) {
      if (p !== 0 && p === port) return port;
      let fresh = -1;
      for (const deadline = Date.now() + REBIND_RETRY_MS; fresh < 0; ) {
        try {
          fresh = openUdp(udpOptions(p));
        } catch (e) {
          // Our own previous socket on this port can outlive its close briefly (a worker's poll(2) in
          // flight still holds it until it returns): wait for it rather than refuse the port.
          if (!(e instanceof Error && / errno 98$/.test(e.message)) || Date.now() >= deadline) throw e;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      // A poll(2) in flight (the rx worker's) holds the old socket, and with it the old port,
      // for up to its timeout: shutdown wakes it (EPOLLHUP even on an unconnected UDP socket) so
      // the port is free again at once; the next poll is on the new socket.
      c.shutdown(udpFd, SHUT_RDWR);
      c.dup2(fresh, udpFd);
      c.close(fresh);
      port = boundPort();
      return port;
    },
    setMark(m) {
      mark = m;
      const b = Buffer.alloc(4);
      b.writeInt32LE(m);
      if (c.setsockopt(udpFd, 1 /* SOL_SOCKET */, 36 /* SO_MARK */, c.addressOf(b), 4) < 0)
        throw new Error(`SO_MARK: errno ${c.errno()}`);
    },
    attachTable(t) {
      table = t;
      main = null;
    },
    setPeer: (peer, send, endpoint) => shared.setPeer(peer, send, endpoint),
    clearPeer: (peer) => shared.clearPeer(peer),
    setRoutes: (routes) => shared.setRoutes(routes),
    update: (f) => shared.update(f),
    setLinkMtu: (m) => shared.setLinkMtu(m),
    setPublicKey: (k) => shared.setPublicKey(k),
    peerStats: (peer) => shared.peerStats(peer),
    drainActivity: (each) => shared.drainActivity(each),
    get buffers() {
      return table === null ? null : shared.buffers(table);
    },
    writeTunnel(packet) {
      const off = offload ? VNET_HDR_LEN : 0;
      if (offload) {
        tunOut.fill(0, 0, VNET_HDR_LEN);
        tunOut[0] = VIRTIO_NET_HDR_F_DATA_VALID;
      }
      tunOut.set(packet, off);
      return sys().write(tunFd, tunOutAddr, off + packet.length);
    },
    stats: () => ({ tx: read(statsBlock("worker", "tx")), rx: read(statsBlock("worker", "rx")), mainTx: read(statsBlock("main", "tx")), mainRx: read(statsBlock("main", "rx")) }),
    counter: (tier, role, word) => counters[statsBlock(tier, role) * STATS_WORDS + word]!,
    mainPipelines,
    drainMainEvents() {
      if (main === null) return;
      if (main.rx.ctx.events.pending) main.rx.ctx.events.drain(onEvent);
      if (main.tx.ctx.events.pending) main.tx.ctx.events.drain(onEvent);
    },
    get workersRunning() {
      return workers.length > 0;
    },
    startWorkers,
    stopWorkers,
    async close() {
      if (closed) return;
      closed = true;
      await stopWorkers();
      c.close(tunFd);
      c.close(udpFd);
    },
  };
}
