// Packets waiting for a session (wg-core staged.ts) and Device.wantSession, which the daemon's
// worker pipelines use instead of handing their packets to the Device.
import { describe, expect, it } from "vitest";
import { type Action, StagedQueue } from "../src/index.js";
import { QUEUE_STAGED_SIZE, REKEY_ATTEMPT_TIME, REKEY_TIMEOUT } from "../src/constants.js";
import { icmpEcho } from "./support/ip.mjs";
import { A_INNER, B_INNER, makePair, typeOf } from "./support/vnet.js";

describe("StagedQueue", () => {
  it("keeps QUEUE_STAGED_SIZE packets, dropping the oldest, and gives them back oldest first", () => {
    const q = new StagedQueue();
    let dropped = 0;
    for (let i = 0; i < QUEUE_STAGED_SIZE + 3; i++) dropped += q.push(Uint8Array.of(i), 0);
    expect(dropped).toBe(3);
    expect(q.length).toBe(QUEUE_STAGED_SIZE);
    expect(q.shift()).toEqual(Uint8Array.of(3));
    expect(q.clear()).toBe(QUEUE_STAGED_SIZE - 1);
    expect(q.shift()).toBeUndefined();
  });

  it("expires REKEY_ATTEMPT_TIME after the first packet of a wait, counted from when the queue was last empty", () => {
    const q = new StagedQueue();
    q.push(Uint8Array.of(1), 1000);
    q.push(Uint8Array.of(2), 50_000);
    expect(q.expire(1000 + REKEY_ATTEMPT_TIME - 1)).toBe(0);
    expect(q.expire(1000 + REKEY_ATTEMPT_TIME)).toBe(2);
    q.push(Uint8Array.of(3), 200_000); // a new wait starts its own clock
    expect(q.expire(200_000 + REKEY_ATTEMPT_TIME - 1)).toBe(0);
    expect(q.length).toBe(1);
  });
});

describe("Device.wantSession", () => {
  it("starts a handshake for a peer without a session, at most one initiation per REKEY_TIMEOUT", () => {
    const { a, bOnA, net } = makePair();
    const id = a.device.peerId(bOnA);
    const out: Action[] = [];
    a.device.wantSession(id, net.now, out);
    expect(out.map((x) => (x.kind === "toNetwork" ? typeOf(x.datagram) : x.kind))).toEqual([1]);
    out.length = 0;
    a.device.wantSession(id, net.now + REKEY_TIMEOUT - 1, out);
    expect(out).toEqual([]);
    a.device.wantSession(id, net.now + REKEY_TIMEOUT, out);
    expect(out.map((x) => (x.kind === "toNetwork" ? typeOf(x.datagram) : x.kind))).toEqual([1]);
  });

  it("does nothing while the current keypair can send, or for an unknown id", () => {
    const { a, b, bOnA, net } = makePair();
    net.send(a, icmpEcho(A_INNER, B_INNER));
    net.send(b, icmpEcho(B_INNER, A_INNER));
    expect(bOnA.current).not.toBeNull();
    const out: Action[] = [];
    a.device.wantSession(a.device.peerId(bOnA), net.now, out);
    a.device.wantSession(999, net.now, out);
    expect(out).toEqual([]);
    bOnA.zeroKeys();
    a.device.wantSession(a.device.peerId(bOnA), net.now + REKEY_TIMEOUT, out);
    expect(out.map((x) => (x.kind === "toNetwork" ? typeOf(x.datagram) : x.kind))).toEqual([1]);
  });
});
