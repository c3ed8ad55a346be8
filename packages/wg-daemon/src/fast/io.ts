/**
 * The fast data plane behind the daemon's own narrow I/O interfaces: a {@link Tun} and a
 * {@link Bind} for the unchanged {@link Engine} (engine.ts), plus {@link FastIo.attach}, which
 * watches the wg-core Device and publishes its keypairs to the workers.
 *
 * Two tiers ({@link WorkerPolicy}): while traffic is light the main thread reads the TUN and the
 * socket itself (main-loop.ts) and every packet goes through the Engine and wg-core; under load
 * the two worker threads start and carry the bulk, and after a quiet spell they stop again (an
 * idle daemon runs no worker thread). At each switch the receive replay windows change hands: published
 * with each keypair (the core's window) when the workers start, returned by the rx worker and
 * merged into the core's when they stop — a datagram accepted by one tier is a replay to the other.
 *
 * With the workers running, what the Engine (and so wg-core) still sees: handshake messages whose MAC1 verifies and cookie
 * replies (the rx worker drops junk, forged MAC1 and unknown indices first: control.ts), packets while no
 * session exists, the first packet on every new receive keypair, and one sampled packet per
 * direction every 100 ms (roaming). The bulk of transport packets never leaves the two worker
 * threads; every 20 ms their traffic is reported to the core with `Device.noteDataSent` /
 * `noteDataReceived` (byte counters, timers: keepalives, rekey after time/messages, handshake
 * after unanswered data). Keypair changes reach the workers through `Device.onKeypairsChanged`
 * (plus the 20 ms poll and a resync after every UAPI `set`).
 *
 * Scope: up to MAX_PEERS (64) peers with IPv4 or IPv6 endpoints and ≤ MAX_ROUTES (4096) allowed-IPs
 * prefixes in all get the worker path: each peer has a slot (keypairs, endpoint, counter cells) and
 * the workers route by a snapshot of every peer's allowed IPs (tx: peer by inner destination; rx:
 * inner source must route back to the sender). Peers added or removed with `wg set` are published
 * at the next sync. Beyond those limits nothing is published and the workers do not run: the main
 * thread keeps all I/O; the daemon logs which path runs.
 *
 * Counters: the published send keypair counts in a shared cell (`Keypair.shareSendCounter`): the
 * core (`reserveSendCounters(1)`) and the tx worker (`Atomics.add`, 256 at a time) never use the
 * same counter. When the keypair is unpublished it counts locally again, skipping a margin for a
 * range a worker may still take before it sees the new generation.
 */
import { parseCidr, type Action, type Device, type Keypair, type Peer } from "@wg-ts/core";
import type { Bind, Datagram } from "../bind.js";
import { linkMtu, type Tun } from "../tun.js";
import { MAX_PEERS, MAX_ROUTES } from "./shared.js";
import { MainLoop } from "./main-loop.js";
import { openFastDataPlane, type FastDataPlane, type FastDataPlaneOptions, type ReceiveKeypair, type Route } from "./dataplane.js";

export interface FastIo {
  readonly plane: FastDataPlane;
  readonly tun: Tun;
  readonly bind: Bind;
  /**
   * Starts publishing `device`'s keypairs to the workers (call once, after the Engine exists).
   * `log` hears which path runs ("fast path: N peers in the workers" / "... main-thread path").
   */
  attach(device: Device, now: () => number, log?: (line: string) => void): void;
  /** Publishes the device's state now (after a configuration change; otherwise every 20 ms). */
  sync(): void;
  /**
   * The workers' drop counters by reason (non-zero only), summed over both workers: wg-core
   * DropReason names (`decrypt-failed`, `replay`, `counter-limit`, `source-not-allowed`,
   * `invalid-inner-packet`, `no-route`, `encrypt-failed`; the rx worker's gate: `truncated`,
   * `invalid-size`, `oversized`, `unknown-type`, `bad-mac1`, `unknown-index`, `no-private-key`) plus
   * `slow-path-budget` (packets for the core over the per-100 ms budget). The engine adds them to
   * its own counts of the same names.
   */
  drops(): [string, number][];
  /** "peers=N worker-tx-packets=… worker-rx-packets=…": peers published to the workers, packets they carried. */
  status(): string;
}

/**
 * Counters skipped when a keypair stops being published: a tx worker in the middle of a batch may
 * still take one more range (256) from its cell before it sees the new generation.
 */
const UNSHARE_MARGIN = 1 << 16;

/**
 * When the workers run (env WG_TS_WORKERS): `auto` (default) starts them when, in a
 * {@link LOAD_TICK_MS} tick, the main thread reads more than {@link START_PACKETS} TUN packets or the
 * core authenticates more than {@link START_BYTES} bytes, and a peer has a session; it stops them after
 * {@link IDLE_WINDOW_S} seconds with fewer than {@link STOP_PACKETS} packets in all; `always` starts
 * them at once and keeps them; `never` keeps all I/O on the main thread.
 */
export type WorkerPolicy = "auto" | "always" | "never";
/** How often the load is looked at. */
const LOAD_TICK_MS = 100;
/** TUN packets per tick read by the main thread that start the workers (≈ 5,000/s, ~55 Mbit/s of full-size packets). */
const START_PACKETS = 512;
/**
 * Or authenticated bytes per tick (both directions, the core's per-peer counters: a receive-heavy
 * transfer; garbage and forgeries never count) — ≈ 52 Mbit/s.
 */
const START_BYTES = 640 << 10;
/** Seconds of worker traffic looked back on before stopping them. */
const IDLE_WINDOW_S = 10;
/** Worker packets over the last IDLE_WINDOW_S seconds under which they stop (≈ 256/s: pings and keepalives). */
const STOP_PACKETS = 2560;

export interface FastIoOptions extends Partial<Omit<FastDataPlaneOptions, "tunName">> {
  workers?: WorkerPolicy;
}

export async function createFastIo(name: string, options: FastIoOptions = {}): Promise<FastIo> {
  const { workers: policy = "auto", ...planeOptions } = options;
  // Engine.onBatch / Tun.read waiters are set after construction; events queue until then.
  const tunQueue: Uint8Array[] = [];
  let tunWaiter: (() => void) | null = null;
  let bind: FastBind | null = null;
  let sync: () => void = () => {};
  let gone = false;
  let log: (line: string) => void = () => {};
  const onGone = (): void => {
    gone = true;
    tunWaiter?.();
  };
  const toTunnel = (packet: Uint8Array): void => {
    tunQueue.push(packet);
    tunWaiter?.();
  };
  const o: FastDataPlaneOptions = { tunName: name, mtu: 1420, udpPort: 0, ...planeOptions, slowPath: true };
  const plane = openFastDataPlane(o, {
    onControl(datagram, from) {
      bind?.deliver(datagram, from);
      sync();
    },
    onSlow: toTunnel,
    onGone,
    onWorkerError(e) {
      log(`fast path worker failed (${e.message}): main-thread I/O from now on`);
      workersBroken = true;
      void toMain();
    },
  });
  const mainLoop = new MainLoop(
    { tunFd: plane.tunFd, udpFd: plane.udpFd, offload: o.offload ?? true, udpGro: o.udpGro ?? true, mtu: o.mtu },
    { tunnel: toTunnel, datagram: (d, from) => bind?.deliver(d, from), gone: onGone },
  );

  let closed = false;
  let workersBroken = false;
  let syncTimer: NodeJS.Timeout | undefined;
  let loadTimer: NodeJS.Timeout | undefined;
  let publisher: Publisher | null = null;
  /** A start or stop of the workers in progress. */
  let switching: Promise<void> | null = null;
  let starts = 0;
  /** Worker packets per second over the last IDLE_WINDOW_S seconds (a ring), and the last total. */
  const perSecond = new Array<number>(IDLE_WINDOW_S).fill(Infinity);
  let second = 0;
  let ticks = 0;
  let lastWorkerPackets = 0;
  /** The core's authenticated bytes (all peers) at the last main-thread tick. */
  let lastBytes = 0;
  /**
   * After the core wrote or sent (a handshake may have produced a keypair): publish now if the
   * workers run; otherwise the keypair event and the 20 ms timer are soon enough (no per-batch cost).
   */
  const syncIfWorkers = (): void => {
    if (plane.workersRunning) sync();
  };
  const workerPackets = (): number => {
    const s = plane.stats();
    return s.tx.packets + s.rx.packets + s.tx.control + s.rx.control;
  };

  /** Load is high: the workers start; once ready, the main thread stops reading and publishes the core's windows. */
  const toWorkers = async (): Promise<void> => {
    if (switching || closed || plane.workersRunning) return;
    switching = (async () => {
      try {
        // The main thread reads on while the workers start (~50 ms), then hands the fds over.
        await plane.startWorkers(() => {
          mainLoop.stop();
          publisher?.republishAll();
          sync();
        });
        starts++;
        perSecond.fill(Infinity);
        lastWorkerPackets = workerPackets();
      } catch (e) {
        workersBroken = true;
        log(`fast path workers did not start (${(e as Error).message}): main-thread I/O`);
        if (!closed) mainLoop.start();
      }
    })();
    await switching;
    switching = null;
  };
  /** Load is low: the workers stop, the core takes their replay windows, the main thread reads again. */
  const toMain = async (): Promise<void> => {
    if (switching) await switching;
    if (!plane.workersRunning) return;
    switching = (async () => {
      await plane.stopWorkers();
      if (publisher) {
        const byIndex = new Map(publisher.receiveKeypairs().map((k) => [k.localIndex, k] as const));
        plane.forEachReturnedWindow((index, words, offset) => byIndex.get(index)?.replay.mergeSaved(words, offset));
      }
      sync();
      lastBytes = publisher?.trafficBytes() ?? 0; // the workers' traffic is not main-thread load
      if (!closed) mainLoop.start();
    })();
    await switching;
    switching = null;
  };
  const watchLoad = (): void => {
    if (closed || switching) return;
    const mainPackets = mainLoop.takeCount();
    const usable = publisher?.usable ?? false;
    if (!plane.workersRunning) {
      const bytes = publisher?.trafficBytes() ?? 0;
      const moved = bytes - lastBytes;
      lastBytes = bytes;
      const busy = mainPackets > START_PACKETS || moved > START_BYTES;
      const loaded = policy === "auto" && busy && (publisher?.hasSession ?? false);
      if ((policy === "always" || loaded) && usable && !workersBroken) void toWorkers();
      return;
    }
    if (!usable) return void toMain();
    if (++ticks * LOAD_TICK_MS < 1000) return;
    ticks = 0;
    const total = workerPackets();
    perSecond[second] = total - lastWorkerPackets;
    second = (second + 1) % IDLE_WINDOW_S;
    lastWorkerPackets = total;
    if (policy === "auto" && perSecond.reduce((a, b) => a + b, 0) < STOP_PACKETS) void toMain();
  };

  const tun: Tun = {
    name,
    read(out) {
      return new Promise((resolve, reject) => {
        const take = (): void => {
          tunWaiter = null;
          if (gone) return reject(new Error(`${name}: interface deleted`));
          if (closed) return reject(new Error(`${name}: closed`));
          let n = 0;
          while (tunQueue.length > 0 && n < 256) out[n++] = tunQueue.shift()!;
          resolve(n);
        };
        if (tunQueue.length > 0 || closed || gone) take();
        else tunWaiter = take;
      });
    },
    write(packets, count = packets.length) {
      for (let i = 0; i < count; i++) plane.writeTunnel(packets[i]!);
      syncIfWorkers();
    },
    mtu: () => linkMtu(name),
    close() {
      if (closed) return;
      closed = true;
      clearInterval(syncTimer);
      clearInterval(loadTimer);
      tunWaiter?.();
      mainLoop.stop();
      void (async () => {
        if (switching) await switching;
        mainLoop.close();
        await plane.close();
      })();
    },
  };
  bind = new FastBind(plane, syncIfWorkers, mainLoop);

  return {
    plane,
    tun,
    bind,
    attach(device, now, logLine) {
      log = (line) => logLine?.(`${name}: ${line}`);
      const pub = new Publisher(plane, device, now, log, (out) => {
        for (const a of out) {
          if (a.kind === "toNetwork") bind?.send([{ datagram: a.datagram, endpoint: a.endpoint }], 1);
          else if (a.kind === "toTunnel") plane.writeTunnel(a.packet);
        }
      });
      publisher = pub;
      sync = () => {
        if (closed) return;
        // The core's MTU (the Engine keeps it equal to the link's) caps the workers' padding too.
        plane.setLinkMtu(device.mtu);
        // Our public key: the rx worker checks MAC1 with it before the core sees a handshake.
        plane.setPublicKey(device.publicKey?.bytes ?? null);
        pub.sync();
      };
      // Called inside the core's own call: publish right after it (the core must not be re-entered).
      device.onKeypairsChanged = () => queueMicrotask(sync);
      syncTimer = setInterval(sync, 20);
      syncTimer.unref();
      loadTimer = setInterval(watchLoad, LOAD_TICK_MS);
      loadTimer.unref();
      pub.sync();
      if (policy === "always" && pub.usable) void toWorkers();
      else mainLoop.start();
    },
    sync: () => sync(),
    status() {
      const s = plane.stats();
      return (
        `workers=${plane.workersRunning ? "on" : "off"} worker-starts=${starts} peers=${publisher?.published ?? 0} ` +
        `worker-tx-packets=${s.tx.packets} worker-rx-packets=${s.rx.packets}`
      );
    },
    drops() {
      const s = plane.stats();
      const d = new Map<string, number>();
      for (const by of [s.rx.dropsByReason, s.tx.dropsByReason])
        for (const [r, n] of Object.entries(by)) d.set(r, (d.get(r) ?? 0) + n);
      return [...d];
    },
  };
}

class FastBind implements Bind {
  onBatch: (batch: Datagram[], count: number) => void = () => {};
  sendErrors = 0;
  readonly #one: Datagram[] = [{ datagram: new Uint8Array(0), endpoint: { address: "", port: 0 } }];

  constructor(
    readonly plane: FastDataPlane,
    /**
     * Publishes the core's state: before anything the core emits leaves, so a keypair it just
     * derived is in the workers' table before the response or keepalive that lets the peer use it
     * (the rx worker drops transport messages for unpublished indices).
     */
    readonly beforeSend: () => void,
    /** Lets go of the socket while its fd is replaced (libuv must not poll a closed fd). */
    readonly mainLoop: MainLoop,
  ) {}

  get port(): number {
    return this.plane.port;
  }
  async open(port: number): Promise<number> {
    this.mainLoop.releaseSocket();
    try {
      return await this.plane.rebind(port);
    } finally {
      this.mainLoop.watchSocket();
    }
  }
  setMark(mark: number): void {
    this.plane.setMark(mark);
  }
  send(batch: readonly Datagram[], count = batch.length): void {
    this.beforeSend();
    for (let i = 0; i < count; i++) {
      const d = batch[i]!;
      if (this.plane.sendDatagram(d.datagram, d.endpoint) < 0) this.sendErrors++;
    }
  }
  deliver(datagram: Uint8Array, from: { address: string; port: number }): void {
    const d = this.#one[0]!;
    d.datagram = datagram;
    d.endpoint = from;
    this.onBatch(this.#one, 1);
  }
  close(): void {}
}

/** What is published for one peer in its slot. */
interface Published {
  slot: number;
  send: Keypair | null;
  recv: Keypair[];
  endpoint: string;
  lastTx: number;
  lastRx: number;
}

/** Mirrors every peer's keypairs (current sends; current/previous/next receive), endpoint and allowed IPs into shared memory. */
class Publisher {
  readonly #pub = new Map<Peer, Published>();
  readonly #free: number[] = [];
  #routes = "";
  #mode = "";
  readonly #out: Action[] = [];

  #usable = false;
  #republish = false;

  /** Peers published to the workers. */
  get published(): number {
    return this.#pub.size;
  }

  /** The configuration fits the workers' tables (MAX_PEERS, MAX_ROUTES), as of the last sync. */
  get usable(): boolean {
    return this.#usable;
  }

  /** Bytes the core has counted for all peers, both directions (wg-core Peer rx/txBytes). */
  trafficBytes(): number {
    let n = 0;
    for (const p of this.device.peers()) n += p.rxBytes + p.txBytes;
    return n;
  }

  /** Some published peer has a session to send on (without one, every packet is the core's anyway). */
  get hasSession(): boolean {
    for (const pub of this.#pub.values()) if (pub.send !== null) return true;
    return false;
  }

  /** The next sync rewrites every slot, with the core's replay windows as they are now (before the workers start). */
  republishAll(): void {
    this.#republish = true;
  }

  /** Every receive keypair the core holds (current, previous, next of each peer). */
  receiveKeypairs(): Keypair[] {
    const all: Keypair[] = [];
    for (const p of this.device.peers()) for (const k of [p.current, p.previous, p.next]) if (k !== null) all.push(k);
    return all;
  }

  constructor(
    readonly plane: FastDataPlane,
    readonly device: Device,
    readonly now: () => number,
    readonly log: (line: string) => void,
    /** Sends what the core emits from the bookkeeping calls (a handshake initiation). */
    readonly emit: (out: Action[]) => void,
  ) {
    for (let i = MAX_PEERS - 1; i >= 0; i--) this.#free.push(i);
  }

  sync(): void {
    const now = this.now();
    const peers = this.device.peers();
    let prefixes = 0;
    for (const p of peers) prefixes += p.allowedIps.length;
    const usable = peers.length <= MAX_PEERS && prefixes <= MAX_ROUTES;
    this.#usable = usable;
    const republish = this.#republish;
    this.#republish = false;
    const mode = usable
      ? `fast path: ${peers.length} peer${peers.length === 1 ? "" : "s"} in the workers`
      : `fast path: ${peers.length} peers / ${prefixes} allowed-IPs prefixes exceed ${MAX_PEERS} / ${MAX_ROUTES}: main-thread path`;
    if (mode !== this.#mode) {
      this.log(mode);
      this.#mode = mode;
    }
    const keep = new Set(usable ? peers : []);
    const released: Keypair[] = [];
    const changes: (() => void)[] = [];
    for (const [peer, pub] of this.#pub) {
      if (keep.has(peer)) continue;
      // Removed (or the fallback): empty its slot; its send keypair counts locally again. A peer
      // still configured (fallback) gets its last traffic reported; a removed one is gone from the core.
      if (peers.includes(peer)) this.#account(peer, pub, now);
      this.#pub.delete(peer);
      changes.push(() => this.plane.clearPeer(pub.slot));
      if (pub.send !== null) released.push(pub.send);
      this.#free.push(pub.slot);
    }
    for (const peer of keep) {
      let pub = this.#pub.get(peer);
      if (pub === undefined) {
        const slot = this.#free.pop()!;
        const st = this.plane.peerStats(slot);
        pub = { slot, send: null, recv: [], endpoint: "", lastTx: 0, lastRx: 0 };
        pub.lastTx = st.txBytes + 32 * st.txPackets;
        pub.lastRx = st.rxBytes + 32 * st.rxPackets;
        this.#pub.set(peer, pub);
      }
      this.#account(peer, pub, now);
      const ep = peer.endpoint;
      const cur = peer.current;
      const send = cur !== null && cur.canSend(now) ? cur : null;
      const recv: Keypair[] = [peer.current, peer.previous, peer.next].filter(
        (k): k is NonNullable<typeof k> => k !== null && k.canReceive(now),
      );
      const endpoint = ep ? `${ep.address}:${ep.port}` : "";
      if (!republish && send === pub.send && endpoint === pub.endpoint && sameList(recv, pub.recv)) continue;
      const p = pub;
      const endpointValue = ep ? { address: ep.address, port: ep.port } : null;
      if (send !== p.send) {
        const old = p.send;
        if (send !== null) {
          // Share into the cell the workers are not using yet, then switch them to it.
          send.shareSendCounter(this.plane.counters, 2 * p.slot + (this.plane.counterCell(p.slot) ^ 1));
          const counter = send.sendCounter;
          changes.push(() =>
            this.plane.setPeer(p.slot, { sendKey: send.sendKey, remoteIndex: send.remoteIndex, counter }, recv.map(toReceive), endpointValue),
          );
        } else changes.push(() => this.plane.setPeer(p.slot, null, recv.map(toReceive), endpointValue));
        if (old !== null) released.push(old);
      } else {
        // Same send keypair: republish the rest only; the counter cell keeps counting.
        changes.push(() =>
          this.plane.setPeer(p.slot, send ? { sendKey: send.sendKey, remoteIndex: send.remoteIndex } : null, recv.map(toReceive), endpointValue),
        );
      }
      p.send = send;
      p.recv = recv;
      p.endpoint = endpoint;
    }
    const routes: Route[] = [];
    for (const [peer, pub] of this.#pub) {
      for (const c of peer.allowedIps) routes.push({ slot: pub.slot, ...parseCidr(c) });
    }
    const routesKey = routes.map((r) => `${r.slot}:${r.family}:${r.bits}:${r.bytes.join(".")}`).join(",");
    if (routesKey !== this.#routes) {
      changes.push(() => this.plane.setRoutes(routes));
      this.#routes = routesKey;
    }
    if (changes.length > 0) this.plane.update(() => changes.forEach((f) => f()));
    for (const old of released) {
      old.unshareSendCounter();
      old.reserveSendCounters(UNSHARE_MARGIN);
    }
  }

  /**
   * Reports the workers' traffic for `peer` since the last call to the core (byte counters and
   * timers; datagram bytes ≈ inner + 32 per packet, padding not counted).
   */
  #account(peer: Peer, pub: Published, now: number): void {
    const s = this.plane.peerStats(pub.slot);
    const tx = s.txBytes + 32 * s.txPackets;
    const rx = s.rxBytes + 32 * s.rxPackets;
    const out = this.#out;
    out.length = 0;
    if (tx > pub.lastTx) this.device.noteDataSent(peer, tx - pub.lastTx, now, out);
    if (rx > pub.lastRx) this.device.noteDataReceived(peer, rx - pub.lastRx, now, out);
    pub.lastTx = tx;
    pub.lastRx = rx;
    if (out.length > 0) this.emit(out);
  }
}

function toReceive(k: Keypair): ReceiveKeypair {
  return { recvKey: k.receiveKey, localIndex: k.localIndex, replay: k.replay };
}

function sameList(a: readonly Keypair[], b: readonly Keypair[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}
