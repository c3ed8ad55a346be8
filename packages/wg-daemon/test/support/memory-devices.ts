/** In-memory TUN and UDP devices for unit tests of the engine (src/tun.ts, src/bind.ts interfaces). */
import type { Bind, Datagram } from "../../src/bind.js";
import type { Tun } from "../../src/tun.js";

/** In-memory TUN for unit tests: `inject` what the kernel would deliver, `written` collects writes. */
export class MemoryTun implements Tun {
  readonly written: Uint8Array[] = [];
  private readonly queue: Uint8Array[] = [];
  private waiter: (() => void) | undefined;
  private closed = false;
  /** What {@link mtu} reports (0: unknown). */
  linkMtu = 0;

  constructor(readonly name = "mem0") {}

  mtu(): number {
    return this.linkMtu;
  }

  inject(...packets: Uint8Array[]): void {
    this.queue.push(...packets);
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async read(out: Uint8Array[]): Promise<number> {
    while (this.queue.length === 0) {
      if (this.closed) throw new Error(`${this.name}: TUN closed`);
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    let n = 0;
    for (const p of this.queue) out[n++] = p;
    this.queue.length = 0;
    return n;
  }

  write(packets: readonly Uint8Array[], count = packets.length): void {
    for (let i = 0; i < count; i++) this.written.push(packets[i]!);
  }

  close(): void {
    this.closed = true;
    this.waiter?.();
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
