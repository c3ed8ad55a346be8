/**
 * One WireGuard interface at run time: a wg-core Device between a Tun and a Bind, driven by
 * three event sources (TUN batches, UDP batches, a timer), plus the UAPI handler.
 *
 * Every entry point calls the core with a caller-owned `out: Action[]`, then flushes it in
 * batches: all `toNetwork` datagrams go to `bind.send` in one call, all `toTunnel` packets to
 * `tun.write` in one call, `drop`s are counted by reason. Both devices push their batches
 * (`onBatch`), so a packet is handled inside the read event that brought it: a lone packet leaves
 * without a promise, queue or timer on its way (benchmarks/README.md, section 10). The timer runs
 * `device.tick` every TICK_MS while the core's deadlines move (`onTimersChanged`: traffic, a
 * handshake, a `wg set`); once they stop moving it sleeps until the core's next deadline
 * (`nextTickAt`), and the first change after that wakes it within TICK_MS: an idle interface does not
 * wake until its next keepalive or key expiry (benchmarks/README.md, section 19). Each tick reads the
 * link's MTU. Nothing here touches `process`.
 */
import { monotonicEpochMs } from "./clock.js";
import type { TransportAead, X25519Backend } from "@wg-ts/core";
import type { Bind, Datagram } from "./bind.js";
import { loadTransportAead } from "./native-aead.js";
import { pooledRandom } from "./random.js";
import type { Tun } from "./tun.js";
import { EADDRINUSE, EINVAL, UapiError, type SetRequest, type UapiDeviceState } from "./uapi-protocol.js";
import type { UapiHandler } from "./uapi.js";
import { CoreAdapter, type CoreAction } from "./core-adapter.js";

/** Timer resolution: the protocol's timers are seconds; wireguard-go's are ~jiffies. */
export const TICK_MS = 100;
/** The longest the timer sleeps (a deadline further out is looked at again then). */
const MAX_SLEEP_MS = 60_000;

export interface EngineOptions {
  tun: Tun;
  bind: Bind;
  log?: (msg: string) => void;
  /** epoch ms, monotonic within the process */
  now?: () => number;
  /** default: node:crypto's CSPRNG, small requests batched (random.ts) */
  random?: (out: Uint8Array) => void;
  /** the core's transport AEAD (default: the native addon per packet where it loads, else node:crypto) */
  aead?: TransportAead;
  /** the handshake's X25519 (default: the native addon's where the AEAD is loaded here, else node:crypto) */
  x25519?: X25519Backend;
}


export class Engine implements UapiHandler {
  readonly core: CoreAdapter;
  readonly tun: Tun;
  readonly bind: Bind;
  /** drops by reason (core reasons plus daemon ones such as `bind-no-socket`) */
  readonly drops = new Map<string, number>();
  private readonly log: (msg: string) => void;
  private readonly now: () => number;
  private readonly out: CoreAction[] = [];
  private readonly sendBatch: Datagram[] = [];
  private readonly tunBatch: Uint8Array[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** When {@link timer} fires (Infinity: not set). */
  private tickAt = Infinity;
  /** Inside the core's tick: the deadlines it changes are read right after it. */
  private ticking = false;
  /** A deadline changed since the last tick: tick again after TICK_MS. */
  private timersMoved = false;
  /** The timer sleeps until the core's next deadline (or has none): a change must bring it closer. */
  private sleeping = false;
  private running = false;
  private resolveDone: (reason: Error | undefined) => void = () => {};
  private fwmark = 0;
  private listenPort = 0;
  /**
   * Called after every UAPI `set` (even a failed one, which may have applied peers before the
   * failing one): lets a data plane that mirrors the core (dataplane/io.ts) resync at once.
   */
  onConfigured: () => void = () => {};
  /** Called before a UAPI `get` reads the core: lets a data plane that counts traffic itself report it first. */
  beforeGet: () => void = () => {};
  /** Drop counters kept outside the engine (the fast path's workers), added to {@link dropSummary}. */
  extraDrops: () => Iterable<[string, number]> = () => [];
  /** Resolves once the engine is done with the TUN: the error when the interface went away, undefined after {@link stop}. */
  done: Promise<Error | undefined> = Promise.resolve(undefined);

  constructor(opts: EngineOptions) {
    this.tun = opts.tun;
    this.bind = opts.bind;
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? monotonicEpochMs;
    let aead = opts.aead;
    let x25519 = opts.x25519;
    if (aead === undefined) {
      const choice = loadTransportAead();
      if (choice.reason !== null) this.log(choice.reason);
      aead = choice.aead;
      x25519 ??= choice.x25519;
    }
    this.core = new CoreAdapter(opts.random ?? pooledRandom(), aead, x25519);
    this.bind.onBatch = (batch, n) => this.fromNetwork(batch, n);
    this.tun.onBatch = (packets, n) => this.fromTunnel(packets, n);
    this.tun.onGone = (reason) => {
      if (this.running) this.resolveDone(reason);
    };
  }

  /** Opens the UDP port and starts reading the TUN and the timer. */
  async start(listenPort = 0): Promise<void> {
    this.listenPort = await this.bind.open(listenPort);
    this.running = true;
    this.refreshMtu();
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    // Called inside the core's calls, on the packet path: a flag, and a timer only when asleep.
    this.core.device.onTimersChanged = () => {
      if (!this.running || this.ticking) return;
      this.timersMoved = true;
      if (this.sleeping) {
        this.sleeping = false;
        this.schedule(this.now() + TICK_MS);
      }
    };
    this.schedule(this.now() + TICK_MS);
  }

  /** Runs the core's due timers; ticks again after TICK_MS while deadlines move, else sleeps until the next one. */
  private readonly tick = (): void => {
    this.timer = undefined;
    this.tickAt = Infinity;
    this.sleeping = false;
    if (!this.running) return;
    this.refreshMtu();
    const now = this.now();
    this.out.length = 0;
    this.ticking = true;
    try {
      this.core.tick(now, this.out);
    } catch (e) {
      this.log(`tick failed: ${(e as Error).message}`);
    } finally {
      this.ticking = false;
    }
    this.flush();
    // Reading the next deadline also re-arms onTimersChanged.
    const next = this.core.device.nextTickAt();
    if (this.timersMoved) {
      this.timersMoved = false;
      this.schedule(now + TICK_MS);
    } else {
      this.sleeping = true;
      if (next !== Infinity) this.schedule(Math.min(Math.max(next, now + TICK_MS), now + MAX_SLEEP_MS));
    }
  };

  /** Sets the timer to fire at `at`, unless it fires sooner already. */
  private schedule(at: number): void {
    if (at >= this.tickAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.tickAt = at;
    this.timer = setTimeout(this.tick, Math.max(0, at - this.now()));
  }

  /**
   * Hands the TUN's MTU to the core (it caps transport padding), at start and on every tick: the
   * link's MTU is set after the daemon starts (`wg-ts up`, wg-quick) and may change any time; an
   * idle interface reads it again within TICK_MS of its next packet.
   */
  private refreshMtu(): void {
    const mtu = this.tun.mtu?.() ?? 0;
    const device = this.core.device;
    if (mtu === device.mtu) return;
    try {
      device.mtu = mtu;
    } catch {
      device.mtu = 0; // not a usable MTU: no cap, as when unknown
    }
  }

  private fromTunnel(packets: readonly Uint8Array[], n: number): void {
    if (!this.running) return;
    const now = this.now();
    this.out.length = 0;
    for (let i = 0; i < n; i++) this.core.encapsulate(packets[i]!, now, this.out);
    this.flush();
  }

  private fromNetwork(batch: readonly Datagram[], n: number): void {
    if (!this.running) return;
    const now = this.now();
    this.out.length = 0;
    for (let i = 0; i < n; i++) {
      const d = batch[i]!;
      this.core.decapsulate(d.datagram, d.endpoint, now, this.out);
    }
    this.flush();
  }

  private count(reason: string): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }

  private flush(): void {
    let ns = 0;
    let nt = 0;
    for (const a of this.out) {
      if (a.kind === "toNetwork") {
        const slot = this.sendBatch[ns];
        if (slot) {
          slot.datagram = a.datagram;
          slot.endpoint = a.endpoint;
        } else this.sendBatch.push({ datagram: a.datagram, endpoint: a.endpoint });
        ns++;
      } else if (a.kind === "toTunnel") {
        this.tunBatch[nt++] = a.packet;
      } else {
        this.count(a.reason);
      }
    }
    this.out.length = 0;
    if (ns) this.bind.send(this.sendBatch, ns);
    if (nt) this.tun.write(this.tunBatch, nt);
  }

  // ---- UAPI ----

  get(): UapiDeviceState {
    this.beforeGet();
    return {
      privateKey: this.core.privateKey(),
      listenPort: this.listenPort,
      fwmark: this.fwmark,
      peers: this.core.peerStates(),
    };
  }

  async set(req: SetRequest): Promise<void> {
    const now = this.now();
    if (req.listenPort !== undefined && req.listenPort !== this.listenPort) {
      try {
        this.listenPort = await this.bind.open(req.listenPort);
      } catch (e) {
        throw new UapiError(EADDRINUSE, `failed to set listen_port: ${(e as Error).message}`);
      }
    }
    if (req.fwmark !== undefined) {
      try {
        this.bind.setMark(req.fwmark);
        this.fwmark = req.fwmark;
      } catch (e) {
        throw new UapiError(EADDRINUSE, `failed to update fwmark: ${(e as Error).message}`);
      }
    }
    if (req.privateKey !== undefined) this.core.setPrivateKey(req.privateKey, now);
    if (req.replacePeers) this.core.removeAllPeers();
    if (req.privateKey !== undefined || req.replacePeers) this.onConfigured();
    this.out.length = 0;
    try {
      for (const change of req.peers) {
        try {
          this.core.applyPeer(change, now, this.out);
        } catch (e) {
          throw new UapiError(EINVAL, `failed to configure peer: ${(e as Error).message}`);
        }
      }
      this.flush();
    } finally {
      this.onConfigured();
    }
  }

  /** Stops reading and timers, closes the bind and the TUN. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.core.device.onTimersChanged = null;
    this.resolveDone(undefined);
    this.bind.close();
    this.tun.close();
  }

  /** A one-line summary of drop counters (with {@link extraDrops} added per reason), for logs. */
  dropSummary(): string {
    const all = new Map(this.drops);
    for (const [k, v] of this.extraDrops()) all.set(k, (all.get(k) ?? 0) + v);
    return [...all].map(([k, v]) => `${k}=${v}`).join(" ");
  }
}


