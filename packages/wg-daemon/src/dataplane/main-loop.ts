/**
 * The fast data plane's I/O on the main thread, for while its worker threads are stopped (light
 * traffic: dataplane/io.ts starts them only under load). Same fds as the workers — the TUN with its
 * virtio-net header and TSO, the dual-stack UDP socket with UDP_GRO — so it splits TSO
 * super-packets (gso.ts) and GRO-glued datagrams the same way, then hands every packet to the
 * wg-core Device through the daemon's Engine (which encrypts, decrypts and checks replay itself).
 *
 * Waiting is libuv's own: one poll handle per fd (`koffi.node.poll`, uv_poll_t in the event loop's
 * epoll set), so a packet costs one wake-up of the main thread; each wakeup drains its fd without
 * blocking, up to {@link DRAIN_LIMIT} packets. {@link MainLoop.stop} stops both handles at once. The
 * socket's handle must be let go before its fd is replaced (libuv: never close a polled fd):
 * {@link MainLoop.releaseSocket} / {@link MainLoop.watchSocket} around a rebind.
 */
import koffi from "koffi";
import type { node as koffiNode } from "koffi";
import { EBADFD, MSG_DONTWAIT, libc } from "../libc.js";
import { VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, completeChecksum, readVnetHdr, segmentTcp, type VnetHdr } from "./gso.js";
import { VNET_HDR_LEN } from "./tun.js";
import { MmsgBatch, SOCKADDR6, readSockaddr } from "./udp.js";

/** Packets read per fd per wakeup at most (the event loop gets a turn in between). */
const DRAIN_LIMIT = 256;

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
   * TUN packets read since the last {@link takeCount} (local traffic: the load dataplane/io.ts starts the
   * workers on, with the core's authenticated bytes; datagrams are not counted — garbage is no load).
   */
  #count = 0;
  #running = false;
  #tunPoll: koffiNode.PollHandle | null = null;
  #udpPoll: koffiNode.PollHandle | null = null;
  /** The socket's fd is being replaced: no handle on it until {@link watchSocket}. */
  #socketReleased = false;
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
    this.#watch();
    // Whatever queued while nobody read (the workers stopping, a rebind) is taken now.
    this.#drainTun();
    this.#drainUdp();
  }

  /** Stops reading at once (both poll handles stopped; the handles stay for the next start). */
  stop(): void {
    this.#running = false;
    this.#tunPoll?.stop();
    this.#udpPoll?.stop();
  }

  /** Closes the poll handles (before the fds are closed). */
  close(): void {
    this.stop();
    this.#tunPoll?.close();
    this.#udpPoll?.close();
    this.#tunPoll = this.#udpPoll = null;
  }

  /** Lets go of the socket's fd (it is about to be replaced by dup2). */
  releaseSocket(): void {
    this.#socketReleased = true;
    this.#udpPoll?.close();
    this.#udpPoll = null;
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
    const readable = { readable: true };
    if (this.#tunPoll) this.#tunPoll.start(readable, () => this.#onTun());
    else this.#tunPoll = koffi.node.poll(this.fds.tunFd, readable, () => this.#onTun());
    if (this.#socketReleased) return;
    if (this.#udpPoll) this.#udpPoll.start(readable, () => this.#onUdp());
    else this.#udpPoll = koffi.node.poll(this.fds.udpFd, readable, () => this.#onUdp());
  }

  #onTun(): void {
    // Readable, or an error/hang-up (the link deleted): the read tells which.
    if (this.#running) this.#drainTun();
  }

  #onUdp(): void {
    if (this.#running && !this.#socketReleased) this.#drainUdp();
  }

  /** Reads the TUN until EAGAIN or the limit; tells the sink when it is gone. */
  #drainTun(): void {
    const c = libc();
    const off = this.fds.offload ? VNET_HDR_LEN : 0;
    const buf = this.#tunBuf;
    for (let i = 0; i < DRAIN_LIMIT; i++) {
      const n = c.read(this.fds.tunFd, this.#tunAddr, buf.length);
      if (n <= 0) {
        const e = c.errno();
        if (n === 0 || e !== EBADFD) return; // EAGAIN: drained; EINTR or a one-off error: next wakeup
        this.stop();
        this.sink.gone();
        return;
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
      if (r < b.n) return; // the queue was empty: no second recvmmsg just to see EAGAIN (poll is level-triggered)
    }
  }
}
