/**
 * The data plane on the main thread, while its worker threads are stopped (light traffic:
 * dataplane/io.ts starts them only under load): the very pipelines the workers run (tx.ts, rx.ts,
 * made by workers.ts `mainPipelines` on the same fds, session table, peer records, stats and
 * activity rings), driven by libuv instead of a loop of their own. Their events — handshake and
 * cookie messages, packets for a peer without a keypair, a keypair's first datagram, a roam — go
 * to the same hooks as the workers' (to the Engine and wg-core) at the end of each burst
 * ({@link MainLoopDriver.afterBurst}; queued by the packet path, events.ts).
 *
 * Waiting is libuv's own: one watch per fd (sys.ts `watch`, a uv_poll_t in the event loop's epoll
 * set), so a packet costs one wake-up of the main thread; each wake-up steps its pipeline
 * until the fd is drained or {@link DRAIN_LIMIT} steps — after the socket's, the TUN's too, for what
 * the kernel answered at once — then hands the pipelines' events to the core ({@link MainLoopDriver.afterBurst}).
 * A lone packet does not wait for the read that finds its fd empty: the first TUN packet of a
 * wake-up is sealed and sent before the next read (later ones are batched), and the socket is not
 * read again once a read returned fewer datagrams than the batch holds (its queue was empty then;
 * libuv's poll is level-triggered, so anything newer wakes the loop again).
 * {@link MainLoop.send} is the main thread's sendto for what wg-core emits itself (handshakes,
 * keepalives, staged packets), with the destination's sockaddr kept from the previous datagram.
 * {@link MainLoop.stop} stops both watches at once. The socket's watch must be let go before its
 * fd is replaced (libuv: never close a polled fd): {@link MainLoop.releaseSocket} /
 * {@link MainLoop.watchSocket} around a rebind.
 */
import { libc } from "../libc.js";
import type { StepResult } from "./pipeline.js";
import { sys, type FdWatch } from "./sys.js";
import { SOCKADDR6, writeSockaddr } from "./udp.js";

/** Pipeline steps per fd per wake-up at most (the event loop gets a turn in between). */
const DRAIN_LIMIT = 256;

export interface MainLoopFds {
  tunFd: number;
  udpFd: number;
}

/** What the main loop drives: the two pipelines (made when first needed) and what follows a burst. */
export interface MainLoopDriver {
  tx(): { step(): StepResult; flush(): void };
  rx(): { step(): StepResult; readonly drained: boolean };
  /** After each burst of steps: the pipelines' events go to the core (their traffic, later: dataplane/io.ts). */
  afterBurst(): void;
  /** The TUN is gone (`ip link del`). */
  gone(): void;
}

export class MainLoop {
  #running = false;
  #tunWatch: FdWatch | null = null;
  #udpWatch: FdWatch | null = null;
  /** The socket's fd is being replaced: no handle on it until {@link watchSocket}. */
  #socketReleased = false;
  /** {@link send}: the datagram's bytes are copied here (one buffer, its address taken once). */
  readonly #sendBuf: Buffer;
  readonly #sendAddr: number;
  /** {@link send}: the sockaddr of {@link #toAddress}:{@link #toPort}, written when the destination changes. */
  readonly #to = Buffer.alloc(SOCKADDR6);
  readonly #toSockaddr: number;
  #toAddress: string | null = null;
  #toPort = -1;

  constructor(
    readonly fds: MainLoopFds,
    readonly driver: MainLoopDriver,
  ) {
    const c = libc();
    this.#sendBuf = Buffer.alloc(65536);
    this.#sendAddr = c.addressOf(this.#sendBuf);
    this.#toSockaddr = c.addressOf(this.#to);
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#watch();
    // Whatever queued while nobody read (the workers stopping, a rebind) is taken now.
    this.#drainTun();
    this.#drainUdp();
  }

  /** Stops reading at once (both watches stopped; they stay for the next start). */
  stop(): void {
    this.#running = false;
    this.#tunWatch?.stop();
    this.#udpWatch?.stop();
  }

  /** Closes the watches (before the fds are closed). */
  close(): void {
    this.stop();
    this.#tunWatch?.close();
    this.#udpWatch?.close();
    this.#tunWatch = this.#udpWatch = null;
  }

  /** Lets go of the socket's fd (it is about to be replaced by dup2). */
  releaseSocket(): void {
    this.#socketReleased = true;
    this.#udpWatch?.close();
    this.#udpWatch = null;
  }

  /** Watches the socket's fd again (after a rebind). */
  watchSocket(): void {
    this.#socketReleased = false;
    if (this.#running) {
      this.#watch();
      this.#drainUdp();
    }
  }

  #watch(): void {
    if (this.#tunWatch) this.#tunWatch.start();
    else this.#tunWatch = sys().watch(this.fds.tunFd, () => this.#onTun());
    if (this.#socketReleased) return;
    if (this.#udpWatch) this.#udpWatch.start();
    else this.#udpWatch = sys().watch(this.fds.udpFd, () => this.#onUdp());
  }

  #onTun(): void {
    // Readable, or an error/hang-up (the link deleted): the read tells which.
    if (this.#running) this.#drainTun();
  }

  #onUdp(): void {
    if (this.#running && !this.#socketReleased) this.#drainUdp();
  }

  #drainTun(): void {
    if (this.#stepTun()) this.driver.afterBurst();
  }

  /**
   * Steps the tx pipeline until the TUN is drained or the limit; the first packet leaves at once,
   * what is batched after it before the event loop's turn. False when the TUN is gone.
   */
  #stepTun(): boolean {
    const tx = this.driver.tx();
    for (let i = 0; i < DRAIN_LIMIT && this.#running; i++) {
      const r = tx.step();
      if (r === "idle") break;
      if (r === "gone") {
        this.stop();
        this.driver.gone();
        return false;
      }
      if (i === 0) tx.flush();
    }
    tx.flush();
    return true;
  }

  #drainUdp(): void {
    const rx = this.driver.rx();
    for (let i = 0; i < DRAIN_LIMIT && this.#running && !this.#socketReleased; i++) if (rx.step() === "idle" || rx.drained) break;
    // What this host answered at once to the packets just written to the TUN (the kernel handles a
    // TUN write before it returns: an echo reply, a TCP ACK) is queued already: it leaves now, not
    // after the bookkeeping and another turn of the event loop.
    if (this.#running && !this.#stepTun()) return; // the TUN is gone
    this.driver.afterBurst();
  }

  /**
   * Sends one datagram with sendto(2) (a full send buffer drops it, as UDP may). Returns sendto's
   * result or −errno, −1 for an endpoint that is not an IP address.
   */
  send(datagram: Uint8Array, to: { address: string; port: number }): number {
    if (to.address !== this.#toAddress || to.port !== this.#toPort) {
      try {
        writeSockaddr(this.#to, 0, to.address, to.port);
      } catch {
        this.#toAddress = null;
        return -1;
      }
      this.#toAddress = to.address;
      this.#toPort = to.port;
    }
    const n = datagram.length;
    if (n <= this.#sendBuf.length) {
      this.#sendBuf.set(datagram);
      return sys().sendto(this.fds.udpFd, this.#sendAddr, n, 0, this.#toSockaddr, SOCKADDR6);
    }
    const b = Buffer.from(datagram.buffer, datagram.byteOffset, n);
    return sys().sendto(this.fds.udpFd, libc().addressOf(b), n, 0, this.#toSockaddr, SOCKADDR6);
  }
}
