// Software TSO/GRO of the fast data plane: a TCP super-packet split into MTU-sized segments
// (gso.ts) must have valid checksums and continuous sequence numbers, and coalescing those
// segments again (gro.ts) must rebuild the original payload with a correct virtio_net_hdr.
import { describe, expect, it } from "vitest";
import { finish, sum16 } from "../../packages/wg-daemon/src/dataplane/checksum.js";
import { segmentTcp } from "../../packages/wg-daemon/src/dataplane/gso.js";
import { TcpCoalescer } from "../../packages/wg-daemon/src/dataplane/gro.js";

function superPacket(v6: boolean, payloadLen: number, flags = 0x18): Uint8Array {
  const l4 = v6 ? 40 : 20;
  const thl = 32; // 20 + 12 bytes of options (NOP NOP timestamps)
  const p = new Uint8Array(l4 + thl + payloadLen);
  if (v6) {
    p[0] = 0x60;
    p[4] = (thl + payloadLen) >> 8;
    p[5] = (thl + payloadLen) & 0xff;
    p[6] = 6;
    p[7] = 64;
    p.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 8);
    p.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 24);
  } else {
    p[0] = 0x45;
    p[2] = 0; // total length is not meaningful in a super-packet; segments fix it
    p[4] = 0x12;
    p[5] = 0x34;
    p[6] = 0x40; // DF
    p[8] = 64;
    p[9] = 6;
    p.set([10, 0, 0, 1, 10, 0, 0, 2], 12);
  }
  p.set([0x9c, 0x40, 0x14, 0x51, 0xff, 0xff, 0xff, 0x00, 0, 0, 0, 7, (thl / 4) << 4, flags, 0x01, 0xf5], l4);
  p.set([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2], l4 + 20);
  for (let i = 0; i < payloadLen; i++) p[l4 + thl + i] = (i * 7 + 3) & 0xff;
  return p;
}

function tcpChecksumOk(s: Uint8Array, v6: boolean): boolean {
  const l4 = v6 ? 40 : 20;
  const pseudo = (v6 ? sum16(s, 8, 40) : sum16(s, 12, 20)) + 6 + (s.length - l4);
  return finish(sum16(s, l4, s.length, pseudo)) === 0;
}

describe.each([false, true])("software segmentation and coalescing (IPv6: %s)", (v6) => {
  const l4 = v6 ? 40 : 20;
  const hlen = l4 + 32;
  const mss = 1420 - hlen;
  const payload = 10 * mss + 123;
  const big = superPacket(v6, payload);

  const segments: Uint8Array[] = [];
  const seg = new Uint8Array(1500);
  const n = segmentTcp(big, big.length, mss, seg, seg.length, () => 0, (at, len) => void segments.push(seg.slice(at, at + len)));

  it("splits into MTU-sized segments with valid checksums, lengths, sequence numbers and flags", () => {
    expect(n).toBe(11);
    let seq = 0xffffff00;
    segments.forEach((s, i) => {
      const last = i === segments.length - 1;
      expect(s.length).toBe(hlen + (last ? 123 : mss));
      expect(s.length).toBeLessThanOrEqual(1420);
      if (v6) expect((s[4]! << 8) | s[5]!).toBe(s.length - 40);
      else {
        expect((s[2]! << 8) | s[3]!).toBe(s.length);
        expect((s[4]! << 8) | s[5]!).toBe(0x1234 + i);
        expect(finish(sum16(s, 0, 20))).toBe(0);
      }
      const got = ((s[l4 + 4]! << 24) | (s[l4 + 5]! << 16) | (s[l4 + 6]! << 8) | s[l4 + 7]!) >>> 0;
      expect(got).toBe(seq >>> 0);
      seq += s.length - hlen;
      expect(s[l4 + 13]).toBe(last ? 0x18 : 0x10); // PSH only on the last
      expect(tcpChecksumOk(s, v6)).toBe(true);
    });
  });

  it("coalesces the segments back into one GSO packet with the original payload", () => {
    const writes: Uint8Array[] = [];
    const gro = new TcpCoalescer(new Uint8Array(10 + 65536), (b, len) => writes.push(b.slice(0, len)));
    for (const s of segments) gro.push(s, 0, s.length);
    gro.flush();
    expect(writes.length).toBe(1);
    const w = writes[0]!;
    expect(w[0]).toBe(1); // NEEDS_CSUM
    expect(w[1]).toBe(v6 ? 4 : 1); // GSO_TCPV6 / GSO_TCPV4
    expect(w[2]! | (w[3]! << 8)).toBe(hlen);
    expect(w[4]! | (w[5]! << 8)).toBe(mss);
    expect(w[6]! | (w[7]! << 8)).toBe(l4);
    expect(w[8]! | (w[9]! << 8)).toBe(16);
    const pkt = w.subarray(10);
    expect(pkt.length).toBe(big.length);
    expect(Buffer.from(pkt.subarray(hlen)).equals(Buffer.from(big.subarray(hlen)))).toBe(true);
    if (!v6) expect(finish(sum16(pkt, 0, 20))).toBe(0);
    // Partial checksum: the field holds the pseudo-header sum; completing it must verify.
    const full = Uint8Array.from(pkt);
    const c = finish(sum16(full, l4, full.length));
    full[l4 + 16] = c >> 8;
    full[l4 + 17] = c & 0xff;
    expect(tcpChecksumOk(full, v6)).toBe(true);
  });

  it("does not merge a gap in the sequence numbers", () => {
    const writes: number[] = [];
    const gro = new TcpCoalescer(new Uint8Array(10 + 65536), (_b, len) => writes.push(len));
    gro.push(segments[0]!, 0, segments[0]!.length);
    gro.push(segments[2]!, 0, segments[2]!.length);
    gro.flush();
    expect(writes).toEqual([10 + 1420, 10 + 1420]);
  });
});
