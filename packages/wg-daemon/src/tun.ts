/**
 * The tunnel side: a batch-aware TUN interface (like wireguard-go tun/tun.go) with a Linux
 * implementation and an in-memory fake for unit tests.
 *
 * Linux: open /dev/net/tun, TUNSETIFF(IFF_TUN | IFF_NO_PI) through koffi. Reads are
 * blocking read(2)s on libuv's thread pool (fs.read) with `inflight` of them outstanding, so
 * the event loop never blocks and several packets can complete per wakeup; writes are
 * writeSync (a TUN write never blocks). When the interface is deleted (`ip link del`), reads
 * fail and `read` rejects: the daemon then shuts down.
 */
import { closeSync, openSync, read as fsRead, writeSync, constants as fsConstants } from "node:fs";
import { ioctl } from "./libc.js";

export interface Tun {
  readonly name: string;
  /**
   * Waits for at least one packet, then fills `out` with every packet already received
   * (`out` is grown as needed) and returns how many. The packets are
   * views valid until the next `read` call.
   */
  read(out: Uint8Array[]): Promise<number>;
  /** Writes inner IP packets to the kernel; malformed ones are counted by the kernel, never thrown. */
  write(packets: readonly Uint8Array[], count?: number): void;
  close(): void;
}

const TUNSETIFF = 0x400454ca;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const IFNAMSIZ = 16;

/** Largest packet we read from the TUN (MTU up to 65535). */
const READ_SIZE = 65536;

export class LinuxTun implements Tun {
  private fd: number;
  private closed = false;
  private readonly ready: Buffer[] = [];
  private readonly readyLen: number[] = [];
  private readonly handedOut: Buffer[] = [];
  private readonly free: Buffer[] = [];
  private error: Error | undefined;
  private waiter: (() => void) | undefined;
  private outstanding = 0;

  /**
   * Creates (or attaches to) the TUN interface `name`.
   * @param inflight concurrent blocking reads on the libuv pool (default 2 of its 4 threads)
   */
  constructor(
    readonly name: string,
    private readonly inflight = 2,
  ) {
    if (Buffer.byteLength(name) >= IFNAMSIZ) throw new Error(`interface name too long: ${name}`);
    this.fd = openSync("/dev/net/tun", fsConstants.O_RDWR);
    const ifr = Buffer.alloc(40);
    ifr.write(name, 0, "latin1");
    ifr.writeUInt16LE(IFF_TUN | IFF_NO_PI, IFNAMSIZ);
    try {
      ioctl(this.fd, TUNSETIFF, ifr, `TUNSETIFF ${name}`);
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
  }

  private issue(): void {
    while (!this.closed && !this.error && this.outstanding < this.inflight) {
      const buf = this.free.pop() ?? Buffer.allocUnsafe(READ_SIZE);
      this.outstanding++;
      fsRead(this.fd, buf, 0, READ_SIZE, null, (err, n) => {
        this.outstanding--;
        if (this.closed) return;
        if (err || n === 0) {
          this.error = err ?? new Error(`${this.name}: TUN closed`);
        } else {
          this.ready.push(buf);
          this.readyLen.push(n);
        }
        const w = this.waiter;
        this.waiter = undefined;
        w?.();
      });
    }
  }

  async read(out: Uint8Array[]): Promise<number> {
    // Buffers handed out by the previous call are free again.
    for (const b of this.handedOut) this.free.push(b);
    this.handedOut.length = 0;
    this.issue();
    while (this.ready.length === 0) {
      if (this.error) throw this.error;
      if (this.closed) throw new Error(`${this.name}: TUN closed`);
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    let n = 0;
    for (let i = 0; i < this.ready.length; i++) {
      const buf = this.ready[i]!;
      out[n++] = buf.subarray(0, this.readyLen[i]!);
      this.handedOut.push(buf);
    }
    this.ready.length = 0;
    this.readyLen.length = 0;
    this.issue();
    return n;
  }

  write(packets: readonly Uint8Array[], count = packets.length): void {
    for (let i = 0; i < count; i++) {
      const p = packets[i]!;
      try {
        writeSync(this.fd, p, 0, p.byteLength);
      } catch {
        // EINVAL for a malformed packet, EIO when the link is down: the kernel counts it.
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    this.waiter?.();
  }
}

/** In-memory TUN for unit tests: `inject` what the kernel would deliver, `written` collects writes. */
export class MemoryTun implements Tun {
  readonly written: Uint8Array[] = [];
  private readonly queue: Uint8Array[] = [];
  private waiter: (() => void) | undefined;
  private closed = false;

  constructor(readonly name = "mem0") {}

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
