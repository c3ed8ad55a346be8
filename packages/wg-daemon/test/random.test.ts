import { describe, expect, it } from "vitest";
import { pooledRandom, SMALL_REQUEST } from "../src/random.js";

describe("pooledRandom", () => {
  it("serves small requests from one fill, in order, each byte once; larger ones straight from the source", () => {
    let next = 0;
    const fills: number[] = [];
    const counting = (out: Uint8Array): void => {
      fills.push(out.length);
      for (let i = 0; i < out.length; i++) out[i] = next++ & 0xff;
    };
    const random = pooledRandom(counting);
    const a = new Uint8Array(4);
    const b = new Uint8Array(SMALL_REQUEST);
    random(a);
    random(b);
    expect([...a]).toEqual([0, 1, 2, 3]);
    expect([...b]).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    const key = new Uint8Array(32);
    random(key);
    expect(fills).toEqual([512, 32]); // the key never came from (or went into) the block
    for (let i = 0; i < 125; i++) random(a); // 12 + 500 = 512: the block is used up exactly
    expect(fills).toEqual([512, 32]);
    random(a);
    expect(fills).toEqual([512, 32, 512]);
  });

  it("draws from node:crypto by default (no two 4-byte draws in 1000 equal as a whole run)", () => {
    const random = pooledRandom();
    const seen = new Set<string>();
    const x = new Uint8Array(4);
    for (let i = 0; i < 1000; i++) {
      random(x);
      seen.add(Buffer.from(x).toString("hex"));
    }
    expect(seen.size).toBeGreaterThan(990);
  });
});
