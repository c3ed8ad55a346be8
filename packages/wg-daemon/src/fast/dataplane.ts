/**
 * The multi-threaded data plane: opens the TUN (with TSO offload) and a UDP socket through koffi
 * and runs one worker thread per direction (worker.ts):
 *
 *   tx worker: read(TUN) → split TSO super-packets → seal (wg-core AEAD, type-4 format) → UDP GSO send
 *   rx worker: recvmmsg (UDP GRO) → open → replay window (wg-core) → coalesce TCP (GRO) → write(TUN)
 *
 * The main thread keeps wg-core's Device (handshakes, cookies, timers, configuration) and talks
 * to the workers through shared memory: it publishes keypairs and the peer endpoint
 * ({@link FastDataPlane.setKeypairs}, {@link FastDataPlane.setEndpoint}); workers post only rare
 * events back ({@link FastDataPlaneHooks}): handshake datagrams, packets while no keypair exists,
 * the first packet received on a keypair. See benchmarks/README.md ("Integration") for how the
 * daemon wires this to the core, and what the core still has to expose.
 *
 * Scope: up to MAX_PEERS (64) peers in fixed slots, IPv4 and IPv6 endpoints (one dual-stack socket),
 * up to MAX_ROUTES allowed-IPs prefixes in all.
 */
import { Worker } from "node:worker_threads";
import { F_GETFL, F_SETFL, M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, O_NONBLOCK, SHUT_RDWR, libc } from "../libc.js";
import { reclaimMemory } from "./reclaim.js";
import { VNET_HDR_LEN, openTun } from "./tun.js";
import { addressBytes, type ReplayWindow } from "@wg-ts/core";
import { SOCKADDR6, openUdp, writeSockaddr } from "./udp.js";
import {
  KEYPAIR_WORDS, KP, MAX_PEERS, MAX_ROUTES, PEER_STATS_WORDS, PK, PS, RECV_SLOTS, RECV_SLOT_WORDS, RECV_WINDOW, RETURN_BASE, RETURN_WORDS,
  ROUTES_BASE, ROUTE_WORDS, STATS_WORDS, ST,
  DROP_REASONS, dropWord, peerBase, type WorkerEvent, type WorkerInit,
} from "./shared.js";
import { VIRTIO_NET_HDR_F_DATA_VALID } from "./gso.js";

export interface Endpoint4 {
  address: string;
  port: number;
}

export interface FastDataPlaneOptions {
  /** TUN interface name (created if absent). */
  tunName: string;
  mtu: number;
  /** UDP listen port. */
  udpPort: number;
  /** Peer slot 0's endpoint, if known (see setEndpoint). */
  peer?: Endpoint4;
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
   * Hand wg-core what it needs for its bookkeeping (default false): the first authenticated packet on
   * each receive keypair, and one packet per direction every 100 ms, go to the hooks instead of
   * being forwarded by the workers. io.ts turns it on; the fixed-key forwarder has no core.
   */
  slowPath?: boolean;
  /**
   * Worker V8 young-generation cap in MiB (default 2; 0 = Node's default, which grows to 16+ MiB
   * per worker under load). Measured: 2 MiB cuts peak RSS 105 → 83 MiB at the same throughput.
   */
  youngGenerationMb?: number;
  /** SO_RCVBUF/SO_SNDBUF bytes (default 4 MiB). */
  socketBuffer?: number;
}

/** Called on the main thread; each gets its own copy of the bytes (see WorkerEvent in shared.ts). */
export interface FastDataPlaneHooks {
  /** A datagram for device.decapsulate (handshakes, unknown indices, first/sampled transport). */
  onControl?(datagram: Uint8Array, from: Endpoint4): void;
  /** A tunnel packet for device.encapsulate (no keypair published yet, or a sample). */
  onSlow?(packet: Uint8Array): void;
  /** The TUN interface was deleted (`ip link del`): time to shut down. */
  onGone?(): void;
  /** A worker threw and has ended (a bug): the caller should stop the workers and carry on without them. */
  onWorkerError?(error: Error): void;
}

export interface SendKeypair {
  sendKey: Uint8Array;
  remoteIndex: number;
  /**
   * A new send keypair: the first counter to use (it gets a fresh counter cell). Omit it when
   * republishing the same send keypair (its cell keeps counting).
   */
  counter?: number;
}
export interface Route {
  slot: number;
  family: 4 | 6;
  bits: number;
  /** Network address, 4 or 16 bytes. */
  bytes: Uint8Array;
}
export interface ReceiveKeypair {
  recvKey: Uint8Array;
  localIndex: number;
  /** The core's replay window for it (saved with the slot; a worker seeing the keypair first starts from it). */
  replay?: ReplayWindow;
}

/** Convenience for a single session: both directions of one keypair. */
export interface Keypair {
  sendKey: Uint8Array;
  recvKey: Uint8Array;
  localIndex: number;
  remoteIndex: number;
  sendCounter?: number;
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

export interface FastDataPlane {
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
  /**
   * Publishes peer slot `slot` (0..MAX_PEERS-1): wg-core's keypairs (`send` = current, `receive` =
   * current/previous/next, ≤ 3) and endpoint (null: none; the tx worker hands its packets to the core).
   */
  setPeer(slot: number, send: SendKeypair | null, receive: readonly ReceiveKeypair[], endpoint: Endpoint4 | null): void;
  /** Empties peer slot `slot`. */
  clearPeer(slot: number): void;
  /**
   * The routes snapshot (≤ MAX_ROUTES prefixes over all peers): outbound peer selection by inner
   * destination, inbound inner-source check. Until set, nothing routes (every inner source is refused).
   */
  setRoutes(routes: readonly Route[]): void;
  /** The TUN's current link MTU (padding cap; `wg-ts up` sets the MTU after the workers start). */
  setLinkMtu(mtu: number): void;
  /**
   * The device's static public key (32 bytes), or null when it has no private key: the rx worker
   * checks MAC1 of handshake messages against it before handing them to the main thread.
   */
  setPublicKey(publicKey: Uint8Array | null): void;
  /** Runs `f` (setPeer/clearPeer/setRoutes calls) as one update the workers see at once. */
  update(f: () => void): void;
  /** Peer slot `slot`'s traffic the workers counted (inner bytes, packets). */
  peerStats(slot: number): { txBytes: number; txPackets: number; rxBytes: number; rxPackets: number };
  /** Single-peer convenience (slot 0): {@link setPeer} keeping slot 0's endpoint. */
  setKeypairs(send: SendKeypair | null, receive: readonly ReceiveKeypair[]): void;
  setKeypair(k: Keypair | null): void;
  setEndpoint(e: Endpoint4): void;
  /** Slot 0's allowed IPs (see {@link setRoutes}). */
  setAllowedIps(prefixes: readonly { family: 4 | 6; bits: number; bytes: Uint8Array }[]): void;
  /** Reserves `n` consecutive send counters of slot 0 (for a packet the main thread encrypts); returns the first. */
  reserveCounters(n: number): number;
  /**
   * The shared send-counter cells (Atomics, int64; two per slot: `2 * slot + counterCell(slot)` is
   * the published send keypair's); the next `setPeer` with a `counter` switches the slot to the other.
   */
  readonly counters: BigInt64Array;
  counterCell(slot: number): number;
  /** Sends a datagram from the main thread (handshake messages, keepalives) on the same socket. */
  sendDatagram(datagram: Uint8Array, to: Endpoint4): number;
  /** Writes an inner IP packet to the TUN from the main thread. */
  writeTunnel(packet: Uint8Array): number;
  stats(): { tx: DirectionStats; rx: DirectionStats };
  /** The worker threads are running (between {@link startWorkers} and {@link stopWorkers}). */
  readonly workersRunning: boolean;
  /**
   * Starts the two worker threads; a no-op while they run. Once both are ready, `handOver` runs
   * (the caller stops its own reads of the fds and publishes), then they start their loops.
   */
  startWorkers(handOver?: () => void): Promise<void>;
  /**
   * Stops the workers (within the 250 ms poll timeout; not in blocking mode) and resolves once both
   * have exited, their memory released. The rx worker's replay windows are then in the return area:
   * see {@link forEachReturnedWindow}.
   */
  stopWorkers(): Promise<void>;
  /** Visits each replay window the rx worker returned when it last stopped (ReplayWindow.mergeSaved input), once. */
  forEachReturnedWindow(visit: (localIndex: number, words: Int32Array, offset: number) => void): void;
  close(): Promise<void>;
}

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
 * {@link FastDataPlane.startWorkers} (and may stop and start again: fast/io.ts runs them only under load).
 */
export function openFastDataPlane(o: FastDataPlaneOptions, hooks: FastDataPlaneHooks = {}): FastDataPlane {
  const c = libc();
  // Workers come and go (fast/io.ts): a fixed mmap threshold keeps their big allocations out of the
  // malloc arenas, which fragment and keep ~8 MiB after many start/stop cycles (~4 MiB with it).
  c.mallopt(M_MMAP_THRESHOLD, 64 << 10);
  c.mallopt(M_TRIM_THRESHOLD, 128 << 10);
  const offload = o.offload ?? true;
  const tunFd = openTun(o.tunName, { offload });
  const udpGro = o.udpGro ?? true;
  let mark = o.fwmark ?? 0;
  const udpOptions = (port: number): Parameters<typeof openUdp>[0] => ({
    port, bufferBytes: o.socketBuffer ?? 4 << 20, mark, gro: udpGro,
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
  const keypairs = new SharedArrayBuffer(KEYPAIR_WORDS * 4);
  const counters = new SharedArrayBuffer(16 * MAX_PEERS);
  const stats = new SharedArrayBuffer(2 * STATS_WORDS * 8);
  const peerStatsBuf = new SharedArrayBuffer(MAX_PEERS * PEER_STATS_WORDS * 8);
  const peerStatsView = new Float64Array(peerStatsBuf);
  const words = new Int32Array(keypairs);
  const bytes = new Uint8Array(keypairs);
  const ctr = new BigInt64Array(counters);
  const base: Omit<WorkerInit, "role"> = {
    tunFd, udpFd, mtu: o.mtu, offload, batch: o.batch ?? 128, blocking, gro: o.gro ?? true,
    udpGso: o.udpGso ?? true, gsoSegments: o.gsoSegments ?? 44, udpGro, spin: o.spin ?? 0, slowPath: o.slowPath ?? false, keypairs, counters, stats,
    peerStats: peerStatsBuf,
  };
  const url = new URL("./worker.js", import.meta.url);
  const young = o.youngGenerationMb ?? 2;
  const onEvent = (e: WorkerEvent): void => {
    switch (e.kind) {
      case "control":
        hooks.onControl?.(e.datagram, e.from);
        break;
      case "slow":
        hooks.onSlow?.(e.packet);
        break;
      case "gone":
        hooks.onGone?.();
        break;
      case "ready":
        break;
    }
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
      Atomics.store(words, KP.returned, 0);
      Atomics.store(words, KP.go, 0);
      const fresh = (["tx", "rx"] as const).map(
        (role) =>
          new Worker(url, {
            workerData: { ...base, role },
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
    })();
    try {
      await stopping;
    } finally {
      stopping = null;
    }
    // Once nothing here refers to the old Worker objects any more: GC, then malloc_trim (reclaim.ts).
    setTimeout(reclaimMemory, 50).unref();
  };

  // Seqlock writer: odd while writing, even when done (single writer: the main thread).
  let depth = 0;
  const write = (f: () => void): void => {
    if (depth++ === 0) Atomics.add(words, KP.generation, 1);
    try {
      f();
    } finally {
      if (--depth === 0) Atomics.add(words, KP.generation, 1);
    }
  };
  const cells = new Array<number>(MAX_PEERS).fill(0);
  const endpoints = new Array<Endpoint4 | null>(MAX_PEERS).fill(null);
  const checkSlot = (slot: number): void => {
    if (!(slot >= 0 && slot < MAX_PEERS)) throw new Error(`peer slot ${slot} out of range (≤ ${MAX_PEERS} peers)`);
  };
  /**
   * `send.counter` given: a new send keypair — it gets the slot's other counter cell, starting there.
   * Omitted: the same send keypair as before (its cell keeps counting).
   */
  const setPeer = (slot: number, send: SendKeypair | null, receive: readonly ReceiveKeypair[], endpoint: Endpoint4 | null): void => {
    checkSlot(slot);
    if (receive.length > RECV_SLOTS) throw new Error(`at most ${RECV_SLOTS} receive keypairs`);
    const ep = endpoint ? addressBytes(endpoint.address) : null;
    write(() => {
      const p = peerBase(slot);
      words[p + PK.sendValid] = 0;
      if (send) {
        bytes.set(send.sendKey, (p + PK.sendKey) * 4);
        words[p + PK.remoteIndex] = send.remoteIndex | 0;
        if (send.counter !== undefined) {
          cells[slot] = cells[slot]! ^ 1;
          Atomics.store(ctr, 2 * slot + cells[slot]!, BigInt(send.counter));
          words[p + PK.counterCell] = cells[slot]!;
        }
        words[p + PK.sendValid] = 1;
      }
      for (let i = 0; i < RECV_SLOTS; i++) {
        const w = p + PK.recvSlots + i * RECV_SLOT_WORDS;
        const r = receive[i];
        words[w] = r ? 1 : 0;
        if (r) {
          words[w + 1] = r.localIndex | 0;
          bytes.set(r.recvKey, (w + 2) * 4);
          // The core's window: a worker seeing this keypair for the first time starts from it.
          if (r.replay) r.replay.save(words, w + RECV_WINDOW);
          else words.fill(0, w + RECV_WINDOW, w + RECV_SLOT_WORDS);
        }
      }
      words[p + PK.endpointFamily] = 0;
      if (ep && endpoint) {
        bytes.fill(0, (p + PK.endpointAddr) * 4, (p + PK.endpointAddr + 4) * 4);
        bytes.set(ep, (p + PK.endpointAddr) * 4);
        words[p + PK.endpointPort] = endpoint.port;
        words[p + PK.endpointFamily] = ep.length === 4 ? 4 : 6;
      }
    });
    endpoints[slot] = ep ? endpoint : null;
  };
  const clearPeer = (slot: number): void => setPeer(slot, null, [], null);
  const setRoutes = (routes: readonly Route[]): void => {
    if (routes.length > MAX_ROUTES) throw new Error(`at most ${MAX_ROUTES} allowed-IPs prefixes`);
    write(() => {
      routes.forEach((r, i) => {
        checkSlot(r.slot);
        const w = ROUTES_BASE + i * ROUTE_WORDS;
        words[w] = r.slot;
        words[w + 1] = r.family | (r.bits << 8);
        bytes.fill(0, (w + 2) * 4, (w + 6) * 4);
        bytes.set(r.bytes.subarray(0, 16), (w + 2) * 4);
      });
      words[KP.routeCount] = routes.length;
    });
  };
  // Slot 0 convenience for the single-peer users (forwarder.ts).
  const setKeypairs = (send: SendKeypair | null, receive: readonly ReceiveKeypair[]): void => setPeer(0, send, receive, endpoints[0]!);
  const setEndpoint = (e: Endpoint4): void => {
    const p = peerBase(0);
    const send: SendKeypair | null = words[p + PK.sendValid] === 1 ? { sendKey: bytes.slice((p + PK.sendKey) * 4, (p + PK.sendKey + 8) * 4), remoteIndex: words[p + PK.remoteIndex]! } : null;
    const receive: ReceiveKeypair[] = [];
    for (let i = 0; i < RECV_SLOTS; i++) {
      const w = p + PK.recvSlots + i * RECV_SLOT_WORDS;
      if (words[w] === 1) receive.push({ localIndex: words[w + 1]!, recvKey: bytes.slice((w + 2) * 4, (w + 10) * 4) });
    }
    setPeer(0, send, receive, e);
  };
  if (o.peer) setEndpoint(o.peer);
  const setAllowedIps = (prefixes: readonly { family: 4 | 6; bits: number; bytes: Uint8Array }[]): void =>
    setRoutes(prefixes.map((p) => ({ slot: 0, ...p })));

  let closed = false;
  const sa = Buffer.alloc(SOCKADDR6);
  const saAddr = c.addressOf(sa);
  const tunOut = Buffer.alloc(VNET_HDR_LEN + 65536);
  const tunOutAddr = c.addressOf(tunOut);
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
    setPeer,
    clearPeer,
    setRoutes,
    update: write,
    setLinkMtu(m) {
      if (words[KP.linkMtu] !== m) write(() => (words[KP.linkMtu] = m));
    },
    setPublicKey(k) {
      const at = KP.ownKey * 4;
      if (k === null) {
        if (words[KP.ownKeyValid] !== 0) write(() => (words[KP.ownKeyValid] = 0));
        return;
      }
      if (k.length !== 32) throw new Error("public key must be 32 bytes");
      if (words[KP.ownKeyValid] === 1 && k.every((b, i) => bytes[at + i] === b)) return;
      write(() => {
        bytes.set(k, at);
        words[KP.ownKeyValid] = 1;
      });
    },
    peerStats(slot) {
      const o = slot * PEER_STATS_WORDS;
      const f = peerStatsView;
      return { txBytes: f[o + PS.txBytes]!, txPackets: f[o + PS.txPackets]!, rxBytes: f[o + PS.rxBytes]!, rxPackets: f[o + PS.rxPackets]! };
    },
    setKeypairs,
    setKeypair(k) {
      if (!k) setKeypairs(null, []);
      else {
        const send: SendKeypair = { sendKey: k.sendKey, remoteIndex: k.remoteIndex, counter: k.sendCounter ?? 0 };
        setKeypairs(send, [{ recvKey: k.recvKey, localIndex: k.localIndex }]);
      }
    },
    setEndpoint,
    setAllowedIps,
    reserveCounters(n) {
      return Number(Atomics.add(ctr, cells[0]!, BigInt(n)));
    },
    counters: ctr,
    counterCell: (slot) => cells[slot]!,
    sendDatagram(datagram, to) {
      try {
        writeSockaddr(sa, 0, to.address, to.port);
      } catch {
        return -1;
      }
      const b = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
      return c.sendto(udpFd, c.addressOf(b), b.length, 0, saAddr, SOCKADDR6);
    },
    writeTunnel(packet) {
      const off = offload ? VNET_HDR_LEN : 0;
      if (offload) {
        tunOut.fill(0, 0, VNET_HDR_LEN);
        tunOut[0] = VIRTIO_NET_HDR_F_DATA_VALID;
      }
      tunOut.set(packet, off);
      return c.write(tunFd, tunOutAddr, off + packet.length);
    },
    stats: () => ({ tx: read(0), rx: read(1) }),
    get workersRunning() {
      return workers.length > 0;
    },
    startWorkers,
    stopWorkers,
    forEachReturnedWindow(visit) {
      const n = Math.min(Atomics.exchange(words, KP.returned, 0), MAX_PEERS * RECV_SLOTS);
      for (let i = 0; i < n; i++) {
        const e = RETURN_BASE + i * RETURN_WORDS;
        visit(words[e]! >>> 0, words, e + 1);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await stopWorkers();
      c.close(tunFd);
      c.close(udpFd);
    },
  };
}
