/**
 * The virtio_net_hdr that a TUN device with IFF_VNET_HDR puts in front of every packet, and
 * software segmentation of the TCP "super-packets" (up to 64 KiB) the kernel hands us when TSO is
 * offered (TUNSETOFFLOAD): each segment gets the headers, its share of the payload, its own IPv4
 * total length / ID / header checksum (or IPv6 payload length), TCP sequence number, flags
 * (FIN/PSH only on the last segment, CWR only on the first) and a full TCP checksum — what the
 * kernel's tcp_gso_segment() does. Pure functions over byte arrays; no I/O.
 *
 * Layout of struct virtio_net_hdr (little-endian, 10 bytes):
 *   u8 flags; u8 gso_type; u16 hdr_len; u16 gso_size; u16 csum_start; u16 csum_offset
 */

import { finish, sum16, sum16Ranges, type SumRanges } from "./checksum.js";

export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_UDP = 3;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

export interface VnetHdr {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

export function readVnetHdr(b: Uint8Array, off: number, into: VnetHdr): VnetHdr {
  into.flags = b[off]!;
  into.gsoType = b[off + 1]!;
  into.hdrLen = b[off + 2]! | (b[off + 3]! << 8);
  into.gsoSize = b[off + 4]! | (b[off + 5]! << 8);
  into.csumStart = b[off + 6]! | (b[off + 7]! << 8);
  into.csumOffset = b[off + 8]! | (b[off + 9]! << 8);
  return into;
}

/**
 * Completes a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM): the field at csumStart+csumOffset
 * holds the pseudo-header sum; sum from csumStart to the end and store the folded complement.
 */
export function completeChecksum(pkt: Uint8Array, len: number, csumStart: number, csumOffset: number): void {
  const at = csumStart + csumOffset;
  if (at + 2 > len) return;
  const c = finish(sum16(pkt, csumStart, len));
  pkt[at] = c >> 8;
  pkt[at + 1] = c & 0xff;
}

/** Segment payloads summed per {@link segmentTcp} `sums` call, and their room (one thread's scratch). */
const PAYLOAD_SUMS = 64;
const PAYLOAD_SUM_SCRATCH = new Float64Array(PAYLOAD_SUMS);

/** TCP/UDP pseudo-header sum for the IP packet at `at` in `p` (IPv4 or IPv6), given the L4 length. */
function pseudoSum(p: Uint8Array, at: number, v6: boolean, proto: number, l4len: number): number {
  const s = v6 ? sum16(p, at + 8, at + 40) : sum16(p, at + 12, at + 20);
  return s + proto + l4len;
}

/**
 * Splits a GSO TCP super-packet `pkt[0..len)` (starting at the IP header) into segments of at most
 * `gsoSize` payload bytes. Each segment is built in `out` at the offset `place()` returns (`room`
 * bytes there) and handed to `emit(at, length)` before the next one is placed: the tx pipeline
 * places them straight in its datagram slots, or reuses one scratch buffer. The payloads' checksums
 * are summed {@link PAYLOAD_SUMS} segments per `sums` call (the native addon's range checksum in the
 * data plane). Returns the number of segments, or −1 (nothing placed) if the packet is not a
 * well-formed TCP/IPv4 or TCP/IPv6 packet or a segment would not fit in `room`.
 */
export function segmentTcp(
  pkt: Uint8Array,
  len: number,
  gsoSize: number,
  out: Uint8Array,
  room: number,
  place: () => number,
  emit: (at: number, length: number) => void,
  sums: SumRanges = sum16Ranges,
): number {
  if (len < 20 || gsoSize <= 0) return -1;
  const v6 = pkt[0]! >> 4 === 6;
  let l4: number;
  if (v6) {
    if (pkt[6] !== 6) return -1; // next header must be TCP (no extension headers)
    l4 = 40;
  } else {
    if (pkt[0]! >> 4 !== 4 || pkt[9] !== 6) return -1;
    l4 = (pkt[0]! & 15) * 4;
  }
  if (l4 + 20 > len) return -1;
  const thl = (pkt[l4 + 12]! >> 4) * 4;
  const hlen = l4 + thl;
  if (thl < 20 || hlen > len || hlen + gsoSize > room) return -1;
  const seq0 = ((pkt[l4 + 4]! << 24) | (pkt[l4 + 5]! << 16) | (pkt[l4 + 6]! << 8) | pkt[l4 + 7]!) >>> 0;
  const id0 = v6 ? 0 : (pkt[4]! << 8) | pkt[5]!;
  const flags0 = pkt[l4 + 13]!;
  let count = 0;
  const payloadSums = PAYLOAD_SUM_SCRATCH;
  for (let off = hlen; off < len || count === 0; off += gsoSize) {
    const n = Math.min(gsoSize, len - off);
    const j = count % PAYLOAD_SUMS;
    if (j === 0) sums(pkt, off, Math.min(len, off + PAYLOAD_SUMS * gsoSize), gsoSize, payloadSums);
    const total = hlen + n;
    const last = off + n >= len;
    const at = place();
    for (let i = 0; i < hlen; i++) out[at + i] = pkt[i]!; // headers (a few dozen bytes), then patched below
    out.set(pkt.subarray(off, off + n), at + hlen);
    if (v6) {
      const pl = total - 40;
      out[at + 4] = pl >> 8;
      out[at + 5] = pl & 0xff;
    } else {
      out[at + 2] = total >> 8;
      out[at + 3] = total & 0xff;
      const id = (id0 + count) & 0xffff;
      out[at + 4] = id >> 8;
      out[at + 5] = id & 0xff;
      out[at + 10] = 0;
      out[at + 11] = 0;
      const c = finish(sum16(out, at, at + l4));
      out[at + 10] = c >> 8;
      out[at + 11] = c & 0xff;
    }
    const seq = (seq0 + (off - hlen)) >>> 0;
    out[at + l4 + 4] = seq >>> 24;
    out[at + l4 + 5] = (seq >>> 16) & 0xff;
    out[at + l4 + 6] = (seq >>> 8) & 0xff;
    out[at + l4 + 7] = seq & 0xff;
    let fl = flags0;
    if (!last) fl &= ~0x09; // FIN, PSH only on the last segment
    if (count > 0) fl &= ~0x80; // CWR only on the first
    out[at + l4 + 13] = fl;
    out[at + l4 + 16] = 0;
    out[at + l4 + 17] = 0;
    // TCP checksum: pseudo-header, TCP header (checksum field zero), payload (an even offset from l4)
    const c = finish(sum16(out, at + l4, at + hlen, pseudoSum(out, at, v6, 6, total - l4)) + (n > 0 ? payloadSums[j]! : 0));
    out[at + l4 + 16] = c >> 8;
    out[at + l4 + 17] = c & 0xff;
    emit(at, total);
    count++;
    if (last) break;
  }
  return count;
}
