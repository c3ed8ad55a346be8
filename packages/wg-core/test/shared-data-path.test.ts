// The hooks for a data path outside the core (the daemon's worker threads): send counters, the
// keypair-change callback, traffic bookkeeping without crypto, events for datagrams opened elsewhere.
import { describe, expect, it } from "vitest";
import {
  AllowedIps,
  type Device,
  SessionTable,
  TransportBatch,
  nodeTransportAead,
  openBatch,
  KEEPALIVE_TIMEOUT,
  REKEY_TIMEOUT,
  type Action,
  type Peer,
} from "../src/index.js";
import { COUNTER_LIMIT, REKEY_COUNTER_LIMIT } from "../src/constants.js";
import { Keypair } from "../src/keypair.js";
import { icmpEcho } from "./support/ip.mjs";
import { A_INNER, B_INNER, makePair, typeOf, type VNode } from "./support/vnet.js";

const ping = (from: string, to: string, seq = 1) => icmpEcho(from, to, { id: 7, seq });
const initiations = (n: VNode, since = 0) => n.sent.filter((w) => w.at >= since && typeOf(w.datagram) === 1);
const keypair = () => new Keypair(null, new Uint8Array(32), new Uint8Array(32), 1, 2, true, 0);

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

describe("Device.noteReceived (a datagram opened by another thread with openBatch)", () => {
  /** A's first transport datagrams to B, kept off the wire (B's Device never sees them). */
  function capturePair() {
    const pair = makePair();
    const captured: Uint8Array[] = [];
    pair.net.filter = (w) => {
      if (w.from !== pair.a || typeOf(w.datagram) !== 4) return true;
      captured.push(w.datagram.slice());
      return false;
    };
    pair.net.send(pair.a, ping(A_INNER, B_INNER, 1));
    return { ...pair, captured };
  }
  /** Opens `d` like a worker thread: a view of B's table, the routes by peer id. */
  function openElsewhere(device: Device, peer: Peer, d: Uint8Array, now: number): TransportBatch {
    const view = SessionTable.attach(device.sessionTable.handles);
    const routes = new AllowedIps<number>();
    routes.insert(`${A_INNER}/32`, device.peerId(peer));
    const ids = Array.from({ length: device.peerId(peer) + 1 }, (_, i) => i);
    const batch = new TransportBatch(1);
    batch.count = 1;
    batch.setInput(0, d);
    batch.setOutput(0, new Uint8Array(d.length));
    openBatch(view, batch, now, nodeTransportAead, routes, ids);
    return batch;
  }

  it("confirms the responder's next keypair, roams, and the core then drops the same datagram as a replay", () => {
    const { net, b, aOnB, captured } = capturePair();
    expect(captured).toHaveLength(1);
    expect(aOnB.next).not.toBeNull();
    expect(aOnB.current).toBeNull();
    const next = aOnB.next!;
    const batch = openElsewhere(b.device, aOnB, captured[0]!, net.now);
    expect(batch.drop[0]).toBeNull();
    expect(batch.slot[0]).toBe(next.slot);
    const out: Action[] = [];
    const roamed = { address: "198.51.100.7", port: 4242 };
    expect(b.device.noteReceived(batch.slot[0]!, batch.generation[0]!, roamed, 0, true, net.now, out)).toBe(true); // roamed
    expect(b.device.noteReceived(batch.slot[0]!, batch.generation[0]!, roamed, 0, false, net.now, out)).toBe(false); // same endpoint
    expect(aOnB.current).toBe(next);
    expect(aOnB.next).toBeNull();
    expect(aOnB.endpoint).toEqual(roamed);
    expect(aOnB.lastHandshakeAt).toBe(net.now);
    // One window for every thread: what the other thread accepted, the core refuses.
    const again: Action[] = [];
    b.device.decapsulate(captured[0]!, roamed, net.now, again);
    expect(again).toEqual([{ kind: "drop", reason: "replay", peer: aOnB }]);
  });

  it("does nothing for a (slot, generation) that no longer holds the keypair", () => {
    const { net, b, aOnB, captured } = capturePair();
    const batch = openElsewhere(b.device, aOnB, captured[0]!, net.now);
    aOnB.zeroKeys();
    const out: Action[] = [];
    expect(b.device.noteReceived(batch.slot[0]!, batch.generation[0]!, { address: "198.51.100.7", port: 1 }, 100, true, net.now, out)).toBe(false);
    expect(out).toEqual([]);
    expect(aOnB.current).toBeNull();
    expect(aOnB.endpoint).toEqual({ address: "192.0.2.1", port: 1001 });
    expect(aOnB.rxBytes).toBeLessThan(1000);
  });

  it("peerId: the id a keypair's slot records, reused after removal", () => {
    const { a, b, bOnA } = makePair();
    expect(a.device.peerId(bOnA)).toBe(0);
    expect(a.device.sessionTable.capacity).toBeGreaterThanOrEqual(0);
    a.device.removePeer(bOnA.publicKey);
    expect(a.device.peerId(bOnA)).toBe(-1);
    const again = a.device.addPeer({ publicKey: b.privateKey.publicKey() }, 0);
    expect(a.device.peerId(again)).toBe(0);
  });
});
