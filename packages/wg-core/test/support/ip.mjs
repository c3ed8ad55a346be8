// IPv4 + ICMP echo packets for tests (RFC 791, RFC 792), with real checksums. Plain JS so the
// e2e peer script (run by `node` inside a namespace) and the vitest suites share it.

/** Parses a dotted quad into 4 bytes. */
export function ipv4(s) {
  const b = s.split(".").map(Number);
  if (b.length !== 4 || b.some((x) => !(x >= 0 && x <= 255))) throw new Error(`bad IPv4 ${s}`);
  return Uint8Array.from(b);
}

/** Formats 4 bytes as a dotted quad. */
export function formatIpv4(b, off = 0) {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** The Internet checksum (RFC 1071) of bytes [start, end). */
export function checksum(b, start = 0, end = b.length) {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += (b[i] << 8) | (i + 1 < end ? b[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An IPv4 packet (no options) carrying `payload` with protocol `proto`. */
export function ipv4Packet(src, dst, proto, payload, ttl = 64) {
  const p = new Uint8Array(20 + payload.length);
  p[0] = 0x45;
  p[2] = p.length >>> 8;
  p[3] = p.length & 0xff;
  p[4] = 0x12;
  p[5] = 0x34;
  p[6] = 0x40; // don't fragment
  p[8] = ttl;
  p[9] = proto;
  p.set(typeof src === "string" ? ipv4(src) : src, 12);
  p.set(typeof dst === "string" ? ipv4(dst) : dst, 16);
  const c = checksum(p, 0, 20);
  p[10] = c >>> 8;
  p[11] = c & 0xff;
  p.set(payload, 20);
  return p;
}

/** An ICMP echo request (type 8) or reply (type 0) inside IPv4. */
export function icmpEcho(src, dst, { type = 8, id = 1, seq = 1, data = new Uint8Array(32) } = {}) {
  const icmp = new Uint8Array(8 + data.length);
  icmp[0] = type;
  icmp[4] = id >>> 8;
  icmp[5] = id & 0xff;
  icmp[6] = seq >>> 8;
  icmp[7] = seq & 0xff;
  icmp.set(data, 8);
  const c = checksum(icmp);
  icmp[2] = c >>> 8;
  icmp[3] = c & 0xff;
  return ipv4Packet(src, dst, 1, icmp);
}

/**
 * Parses an IPv4 ICMP echo packet, verifying both checksums. Returns null when it is not one.
 * @returns {{src: string, dst: string, type: number, id: number, seq: number, data: Uint8Array} | null}
 */
export function parseIcmpEcho(p) {
  if (p.length < 28 || p[0] >> 4 !== 4) return null;
  const ihl = (p[0] & 0xf) * 4;
  const total = (p[2] << 8) | p[3];
  if (total > p.length || total < ihl + 8 || p[9] !== 1) return null;
  if (checksum(p, 0, ihl) !== 0) return null;
  if (checksum(p, ihl, total) !== 0) return null;
  const t = p[ihl];
  if (t !== 0 && t !== 8) return null;
  return {
    src: formatIpv4(p, 12),
    dst: formatIpv4(p, 16),
    type: t,
    id: (p[ihl + 4] << 8) | p[ihl + 5],
    seq: (p[ihl + 6] << 8) | p[ihl + 7],
    data: p.subarray(ihl + 8, total),
  };
}

/** The echo reply a host would send for an echo request `req` (parsed with parseIcmpEcho). */
export function echoReplyFor(req) {
  return icmpEcho(req.dst, req.src, { type: 0, id: req.id, seq: req.seq, data: req.data });
}
