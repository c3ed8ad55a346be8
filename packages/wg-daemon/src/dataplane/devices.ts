/**
 * The two OS devices as the data-plane pipeline (tx.ts, rx.ts) sees them: a TUN that reads and
 * writes one packet per call and a UDP socket that moves whole batches. The Linux implementations
 * here call koffi on the fds; test/support/memory-devices.ts has in-memory ones, so the pipeline
 * runs in unit tests without a namespace. Every call returns at once: −EAGAIN when nothing is
 * queued (the worker loop then waits in {@link PollableDevice.wait}).
 */
import { MSG_DONTWAIT, MSG_WAITFORONE, POLLIN, libc } from "../libc.js";
import { sys } from "./sys.js";
import { MmsgBatch } from "./udp.js";

/**
 * Datagram slots of one batch: `data` holds slot i at {@link slot}(i), `names` its struct
 * sockaddr_in6 at i × 28 (the source after a receive, the destination for a send).
 */
export interface DatagramBatch {
  /** Slots in the batch. */
  readonly n: number;
  readonly slotSize: number;
  readonly data: Buffer;
  readonly names: Buffer;
  /** Offset of slot i in {@link data}. */
  slot(i: number): number;
  /** Length of received datagram i. */
  length(i: number): number;
  /** The UDP_GRO segment size of received buffer i (several datagrams glued), or 0 for one datagram. */
  gsoSize(i: number): number;
  /** Sets the length of outgoing datagram i. */
  setLength(i: number, len: number): void;
}

export interface PollableDevice {
  /** Blocks until the device is readable or `timeoutMs` passes (the caller re-checks its stop flag). */
  wait(timeoutMs?: number): void;
}

export interface TunDevice extends PollableDevice {
  /** Reads one packet (with its virtio-net header when offload is on) into `buf`: its length, or −errno (−EAGAIN: none; −EBADFD: the link is gone). */
  read(buf: Buffer): number;
  /** Writes buf[start, start + length): bytes written, or −errno. */
  write(buf: Buffer, start: number, length: number): number;
}

export interface UdpDevice<B extends DatagramBatch = DatagramBatch> extends PollableDevice {
  /** A batch of `n` slots of `slotSize` bytes (`withControl`: room for the UDP_GRO segment size). */
  batch(n: number, slotSize: number, withControl?: boolean): B;
  /** Receives up to `max` datagrams into `batch`: the count, or −errno (−EAGAIN: none queued). */
  recv(batch: B, max: number): number;
  /** Sends datagrams 0..count−1 of `batch`, each to its own name: the count sent, or −errno. */
  send(batch: B, count: number): number;
  /**
   * Sends datagrams 0..count−1, all to name 0, as UDP GSO super-datagrams (runs of equal size, at
   * most `maxSegments` each): the system calls made, or −errno.
   */
  sendSegmented(batch: B, count: number, maxSegments: number): number;
}

/** How long {@link PollableDevice.wait} blocks at most: a stop request is seen within it. */
export const POLL_TIMEOUT_MS = 250;

/** poll(2) on one fd for POLLIN, at most {@link POLL_TIMEOUT_MS} unless told less. */
class FdPoller {
  readonly #pollfd = Buffer.alloc(8);
  readonly #addr: number;
  constructor(readonly fd: number) {
    this.#addr = libc().addressOf(this.#pollfd);
  }
  wait(timeoutMs = POLL_TIMEOUT_MS): void {
    this.#pollfd.writeInt32LE(this.fd, 0);
    this.#pollfd.writeInt16LE(POLLIN, 4);
    this.#pollfd.writeInt16LE(0, 6);
    libc().poll(this.#addr, 1, timeoutMs);
  }
}

/** The TUN fd (non-blocking, or blocking in read(2) when the fd is). */
export class LinuxTun implements TunDevice {
  readonly #poll: FdPoller;
  readonly #sys = sys();
  // The native addresses of the (few, long-lived) buffers the pipeline passes, taken once each.
  #buf0: Buffer | null = null;
  #addr0 = 0;
  #buf1: Buffer | null = null;
  #addr1 = 0;

  constructor(readonly fd: number) {
    this.#poll = new FdPoller(fd);
  }

  #address(b: Buffer): number {
    if (b === this.#buf0) return this.#addr0;
    if (b === this.#buf1) return this.#addr1;
    this.#buf1 = this.#buf0;
    this.#addr1 = this.#addr0;
    this.#buf0 = b;
    this.#addr0 = libc().addressOf(b);
    return this.#addr0;
  }

  read(buf: Buffer): number {
    return this.#sys.read(this.fd, this.#address(buf), buf.length);
  }

  write(buf: Buffer, start: number, length: number): number {
    return this.#sys.write(this.fd, this.#address(buf) + start, length);
  }

  wait(timeoutMs?: number): void {
    this.#poll.wait(timeoutMs);
  }
}

/** The UDP socket's fd, batches through recvmmsg/sendmmsg/UDP GSO (udp.ts MmsgBatch). */
export class LinuxUdp implements UdpDevice<MmsgBatch> {
  readonly #poll: FdPoller;
  readonly #flags: number;

  /** `blocking`: recvmmsg waits for the first datagram (MSG_WAITFORONE) instead of returning −EAGAIN. */
  constructor(
    readonly fd: number,
    blocking = false,
  ) {
    this.#poll = new FdPoller(fd);
    this.#flags = blocking ? MSG_WAITFORONE : MSG_DONTWAIT;
  }

  batch(n: number, slotSize: number, withControl = false): MmsgBatch {
    return new MmsgBatch(n, slotSize, withControl);
  }

  recv(batch: MmsgBatch, max: number): number {
    return batch.recv(this.fd, max, this.#flags);
  }

  send(batch: MmsgBatch, count: number): number {
    return batch.send(this.fd, count);
  }

  sendSegmented(batch: MmsgBatch, count: number, maxSegments: number): number {
    return batch.sendSegmented(this.fd, count, maxSegments);
  }

  wait(timeoutMs?: number): void {
    this.#poll.wait(timeoutMs);
  }
}

