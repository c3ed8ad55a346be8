/**
 * In-memory TUN and UDP devices for unit tests: of the engine (src/tun.ts, src/bind.ts interfaces)
 * and of the data-plane pipelines (src/dataplane/devices.ts: {@link MemoryTunDevice}, {@link MemoryUdpDevice}).
 */
import type { Bind, Datagram } from "../../src/bind.js";
import type { DatagramBatch, TunDevice, UdpDevice } from "../../src/dataplane/devices.js";
import { SOCKADDR6, readSockaddr, writeSockaddr } from "../../src/dataplane/udp.js";
import { EAGAIN, EBADFD } from "../../src/libc.js";
import type { Tun } from "../../src/tun.js";

/**
 * In-memory TUN for unit tests: `inject` what the kernel would deliver (handed to `onBatch` in a
 * microtask, like a read event), `written` collects writes.
 */
export class MemoryTun implements Tun {
  readonly written: Uint8Array[] = [];
  onBatch: (packets: Uint8Array[], count: number) => void = () => {};
  onGone: (reason: Error) => void = () => {};
  private closed = false;
  /** What {@link mtu} reports (0: unknown). */
  linkMtu = 0;

  constructor(readonly name = "mem0") {}

  mtu(): number {
    return this.linkMtu;
  }

  inject(...packets: Uint8Array[]): void {
    queueMicrotask(() => {
      if (!this.closed) this.onBatch(packets, packets.length);
    });
  }

  /** The interface disappears (`ip link del`). */
  remove(): void {
    this.onGone(new Error(`${this.name}: interface deleted`));
  }

  write(packets: readonly Uint8Array[], count = packets.length): void {
    for (let i = 0; i < count; i++) this.written.push(packets[i]!);
  }

  close(): void {
    this.closed = true;
  }
}

/** In-memory bind for unit tests: two connected with `MemoryBind.pair()` deliver to each other. */
export class MemoryBind implements Bind {
  port = 0;
  mark = 0;
  peer: MemoryBind | undefined;
  readonly sent: Datagram[] = [];
  onBatch: (batch: Datagram[], count: number) => void = () => {};

  constructor(readonly address = "127.0.0.1") {}

  static pair(a = "10.0.0.1", b = "10.0.0.2"): [MemoryBind, MemoryBind] {
    const x = new MemoryBind(a);
    const y = new MemoryBind(b);
    x.peer = y;
    y.peer = x;
    return [x, y];
  }

  async open(port: number): Promise<number> {
    this.port = port || 40000 + Math.floor(Math.random() * 1000);
    return this.port;
  }

  setMark(mark: number): void {
    this.mark = mark;
  }

  send(batch: readonly Datagram[], count = batch.length): void {
    const items: Datagram[] = [];
    for (let i = 0; i < count; i++) {
      const d = batch[i]!;
      this.sent.push(d);
      items.push({ datagram: d.datagram.slice(), endpoint: { address: this.address, port: this.port } });
    }
    const to = this.peer;
    if (to) queueMicrotask(() => to.onBatch(items, items.length));
  }

  close(): void {
    this.peer = undefined;
  }
}

/** A TUN for the pipelines: {@link inbox} is what the kernel would hand out (one packet per read), {@link written} what was written. */
export class MemoryTunDevice implements TunDevice {
  readonly inbox: Uint8Array[] = [];
  readonly written: Uint8Array[] = [];
  /** The link was deleted: reads fail with EBADFD. */
  gone = false;

  read(buf: Buffer): number {
    if (this.gone) return -EBADFD;
    const p = this.inbox.shift();
    if (p === undefined) return -EAGAIN;
    buf.set(p);
    return p.length;
  }

  write(buf: Buffer, start: number, length: number): number {
    this.written.push(Uint8Array.prototype.slice.call(buf, start, start + length));
    return length;
  }

  wait(): void {}
}

/** Datagram slots in plain memory (the layout of udp.ts MmsgBatch: slot i at i × slotSize, names as struct sockaddr_in6). */
export class MemoryBatch implements DatagramBatch {
  readonly data: Buffer;
  readonly names: Buffer;
  readonly lengths: Int32Array;
  constructor(
    readonly n: number,
    readonly slotSize: number,
  ) {
    this.data = Buffer.alloc(n * slotSize);
    this.names = Buffer.alloc(n * SOCKADDR6);
    this.lengths = new Int32Array(n);
  }
  slot(i: number): number {
    return i * this.slotSize;
  }
  length(i: number): number {
    return this.lengths[i]!;
  }
  gsoSize(): number {
    return 0;
  }
  setLength(i: number, len: number): void {
    this.lengths[i] = len;
  }
}

/** A datagram on an in-memory socket: its bytes and the other end. */
export interface MemoryDatagram {
  datagram: Uint8Array;
  /** The source (received) or destination (sent). */
  peer: { address: string; port: number };
}

/** A UDP socket for the pipelines: {@link inbox} is received in batches, {@link sent} collects what was sent. */
export class MemoryUdpDevice implements UdpDevice<MemoryBatch> {
  readonly inbox: MemoryDatagram[] = [];
  readonly sent: MemoryDatagram[] = [];

  batch(n: number, slotSize: number): MemoryBatch {
    return new MemoryBatch(n, slotSize);
  }

  recv(batch: MemoryBatch, max: number): number {
    if (this.inbox.length === 0) return -EAGAIN;
    let i = 0;
    for (; i < max && this.inbox.length > 0; i++) {
      const d = this.inbox.shift()!;
      const len = Math.min(d.datagram.length, batch.slotSize); // longer ones are truncated, as by recvmmsg
      batch.data.set(d.datagram.subarray(0, len), batch.slot(i));
      batch.lengths[i] = len;
      writeSockaddr(batch.names, i * SOCKADDR6, d.peer.address, d.peer.port);
    }
    return i;
  }

  send(batch: MemoryBatch, count: number): number {
    for (let i = 0; i < count; i++) this.#take(batch, i, i);
    return count;
  }

  sendSegmented(batch: MemoryBatch, count: number, maxSegments: number): number {
    for (let i = 0; i < count; i++) this.#take(batch, i, 0);
    return Math.ceil(count / maxSegments);
  }

  #take(batch: MemoryBatch, i: number, name: number): void {
    const s = batch.slot(i);
    this.sent.push({ datagram: Uint8Array.prototype.slice.call(batch.data, s, s + batch.lengths[i]!), peer: readSockaddr(batch.names, name * SOCKADDR6) });
  }

  wait(): void {}
}
