/**
 * A UDP socket made with koffi (socket/bind/setsockopt) and batch I/O over it with
 * recvmmsg(2)/sendmmsg(2): one syscall per batch instead of one per datagram.
 *
 * {@link MmsgBatch} owns `n` packet slots of `slotSize` bytes in one Buffer plus the native
 * mmsghdr/iovec/sockaddr arrays that point into it; their addresses are taken once.
 */
import { addressBytes, formatAddress } from "@wg-ts/core";
import {
  AF_INET, AF_INET6, MSG_WAITFORONE, SOL_UDP, UDP_GRO, UDP_SEGMENT, SOCK_CLOEXEC, SOCK_DGRAM, SOL_SOCKET, SO_MARK, SO_RCVBUF, SO_RCVBUFFORCE, SO_SNDBUF,
  SO_SNDBUFFORCE, libc,
} from "../libc.js";
import { sys } from "./sys.js";

export interface UdpOptions {
  port: number;
  /** Bytes for SO_RCVBUF/SO_SNDBUF (FORCE variants first: we run as root). */
  bufferBytes?: number;
  /** SO_MARK (fwmark) for policy routing, 0 = unset. */
  mark?: number;
  /** UDP_GRO: let the kernel deliver runs of same-flow datagrams as one buffer (Linux ≥ 5.0). */
  gro?: boolean;
  /** The address to bind (16 bytes: IPv6, or IPv4-mapped for IPv4 only); default any. */
  address?: Uint8Array;
}

function setInt(fd: number, level: number, name: number, v: number): number {
  const c = libc();
  const b = Buffer.alloc(4);
  b.writeInt32LE(v, 0);
  return c.setsockopt(fd, level, name, c.addressOf(b), 4);
}

/** Length of a struct sockaddr_in6: the dual-stack socket's address format for both families. */
export const SOCKADDR6 = 28;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;

/**
 * Writes a struct sockaddr_in6 for `ip:port` at b[off..off+28]: an IPv6 address as is, an IPv4
 * one as IPv4-mapped (::ffff:a.b.c.d), which the dual-stack socket sends over IPv4.
 */
export function writeSockaddr(b: Buffer, off: number, ip: string, port: number): void {
  const bytes = addressBytes(ip);
  if (bytes === null) throw new Error(`not an IP address: ${ip}`);
  writeSockaddrBytes(b, off, bytes, port);
}

/** {@link writeSockaddr} from 4 (IPv4) or 16 (IPv6) address bytes. */
export function writeSockaddrBytes(b: Buffer, off: number, bytes: Uint8Array, port: number): void {
  b.fill(0, off, off + SOCKADDR6);
  b.writeUInt16LE(AF_INET6, off);
  b.writeUInt16BE(port, off + 2);
  if (bytes.length === 4) {
    b[off + 18] = 0xff;
    b[off + 19] = 0xff;
    b.set(bytes, off + 20);
  } else b.set(bytes.subarray(0, 16), off + 8);
}

/** Reads `ip:port` from a struct sockaddr_in6 (an IPv4-mapped address comes back as a dotted quad). */
export function readSockaddr(b: Buffer, off: number): { address: string; port: number } {
  const port = b.readUInt16BE(off + 2);
  if (b.readUInt16LE(off) === AF_INET) {
    return { address: `${b[off + 4]}.${b[off + 5]}.${b[off + 6]}.${b[off + 7]}`, port };
  }
  let mapped = b[off + 18] === 0xff && b[off + 19] === 0xff;
  for (let i = 8; i < 18 && mapped; i++) if (b[off + i] !== 0) mapped = false;
  if (mapped) return { address: `${b[off + 20]}.${b[off + 21]}.${b[off + 22]}.${b[off + 23]}`, port };
  return { address: formatAddress(new Uint8Array(b.subarray(off + 8, off + 24))), port };
}

/**
 * Opens a dual-stack UDP socket (AF_INET6, IPV6_V6ONLY off) bound to [::]:port (blocking): IPv4
 * peers are reached and heard through IPv4-mapped addresses. Returns the fd.
 */
export function openUdp(o: UdpOptions): number {
  const c = libc();
  const fd = c.socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket: errno ${c.errno()}`);
  setInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
  const size = o.bufferBytes ?? 4 << 20;
  if (setInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, size) < 0) setInt(fd, SOL_SOCKET, SO_RCVBUF, size);
  if (setInt(fd, SOL_SOCKET, SO_SNDBUFFORCE, size) < 0) setInt(fd, SOL_SOCKET, SO_SNDBUF, size);
  if (o.mark) setInt(fd, SOL_SOCKET, SO_MARK, o.mark);
  if (o.gro && setInt(fd, SOL_UDP, UDP_GRO, 1) < 0) throw new Error(`UDP_GRO: errno ${c.errno()}`);
  const sa = Buffer.alloc(SOCKADDR6);
  writeSockaddrBytes(sa, 0, o.address ?? new Uint8Array(16), o.port);
  if (c.bind(fd, c.addressOf(sa), SOCKADDR6) < 0) {
    const e = c.errno();
    c.close(fd);
    throw new Error(`bind :${o.port}: errno ${e}`);
  }
  return fd;
}

const MMSGHDR = 64; // struct mmsghdr on LP64: msghdr (56) + msg_len (4) + padding
const IOVEC = 16;
const SOCKADDR = SOCKADDR6; // sockaddr_in6 (dual-stack socket)
const CONTROL = 32; // ≥ CMSG_SPACE(sizeof(int)) for UDP_GRO
/**
 * {@link MmsgBatch.sendSegmented}'s msghdr + cmsg as 32-bit words: the fields written per call (the
 * 64-bit ones as their low word, the high word staying 0 from the constructor: values below 2^32,
 * or an address's high word).
 */
const GSO_IOV_LO = 16 / 4; // msg_iov
const GSO_IOV_HI = 20 / 4;
const GSO_IOVLEN = 24 / 4; // msg_iovlen (high word 0)
const GSO_CONTROLLEN = 40 / 4; // msg_controllen (high word 0)
const GSO_SEGMENT = (56 + 16) / 4; // the cmsg's u16 segment size (and the padding after it)

/** A reusable batch of datagram slots wired into native mmsghdr/iovec/sockaddr arrays. */
export class MmsgBatch {
  readonly data: Buffer;
  readonly names: Buffer;
  readonly #hdrs: Buffer;
  readonly #iovs: Buffer;
  readonly #dataAddr: number;
  readonly #namesAddr: number;
  readonly #hdrsAddr: number;
  readonly #iovsAddr: number;
  /** One msghdr + a UDP_SEGMENT control message for {@link sendSegmented} (own, 8-byte aligned memory). */
  readonly #gsoMsg = Buffer.from(new ArrayBuffer(56 + 24));
  /** {@link #gsoMsg} as 32-bit words: its per-call fields are written without BigInt (a lone packet's path). */
  readonly #gsoWords = new Uint32Array(this.#gsoMsg.buffer, 0, (56 + 24) / 4);
  readonly #gsoMsgAddr: number;

  /** Per-message control buffers (only with `withControl`: UDP_GRO segment size). */
  readonly #controls: Buffer | null;
  /**
   * 32-bit word views of {@link #hdrs}, {@link #iovs} and {@link #controls}: the per-packet fields
   * are read and written through them (Buffer's readUInt32LE/writeUInt32LE check every argument).
   */
  readonly #hdrW: Uint32Array;
  readonly #iovW: Uint32Array;
  readonly #ctlW: Int32Array | null;

  constructor(readonly n: number, readonly slotSize: number, withControl = false) {
    const c = libc();
    this.#controls = withControl ? Buffer.alloc(n * CONTROL) : null;
    const controlsAddr = this.#controls ? c.addressOf(this.#controls) : 0;
    this.data = Buffer.alloc(n * slotSize);
    this.names = Buffer.alloc(n * SOCKADDR);
    this.#hdrs = Buffer.alloc(n * MMSGHDR);
    this.#iovs = Buffer.alloc(n * IOVEC);
    this.#hdrW = new Uint32Array(this.#hdrs.buffer, this.#hdrs.byteOffset, this.#hdrs.length / 4);
    this.#iovW = new Uint32Array(this.#iovs.buffer, this.#iovs.byteOffset, this.#iovs.length / 4);
    this.#ctlW = this.#controls ? new Int32Array(this.#controls.buffer, this.#controls.byteOffset, this.#controls.length / 4) : null;
    this.#dataAddr = c.addressOf(this.data);
    this.#namesAddr = c.addressOf(this.names);
    this.#hdrsAddr = c.addressOf(this.#hdrs);
    this.#iovsAddr = c.addressOf(this.#iovs);
    this.#gsoMsgAddr = c.addressOf(this.#gsoMsg);
    const m = this.#gsoMsg;
    m.writeBigUInt64LE(BigInt(this.#namesAddr), 0); // msg_name: every datagram goes to names slot 0
    m.writeUInt32LE(SOCKADDR, 8); // msg_namelen
    m.writeBigUInt64LE(BigInt(this.#gsoMsgAddr + 56), 32); // msg_control
    // struct cmsghdr { size_t cmsg_len = CMSG_LEN(2); int SOL_UDP; int UDP_SEGMENT; } u16 gso_size
    m.writeBigUInt64LE(18n, 56);
    m.writeInt32LE(SOL_UDP, 64);
    m.writeInt32LE(UDP_SEGMENT, 68);
    for (let i = 0; i < n; i++) {
      const h = i * MMSGHDR;
      this.#hdrs.writeBigUInt64LE(BigInt(this.#namesAddr + i * SOCKADDR), h); // msg_name
      this.#hdrs.writeUInt32LE(SOCKADDR, h + 8); // msg_namelen
      this.#hdrs.writeBigUInt64LE(BigInt(this.#iovsAddr + i * IOVEC), h + 16); // msg_iov
      this.#hdrs.writeBigUInt64LE(1n, h + 24); // msg_iovlen
      if (controlsAddr) this.#hdrs.writeBigUInt64LE(BigInt(controlsAddr + i * CONTROL), h + 32); // msg_control
      this.#iovs.writeBigUInt64LE(BigInt(this.#dataAddr + i * slotSize), i * IOVEC); // iov_base
      this.#iovs.writeBigUInt64LE(BigInt(slotSize), i * IOVEC + 8); // iov_len
    }
  }

  /** Offset of slot i in {@link data}. */
  slot(i: number): number {
    return i * this.slotSize;
  }

  /**
   * The UDP_GRO segment size of received message i (several datagrams of this size, the last one
   * possibly shorter, glued together), or 0 when it is a single datagram.
   */
  gsoSize(i: number): number {
    const ctl = this.#ctlW;
    if (!ctl || this.#hdrW[(i * MMSGHDR + 40) / 4]! < 20) return 0; // msg_controllen
    const o = (i * CONTROL) / 4;
    return ctl[o + 2] === SOL_UDP && ctl[o + 3] === UDP_GRO ? ctl[o + 4]! & 0xffff : 0; // cmsg_level, cmsg_type, the u16 size
  }

  /** Length of datagram i after {@link recv}. */
  length(i: number): number {
    return this.#hdrW[(i * MMSGHDR + 56) / 4]!;
  }

  /**
   * Receives up to `max` datagrams. With MSG_WAITFORONE (default) it blocks until one arrives; with
   * MSG_DONTWAIT it returns −EAGAIN when none is queued. Returns the count or −errno.
   */
  recv(fd: number, max = this.n, flags = MSG_WAITFORONE): number {
    const h = this.#hdrW;
    const v = this.#iovW;
    const control = this.#controls !== null;
    for (let i = 0; i < max; i++) {
      h[(i * MMSGHDR + 8) / 4] = SOCKADDR; // msg_namelen
      if (control) h[(i * MMSGHDR + 40) / 4] = CONTROL; // msg_controllen
      v[(i * IOVEC + 8) / 4] = this.slotSize; // iov_len
    }
    return sys().recvmmsg(fd, this.#hdrsAddr, max, flags);
  }

  /** Sets the length of outgoing datagram i (its bytes are at {@link slot}(i)) and its destination name. */
  setLength(i: number, len: number): void {
    this.#iovW[(i * IOVEC + 8) / 4] = len; // iov_len
    this.#iovW[(i * IOVEC + 12) / 4] = 0;
  }

  /**
   * UDP GSO (UDP_SEGMENT, Linux ≥ 4.18): sends datagrams 0..count-1 with as few sendmsg(2) calls as
   * possible — each run of equal-sized datagrams (the last one of a run may be shorter) goes out as
   * one super-datagram that the kernel splits, at most `maxSegments` per call and 64 KiB in all.
   * Every datagram goes to the address in names slot 0. Returns syscalls made, or −errno.
   */
  sendSegmented(fd: number, count: number, maxSegments = 44): number {
    const s = sys();
    const w = this.#gsoWords;
    let calls = 0;
    let i = 0;
    while (i < count) {
      const size = this.#iovW[(i * IOVEC + 8) / 4]!;
      let j = i + 1;
      let total = size;
      while (j < count && j - i < maxSegments && total + size <= 65000) {
        const len = this.#iovW[(j * IOVEC + 8) / 4]!;
        if (len > size) break;
        total += len;
        j++;
        if (len < size) break;
      }
      // Little-endian 64-bit fields as two words (addresses are below 2^53).
      const iov = this.#iovsAddr + i * IOVEC;
      w[GSO_IOV_LO] = iov % 0x1_0000_0000;
      w[GSO_IOV_HI] = Math.floor(iov / 0x1_0000_0000);
      w[GSO_IOVLEN] = j - i;
      w[GSO_CONTROLLEN] = j - i > 1 ? 24 : 0; // CMSG_SPACE(2) or none
      w[GSO_SEGMENT] = size;
      const r = s.sendmsg(fd, this.#gsoMsgAddr, 0);
      if (r < 0) return r;
      calls++;
      i = j;
    }
    return calls;
  }

  /** Sends datagrams 0..count-1; retries the remainder after partial sends. Returns sent count or −errno. */
  send(fd: number, count: number): number {
    const s = sys();
    let done = 0;
    while (done < count) {
      const r = s.sendmmsg(fd, this.#hdrsAddr + done * MMSGHDR, count - done, 0);
      if (r < 0) return done > 0 ? done : r;
      done += r;
    }
    return done;
  }
}
