// Transport padding capped at the MTU (whitepaper §5.4.6; kernel calculate_skb_padding,
// wireguard-go calculatePaddingSize): the rule itself, then what two devices put on the wire.
import { describe, expect, it } from "vitest";
import { TRANSPORT_MIN_SIZE } from "../src/messages.js";
import { paddedLength, paddingSize } from "../src/padding.js";
import { ipv4Packet } from "./support/ip.mjs";
import { A_INNER, B_INNER, makePair, typeOf } from "./support/vnet.js";

const roundUp16 = (n: number) => Math.ceil(n / 16) * 16;

describe("paddedLength", () => {
  it("MTU 1420: lengths ≤ 1408 round up to 16; 1409..1420 pad to exactly 1420, never beyond", () => {
    for (let len = 0; len <= 1408; len++) expect(paddedLength(len, 1420)).toBe(roundUp16(len));
    for (let len = 1400; len <= 1420; len++) expect(paddedLength(len, 1420)).toBeLessThanOrEqual(1420);
    for (let len = 1409; len <= 1420; len++) expect(paddedLength(len, 1420)).toBe(1420);
    expect(paddedLength(1409, 1420)).toBe(1420);
    expect(paddingSize(1420, 1420)).toBe(0);
  });

  it("MTU 0 (unknown): rounds up to 16 without a cap", () => {
    for (let len = 0; len <= 1600; len++) expect(paddedLength(len, 0)).toBe(roundUp16(len));
    expect(paddedLength(1409, 0)).toBe(1424);
    expect(paddedLength(1420, 0)).toBe(1424);
  });

  it("larger than the MTU: pads the last MTU-sized unit, as both references do", () => {
    // lastUnit = len % mtu; padded = min(roundUp16(lastUnit), mtu); padding = padded - lastUnit
    expect(paddingSize(1430, 1420)).toBe(6); // last unit 10 → 16
    expect(paddingSize(2840, 1420)).toBe(0); // last unit 0
    expect(paddingSize(1500, 1420)).toBe(0); // last unit 80
    expect(paddingSize(1421, 1420)).toBe(15); // last unit 1 → 16
  });

  it("odd MTUs: the cap is the MTU itself", () => {
    expect(paddedLength(1279, 1280)).toBe(1280);
    expect(paddedLength(577, 580)).toBe(580);
    expect(paddedLength(576, 580)).toBe(576);
    for (let mtu = 1; mtu <= 64; mtu++) {
      for (let len = 0; len <= 3 * mtu; len++) {
        const p = paddedLength(len, mtu);
        expect(p).toBeGreaterThanOrEqual(len);
        expect(p).toBeLessThan(len + 16);
        if (len <= mtu) expect(p).toBeLessThanOrEqual(mtu);
      }
    }
  });
});

describe("the device pads transport messages to its MTU", () => {
  /** The plaintext length of each transport message A sent for an inner packet of `len` bytes. */
  const sentPlaintext = (mtu: number | undefined, lengths: number[]): number[] => {
    const { net, a } = makePair();
    if (mtu !== undefined) a.device.mtu = mtu;
    const sizes: number[] = [];
    for (const len of lengths) {
      const before = a.sent.length;
      net.send(a, ipv4Packet(A_INNER, B_INNER, 17, new Uint8Array(len - 20)));
      const mine = a.sent.slice(before).filter((w) => typeOf(w.datagram) === 4 && w.datagram.length > TRANSPORT_MIN_SIZE);
      expect(mine).toHaveLength(1);
      sizes.push(mine[0]!.datagram.length - TRANSPORT_MIN_SIZE);
    }
    return sizes;
  };
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it("MTU 1420: inner 1400..1420 never exceeds 1420 padded; 1409 → 1420; ≤ 1408 rounds to 16", () => {
    const lengths = range(1400, 1420);
    const sizes = sentPlaintext(1420, lengths);
    lengths.forEach((len, i) => {
      expect(sizes[i]).toBeLessThanOrEqual(1420);
      expect(sizes[i]).toBe(len <= 1408 ? roundUp16(len) : 1420);
    });
    expect(sizes[lengths.indexOf(1409)]).toBe(1420);
  });

  it("MTU 0 (the default): rounds up to 16 without a cap", () => {
    const { a } = makePair();
    expect(a.device.mtu).toBe(0);
    const lengths = range(1400, 1420);
    const sizes = sentPlaintext(undefined, lengths);
    lengths.forEach((len, i) => expect(sizes[i]).toBe(roundUp16(len)));
  });

  it("follows MTU changes at once, and rejects invalid values", () => {
    const { net, a } = makePair();
    const sent = () => a.sent.filter((w) => typeOf(w.datagram) === 4).at(-1)!.datagram.length - TRANSPORT_MIN_SIZE;
    a.device.mtu = 1280;
    net.send(a, ipv4Packet(A_INNER, B_INNER, 17, new Uint8Array(1275 - 20)));
    expect(sent()).toBe(1280);
    a.device.mtu = 1420;
    net.send(a, ipv4Packet(A_INNER, B_INNER, 17, new Uint8Array(1275 - 20)));
    expect(sent()).toBe(1280);
    net.send(a, ipv4Packet(A_INNER, B_INNER, 17, new Uint8Array(1410 - 20)));
    expect(sent()).toBe(1420);
    for (const bad of [-1, 1.5, Number.NaN, 65536]) expect(() => (a.device.mtu = bad)).toThrow();
    expect(a.device.mtu).toBe(1420);
  });
});
