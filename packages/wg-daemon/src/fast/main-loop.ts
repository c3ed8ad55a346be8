/**
 * The fast data plane's I/O on the main thread, for while its worker threads are stopped (light
 * traffic: fast/io.ts starts them only under load). Same fds as the workers — the TUN with its
 * virtio-net header and TSO, the dual-stack UDP socket with UDP_GRO — so it splits TSO
 * super-packets (gso.ts) and GRO-glued datagrams the same way, then hands every packet to the
 * wg-core Device through the daemon's Engine (which encrypts, decrypts and checks replay itself).
 *
 * Waiting happens in poll(2) on a koffi pool thread (never the event loop); a wakeup drains both
 * fds without blocking, up to {@link DRAIN_LIMIT} packets each. {@link MainLoop.stop} takes effect at
 * once for the reads: a poll still in flight returns within {@link POLL_MS} and reads nothing.
 */
import { MSG_DONTWAIT, POLLIN, libc } from "../libc.js";
import { VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, completeChecksum, readVnetHdr, segmentTcp, type VnetHdr } from "./gso.js";
import { VNET_HDR_LEN } from "./tun.js";
import { MmsgBatch, SOCKADDR6, readSockaddr } from "./udp.js";

/** poll(2) timeout: how late a stop or a close is noticed at worst. */
export const POLL_MS = 250;
/** Packets read per fd per wakeup at most (the event loop gets a turn in between). */
const DRAIN_LIMIT = 256;
const EBADFD = 77;
const POLLERR_HUP_NVAL = 0x8 | 0x10 | 0x20;

export interface MainLoopFds {
  tunFd: number;
  udpFd: number;
  /** The TUN has IFF_VNET_HDR (every read starts with a virtio_net_hdr). */
  offload: boolean;
  /** The socket has UDP_GRO (a read may hold several datagrams of the same size). */
  udpGro: boolean;
  /** Largest inner packet after splitting (the workers' MTU). */
  mtu: number;
}

export interface MainLoopSink {
  /** An inner IP packet read from the TUN (a copy: the sink may keep it). */
  tunnel(packet: Uint8Array): void;
  /** A datagram read from the socket (a copy). */
  datagram(datagram: Uint8Array, from: { address: string; port: number }): void;
  /** The TUN is gone (`ip link del`). */
  gone(): void;
}

export class MainLoop {
  /**
   * TUN packets read since the last {@link takeCount} (local traffic: the load fast/io.ts starts the
   * workers on, with the core's authenticated bytes; datagrams are not counted — garbage is no load).
   */
  #count = 0;
  #running = false;
  #polling: Promise<void> | null = null;
  readonly #pfds = Buffer.alloc(16);
  readonly #pfdsAddr: number;
  readonly #tunBuf: Buffer;
  readonly #tunAddr: number;
  readonly #seg: Buffer;
  readonly #batch: MmsgBatch;
  readonly #hdr: VnetHdr = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };

  constructor(
    readonly fds: MainLoopFds,
    readonly sink: MainLoopSink,
  ) {
    const c = libc();
    this.#pfdsAddr = c.addressOf(this.#pfds);
    this.#tunBuf = Buffer.alloc(VNET_HDR_LEN + 65536 + 64);
    this.#tunAddr = c.addressOf(this.#tunBuf);
    this.#seg = Buffer.alloc(fds.mtu + 64);
    this.#batch = fds.udpGro ? new MmsgBatch(4, 65536, true) : new MmsgBatch(32, 2048);
  }

  get running(): boolean {
    return this.#running;
  }

  /** TUN packets read since the last call. */
  takeCount(): number {
    const n = this.#count;
    this.#count = 0;
    return n;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    // A poll from before a stop may still be in flight: it carries on for us when it returns.
    if (this.#polling === null) this.#poll();
  }

  stop(): void {
    this.#running = false;
  }

  /** Resolves once no poll(2) is in flight on the fds (before they are closed). */
  async idle(): Promise<void> {
    while (this.#polling) await this.#polling;
  }

  #poll(): void {
    const c = libc();
    const p = this.#pfds;
    p.writeInt32LE(this.fds.tunFd, 0);
    p.writeInt16LE(POLLIN, 4);
    p.writeInt16LE(0, 6);
    p.writeInt32LE(this.fds.udpFd, 8);
    p.writeInt16LE(POLLIN, 12);
    p.writeInt16LE(0, 14);
    this.#polling = new Promise<void>((done) => {
      c.pollAsync.async(this.#pfdsAddr, 2, POLL_MS, (err: unknown, n: number) => {
        this.#polling = null;
        done();
        if (!this.#running) return;
        if (!err && n > 0) this.#drain(p.readInt16LE(6), p.readInt16LE(14));
        if (this.#running) this.#poll();
      });
    });
  }

  #drain(tunEvents: number, udpEvents: number): void {
    if (tunEvents !== 0 && !this.#drainTun()) return;
    if (udpEvents !== 0) this.#drainUdp();
    if (tunEvents & POLLERR_HUP_NVAL) this.#drainTun();
  }

  /** Reads the TUN until EAGAIN or the limit; false when it is gone (the sink has been told). */
  #drainTun(): boolean {
    const c = libc();
    const off = this.fds.offload ? VNET_HDR_LEN : 0;
    const buf = this.#tunBuf;
    for (let i = 0; i < DRAIN_LIMIT; i++) {
      const n = c.read(this.fds.tunFd, this.#tunAddr, buf.length);
      if (n <= 0) {
        const e = c.errno();
        if (n === 0 || e !== EBADFD) return true; // EAGAIN: drained; EINTR or a one-off error: next wakeup
        this.#running = false;
        this.sink.gone();
        return false;
      }
      if (!off) {
        this.#emit(buf, n);
        continue;
      }
      const hdr = this.#hdr;
      readVnetHdr(buf, 0, hdr);
      const pkt = buf.subarray(off);
      const len = n - off;
      if (hdr.gsoType !== VIRTIO_NET_HDR_GSO_NONE) {
        // A malformed super-packet from our own kernel is dropped (the workers count it as invalid-inner-packet).
        segmentTcp(pkt, len, hdr.gsoSize, this.#seg, (p, l) => this.#emit(p, l));
      } else {
        if (hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) completeChecksum(pkt, len, hdr.csumStart, hdr.csumOffset);
        this.#emit(pkt, len);
      }
    }
    return true;
  }

  #emit(p: Uint8Array, len: number): void {
    this.#count++;
    this.sink.tunnel(Uint8Array.prototype.slice.call(p, 0, len)); // a copy (Buffer#slice would be a view)
  }

  #drainUdp(): void {
    const b = this.#batch;
    for (let got = 0; got < DRAIN_LIMIT; ) {
      const r = b.recv(this.fds.udpFd, b.n, MSG_DONTWAIT);
      if (r <= 0) return;
      for (let i = 0; i < r; i++) {
        const s = b.slot(i);
        const len = b.length(i);
        const seg = this.fds.udpGro ? b.gsoSize(i) || len : len;
        const from = readSockaddr(b.names, i * SOCKADDR6);
        if (len === 0) {
          got++;
          this.sink.datagram(new Uint8Array(0), from); // an empty datagram is still one (the core: truncated)
        }
        for (let o = 0; o < len; o += seg) {
          got++;
          this.sink.datagram(Uint8Array.prototype.slice.call(b.data, s + o, s + Math.min(o + seg, len)), from);
        }
      }
    }
  }
}
