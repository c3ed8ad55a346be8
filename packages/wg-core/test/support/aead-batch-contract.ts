/**
 * The {@link BatchTransportAead} contract (wg-core aead-batch.ts) as one suite, run against every
 * implementation: wg-core's TypeScript batches (test/aead-batch.test.ts) and wg-daemon's native addon
 * (packages/wg-daemon/test/native-aead.test.ts). Call it inside a describe block.
 */
import { randomFillSync } from "node:crypto";
import { expect, it } from "vitest";
import { AeadBatch, type BatchTransportAead } from "../../src/aead-batch.js";
import { nodeTransportAead } from "../../src/aead.js";
import { mulberry32 } from "./prng.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** Expected sealed bytes of one packet, from node:crypto per packet. */
export function referenceSeal(key: Uint8Array, counter: number, plain: Uint8Array): Uint8Array {
  const out = new Uint8Array(plain.length + 16);
  expect(nodeTransportAead.seal(key, counter, plain, out, 0)).toBe(out.length);
  return out;
}
const reference = referenceSeal;

export function batchAeadContract(aead: BatchTransportAead): void {
  it("random batches (lengths 0..1500, 8 keys, out of place) match node:crypto byte for byte and open back", () => {
    const rand = mulberry32(1420);
    const keys = randomFillSync(new Uint8Array(8 * 32));
    for (let round = 0; round < 20; round++) {
      const n = 1 + Math.floor(rand() * 64);
      const lengths = Array.from({ length: n }, () => (rand() < 0.1 ? 0 : Math.floor(rand() * 1501)));
      const input = randomFillSync(new Uint8Array(lengths.reduce((a, b) => a + b, 0) + 7));
      const output = new Uint8Array(input.length + 16 * n + 5);
      const b = new AeadBatch(64);
      b.count = n;
      let inOff = 7 * (round & 1);
      let outOff = 5;
      const expected: Uint8Array[] = [];
      const counters: number[] = [];
      for (let i = 0; i < n; i++) {
        const k = Math.floor(rand() * 8);
        const counter = Math.floor(rand() * 2 ** 53);
        b.set(i, inOff, lengths[i]!, outOff, 32 * k, counter);
        counters.push(counter);
        expected.push(reference(keys.subarray(32 * k, 32 * k + 32), counter, input.subarray(inOff, inOff + lengths[i]!)));
        inOff += lengths[i]!;
        outOff += lengths[i]! + 16;
      }
      expect(aead.sealBatch(keys, input, output, b)).toBe(n);
      for (let i = 0; i < n; i++) {
        expect(b.result[i]).toBe(lengths[i]! + 16);
        const o = b.desc[4 * i + 2]!;
        expect(hex(output.subarray(o, o + lengths[i]! + 16))).toBe(hex(expected[i]!));
      }
      // Open: the sealed packets back into a fresh arena.
      const back = new Uint8Array(input.length);
      const ob = new AeadBatch(64);
      ob.count = n;
      for (let i = 0; i < n; i++) ob.set(i, b.desc[4 * i + 2]!, lengths[i]! + 16, b.desc[4 * i]!, b.desc[4 * i + 3]!, counters[i]!);
      expect(aead.openBatch(keys, output, back, ob)).toBe(n);
      for (let i = 0; i < n; i++) expect(ob.result[i]).toBe(lengths[i]);
      const start = 7 * (round & 1);
      expect(Buffer.from(back.subarray(start, inOff)).equals(input.subarray(start, inOff)), `round ${round}`).toBe(true);
    }
  });

  it("works in place (seal at the same offset; open into the same offset and 16 bytes earlier)", () => {
    const rand = mulberry32(9);
    const keys = randomFillSync(new Uint8Array(64));
    const n = 16;
    const slot = 1600;
    const arena = new Uint8Array(n * slot);
    const plains: Uint8Array[] = [];
    const b = new AeadBatch(n);
    b.count = n;
    for (let i = 0; i < n; i++) {
      const len = Math.floor(rand() * 1501);
      const p = randomFillSync(new Uint8Array(len));
      plains.push(p);
      arena.set(p, i * slot + 16);
      b.set(i, i * slot + 16, len, i * slot + 16, 32 * (i & 1), i * 1000);
    }
    expect(aead.sealBatch(keys, arena, arena, b)).toBe(n);
    for (let i = 0; i < n; i++) {
      const sealed = arena.subarray(i * slot + 16, i * slot + 16 + plains[i]!.length + 16);
      expect(hex(sealed)).toBe(hex(reference(keys.subarray(32 * (i & 1), 32 * (i & 1) + 32), i * 1000, plains[i]!)));
    }
    // The device's way: ciphertext at 16, plaintext to 0 (odd i) or to 16 (even i).
    for (let i = 0; i < n; i++) b.set(i, i * slot + 16, plains[i]!.length + 16, i * slot + (i & 1 ? 0 : 16), 32 * (i & 1), i * 1000);
    expect(aead.openBatch(keys, arena, arena, b)).toBe(n);
    for (let i = 0; i < n; i++) {
      const at = i * slot + (i & 1 ? 0 : 16);
      expect(hex(arena.subarray(at, at + plains[i]!.length))).toBe(hex(plains[i]!));
    }
  });

  it("a forged tag gives −1 and writes nothing; the rest of the batch still opens", () => {
    const keys = randomFillSync(new Uint8Array(32));
    const plain = randomFillSync(new Uint8Array(3 * 1420));
    const sealed = new Uint8Array(3 * 1436);
    const b = new AeadBatch(3);
    b.count = 3;
    for (let i = 0; i < 3; i++) b.set(i, i * 1420, 1420, i * 1436, 0, 77 + i);
    expect(aead.sealBatch(keys, plain, sealed, b)).toBe(3);
    for (const at of [1436 + 1435, 1436 + 1420, 1436 + 3]) {
      const forged = Uint8Array.from(sealed);
      forged[at]! ^= 0x04;
      const out = new Uint8Array(3 * 1420).fill(0xee);
      for (let i = 0; i < 3; i++) b.set(i, i * 1436, 1436, i * 1420, 0, 77 + i);
      expect(aead.openBatch(keys, forged, out, b)).toBe(2);
      expect([...b.result]).toEqual([1420, -1, 1420]);
      expect(out.subarray(1420, 2840).every((x) => x === 0xee)).toBe(true);
      expect(hex(out.subarray(0, 1420))).toBe(hex(plain.subarray(0, 1420)));
      expect(hex(out.subarray(2840))).toBe(hex(plain.subarray(2840)));
    }
    // In place: a forged packet's bytes stay what they were (no unauthenticated plaintext).
    const forged = Uint8Array.from(sealed);
    forged[1436 + 1430]! ^= 1;
    const before = Uint8Array.from(forged);
    b.count = 3;
    for (let i = 0; i < 3; i++) b.set(i, i * 1436, 1436, i * 1436, 0, 77 + i);
    expect(aead.openBatch(keys, forged, forged, b)).toBe(2);
    expect(hex(forged.subarray(1436, 2872))).toBe(hex(before.subarray(1436, 2872)));
    // Wrong counter, wrong key.
    b.count = 1;
    b.set(0, 0, 1436, 0, 0, 78);
    expect(aead.openBatch(keys, sealed, new Uint8Array(1420), b)).toBe(0);
    const other = Uint8Array.from(keys);
    other[31]! ^= 0x80;
    b.set(0, 0, 1436, 0, 0, 77);
    expect(aead.openBatch(other, sealed, new Uint8Array(1420), b)).toBe(0);
    expect(aead.openBatch(keys, sealed, new Uint8Array(1420), b)).toBe(1);
  });

  it("matches node:crypto at the counter's edges (0, 2^32−1, 2^32, 2^53−1)", () => {
    const keys = randomFillSync(new Uint8Array(32));
    const plain = randomFillSync(new Uint8Array(64));
    const edges = [0, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];
    const b = new AeadBatch(edges.length);
    b.count = edges.length;
    edges.forEach((c, i) => b.set(i, 0, 64, 80 * i, 0, c));
    const out = new Uint8Array(80 * edges.length);
    expect(aead.sealBatch(keys, plain, out, b)).toBe(edges.length);
    edges.forEach((c, i) => expect(hex(out.subarray(80 * i, 80 * i + 80))).toBe(hex(reference(keys, c, plain))));
  });

  it("unusable operations give −1 without throwing; a count outside [0, capacity] throws", () => {
    const keys = randomFillSync(new Uint8Array(40));
    const input = randomFillSync(new Uint8Array(100));
    const output = new Uint8Array(116).fill(0xee);
    const bad: [number, number, number, number, number][] = [
      [-1, 10, 0, 0, 1], // input offset
      [95, 10, 0, 0, 1], // input past the end
      [0, -5, 0, 0, 1], // length
      [0, 100, 1, 0, 1], // no room for the tag
      [0, 10, -1, 0, 1], // output offset
      [0, 10, 0, 9, 1], // key past the end (needs 32 bytes)
      [0, 10, 0, -1, 1], // key offset
      [0, 10, 0, 0, -1], // counters
      [0, 10, 0, 0, 0.5],
      [0, 10, 0, 0, 2 ** 53],
      [0, 10, 0, 0, Number.NaN],
      [0, 10, 0, 0, Number.POSITIVE_INFINITY],
    ];
    const b = new AeadBatch(bad.length + 1);
    b.count = bad.length + 1;
    bad.forEach((d, i) => b.set(i, ...d));
    b.set(bad.length, 0, 100, 0, 8, 3); // the one good operation, last
    expect(aead.sealBatch(keys, input, output, b)).toBe(1);
    expect([...b.result]).toEqual([...bad.map(() => -1), 116]);
    // open: shorter than a tag
    b.count = 2;
    b.set(0, 0, 15, 0, 0, 1);
    b.set(1, 0, 116, 0, 8, 3);
    const back = new Uint8Array(100);
    expect(aead.openBatch(keys, output, back, b)).toBe(1);
    expect(hex(back)).toBe(hex(input));
    b.count = b.capacity + 1;
    expect(() => aead.sealBatch(keys, input, output, b)).toThrow(RangeError);
    b.count = -1;
    expect(() => aead.openBatch(keys, input, output, b)).toThrow(RangeError);
    b.count = 0;
    expect(aead.sealBatch(keys, input, output, b)).toBe(0);
  });

  it("takes keys from a SharedArrayBuffer (the session table's memory)", () => {
    const keys = new Uint8Array(new SharedArrayBuffer(96));
    randomFillSync(keys);
    const plain = randomFillSync(new Uint8Array(1420));
    const out = new Uint8Array(new SharedArrayBuffer(1436 + 3)).subarray(3);
    const b = new AeadBatch(1);
    b.count = 1;
    b.set(0, 0, 1420, 0, 64, 5);
    expect(aead.sealBatch(keys.subarray(0), plain, out, b)).toBe(1);
    expect(hex(out)).toBe(hex(reference(Uint8Array.from(keys.subarray(64)), 5, plain)));
  });
}
