// The hooks for a data path outside the core (the daemon's worker threads): shared send counters,
// the keypair-change callback, and traffic bookkeeping without crypto.
import { describe, expect, it } from "vitest";
import {
  COUNTER_LIMIT,
  KEEPALIVE_TIMEOUT,
  Keypair,
  REKEY_COUNTER_LIMIT,
  REKEY_TIMEOUT,
  type Action,
  type Peer,
} from "../src/index.js";
import { icmpEcho } from "./support/ip.mjs";
import { A_INNER, B_INNER, makePair, typeOf, type VNode } from "./support/vnet.js";

const ping = (from: string, to: string, seq = 1) => icmpEcho(from, to, { id: 7, seq });
const initiations = (n: VNode, since = 0) => n.sent.filter((w) => w.at >= since && typeOf(w.datagram) === 1);
const keypair = () => new Keypair(null, new Uint8Array(32), new Uint8Array(32), 1, 2, true, 0);
const cells = () => new BigInt64Array(new SharedArrayBuffer(16));

describe("Keypair send counters", () => {
  it("reserveSendCounters hands out consecutive, never repeated counters", () => {
    const kp = keypair();
    expect(kp.reserveSendCounters(1)).toBe(0);
    expect(kp.reserveSendCounters(10)).toBe(1);
    expect(kp.sendCounter).toBe(11);
    kp.sendCounter = COUNTER_LIMIT + 5;
    expect(kp.sendCounter).toBe(COUNTER_LIMIT);
    expect(kp.canSend(0)).toBe(false);
  });

  it("a shared cell: the core and another thread draw from one counter; unshare continues after both", () => {
    const kp = keypair();
    kp.reserveSendCounters(5);
    const c = cells();
    kp.shareSendCounter(c, 1);
    expect(c[1]).toBe(5n);
    expect(kp.reserveSendCounters(3)).toBe(5);
    expect(Atomics.add(c, 1, 100n)).toBe(8n); // the "worker" takes 8..107
    expect(kp.sendCounter).toBe(108);
    expect(kp.reserveSendCounters(1)).toBe(108);
    kp.unshareSendCounter();
    Atomics.add(c, 1, 1000n); // no longer ours
    expect(kp.reserveSendCounters(1)).toBe(109);
  });

  it("expiring a shared keypair stops the cell (everything after it is ≥ COUNTER_LIMIT)", () => {
    const kp = keypair();
    const c = cells();
    kp.shareSendCounter(c, 0);
    kp.expireSending();
    expect(kp.canSend(0)).toBe(false);
    expect(Number(Atomics.add(c, 0, 64n))).toBeGreaterThanOrEqual(COUNTER_LIMIT);
    expect(kp.sendCounter).toBe(COUNTER_LIMIT);
  });

  it("two peers: packets the core sends after a shared-cell gap are accepted", () => {
    const { net, a, b, bOnA } = makePair();
    net.send(a, ping(A_INNER, B_INNER, 1));
    const c = cells();
    bOnA.current!.shareSendCounter(c, 0);
    Atomics.add(c, 0, 5000n); // counters another thread used
    net.send(a, ping(A_INNER, B_INNER, 2));
    expect(b.delivered).toHaveLength(2);
    expect(b.drops).toEqual([]);
  });
});

describe("Device.onKeypairsChanged", () => {
  it("fires on handshake, key confirmation, a new private key and peer removal", () => {
    const { net, a, b, bOnA, aOnB } = makePair();
    const seenA: Peer[] = [];
    const seenB: Peer[] = [];
    a.device.onKeypairsChanged = (p) => seenA.push(p);
    b.device.onKeypairsChanged = (p) => seenB.push(p);
    net.send(a, ping(A_INNER, B_INNER));
    expect(seenA).toEqual([bOnA]); // initiator: current installed
    expect(seenB).toEqual([aOnB, aOnB]); // responder: next installed, then confirmed
    seenA.length = 0;
    a.device.setPrivateKey(new Uint8Array(32).fill(7), net.now);
    expect(seenA).toEqual([bOnA]);
    seenB.length = 0;
    b.device.removePeer(aOnB.publicKey);
    expect(seenB).toEqual([aOnB]);
  });
});

describe("Device.noteDataSent / noteDataReceived", () => {
  it("count bytes without crypto", () => {
    const { net, a, b, bOnA, aOnB } = makePair();
    net.send(a, ping(A_INNER, B_INNER));
    const tx = bOnA.txBytes;
    const rx = aOnB.rxBytes;
    const out: Action[] = [];
    a.device.noteDataSent(bOnA, 1500, net.now, out);
    b.device.noteDataReceived(aOnB, 1500, net.now, out);
    expect(bOnA.txBytes).toBe(tx + 1500);
    expect(aOnB.rxBytes).toBe(rx + 1500);
    expect(out).toEqual([]);
  });

  it("data noted as sent but never answered starts a new handshake (KEEPALIVE + REKEY timeout)", () => {
    const { net, a, b, bOnA } = makePair();
    net.send(a, ping(A_INNER, B_INNER));
    net.advance(20_000);
    const before = initiations(a).length;
    net.filter = (w) => w.from !== b; // B goes silent
    a.device.noteDataSent(bOnA, 1000, net.now, []);
    net.advance(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + 500);
    expect(initiations(a).length).toBeGreaterThan(before);
  });

  it("data noted as received makes the receiver send a keepalive after KEEPALIVE_TIMEOUT", () => {
    const { net, a, b, aOnB } = makePair();
    net.send(a, ping(A_INNER, B_INNER));
    net.advance(20_000);
    const since = net.now;
    b.device.noteDataReceived(aOnB, 1000, net.now, []);
    net.advance(KEEPALIVE_TIMEOUT + 200);
    const keepalives = b.sent.filter((w) => w.at > since && typeOf(w.datagram) === 4 && w.datagram.length === 32);
    expect(keepalives).toHaveLength(1);
    void a;
  });

  it("noteDataSent past REKEY_COUNTER_LIMIT emits a handshake initiation", () => {
    const { net, a, bOnA } = makePair();
    net.send(a, ping(A_INNER, B_INNER));
    net.advance(REKEY_TIMEOUT + 1);
    bOnA.current!.sendCounter = REKEY_COUNTER_LIMIT + 1;
    const out: Action[] = [];
    a.device.noteDataSent(bOnA, 100, net.now, out);
    expect(out.filter((x) => x.kind === "toNetwork" && typeOf(x.datagram) === 1)).toHaveLength(1);
  });
});
