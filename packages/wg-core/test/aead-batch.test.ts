/**
 * The batch AEAD over per-packet TransportAeads (aead-batch.ts): the contract suite shared with the
 * native addon (packages/wg-daemon/test/native-aead.test.ts), plus AeadBatch itself.
 */
import { describe, expect, it } from "vitest";
import { AEAD_BATCH_STRIDE, AeadBatch, batchTransportAead } from "../src/aead-batch.js";
import { nobleTransportAead, nodeTransportAead } from "../src/aead.js";
import { batchAeadContract } from "./support/aead-batch-contract.js";

describe.each([batchTransportAead(nodeTransportAead), batchTransportAead(nobleTransportAead)])("BatchTransportAead $name", (aead) =>
  batchAeadContract(aead),
);

describe("AeadBatch", () => {
  it("lays out 4 Int32 descriptors, a counter and a result per operation", () => {
    const b = new AeadBatch(3);
    expect(b.desc.length).toBe(3 * AEAD_BATCH_STRIDE);
    expect(b.counter.length).toBe(3);
    expect(b.result.length).toBe(3);
    b.set(2, 10, 20, 30, 40, 2 ** 40);
    expect([...b.desc.subarray(8)]).toEqual([10, 20, 30, 40]);
    expect(b.counter[2]).toBe(2 ** 40);
    expect(() => new AeadBatch(-1)).toThrow(RangeError);
  });

  it("names the fallback after the per-packet AEAD it wraps", () => {
    expect(batchTransportAead(nodeTransportAead).name).toBe("node:crypto per packet");
  });
});
