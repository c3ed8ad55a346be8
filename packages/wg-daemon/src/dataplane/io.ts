/**
 * The fast data plane behind the daemon's own narrow I/O interfaces: a {@link Tun} and a
 * {@link Bind} for the unchanged {@link Engine} (engine.ts), plus {@link FastIo.attach}, which
 * watches the wg-core Device and publishes, per peer, which keypair it sends with and where to.
 *
 * One pipeline, two tiers ({@link WorkerPolicy}): the send and receive pipelines (tx.ts, rx.ts) run
 * on the main thread, driven by libuv (main-loop.ts), while traffic is light; under load the two
 * worker threads start and run the same pipelines, and after a quiet spell they stop again (an
 * idle daemon runs no worker thread). Every thread seals and opens with wg-core's transport.ts on
 * the Device's one session table (shared memory: keys, send counters, replay windows): a switch, a
 * republish or a crashed worker hands nothing over and loses nothing — a datagram accepted by any
 * thread is a replay to every other.
 *
 * What the Engine (and so wg-core) sees of the data: handshake messages whose MAC1 verifies and
 * cookie replies (the rx pipeline drops junk, forged MAC1 and unknown indices first: control.ts)
 * and packets while a peer has no usable send keypair (staged, then sent by the core itself). The
 * rx pipeline reports the first datagram it opens with each keypair, and at once one from a new
 * source (it has moved the endpoint in the peer record already), as events (`Device.noteReceived`:
 * key confirmation, roaming) — synchronously on the main thread, posted from a worker. Everything
 * else is counters: per batch, a pipeline adds to the peer records' counters and marks those peers
 * in its activity ring (activity.ts); every {@link ACCOUNT_MS} while the workers run, at the load
 * check after bursts on the main thread, and before the UAPI reads the counters
 * ({@link FastIo.account}), the marked peers' traffic — and only theirs — is reported with
 * `Device.noteDataSent` / `noteDataReceived` (byte counters, timers: keepalives, rekey after
 * time/messages, handshake after unanswered data). Keypair changes reach the peer records through
 * `Device.onKeypairsChanged`, published before anything the core emits leaves; a UAPI `set` and a
 * hand-over republish every peer and the routes. An idle daemon runs no timer of its own here but
 * the 100 ms load check.
 *
 * Scope: every peer and every allowed-IPs prefix (records by the core's peer id in a growable
 * buffer, routes in another): no configuration falls back to the main thread.
 */
import type { Action, Device } from "@wg-ts/core";
import type { Bind, Datagram } from "../bind.js";
import { LinkMtu, type Tun } from "../tun.js";
import { MainLoop } from "./main-loop.js";
import { openFastDataPlane, type FastDataPlane, type FastDataPlaneOptions } from "./workers.js";
import { Publisher } from "./publisher.js";
import { ST } from "./shared.js";

export interface FastIo {
  readonly plane: FastDataPlane;
  readonly tun: Tun;
  readonly bind: Bind;
  /**
   * Hands the workers `device`'s session table and starts publishing its peers (current send
   * keypair as slot + generation, endpoint, allowed IPs; call once, after the Engine exists).
   * `log` hears the peer count ("fast path: N peers in the workers").
   */
  attach(device: Device, now: () => number, log?: (line: string) => void): void;
  /** Publishes the device's state now, every peer and the routes (after a configuration change). */
  sync(): void;
  /** Reports the traffic the pipelines counted so far to the core now (before the UAPI reads its counters). */
  account(): void;
  /**
   * The pipelines' drop counters by reason (non-zero only), summed over the four (tx and rx, on the
   * workers and on the main thread): wg-core
   * DropReason names (`decrypt-failed`, `replay`, `counter-limit`, `expired-keypair`, `source-not-allowed`,
   * `invalid-inner-packet`, `no-route`, `encrypt-failed`; the rx pipeline's gate: `truncated`,
   * `invalid-size`, `oversized`, `unknown-type`, `bad-mac1`, `unknown-index`, `no-private-key`; the
   * tx worker's staged queues: `staged-queue-full`, `handshake-timeout`) plus `slow-path-budget`
   * (handshake messages for the core over the per-100 ms budget) and `worker-stopped` (staged when
   * the tx worker stopped). The engine adds them to its own counts of the same names.
   */
  drops(): [string, number][];
  /** "workers=on|off worker-starts=N peers=N worker-tx-packets=… worker-rx-packets=… main-tx-packets=… main-rx-packets=…": the tiers and the packets each carried. */
  status(): string;
}

/**
 * When the workers run (env WG_TS_WORKERS): `auto` (default) starts them when, in a
 * {@link LOAD_TICK_MS} tick, the main thread's pipelines read more than {@link START_PACKETS} TUN packets or
 * open more than {@link START_BYTES} bytes into the TUN, and a peer has a session; it stops them after
 * {@link IDLE_WINDOW_S} seconds with fewer than {@link STOP_PACKETS} packets in all; `always` starts
 * them at once and keeps them; `never` keeps all I/O on the main thread.
 */
export type WorkerPolicy = "auto" | "always" | "never";
/** How often the load is looked at. */
const LOAD_TICK_MS = 100;
/** How often the workers' traffic is reported to the core while they run (its timers' resolution). */
const ACCOUNT_MS = 20;
/** TUN packets per tick read by the main thread that start the workers (≈ 5,000/s, ~55 Mbit/s of full-size packets). */
const START_PACKETS = 512;
/**
 * Or inner bytes per tick the main thread's rx pipeline authenticated, opened and wrote to the TUN
 * (a receive-heavy transfer; garbage and forgeries never count) — ≈ 52 Mbit/s.
 */
const START_BYTES = 640 << 10;
/** Seconds of worker traffic looked back on before stopping them. */
const IDLE_WINDOW_S = 10;
/** Worker packets over the last IDLE_WINDOW_S seconds under which they stop (≈ 256/s: pings and keepalives). */
const STOP_PACKETS = 2560;

export interface FastIoOptions extends Partial<Omit<FastDataPlaneOptions, "tunName">> {
  workers?: WorkerPolicy;
  /** The link MTU the Tun reports when its fd is not a link's (`tunFd`: the warm-up's socketpair); else read from sysfs. */
  linkMtu?: number;
}

export async function createFastIo(name: string, options: FastIoOptions = {}): Promise<FastIo> {
  const { workers: policy = "auto", linkMtu: fixedMtu, ...planeOptions } = options;
  // The Engine sets bind.onBatch, tun.onBatch and tun.onGone after construction; the main loop
  // starts reading in attach(), after that.
  let bind: FastBind | null = null;
  /** Publishes every peer and reports all traffic (hand-over, configuration). */
  let sync: () => void = () => {};
  let syncAll: () => void = () => {};
  /** Publishes the peers whose keypairs changed. */
  let flush: () => void = () => {};
  /** Reports the traffic of the peers the workers marked active (every {@link ACCOUNT_MS} while they run). */
  let account: () => void = () => {};
  let log: (line: string) => void = () => {};
  const onGone = (): void => tun.onGone(new Error(`${name}: interface deleted`));
  /** A packet for the core from the main thread's tx pipeline (no usable keypair published). */
  const slow: Uint8Array[] = [];
  const toTunnel = (packet: Uint8Array): void => {
    slow[0] = packet;
    tun.onBatch(slow, 1);
  };
  let received: (slot: number, generation: number, from: { address: string; port: number }, data: boolean) => void = () => {};
  let session: (peer: number) => void = () => {};
  const o: FastDataPlaneOptions = { tunName: name, mtu: 1420, udpPort: 0, ...planeOptions };
  const plane = openFastDataPlane(o, {
    onControl(datagram, from) {
      bind?.deliver(datagram, from);
      flush();
    },
    onReceived: (slot, generation, from, data) => received(slot, generation, from, data),
    onSlow: toTunnel,
    onSession: (peer) => session(peer),
    onGone,
    onWorkerError(e) {
      log(`fast path worker failed (${e.message}): main-thread I/O from now on`);
      workersBroken = true;
      void toMain();
    },
  });
  // While the workers are stopped, the main thread runs their pipelines (made at the first read,
  // after attach() has given the plane the session table); their events take the hooks above.
  const mainLoop = new MainLoop(
    { tunFd: plane.tunFd, udpFd: plane.udpFd },
    {
      tx: () => plane.mainPipelines().tx,
      rx: () => plane.mainPipelines().rx,
      afterBurst: () => {
        plane.drainMainEvents();
        watchLoadSoon();
      },
      gone: onGone,
    },
  );

  let closed = false;
  let workersBroken = false;
  let accountTimer: NodeJS.Timeout | undefined;
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
  /** The main thread's pipelines' TUN packets read and bytes received at the last load tick. */
  let lastTxPackets = 0;
  let lastRxBytes = 0;
  /**
   * Takes the main thread's pipeline counters as the new baseline: "busy" when they moved past a
   * start threshold since the last call, "quiet" when they did not move at all.
   */
  const mainLoad = (): "busy" | "some" | "quiet" => {
    const txPackets = plane.counter("main", "tx", ST.packets) + plane.counter("main", "tx", ST.control);
    const rxBytes = plane.counter("main", "rx", ST.bytes);
    const tx = txPackets - lastTxPackets;
    const rx = rxBytes - lastRxBytes;
    lastTxPackets = txPackets;
    lastRxBytes = rxBytes;
    return tx > START_PACKETS || rx > START_BYTES ? "busy" : tx === 0 && rx === 0 ? "quiet" : "some";
  };
  /**
   * The load watch runs while there is traffic: the main loop's bursts start it, the workers keep it
   * (it counts their seconds), a tick without main-thread traffic while they are stopped ends it.
   */
  const watchLoadSoon = (): void => {
    if (loadTimer !== undefined || closed) return;
    loadTimer = setInterval(watchLoad, LOAD_TICK_MS);
    loadTimer.unref();
  };
  /**
   * Before the core's output leaves (a handshake may have produced a keypair): publish the peers
   * whose keypairs changed, so the pipelines (the workers' or the main thread's) already use it.
   */
  const publishChanged = (): void => flush();
  const workerPackets = (): number =>
    plane.counter("worker", "tx", ST.packets) + plane.counter("worker", "rx", ST.packets) +
    plane.counter("worker", "tx", ST.control) + plane.counter("worker", "rx", ST.control);

  /** Load is high: the workers start; once ready, the main thread stops reading and publishes. */
  const toWorkers = async (): Promise<void> => {
    if (switching || closed || plane.workersRunning) return;
    switching = (async () => {
      try {
        // The main thread reads on while the workers start, then hands the fds over (a pause in reading
        // overflows the TUN queue under load: benchmarks/README.md, section 5, run I).
        await plane.startWorkers(() => {
          mainLoop.stop();
          sync();
        });
        clearInterval(accountTimer);
        accountTimer = setInterval(account, ACCOUNT_MS);
        accountTimer.unref();
        starts++;
        watchLoadSoon();
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
  /** Load is low: the workers stop (nothing to hand back: the windows are the table's), the main thread reads again. */
  const toMain = async (): Promise<void> => {
    if (switching) await switching;
    if (!plane.workersRunning) return;
    switching = (async () => {
      await plane.stopWorkers();
      clearInterval(accountTimer);
      sync();
      mainLoad(); // the workers' traffic is not main-thread load
      if (!closed) mainLoop.start();
    })();
    await switching;
    switching = null;
  };
  const watchLoad = (): void => {
    if (closed || switching) return;
    const usable = publisher !== null;
    if (!plane.workersRunning) {
      // The main thread's traffic since the last check goes to the core now, not at the end of each
      // burst: the thread then sleeps as soon as a lone packet has left, and the packet's next hop
      // (another daemon on this CPU) does not wait for the bookkeeping (benchmarks/README.md,
      // section 21). The core's timers are seconds; the UAPI reports first.
      account();
      const load = mainLoad();
      const loaded = policy === "auto" && load === "busy" && (publisher?.hasSession ?? false);
      if ((policy === "always" || loaded) && usable && !workersBroken) void toWorkers();
      else if (load === "quiet") {
        clearInterval(loadTimer);
        loadTimer = undefined;
      }
      return;
    }
    if (++ticks * LOAD_TICK_MS < 1000) return;
    ticks = 0;
    const total = workerPackets();
    perSecond[second] = total - lastWorkerPackets;
    second = (second + 1) % IDLE_WINDOW_S;
    lastWorkerPackets = total;
    if (policy === "auto" && perSecond.reduce((a, b) => a + b, 0) < STOP_PACKETS) void toMain();
  };

  const linkMtu = fixedMtu === undefined ? new LinkMtu(name) : null;
  const tun: Tun = {
    name,
    onBatch: () => {},
    onGone: () => {},
    write(packets, count = packets.length) {
      for (let i = 0; i < count; i++) plane.writeTunnel(packets[i]!);
      publishChanged();
    },
    mtu: () => linkMtu?.read() ?? fixedMtu ?? 0,
    close() {
      if (closed) return;
      closed = true;
      clearInterval(accountTimer);
      clearInterval(loadTimer);
      linkMtu?.close();
      mainLoop.stop();
      void (async () => {
        if (switching) await switching;
        mainLoop.close();
        await plane.close();
      })();
    },
  };
  bind = new FastBind(plane, publishChanged, mainLoop);

  return {
    plane,
    tun,
    bind,
    attach(device, now, logLine) {
      log = (line) => logLine?.(`${name}: ${line}`);
      const out: Action[] = [];
      const emit = (actions: Action[]): void => {
        for (const a of actions) {
          if (a.kind === "toNetwork") bind?.send([{ datagram: a.datagram, endpoint: a.endpoint }], 1);
          else if (a.kind === "toTunnel") plane.writeTunnel(a.packet);
        }
      };
      plane.attachTable(device.sessionTable.handles);
      const pub = new Publisher(plane, device, now, log, emit);
      publisher = pub;
      sync = () => {
        if (!closed) pub.sync();
      };
      syncAll = () => {
        pub.routesChanged();
        sync();
      };
      flush = () => {
        if (!closed) pub.flush();
      };
      account = () => {
        if (closed) return;
        pub.account();
        pub.flush();
      };
      received = (slot, generation, from, data) => {
        out.length = 0;
        // A confirmed keypair publishes itself (onKeypairsChanged); a new endpoint at once: until the
        // tx worker sees it, it sends to the old one (which may make the peer roam back to it).
        const roamed = device.noteReceived(slot, generation, from, 0, data, now(), out);
        if (roamed) pub.publishId(device.sessionTable.peer(slot));
        flush();
        if (out.length > 0) emit(out);
      };
      session = (peer) => {
        out.length = 0;
        device.wantSession(peer, now(), out);
        flush();
        if (out.length > 0) emit(out);
      };
      // Called inside the core's own call: published right after it (the core must not be re-entered),
      // or before anything the core emits leaves (publishChanged), whichever comes first.
      device.onKeypairsChanged = (peer) => {
        pub.changed(peer);
        queueMicrotask(flush);
      };
      watchLoadSoon();
      syncAll();
      if (policy === "always") void toWorkers();
      else mainLoop.start();
    },
    sync: () => syncAll(),
    account: () => account(),
    status() {
      const s = plane.stats();
      return (
        `workers=${plane.workersRunning ? "on" : "off"} worker-starts=${starts} peers=${publisher?.published ?? 0} ` +
        `worker-tx-packets=${s.tx.packets} worker-rx-packets=${s.rx.packets} main-tx-packets=${s.mainTx.packets} main-rx-packets=${s.mainRx.packets}`
      );
    },
    drops() {
      const s = plane.stats();
      const d = new Map<string, number>();
      for (const by of [s.rx.dropsByReason, s.tx.dropsByReason, s.mainRx.dropsByReason, s.mainTx.dropsByReason])
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
    /** Sends from the main thread; lets go of the socket while its fd is replaced (libuv must not poll a closed fd). */
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
      if (this.mainLoop.send(d.datagram, d.endpoint) < 0) this.sendErrors++;
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
