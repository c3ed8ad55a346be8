/**
 * The tunnel side: a batch-aware TUN interface (like wireguard-go tun/tun.go) with a Linux
 * implementation and an in-memory fake for unit tests.
 *
 * Linux: open /dev/net/tun, TUNSETIFF(IFF_TUN | IFF_NO_PI) through koffi. Two read modes:
 *  - "poll" (default): the fd is O_NONBLOCK; poll(2) runs on a koffi worker thread, and once
 *    the fd is readable the event loop drains up to MAX_BATCH packets with non-blocking reads.
 *  - "threadpool": blocking read(2)s on libuv's pool (fs.read), `inflight` outstanding.
 * Measured (iperf3 TCP through wg-ts <-> wg-ts over veth, 2 shared cores): threadpool mode
 * 65-90 Mbit/s whatever the inflight count (1, 2, 4), the daemon at <50% CPU: each packet
 * costs a pool round trip; poll mode reads whole queues per wakeup (see the README for numbers).
 * Writes are writeSync (a TUN write never blocks). When the interface is deleted
 * (`ip link del`), reads fail and `read` rejects: the daemon then shuts down.
 */
import { closeSync, openSync, read as fsRead, readFileSync, readSync, writeSync, constants as fsConstants } from "node:fs";
import { ioctl, pollIn } from "./libc.js";

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
  /**
   * The interface's current MTU in bytes, 0 when unknown (wireguard-go tun.Device.MTU). The engine
   * hands it to the core, which caps transport padding at it; `ip link set mtu` (wg-quick, `wg-ts up`)
   * may change it at any time.
   */
  mtu?(): number;
  close(): void;
}

/** The MTU of network interface `name` (sysfs), 0 when unreadable. */
export function linkMtu(name: string): number {
  try {
    return Number(readFileSync(`/sys/class/net/${name}/mtu`, "utf8").trim()) || 0;
  } catch {
    return 0;
  }
}

const TUNSETIFF = 0x400454ca;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const IFNAMSIZ = 16;

/** Largest packet we read from the TUN (MTU up to 65535). */
const READ_SIZE = 65536;
/** Most packets taken from the TUN per wakeup in poll mode. */
export const MAX_BATCH = 64;
/** poll(2) timeout, so a closed TUN is noticed even if no event arrives. */
const POLL_MS = 500;

export type TunReadMode = "poll" | "threadpool";

/** EBADFD (77, unnamed in Node) is what reads return once the interface has been deleted. */
function tunError(name: string, err: NodeJS.ErrnoException): Error {
  if (err.errno === -77) return new Error(`${name}: interface deleted`);
  return new Error(`${name}: TUN read failed: ${err.code ?? err.message}`);
}

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
  private readonly batchBufs: Buffer[] = [];

  constructor(
    readonly name: string,
    private readonly inflight = 2,
    readonly mode: TunReadMode = "poll",
  ) {
    if (Buffer.byteLength(name) >= IFNAMSIZ) throw new Error(`interface name too long: ${name}`);
    this.fd = openSync("/dev/net/tun", fsConstants.O_RDWR | (mode === "poll" ? fsConstants.O_NONBLOCK : 0));
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
          this.error = err ? tunError(this.name, err) : new Error(`${this.name}: TUN closed`);
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

  /** Non-blocking reads until EAGAIN or MAX_BATCH; throws when the TUN is gone. */
  private drain(out: Uint8Array[]): number {
    let n = 0;
    while (n < MAX_BATCH) {
      const buf = (this.batchBufs[n] ??= Buffer.allocUnsafe(READ_SIZE));
      let len: number;
      try {
        len = readSync(this.fd, buf, 0, READ_SIZE, null);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === "EAGAIN") break;
        throw tunError(this.name, err);
      }
      if (len === 0) throw new Error(`${this.name}: TUN closed`);
      out[n++] = buf.subarray(0, len);
    }
    return n;
  }

  async read(out: Uint8Array[]): Promise<number> {
    if (this.mode === "poll") {
      for (;;) {
        if (this.closed) throw new Error(`${this.name}: TUN closed`);
        const n = this.drain(out);
        if (n > 0) return n;
        const revents = await pollIn(this.fd, POLL_MS);
        if (revents & ~1) {
          // POLLERR / POLLHUP / POLLNVAL: the device is gone; the next read reports why.
          if (this.closed) throw new Error(`${this.name}: TUN closed`);
          const m = this.drain(out);
          if (m > 0) return m;
          throw new Error(`${this.name}: TUN error (poll revents ${revents})`);
        }
      }
    }
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

  mtu(): number {
    return linkMtu(this.name);
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
    // In poll mode a poll(2) may still be running on this fd: close it after that returns.
    if (this.mode === "poll") setTimeout(() => closeSync(this.fd), POLL_MS + 100).unref();
    else closeSync(this.fd);
    this.waiter?.();
  }
}

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
