// TSO segmentation (src/dataplane/gso.ts segmentTcp): every segment of IPv4 and IPv6 TCP super-packets
// carries valid IP and TCP checksums (RFC 1071, written out byte by byte here), the right sequence
// numbers and the original payload — with the TypeScript range checksum and with the native addon's,
// built in one scratch buffer or placed in slots of an arena: the same bytes (more segments than one
// `sums` call covers, odd and even sizes).
import { describe, expect, it } from "vitest";
import { type SumRanges, sum16Ranges } from "../src/dataplane/checksum.js";
import { segmentTcp } from "../src/dataplane/gso.js";
import { loadBatchAead } from "../src/native-aead.js";

/** RFC 1071 §4.1, literally: the folded one's-complement sum of big-endian words (odd byte padded). */
function sum(b: Uint8Array, start: number, end: number, initial = 0): number {
  let s = initial;
  for (let i = start; i < end; i += 2) {
    s += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  }
  return s;
}

function superPacket(v6: boolean, payloadBytes: number): Uint8Array {
  const l4 = v6 ? 40 : 20;
  const p = new Uint8Array(l4 + 20 + payloadBytes);
  if (v6) {
    p[0] = 0x60;
    p[6] = 6; // TCP
    p[7] = 64;
    for (let i = 0; i < 32; i++) p[8 + i] = (i * 37 + 11) & 0xff; // addresses
  } else {
    p[0] = 0x45;
    p[4] = 0x12;
    p[5] = 0x34; // id
    p[6] = 0x40; // DF
    p[8] = 64;
    p[9] = 6;
    p.set([10, 0, 0, 1, 10, 0, 0, 2], 12);
  }
  const t = l4;
  p.set([0x9c, 0x40, 0x14, 0x51], t); // ports 40000 → 5201
  p.set([0xff, 0xff, 0xf0, 0x00], t + 4); // seq near the wrap
  p.set([0, 0, 0, 7], t + 8);
  p[t + 12] = 5 << 4;
  p[t + 13] = 0x18 | 0x01; // ACK | PSH | FIN: PSH and FIN stay on the last segment only
  p[t + 14] = 0xff;
  p[t + 15] = 0xff;
  for (let i = 0; i < payloadBytes; i++) p[t + 20 + i] = (i * 7 + 3) & 0xff;
  return p;
}

/** Segments built in one scratch buffer (placed at 0 each time), or each in its own slot of an arena at an odd offset (as in the datagram slots). */
function split(pkt: Uint8Array, gsoSize: number, sums: SumRanges, slots = false): Uint8Array[] {
  const out: Uint8Array[] = [];
  const room = gsoSize + 120;
  const buf = new Uint8Array(slots ? 2000 * room : room).fill(0xa5);
  let next = 0;
  const place = (): number => (slots ? 16 + room * next++ : 0);
  const n = segmentTcp(pkt, pkt.length, gsoSize, buf, room - 16, place, (at, len) => void out.push(buf.slice(at, at + len)), sums);
  expect(n).toBe(out.length);
  return out;
}

const native = loadBatchAead().sums;
const onLinuxX64 = process.platform === "linux" && process.arch === "x64";

describe("segmentTcp", () => {
  it("the native range checksum is in use where the addon loads (linux-x64)", () => {
    if (onLinuxX64) expect(native).not.toBe(sum16Ranges);
  });

  it("a segment that would not fit in the room: −1 and nothing placed", () => {
    const pkt = superPacket(false, 3000);
    let placed = 0;
    const r = segmentTcp(pkt, pkt.length, 1380, new Uint8Array(2000), 1380 + 39, () => (placed++, 0), () => undefined);
    expect([r, placed]).toEqual([-1, 0]);
  });

  for (const v6 of [false, true]) {
    for (const [payload, gsoSize] of [[60_000, 1380], [60_001, 1379], [9_000, 100], [1_000, 1380], [0, 1380]] as const) {
      it(`IPv${v6 ? 6 : 4}, ${payload} payload bytes in segments of ${gsoSize}: valid checksums, sequence, payload; TS and native alike`, () => {
        const pkt = superPacket(v6, payload);
        const l4 = v6 ? 40 : 20;
        const ts = split(pkt, gsoSize, sum16Ranges);
        expect(ts.length).toBe(Math.max(1, Math.ceil(payload / gsoSize)));
        let got = 0;
        ts.forEach((s, k) => {
          const last = k === ts.length - 1;
          if (!v6) expect(sum(s, 0, 20)).toBe(0xffff); // IPv4 header checksum verifies
          const pseudo = v6 ? sum(s, 8, 40) : sum(s, 12, 20);
          expect(sum(s, l4, s.length, pseudo + 6 + (s.length - l4)), `segment ${k}`).toBe(0xffff); // TCP checksum verifies
          const seq = ((s[l4 + 4]! << 24) | (s[l4 + 5]! << 16) | (s[l4 + 6]! << 8) | s[l4 + 7]!) >>> 0;
          expect(seq).toBe((0xfffff000 + got) >>> 0);
          expect(s[l4 + 13]).toBe(last ? 0x19 : 0x10);
          expect(Buffer.from(s.subarray(l4 + 20)).equals(Buffer.from(pkt.subarray(l4 + 20 + got, l4 + 20 + got + s.length - l4 - 20)))).toBe(true);
          got += s.length - l4 - 20;
        });
        expect(got).toBe(payload);
        const hex = (segs: Uint8Array[]): string[] => segs.map((s) => Buffer.from(s).toString("hex"));
        expect(hex(split(pkt, gsoSize, native))).toEqual(hex(ts));
        expect(hex(split(pkt, gsoSize, native, true))).toEqual(hex(ts));
      });
    }
  }
});
