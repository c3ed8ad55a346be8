/**
 * The fast data plane behind the daemon's own narrow I/O interfaces: a {@link Tun} and a
 * {@link Bind} for the unchanged {@link Engine} (engine.ts), plus {@link FastIo.attach}, which
 * watches the wg-core Device and publishes its keypairs to the workers.
 *
 * What the Engine (and so wg-core) still sees: handshake and cookie messages, packets while no
 * session exists, the first packet on every new receive keypair, and one sampled packet per
 * direction every 100 ms (roaming). The bulk of transport packets never leaves the two worker
 * threads; every 20 ms their traffic is reported to the core with `Device.noteDataSent` /
 * `noteDataReceived` (byte counters, timers: keepalives, rekey after time/messages, handshake
 * after unanswered data). Keypair changes reach the workers through `Device.onKeypairsChanged`
 * (plus the 20 ms poll and a resync after every UAPI `set`).
 *
 * Scope (v1): exactly one peer with an IPv4 endpoint and ≤ 32 allowed-IPs prefixes gets the worker
 * path (the rx worker checks inner sources against them); otherwise nothing is published and every packet takes the slow path through
 * the main thread (correct, ~5k packets per 100 ms at most).
 *
 * Counters: the published send keypair counts in a shared cell (`Keypair.shareSendCounter`): the
 * core (`reserveSendCounters(1)`) and the tx worker (`Atomics.add`, 256 at a time) never use the
 * same counter. When the keypair is unpublished it counts locally again, skipping a margin for a
 * range a worker may still take before it sees the new generation.
 */
import { parseCidr, type Action, type Device, type Keypair, type Peer } from "@wg-ts/core";
import type { Bind, Datagram } from "../bind.js";
import type { Tun } from "../tun.js";
import { MAX_ALLOWED } from "./shared.js";
import { startFastDataPlane, type FastDataPlane, type FastDataPlaneOptions, type ReceiveKeypair } from "./dataplane.js";

export interface FastIo {
  readonly plane: FastDataPlane;
  readonly tun: Tun;
  readonly bind: Bind;
  /** Starts publishing `device`'s keypairs to the workers (call once, after the Engine exists). */
  attach(device: Device, now: () => number): void;
  /** Publishes the device's state now (after a configuration change; otherwise every 20 ms). */
  sync(): void;
  /**
   * The workers' drop counters (non-zero only): `worker-rx-dropped` (decryption failed, replay,
   * inner source not allowed, bad inner length), `worker-tx-dropped` (no session, slow-path budget
   * per 100 ms exceeded).
   */
  drops(): [string, number][];
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
/**
 * Counters skipped when a keypair stops being published: a tx worker in the middle of a batch may
 * still take one more range (256) from its cell before it sees the new generation.
 */
const UNSHARE_MARGIN = 1 << 16;

export async function createFastIo(
  name: string,
  options: Partial<Omit<FastDataPlaneOptions, "tunName">> = {},
): Promise<FastIo> {
  // Engine.onBatch / Tun.read waiters are set after construction; events queue until then.
  const tunQueue: Uint8Array[] = [];
  let tunWaiter: (() => void) | null = null;
  let bind: FastBind | null = null;
  let sync: () => void = () => {};
  let gone = false;
  const plane = await startFastDataPlane(
    { tunName: name, mtu: 1420, udpPort: 0, ...options, slowPath: true },
    {
      onControl(datagram, from) {
        bind?.deliver(datagram, from);
        sync();
      },
      onSlow(packet) {
        tunQueue.push(packet);
        tunWaiter?.();
      },
      onGone() {
        gone = true;
        tunWaiter?.();
      },
    },
  );

  let closed = false;
  let syncTimer: NodeJS.Timeout | undefined;
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
      sync();
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(syncTimer);
      tunWaiter?.();
      void plane.close();
    },
  };
  bind = new FastBind(plane, () => sync());

  return {
    plane,
    tun,
    bind,
    attach(device, now) {
      const pub = new Publisher(plane, device, now, (out) => {
        for (const a of out) {
          if (a.kind === "toNetwork") bind?.send([{ datagram: a.datagram, endpoint: a.endpoint }], 1);
          else if (a.kind === "toTunnel") plane.writeTunnel(a.packet);
        }
      });
      sync = () => {
        if (!closed) pub.sync();
      };
      // Called inside the core's own call: publish right after it (the core must not be re-entered).
      device.onKeypairsChanged = () => queueMicrotask(sync);
      syncTimer = setInterval(sync, 20);
      syncTimer.unref();
    },
    sync: () => sync(),
    drops() {
      const s = plane.stats();
      const d: [string, number][] = [];
      if (s.rx.drops > 0) d.push(["worker-rx-dropped", s.rx.drops]);
      if (s.tx.drops > 0) d.push(["worker-tx-dropped", s.tx.drops]);
      return d;
    },
  };
}

class FastBind implements Bind {
  onBatch: (batch: Datagram[], count: number) => void = () => {};
  sendErrors = 0;
  readonly #one: Datagram[] = [{ datagram: new Uint8Array(0), endpoint: { address: "", port: 0 } }];

  constructor(
    readonly plane: FastDataPlane,
    readonly afterSend: () => void,
  ) {}

  get port(): number {
    return this.plane.port;
  }
  async open(port: number): Promise<number> {
    return this.plane.rebind(port);
  }
  setMark(mark: number): void {
    this.plane.setMark(mark);
  }
  send(batch: readonly Datagram[], count = batch.length): void {
    for (let i = 0; i < count; i++) {
      const d = batch[i]!;
      // IPv4 only in v1: an IPv6 endpoint cannot be reached through this socket.
      if (!IPV4.test(d.endpoint.address) || this.plane.sendDatagram(d.datagram, d.endpoint) < 0) this.sendErrors++;
    }
    this.afterSend();
  }
  deliver(datagram: Uint8Array, from: { address: string; port: number }): void {
    const d = this.#one[0]!;
    d.datagram = datagram;
    d.endpoint = from;
    this.onBatch(this.#one, 1);
  }
  close(): void {}
}

/** Mirrors the single peer's keypairs (current sends; current/previous/next receive) into shared memory. */
class Publisher {
  #send: Keypair | null = null;
  #recv: Keypair[] = [];
  #endpoint = "";
  #allowed = "";
  #lastTx = 0;
  #lastRx = 0;
  readonly #out: Action[] = [];

  constructor(
    readonly plane: FastDataPlane,
    readonly device: Device,
    readonly now: () => number,
    /** Sends what the core emits from the bookkeeping calls (a handshake initiation). */
    readonly emit: (out: Action[]) => void,
  ) {}

  sync(): void {
    const now = this.now();
    const peers = this.device.peers();
    const peer: Peer | undefined = peers.length === 1 ? peers[0] : undefined;
    const ep = peer?.endpoint ?? null;
    const allowed = peer ? peer.allowedIps : [];
    const usable = peer !== undefined && ep !== null && IPV4.test(ep.address) && allowed.length <= MAX_ALLOWED;
    const allowedKey = allowed.join(",");
    if (usable && allowedKey !== this.#allowed) {
      this.plane.setAllowedIps(allowed.map((c) => parseCidr(c)));
      this.#allowed = allowedKey;
    }
    const cur = usable ? peer.current : null;
    const send = cur !== null && cur.canSend(now) ? cur : null;
    const recv: Keypair[] = usable
      ? [peer.current, peer.previous, peer.next].filter((k): k is NonNullable<typeof k> => k !== null && k.canReceive(now))
      : [];
    const endpoint = ep ? `${ep.address}:${ep.port}` : "";
    if (peer) this.#account(peer, now);
    if (send === this.#send && endpoint === this.#endpoint && sameList(recv, this.#recv)) return;

    if (endpoint !== this.#endpoint && ep !== null && IPV4.test(ep.address)) this.plane.setEndpoint(ep);
    this.#endpoint = endpoint;
    if (send !== this.#send) {
      const old = this.#send;
      if (send !== null) {
        // Share into the cell the workers are not using yet, then switch them to it.
        send.shareSendCounter(this.plane.counters, this.plane.counterCell ^ 1);
        this.plane.setKeypairs(
          { sendKey: send.sendKey, remoteIndex: send.remoteIndex, counter: send.sendCounter },
          recv.map(toReceive),
        );
      } else this.plane.setKeypairs(null, recv.map(toReceive));
      if (old !== null) {
        old.unshareSendCounter();
        old.reserveSendCounters(UNSHARE_MARGIN);
      }
    } else {
      // Same send keypair: republish the receive side only; the counter cell keeps counting.
      this.plane.setKeypairs(send ? { sendKey: send.sendKey, remoteIndex: send.remoteIndex } : null, recv.map(toReceive));
    }
    this.#send = send;
    this.#recv = recv;
  }

  /**
   * Reports the workers' traffic since the last call to the core (byte counters and timers;
   * datagram bytes ≈ inner + 32 per packet, padding not counted).
   */
  #account(peer: Peer, now: number): void {
    const s = this.plane.stats();
    const tx = s.tx.bytes + 32 * s.tx.packets;
    const rx = s.rx.bytes + 32 * s.rx.packets;
    const out = this.#out;
    out.length = 0;
    if (tx > this.#lastTx) this.device.noteDataSent(peer, tx - this.#lastTx, now, out);
    if (rx > this.#lastRx) this.device.noteDataReceived(peer, rx - this.#lastRx, now, out);
    this.#lastTx = tx;
    this.#lastRx = rx;
    if (out.length > 0) this.emit(out);
  }
}

function toReceive(k: Keypair): ReceiveKeypair {
  return { recvKey: k.receiveKey, localIndex: k.localIndex };
}

function sameList(a: readonly Keypair[], b: readonly Keypair[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}
