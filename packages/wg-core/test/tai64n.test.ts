import { describe, expect, it } from "vitest";
import { compareTai64n, TAI64N_LENGTH, tai64n } from "../src/tai64n.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

describe("tai64n", () => {
  it("labels the Unix epoch 2^62 + 10 (wireguard-go base 0x400000000000000a)", () => {
    expect(hex(tai64n(0))).toBe("400000000000000a00000000");
    expect(tai64n(0)).toHaveLength(TAI64N_LENGTH);
  });

  it("writes big-endian seconds and whitened nanoseconds", () => {
    // 1700000000 s = 0x6553f100; + 10 = 0x6553f10a. 123.456 ms = 123456000 ns = 0x075bca00,
    // rounded down to a multiple of 2^24 = 0x07000000.
    expect(hex(tai64n(1_700_000_000_123.456))).toBe("400000006553f10a07000000");
    // Past 2^32 seconds (year 2106) the carry reaches the high word.
    expect(hex(tai64n(2 ** 32 * 1000))).toBe("400000010000000a00000000");
  });

  it("always rounds nanoseconds down to a multiple of 2^24", () => {
    for (let ms = 0; ms < 1000; ms += 7.3) {
      const t = tai64n(1_600_000_000_000 + ms);
      const nanos = Buffer.from(t).readUInt32BE(8);
      expect(nanos % 2 ** 24).toBe(0);
      expect(nanos).toBeLessThanOrEqual(ms * 1e6);
      expect(ms * 1e6 - nanos).toBeLessThan(2 ** 24);
    }
  });

  // wireguard-go tai64n/tai64n_test.go TestMonotonic: start = time.Unix(0, 123456789).
  const start = 123.456789;
  const cases: [string, number, boolean][] = [
    ["after_10_ns", 10e-6, false],
    ["after_10_us", 10e-3, false],
    ["after_1_ms", 1, false],
    ["after_10_ms", 10, false],
    ["after_20_ms", 20, true],
  ];
  it.each(cases)("wireguard-go TestMonotonic %s", (_, deltaMs, wantAfter) => {
    expect(compareTai64n(tai64n(start + deltaMs), tai64n(start)) > 0).toBe(wantAfter);
  });

  it("is monotonic in time", () => {
    let prev = tai64n(1_700_000_000_000);
    for (let t = 1_700_000_000_000; t < 1_700_000_010_000; t += 3.7) {
      const next = tai64n(t);
      expect(compareTai64n(next, prev)).toBeGreaterThanOrEqual(0);
      prev = next;
    }
  });
});

describe("compareTai64n", () => {
  it("orders bytewise", () => {
    const a = tai64n(1000);
    const b = tai64n(2000);
    expect(compareTai64n(a, b)).toBe(-1);
    expect(compareTai64n(b, a)).toBe(1);
    expect(compareTai64n(a, tai64n(1000))).toBe(0);
    expect(compareTai64n(a.subarray(0, 11), a)).toBe(-1);
  });
});
