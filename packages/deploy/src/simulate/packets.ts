/**
 * The inner packets simulated hosts send through the tunnels: IPv4 (RFC 791, no options) carrying a
 * 12-byte tag (flow id, sequence number, message kind) and zero fill up to the requested size. The
 * core reads the destination (cryptokey routing), the source (allowed-IPs check) and the total length
 * (padding removal); the simulator reads the tag back on delivery. Protocol 253 (RFC 3692, for
 * experiments): the packets are neither ICMP nor UDP, and nothing checks checksums.
 */

export const IPV4_HEADER = 20;
const TAG = 12;
/** Smallest packet: header + tag. */
export const MIN_PACKET = IPV4_HEADER + TAG;
const PROTOCOL_EXPERIMENT = 253;

/** What a packet is, for the host that receives it. */
export const enum PacketKind {
  Request = 1,
  Reply = 2,
  Data = 3,
}

export interface PacketTag {
  flow: number;
  seq: number;
  kind: PacketKind;
}

/** An IPv4 packet of `size` bytes (at least {@link MIN_PACKET}) from `src` to `dst` (numbers) with `tag`. */
export function innerPacket(src: number, dst: number, size: number, tag: PacketTag): Uint8Array {
  const p = new Uint8Array(Math.max(MIN_PACKET, size));
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, p.length);
  p[8] = 64;
  p[9] = PROTOCOL_EXPERIMENT;
  v.setUint32(12, src);
  v.setUint32(16, dst);
  v.setUint32(20, tag.flow);
  v.setUint32(24, tag.seq);
  v.setUint32(28, tag.kind);
  return p;
}

/** The tag and destination of a delivered packet, or null when it is not one of ours. */
export function readPacket(p: Uint8Array): (PacketTag & { src: number; dst: number }) | null {
  if (p.length < MIN_PACKET || p[0] !== 0x45 || p[9] !== PROTOCOL_EXPERIMENT) return null;
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  return { src: v.getUint32(12), dst: v.getUint32(16), flow: v.getUint32(20), seq: v.getUint32(24), kind: v.getUint32(28) as PacketKind };
}

