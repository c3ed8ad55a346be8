/**
 * Receive-side coalescing for a TUN device with IFF_VNET_HDR (what wireguard-go's tun/offload_linux.go
 * calls TCP GRO): consecutive decrypted TCP segments of one flow are merged into one super-packet
 * written with a virtio_net_hdr (GSO_TCPV4/6, NEEDS_CSUM with the pseudo-header sum in the TCP
 * checksum field), so the kernel's TCP stack handles one 64 KiB skb instead of ~45 segments and we
 * make one write(2) instead of 45. Packets that cannot be merged are written alone, marked
 * DATA_VALID (their integrity is already guaranteed by the AEAD).
 *
 * Merge rules (as Linux tcp_gro_receive): same addresses, ports, IP header length (no IPv4
 * options), TOS/TTL (hop limit), DF, ACK number, window and TCP options bytes; the sequence number
 * continues the previous segment; only ACK (and PSH on the last merged segment) set; every merged
 * segment has the first one's payload size except possibly the last; total ≤ 65535 bytes.
 */
import { sum16 } from "./checksum.js";
import { VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV6 } from "./gso.js";
import { VNET_HDR_LEN } from "./tun.js";

const MAX_TOTAL = 65535;
const TCP_ACK = 0x10;
const TCP_PSH = 0x08;

export class TcpCoalescer {
  /** Number of super-packets (or single packets) written, and segments merged into them. */
  writes = 0;
  merged = 0;
  #len = 0; // bytes of the pending packet after the vnet header (0 = none)
  #count = 0;
  #v6 = false;
  #l4 = 0;
  #hlen = 0;
  #gsoSize = 0;
  #nextSeq = 0;
  #closed = false; // the last merged segment was short or had PSH

  /**
   * @param buf scratch for the pending packet: VNET_HDR_LEN header + up to 65535 bytes
   * @param write called with (buf, length including the 10-byte virtio_net_hdr)
   */
  constructor(
    readonly buf: Uint8Array,
    readonly write: (buf: Uint8Array, length: number) => void,
  ) {}

  /** Adds the IP packet p[off..off+len). */
  push(p: Uint8Array, off: number, len: number): void {
    if (this.#len > 0 && this.#tryAppend(p, off, len)) return;
    this.flush();
    this.buf.set(p.subarray(off, off + len), VNET_HDR_LEN);
    this.#len = len;
    this.#count = 1;
    this.#closed = true;
    // Start a mergeable run only for plain TCP segments carrying data.
    const v = p[off]! >> 4;
    let l4: number;
    if (v === 4) {
      if (p[off + 9] !== 6 || (p[off]! & 15) !== 5 || (p[off + 6]! & 0x3f) !== 0 || p[off + 7] !== 0) return;
      l4 = 20;
    } else if (v === 6) {
      if (p[off + 6] !== 6) return;
      l4 = 40;
    } else return;
    const thl = (p[off + l4 + 12]! >> 4) * 4;
    const hlen = l4 + thl;
    const flags = p[off + l4 + 13]!;
    if (thl < 20 || hlen >= len || (flags & ~(TCP_ACK | TCP_PSH)) !== 0 || !(flags & TCP_ACK) || flags & TCP_PSH) return;
    this.#v6 = v === 6;
    this.#l4 = l4;
    this.#hlen = hlen;
    this.#gsoSize = len - hlen;
    this.#nextSeq = (readU32(p, off + l4 + 4) + this.#gsoSize) >>> 0;
    this.#closed = false;
  }

  #tryAppend(p: Uint8Array, off: number, len: number): boolean {
    if (this.#closed) return false;
    const b = this.buf;
    const hlen = this.#hlen;
    const l4 = this.#l4;
    const payload = len - hlen;
    if (payload <= 0 || payload > this.#gsoSize || this.#len + payload > MAX_TOTAL) return false;
    if (p[off]! >> 4 !== (this.#v6 ? 6 : 4)) return false;
    if ((p[off + l4 + 12]! >> 4) * 4 !== hlen - l4) return false;
    const flags = p[off + l4 + 13]!;
    if ((flags & ~(TCP_ACK | TCP_PSH)) !== 0 || !(flags & TCP_ACK)) return false;
    if (readU32(p, off + l4 + 4) !== this.#nextSeq) return false;
    if (this.#v6) {
      // version/traffic class/flow label, next header + hop limit, addresses
      if (!same(b, VNET_HDR_LEN, p, off, 4) || !same(b, VNET_HDR_LEN + 6, p, off + 6, 34)) return false;
    } else {
      // version/IHL/TOS, flags (DF), TTL/protocol, addresses
      if (!same(b, VNET_HDR_LEN, p, off, 2) || b[VNET_HDR_LEN + 6] !== p[off + 6] || !same(b, VNET_HDR_LEN + 8, p, off + 8, 2)) return false;
      if (!same(b, VNET_HDR_LEN + 12, p, off + 12, 8) || (p[off + 6]! & 0x3f) !== 0 || p[off + 7] !== 0) return false;
    }
    // ports, ack, (data offset byte), window, urgent, options — everything but seq, flags, checksum
    if (!same(b, VNET_HDR_LEN + l4, p, off + l4, 4) || !same(b, VNET_HDR_LEN + l4 + 8, p, off + l4 + 8, 5)) return false;
    if (!same(b, VNET_HDR_LEN + l4 + 14, p, off + l4 + 14, 2) || !same(b, VNET_HDR_LEN + l4 + 18, p, off + l4 + 18, hlen - l4 - 18)) return false;
    b.set(p.subarray(off + hlen, off + len), VNET_HDR_LEN + this.#len);
    this.#len += payload;
    this.#count++;
    this.#nextSeq = (this.#nextSeq + payload) >>> 0;
    if (flags & TCP_PSH) b[VNET_HDR_LEN + l4 + 13]! |= TCP_PSH;
    if (payload < this.#gsoSize || flags & TCP_PSH) this.#closed = true;
    return true;
  }

  /** Writes the pending packet, if any. */
  flush(): void {
    const len = this.#len;
    if (len === 0) return;
    const b = this.buf;
    if (this.#count === 1) {
      for (let i = 1; i < VNET_HDR_LEN; i++) b[i] = 0; // a loop: fill() is a runtime call, per packet here
      b[0] = VIRTIO_NET_HDR_F_DATA_VALID;
    } else {
      const l4 = this.#l4;
      if (this.#v6) {
        const pl = len - 40;
        b[VNET_HDR_LEN + 4] = pl >> 8;
        b[VNET_HDR_LEN + 5] = pl & 0xff;
      } else {
        b[VNET_HDR_LEN + 2] = len >> 8;
        b[VNET_HDR_LEN + 3] = len & 0xff;
        b[VNET_HDR_LEN + 10] = 0;
        b[VNET_HDR_LEN + 11] = 0;
        let s = sum16(b, VNET_HDR_LEN, VNET_HDR_LEN + 20);
        while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
        s = ~s & 0xffff;
        b[VNET_HDR_LEN + 10] = s >> 8;
        b[VNET_HDR_LEN + 11] = s & 0xff;
      }
      // CHECKSUM_PARTIAL: the TCP checksum field holds the folded (uncomplemented) pseudo-header sum.
      const tcpLen = len - l4;
      let s = (this.#v6 ? sum16(b, VNET_HDR_LEN + 8, VNET_HDR_LEN + 40) : sum16(b, VNET_HDR_LEN + 12, VNET_HDR_LEN + 20)) + 6 + tcpLen;
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      b[VNET_HDR_LEN + l4 + 16] = s >> 8;
      b[VNET_HDR_LEN + l4 + 17] = s & 0xff;
      b[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
      b[1] = this.#v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
      writeU16LE(b, 2, this.#hlen);
      writeU16LE(b, 4, this.#gsoSize);
      writeU16LE(b, 6, l4);
      writeU16LE(b, 8, 16);
      this.merged += this.#count;
    }
    this.write(b, VNET_HDR_LEN + len);
    this.writes++;
    this.#len = 0;
    this.#count = 0;
  }
}

function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
function writeU16LE(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = v >> 8;
}
function same(a: Uint8Array, ao: number, b: Uint8Array, bo: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}
