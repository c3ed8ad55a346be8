import { randomFillSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { defaultTransportAead, nobleTransportAead, nodeTransportAead, type TransportAead } from "../src/aead.js";
import { aeadOpen, aeadSeal } from "../src/crypto.js";
import { mulberry32 } from "./support/prng.js";

const implementations: TransportAead[] = [nobleTransportAead, nodeTransportAead];
const random = (n: number): Uint8Array => randomFillSync(new Uint8Array(n));

describe.each(implementations)("TransportAead $name", (aead) => {
  const key = random(32);

  it("round-trips at the sizes WireGuard sends (0 = keepalive, 64, 1420, 65535)", () => {
    for (const size of [0, 1, 15, 16, 17, 63, 64, 65, 1420, 65535]) {
      const pt = random(size);
      const sealed = new Uint8Array(size + 16 + 7);
      expect(aead.seal(key, 12345, pt, sealed, 7)).toBe(size + 16);
      const opened = new Uint8Array(size + 3);
      expect(aead.open(key, 12345, sealed.subarray(7), opened, 3)).toBe(size);
      expect(Buffer.from(opened.subarray(3))).toEqual(Buffer.from(pt));
    }
  });

  it("matches crypto.ts aeadSeal with empty authtext (whitepaper §5.4.6)", () => {
    for (const counter of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) {
      const pt = random(100);
      const out = new Uint8Array(116);
      expect(aead.seal(key, counter, pt, out, 0)).toBe(116);
      expect(Buffer.from(out)).toEqual(Buffer.from(aeadSeal(aead.chaChaPoly!, key, counter, pt, new Uint8Array(0))!));
      expect(Buffer.from(aeadOpen(aead.chaChaPoly!, key, counter, out, new Uint8Array(0))!)).toEqual(Buffer.from(pt));
    }
  });

  it("works in place, the way the device decrypts into the datagram's own buffer", () => {
    const pt = random(300);
    const buf = new Uint8Array(16 + 300 + 16);
    buf.set(pt, 16);
    // seal: plaintext at 16 → ciphertext at 16 (same offset)
    expect(aead.seal(key, 9, buf.subarray(16, 316), buf, 16)).toBe(316);
    // open: ciphertext at 16 → plaintext at 0 (output starts before input)
    expect(aead.open(key, 9, buf.subarray(16, 332), buf, 0)).toBe(300);
    expect(Buffer.from(buf.subarray(0, 300))).toEqual(Buffer.from(pt));
  });

  it("returns -1 (never throws) for forged or unusable input, leaving out untouched", () => {
    const pt = random(64);
    const sealed = new Uint8Array(80);
    aead.seal(key, 5, pt, sealed, 0);
    const out = new Uint8Array(64).fill(0xee);
    const untouched = (): boolean => out.every((b) => b === 0xee);
    for (let i = 0; i < sealed.length; i += 9) {
      const forged = Uint8Array.from(sealed);
      forged[i]! ^= 0x01;
      expect(aead.open(key, 5, forged, out, 0)).toBe(-1);
    }
    expect(aead.open(key, 6, sealed, out, 0)).toBe(-1); // wrong counter
    const otherKey = Uint8Array.from(key);
    otherKey[0]! ^= 0x80;
    expect(aead.open(otherKey, 5, sealed, out, 0)).toBe(-1);
    expect(aead.open(key, 5, sealed.subarray(0, 15), out, 0)).toBe(-1); // shorter than a tag
    expect(aead.open(key, 5, sealed.subarray(0, 16), out, 0)).toBe(-1); // empty message, wrong tag
    expect(aead.open(key, 5, sealed, new Uint8Array(63), 0)).toBe(-1); // no room
    expect(aead.open(key, 5, sealed, out, 1)).toBe(-1); // no room after offset
    expect(aead.open(key, 5, sealed, out, -1)).toBe(-1);
    expect(aead.open(key.subarray(0, 31), 5, sealed, out, 0)).toBe(-1);
    expect(aead.open(key, -1, sealed, out, 0)).toBe(-1);
    expect(aead.open(key, 2 ** 53, sealed, out, 0)).toBe(-1);
    expect(aead.open(key, 0.5, sealed, out, 0)).toBe(-1);
    expect(untouched()).toBe(true);
    expect(aead.seal(key, 5, pt, new Uint8Array(79), 0)).toBe(-1);
    expect(aead.seal(new Uint8Array(16), 5, pt, new Uint8Array(80), 0)).toBe(-1);
    expect(aead.seal(key, Number.NaN, pt, new Uint8Array(80), 0)).toBe(-1);
    expect(aead.open(key, 5, sealed, out, 0)).toBe(64);
  });
});


describe("noble vs node:crypto", () => {
  it("produce identical ciphertexts and open each other's on 300 random inputs", () => {
    const rand = mulberry32(7);
    for (let i = 0; i < 300; i++) {
      const size = Math.floor(rand() * 1500);
      const counter = Math.floor(rand() * 2 ** 53);
      const key = random(32);
      const pt = random(size);
      const a = new Uint8Array(size + 16);
      const b = new Uint8Array(size + 16);
      expect(nobleTransportAead.seal(key, counter, pt, a, 0)).toBe(size + 16);
      expect(nodeTransportAead.seal(key, counter, pt, b, 0)).toBe(size + 16);
      if (Buffer.compare(a, b) !== 0) throw new Error(`mismatch at size ${size}, counter ${counter}`);
      const back = new Uint8Array(size);
      expect(nodeTransportAead.open(key, counter, a, back, 0)).toBe(size);
      expect(nobleTransportAead.open(key, counter, b, back, 0)).toBe(size);
      if (Buffer.compare(back, pt) !== 0) throw new Error(`round trip failed at size ${size}`);
    }
  });

  it("the default is one of the two", () => {
    expect(implementations).toContain(defaultTransportAead);
  });
});
