/**
 * The rx worker's gate to the main thread (dataplane/control.ts), with in-memory datagrams: junk and
 * forged MAC1 are dropped by wg-core's classification and MAC1 check and never take the place of a
 * real handshake message.
 */
import { randomFillSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type Action, Device, PrivateKey } from "@wg-ts/core";
import { COOKIE_REPLY_SIZE, CookieGenerator, INITIATION_SIZE, RESPONSE_SIZE } from "@wg-ts/core/testing";
import { ControlGate, type ControlVerdict } from "../src/dataplane/control.js";
import { COOKIE_BUDGET, SAMPLE_MS, SLOW_BUDGET } from "../src/dataplane/shared.js";

const random = (b: Uint8Array): void => void randomFillSync(b);
const ours = PrivateKey.generate(random);
const theirs = PrivateKey.generate(random);

/** A real initiation to us, made by a wg-core Device that has us as its peer. */
function realInitiation(from = theirs, to = ours): Uint8Array {
  const d = new Device({ privateKey: from, random });
  d.addPeer({ publicKey: to.publicKey(), endpoint: { address: "192.0.2.1", port: 51820 }, allowedIps: ["10.0.0.0/8"] }, 0);
  const p = new Uint8Array(20);
  p[0] = 0x45;
  p[3] = 20;
  p.set([10, 0, 0, 1], 16);
  const out: Action[] = [];
  d.encapsulate(p, 1_700_000_000_000, out);
  const msg = out.find((a) => a.kind === "toNetwork");
  if (msg?.kind !== "toNetwork") throw new Error("no initiation");
  expect(msg.datagram.length).toBe(INITIATION_SIZE);
  return msg.datagram;
}

/** `n` bytes of random junk, with the message header forced to `type` when given. */
function junk(n: number, type?: number): Uint8Array {
  const b = new Uint8Array(n);
  random(b);
  if (type !== undefined && n >= 4) b.set([type, 0, 0, 0]);
  return b;
}

let baseInitiation: Uint8Array | undefined;
/** A handshake-sized message of `type` whose MAC1 is computed for someone else's key (or random). */
function forged(type: 1 | 2, kind: number): Uint8Array {
  const m = junk(type === 1 ? INITIATION_SIZE : RESPONSE_SIZE, type);
  if (kind % 3 === 1) new CookieGenerator(theirs.publicKey().bytes).addMacs(m, 0); // MAC1 for another key
  if (kind % 3 === 2) {
    const good = (baseInitiation ??= realInitiation()).slice();
    good[20 + (kind % 100)]! ^= 1; // a real initiation with one bit flipped
    return good;
  }
  return m;
}

/** Every size 0..200, random content and each type header forced, except the exact cookie-reply size. */
function junkFlood(): Uint8Array[] {
  const all: Uint8Array[] = [];
  for (let n = 0; n <= 200; n++) {
    all.push(junk(n));
    for (const t of [1, 2, 4, 5, 0x0101]) all.push(junk(n, t));
    if (n !== COOKIE_REPLY_SIZE) all.push(junk(n, 3));
  }
  return all;
}

describe("fast path rx worker: the gate to the main thread", () => {
  it("in a flood of junk of every size and forged MAC1 initiations, the valid initiation is always posted and nothing else", () => {
    const gate = new ControlGate();
    gate.setPublicKey(ours.publicKey().bytes);
    const valid = realInitiation();
    const flood = junkFlood();
    const forgeries = Array.from({ length: 3 * SLOW_BUDGET }, (_, i) => forged(i % 2 === 0 ? 1 : 2, i));
    const reasons = new Map<ControlVerdict, number>();
    let now = 1000;
    for (let round = 0; round < 20; round++) {
      // The valid one at a different place each round, the window already full of junk or not.
      const inputs = [...flood, ...forgeries];
      const at = Math.floor((round / 20) * inputs.length);
      inputs.splice(at, 0, valid);
      const posted: Uint8Array[] = [];
      for (const d of inputs) {
        const v = gate.admit(d, now);
        reasons.set(v, (reasons.get(v) ?? 0) + 1);
        if (v === "post") posted.push(d);
      }
      expect(posted).toEqual([valid]);
      now += round % 2 === 0 ? 1 : SAMPLE_MS; // sometimes the same window, sometimes a new one
    }
    expect(reasons.get("post")).toBe(20);
    for (const r of ["truncated", "invalid-size", "unknown-type", "bad-mac1", "unknown-index"] as const) {
      expect(reasons.get(r) ?? 0).toBeGreaterThan(0);
    }
    expect(reasons.get("slow-path-budget") ?? 0).toBe(0);
  });

  it("junk inside a larger buffer (the receive batch) is judged by its own bounds, as the worker calls it", () => {
    const gate = new ControlGate();
    gate.setPublicKey(ours.publicKey().bytes);
    const valid = realInitiation();
    const batch = new Uint8Array(4096);
    random(batch);
    batch.set(valid, 1000);
    expect(gate.admit(batch, 0, 1000, 1000 + INITIATION_SIZE)).toBe("post");
    expect(gate.admit(batch, 0, 1000, 1000 + INITIATION_SIZE - 1)).toBe("truncated");
    expect(gate.admit(batch, 0, 1000, 1000 + INITIATION_SIZE + 1)).toBe("invalid-size");
    batch[1000 + 50]! ^= 1;
    expect(gate.admit(batch, 0, 1000, 1000 + INITIATION_SIZE)).toBe("bad-mac1");
  });

  it("the handshake budget counts MAC1-valid messages only; cookie replies have their own", () => {
    const gate = new ControlGate({ handshakeBudget: 4, cookieBudget: 2, windowMs: 100 });
    gate.setPublicKey(ours.publicKey().bytes);
    const valid = Array.from({ length: 6 }, () => realInitiation());
    const verdicts: ControlVerdict[] = [];
    for (let i = 0; i < 1000; i++) gate.admit(forged(1, i), 0);
    for (let i = 0; i < 10; i++) verdicts.push(gate.admit(junk(COOKIE_REPLY_SIZE, 3), 0));
    expect(verdicts.filter((v) => v === "post")).toHaveLength(2);
    expect(verdicts.filter((v) => v === "slow-path-budget")).toHaveLength(8);
    const hs = valid.map((m) => gate.admit(m, 0));
    expect(hs).toEqual(["post", "post", "post", "post", "slow-path-budget", "slow-path-budget"]);
    // A new window: budgets full again.
    expect(gate.admit(valid[0]!, 100)).toBe("post");
    expect(gate.admit(junk(COOKIE_REPLY_SIZE, 3), 100)).toBe("post");
    expect(COOKIE_BUDGET).toBeLessThan(SLOW_BUDGET);
  });

  it("checks MAC1 against our current key; without a key nothing passes", () => {
    const gate = new ControlGate();
    const valid = realInitiation();
    expect(gate.admit(valid, 0)).toBe("no-private-key");
    gate.setPublicKey(theirs.publicKey().bytes);
    expect(gate.admit(valid, 0)).toBe("bad-mac1");
    gate.setPublicKey(ours.publicKey().bytes);
    expect(gate.admit(valid, 0)).toBe("post");
    gate.setPublicKey(null);
    expect(gate.admit(valid, 0)).toBe("no-private-key");
    // A response to us (type 2) with a valid MAC1 passes as well.
    const response = junk(RESPONSE_SIZE, 2);
    new CookieGenerator(ours.publicKey().bytes).addMacs(response, 0);
    gate.setPublicKey(ours.publicKey().bytes);
    expect(gate.admit(response, 0)).toBe("post");
  });
});
