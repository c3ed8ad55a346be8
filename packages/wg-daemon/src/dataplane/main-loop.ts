/**
 * The fast data plane's I/O on the main thread, for while its worker threads are stopped (light
 * traffic: dataplane/io.ts starts them only under load). Same fds as the workers — the TUN with its
 * virtio-net header and TSO, the dual-stack UDP socket with UDP_GRO — so it splits TSO
 * super-packets (gso.ts) and GRO-glued datagrams the same way, then hands every packet to the
 * wg-core Device through the daemon's Engine (which encrypts, decrypts and checks replay itself).
 *
 * Waiting is libuv's own: one poll handle per fd (`koffi.node.poll`, uv_poll_t in the event loop's
 * epoll set), so a packet costs one wake-up of the main thread; each wakeup drains its fd without
 * blocking, up to {@link DRAIN_LIMIT} packets. What one read brings (a packet, or a TSO
 * super-packet's segments) goes to the sink at once, before the next read: a lone packet is
 * encrypted and sent before the read that finds the TUN empty. {@link MainLoop.send} is the main
 * thread's sendto, with the destination's sockaddr kept from the previous datagram (one peer: no
 * address parsing per packet). {@link MainLoop.stop} stops both handles at once. The socket's
 * handle must be let go before its fd is replaced (libuv: never close a polled fd):
 * {@link MainLoop.releaseSocket} / {@link MainLoop.watchSocket} around a rebind.
 */
import koffi from "koffi";
import type { node as koffiNode } from "koffi";
import { EBADFD, MSG_DONTWAIT, libc } from "../libc.js";
import { VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, completeChecksum, readVnetHdr, segmentTcp, type VnetHdr } from "./gso.js";
import { VNET_HDR_LEN } from "./tun.js";
import { MmsgBatch, SOCKADDR6, readSockaddr, writeSockaddr } from "./udp.js";

/** The first byte of a transport data message (whitepaper §5.4.6): its datagram is handed over as a view. */
const MESSAGE_TRANSPORT = 4;
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
  /**
   * The inner IP packets of one TUN read, in an array reused after the call: a lone packet is a
   * view of the read buffer, valid during the call only (wg-core's encapsulate seals it into a new
   * datagram and copies what it stages); a TSO super-packet's segments are copies.
   */
  tunnel(packets: Uint8Array[], count: number): void;
  /**
   * A datagram read from the socket. A transport message (type 4) is a view of the receive buffer,
   * valid during the call only (wg-core's decapsulate opens it into a new buffer and keeps nothing
   * of it); any other message is a copy. `from` may be the object passed with the previous
   * datagram (never mutated).
   */
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
  /** {@link #tunBuf} as a plain Uint8Array: its views are plain ones (a Buffer's are Buffers, slower to make). */
  readonly #tunView: Uint8Array;
  readonly #tunAddr: number;
  readonly #seg: Buffer;
  /** What one TUN read produced, for the sink. */
  readonly #packets: Uint8Array[] = [];
  #npackets = 0;
  readonly #batch: MmsgBatch;
  /** The batch's data as a plain Uint8Array (see {@link #tunView}). */
  readonly #dataView: Uint8Array;
  readonly #hdr: VnetHdr = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
  /** The last datagram's source: its sockaddr bytes (family, port, flow info, address) and the endpoint made of them. */
  readonly #fromName = Buffer.alloc(24);
  #from: { address: string; port: number } | null = null;
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
    readonly sink: MainLoopSink,
  ) {
    const c = libc();
    this.#tunBuf = Buffer.alloc(VNET_HDR_LEN + 65536 + 64);
    this.#tunView = new Uint8Array(this.#tunBuf.buffer, this.#tunBuf.byteOffset, this.#tunBuf.length);
    this.#tunAddr = c.addressOf(this.#tunBuf);
    this.#seg = Buffer.alloc(fds.mtu + 64);
    this.#batch = fds.udpGro ? new MmsgBatch(4, 65536, true) : new MmsgBatch(32, 2048);
    const data = this.#batch.data;
    this.#dataView = new Uint8Array(data.buffer, data.byteOffset, data.length);
    this.#sendBuf = Buffer.alloc(65536);
    this.#sendAddr = c.addressOf(this.#sendBuf);
    this.#toSockaddr = c.addressOf(this.#to);
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

  /**
   * Reads the TUN until EAGAIN or the limit, handing each read's packets to the sink before the
   * next read; tells the sink when the TUN is gone.
   */
  #drainTun(): void {
    const c = libc();
    const off = this.fds.offload ? VNET_HDR_LEN : 0;
    const buf = this.#tunBuf;
    const view = this.#tunView;
    for (let i = 0; i < DRAIN_LIMIT && this.#running; i++) {
      const n = c.read(this.fds.tunFd, this.#tunAddr, buf.length);
      if (n <= 0) {
        const e = c.errno();
        if (n === 0 || e !== EBADFD) return; // EAGAIN: drained; EINTR or a one-off error: next wakeup
        this.stop();
        this.sink.gone();
        return;
      }
      this.#npackets = 0;
      if (!off) this.#packets[this.#npackets++] = view.subarray(0, n);
      else {
        const hdr = this.#hdr;
        readVnetHdr(buf, 0, hdr);
        const len = n - off;
        if (hdr.gsoType !== VIRTIO_NET_HDR_GSO_NONE) {
          // Segments are built one after the other in #seg: each is copied.
          // A malformed super-packet from our own kernel is dropped (the workers count it as invalid-inner-packet).
          segmentTcp(view.subarray(off), len, hdr.gsoSize, this.#seg, (p, l) => this.#emit(p, l));
        } else {
          const pkt = view.subarray(off, n);
          if (hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) completeChecksum(pkt, len, hdr.csumStart, hdr.csumOffset);
          this.#packets[this.#npackets++] = pkt;
        }
      }
      const count = this.#npackets;
      this.#count += count;
      if (count > 0) this.sink.tunnel(this.#packets, count);
    }
  }

  #emit(p: Uint8Array, len: number): void {
    this.#packets[this.#npackets++] = Uint8Array.prototype.slice.call(p, 0, len); // a copy (Buffer#slice would be a view)
  }

  /**
   * Sends one datagram with sendto(2) (non-blocking socket: a full send buffer drops it, as UDP
   * may). Returns sendto's result, -1 for an endpoint that is not an IP address.
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
    const c = libc();
    const n = datagram.length;
    if (n <= this.#sendBuf.length) {
      this.#sendBuf.set(datagram);
      return c.sendto(this.fds.udpFd, this.#sendAddr, n, 0, this.#toSockaddr, SOCKADDR6);
    }
    const b = Buffer.from(datagram.buffer, datagram.byteOffset, n);
    return c.sendto(this.fds.udpFd, c.addressOf(b), n, 0, this.#toSockaddr, SOCKADDR6);
  }

  /** The endpoint of the sockaddr at `names[off..]`: the previous datagram's object when the bytes are the same. */
  #source(names: Buffer, off: number): { address: string; port: number } {
    const last = this.#fromName;
    let same = this.#from !== null;
    for (let i = 0; i < 24 && same; i++) if (names[off + i] !== last[i]) same = false;
    if (same) return this.#from!;
    names.copy(last, 0, off, off + 24);
    return (this.#from = readSockaddr(names, off));
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
        const from = this.#source(b.names, i * SOCKADDR6);
        if (len === 0) {
          got++;
          this.sink.datagram(new Uint8Array(0), from); // an empty datagram is still one (the core: truncated)
        }
        for (let o = 0; o < len; o += seg) {
          got++;
          const start = s + o;
          const end = s + Math.min(o + seg, len);
          const transport = this.#dataView[start] === MESSAGE_TRANSPORT;
          this.sink.datagram(transport ? this.#dataView.subarray(start, end) : this.#dataView.slice(start, end), from);
        }
      }
      if (r < b.n) return; // the queue was empty: no second recvmmsg just to see EAGAIN (poll is level-triggered)
    }
  }
}
