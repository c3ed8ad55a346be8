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
 * Prototype scope: one peer, IPv4 underlay.
 */
import { Worker } from "node:worker_threads";
import { F_GETFL, F_SETFL, O_NONBLOCK, libc } from "../libc.js";
import { VNET_HDR_LEN, openTun } from "./tun.js";
import { openUdp4, writeSockaddrIn } from "./udp.js";
import {
  ALLOWED_WORDS, KEYPAIR_WORDS, KP, MAX_ALLOWED, RECV_SLOTS, RECV_SLOT_WORDS, STATS_WORDS, ST, type WorkerEvent, type WorkerInit,
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
  /** The peer's IPv4 endpoint, if known (see setEndpoint). */
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
export interface ReceiveKeypair {
  recvKey: Uint8Array;
  localIndex: number;
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
   * up without restarting. Returns the bound port.
   */
  rebind(port: number): number;
  setMark(mark: number): void;
  /** Publishes wg-core's keypairs: `send` = current, `receive` = current/previous/next (≤ 3). */
  setKeypairs(send: SendKeypair | null, receive: readonly ReceiveKeypair[]): void;
  setKeypair(k: Keypair | null): void;
  setEndpoint(e: Endpoint4): void;
  /**
   * The peer's allowed IPs (≤ MAX_ALLOWED = 32 prefixes): the rx worker drops decrypted packets
   * whose inner source lies outside them. Until set, every inner source is refused.
   */
  setAllowedIps(prefixes: readonly { family: 4 | 6; bits: number; bytes: Uint8Array }[]): void;
  /** Reserves `n` consecutive send counters (for a packet the main thread encrypts); returns the first. */
  reserveCounters(n: number): number;
  /**
   * The two shared send-counter cells (Atomics, int64) and the one the published send keypair
   * uses; the next `setKeypairs` with a `counter` switches to the other (`counterCell ^ 1`).
   */
  readonly counters: BigInt64Array;
  readonly counterCell: number;
  /** Sends a datagram from the main thread (handshake messages, keepalives) on the same socket. */
  sendDatagram(datagram: Uint8Array, to: Endpoint4): number;
  /** Writes an inner IP packet to the TUN from the main thread. */
  writeTunnel(packet: Uint8Array): number;
  stats(): { tx: DirectionStats; rx: DirectionStats };
  close(): Promise<void>;
}

export async function startFastDataPlane(o: FastDataPlaneOptions, hooks: FastDataPlaneHooks = {}): Promise<FastDataPlane> {
  const c = libc();
  const offload = o.offload ?? true;
  const tunFd = openTun(o.tunName, { offload });
  const udpGro = o.udpGro ?? true;
  let mark = o.fwmark ?? 0;
  const udpOptions = (port: number): Parameters<typeof openUdp4>[0] => ({
    port, bufferBytes: o.socketBuffer ?? 4 << 20, mark, gro: udpGro,
  });
  const udpFd = openUdp4(udpOptions(o.udpPort));
  const boundPort = (): number => {
    const b = Buffer.alloc(16);
    const l = Buffer.alloc(4);
    l.writeUInt32LE(16);
    return c.getsockname(udpFd, c.addressOf(b), c.addressOf(l)) < 0 ? -1 : b.readUInt16BE(2);
  };
  let port = boundPort();
  const blocking = o.blocking ?? false;
  if (!blocking) c.fcntl(tunFd, F_SETFL, c.fcntl(tunFd, F_GETFL, 0) | O_NONBLOCK);
  const keypairs = new SharedArrayBuffer(KEYPAIR_WORDS * 4);
  const counters = new SharedArrayBuffer(16);
  const stats = new SharedArrayBuffer(2 * STATS_WORDS * 8);
  const words = new Int32Array(keypairs);
  const bytes = new Uint8Array(keypairs);
  const ctr = new BigInt64Array(counters);
  const base: Omit<WorkerInit, "role"> = {
    tunFd, udpFd, mtu: o.mtu, offload, batch: o.batch ?? 128, blocking, gro: o.gro ?? true,
    udpGso: o.udpGso ?? true, gsoSegments: o.gsoSegments ?? 44, udpGro, spin: o.spin ?? 0, slowPath: o.slowPath ?? false, keypairs, counters, stats,
  };
  const url = new URL("./worker.js", import.meta.url);
  const young = o.youngGenerationMb ?? 2;
  const workers = (["tx", "rx"] as const).map(
    (role) =>
      new Worker(url, {
        workerData: { ...base, role },
        ...(young > 0 ? { resourceLimits: { maxYoungGenerationSizeMb: young } } : {}),
      }),
  );
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
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.once("message", () => resolve());
          w.once("error", reject);
        }),
    ),
  );
  for (const w of workers) w.on("message", onEvent);

  // Seqlock writer: odd while writing, even when done (single writer: the main thread).
  const write = (f: () => void): void => {
    Atomics.add(words, KP.generation, 1);
    f();
    Atomics.add(words, KP.generation, 1);
  };
  let cell = 0;
  const setKeypairs = (send: SendKeypair | null, receive: readonly ReceiveKeypair[]): void =>
    write(() => setKeypairsLocked(send, receive));
  /**
   * `send.counter` given: a new send keypair — it gets the other counter cell, starting there.
   * Omitted: the same send keypair as before (its cell keeps counting).
   */
  const setKeypairsLocked = (send: SendKeypair | null, receive: readonly ReceiveKeypair[]): void => {
    if (receive.length > RECV_SLOTS) throw new Error(`at most ${RECV_SLOTS} receive keypairs`);
    words[KP.sendValid] = 0;
    if (send) {
      bytes.set(send.sendKey, KP.sendKey * 4);
      words[KP.remoteIndex] = send.remoteIndex | 0;
      if (send.counter !== undefined) {
        cell ^= 1;
        Atomics.store(ctr, cell, BigInt(send.counter));
        words[KP.counterCell] = cell;
      }
      words[KP.sendValid] = 1;
    }
    for (let i = 0; i < RECV_SLOTS; i++) {
      const w = KP.recvSlots + i * RECV_SLOT_WORDS;
      const r = receive[i];
      words[w] = r ? 1 : 0;
      if (r) {
        words[w + 1] = r.localIndex | 0;
        bytes.set(r.recvKey, (w + 2) * 4);
      }
    }
  };
  const setEndpoint = (e: Endpoint4): void => write(() => setEndpointLocked(e));
  const setEndpointLocked = (e: Endpoint4): void => {
    const p = e.address.split(".").map(Number);
    words[KP.endpointAddr] = ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) | 0;
    words[KP.endpointPort] = e.port;
  };
  if (o.peer) setEndpoint(o.peer);
  const setAllowedIps = (prefixes: readonly { family: 4 | 6; bits: number; bytes: Uint8Array }[]): void => {
    if (prefixes.length > MAX_ALLOWED) throw new Error(`at most ${MAX_ALLOWED} allowed-IPs prefixes`);
    write(() => {
      words[KP.allowedCount] = prefixes.length;
      prefixes.forEach((p, i) => {
        const w = KP.allowed + i * ALLOWED_WORDS;
        words[w] = p.family | (p.bits << 8);
        bytes.fill(0, (w + 1) * 4, (w + 5) * 4);
        bytes.set(p.bytes.subarray(0, 16), (w + 1) * 4);
      });
    });
  };

  const sa = Buffer.alloc(16);
  const saAddr = c.addressOf(sa);
  const tunOut = Buffer.alloc(VNET_HDR_LEN + 65536);
  const tunOutAddr = c.addressOf(tunOut);
  const read = (i: number): DirectionStats => {
    const f = new Float64Array(stats, i * STATS_WORDS * 8, STATS_WORDS);
    return {
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
    rebind(p) {
      if (p !== 0 && p === port) return port;
      const fresh = openUdp4(udpOptions(p));
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
      return Number(Atomics.add(ctr, cell, BigInt(n)));
    },
    counters: ctr,
    get counterCell() {
      return cell;
    },
    sendDatagram(datagram, to) {
      writeSockaddrIn(sa, 0, to.address, to.port);
      const b = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
      return c.sendto(udpFd, c.addressOf(b), b.length, 0, saAddr, 16);
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
    async close() {
      Atomics.store(words, KP.stop, 1);
      if (blocking) {
        // Workers blocked in read/recvmmsg never return to JS: closing is only possible by exiting.
        for (const w of workers) w.unref();
      } else {
        await Promise.all(workers.map((w) => new Promise((r) => w.once("exit", r))));
      }
      c.close(tunFd);
      c.close(udpFd);
    },
  };
}
