// The fast path's shared memory (src/dataplane/shared.ts) and what the main thread publishes into it
// (src/dataplane/publisher.ts), without threads or devices: no key is ever copied out of the wg-core
// session table, erasure leaves no key byte in any shared buffer the daemon owns, and any number of
// peers and prefixes is published (no 64-peer / 4096-prefix cliff).
import { describe, expect, it } from "vitest";
import { AllowedIps, formatCidr, type Peer } from "@wg-ts/core";
import { A_INNER, B_INNER, makePair } from "../../wg-core/test/support/vnet.js";
import { icmpEcho } from "../../wg-core/test/support/ip.mjs";
import { Publisher } from "../src/dataplane/publisher.js";
import { KP, PEER_WORDS, PF, PR, PS, PT, RING, ROUTE_WORDS, SharedState, type SharedBuffers } from "../src/dataplane/shared.js";
import { microsMod32 } from "../src/clock.js";
import { ActivityReader, ActivityWriter, RING_ENTRIES, activityBuffer } from "../src/dataplane/activity.js";

const ping = (from: string, to: string, seq = 1) => icmpEcho(from, to, { id: 7, seq });

/** Every SharedArrayBuffer of the fast path, the session table's included. */
const all = (b: SharedBuffers): [string, SharedArrayBuffer][] => [
  ["control", b.control], ["peers", b.peers], ["routes", b.routes], ["stats", b.stats], ["table.slots", b.table.slots], ["table.index", b.table.index],
];

/** Where the 32 bytes of `key` occur in the buffers (names). */
function holders(buffers: [string, SharedArrayBuffer][], key: Uint8Array): string[] {
  const found: string[] = [];
  for (const [name, buf] of buffers) {
    const u8 = new Uint8Array(buf);
    for (let i = u8.indexOf(key[0]!); i >= 0 && i + 32 <= u8.length; i = u8.indexOf(key[0]!, i + 1)) {
      let j = 1;
      while (j < 32 && u8[i + j] === key[j]) j++;
      if (j === 32) {
        found.push(name);
        break;
      }
    }
  }
  return found;
}

/** A Publisher for `device` writing into a fresh SharedState (no threads, no TUN), at a settable `now`. */
function publisherFor(device: ReturnType<typeof makePair>["a"]["device"]) {
  const state = new SharedState();
  let now = 1_700_000_000_000;
  const pub = new Publisher(state, device, () => now, () => {}, () => {});
  return { state, pub, buffers: state.buffers(device.sessionTable.handles), setNow: (t: number) => (now = t) };
}

/** Reads peer `id`'s record: [seq, send slot, send generation, family, port]. */
function record(state: SharedState, id: number): number[] {
  const w = new Int32Array(state.peers);
  const b = id * PEER_WORDS;
  return [w[b + PR.seq]!, w[b + PR.sendSlot]!, w[b + PR.sendGeneration]!, w[b + PR.endpointFamily]!, w[b + PR.endpointPort]!];
}

describe("fast path shared memory", () => {
  it("publishes a peer's send keypair as (slot, generation) and its endpoint, never key bytes", () => {
    const { net, a, bOnA } = makePair();
    net.send(a, ping(A_INNER, B_INNER));
    const kp = bOnA.current!;
    const { state, pub, buffers } = publisherFor(a.device);
    pub.sync();
    const [seq, slot, generation, family, port] = record(state, a.device.peerId(bOnA));
    expect(seq! % 2).toBe(0);
    expect([slot, generation, family, port]).toEqual([kp.slot, kp.generation, 4, 1002]);
    const keys = [kp.sendKey.slice(), kp.receiveKey.slice()];
    for (const k of keys) expect(holders(all(buffers), k)).toEqual(["table.slots"]); // the table's own copy only
  });

  it("erasure: after the peer is removed (and after key zeroing), its keys are in no shared buffer", () => {
    for (const how of ["remove", "zero"] as const) {
      const { net, a, b, bOnA } = makePair();
      net.send(a, ping(A_INNER, B_INNER));
      net.send(b, ping(B_INNER, A_INNER));
      const { state, pub, buffers } = publisherFor(a.device);
      pub.sync();
      const keys = [bOnA.current!, bOnA.previous, bOnA.next].filter((k) => k !== null).flatMap((k) => [k.sendKey.slice(), k.receiveKey.slice()]);
      expect(keys.length).toBeGreaterThan(0);
      const id = a.device.peerId(bOnA);
      if (how === "remove") a.device.removePeer(bOnA.publicKey);
      else bOnA.zeroKeys();
      pub.sync();
      for (const k of keys) expect(holders(all(buffers), k), how).toEqual([]);
      expect(record(state, id).slice(1, 3), how).toEqual([-1, 0]);
    }
  });

  it("an expired keypair is not published (and the record names the generation, so a reused slot is not it)", () => {
    const { net, a, bOnA } = makePair();
    net.send(a, ping(A_INNER, B_INNER));
    const { state, pub, setNow } = publisherFor(a.device);
    pub.sync();
    const id = a.device.peerId(bOnA);
    expect(record(state, id)[1]).toBe(bOnA.current!.slot);
    setNow(net.now + 180_001);
    pub.sync();
    expect(record(state, id).slice(1, 3)).toEqual([-1, 0]);
  });

  it("1001 peers and 10,010 prefixes: every peer has a record, every prefix routes to its peer id", () => {
    const { a } = makePair();
    const peers: Peer[] = [];
    for (let i = 0; i < 1000; i++) {
      const ips = Array.from({ length: 10 }, (_, j) => `172.${16 + (i >> 8)}.${i & 255}.${j}/32`);
      const key = new Uint8Array(32);
      new DataView(key.buffer).setUint32(0, i + 1);
      key[31] = 0x42;
      peers.push(a.device.addPeer({ publicKey: key, allowedIps: ips, endpoint: { address: "192.0.2.9", port: 2000 + i } }, 0));
    }
    const { state, pub } = publisherFor(a.device);
    pub.sync();
    expect(pub.published).toBe(1001);
    const n = new Int32Array(state.control)[KP.routeCount]!;
    expect(n).toBe(10_001);
    // The snapshot as a worker reads it.
    const words = new Int32Array(state.routes);
    const bytes = new Uint8Array(state.routes);
    const routes = new AllowedIps<number>();
    for (let i = 0; i < n; i++) {
      const w = i * ROUTE_WORDS;
      const family = (words[w + 1]! & 0xff) === 6 ? 6 : 4;
      routes.insert(formatCidr({ family, bits: words[w + 1]! >> 8, bytes: bytes.slice((w + 2) * 4, (w + 2) * 4 + (family === 4 ? 4 : 16)) }), words[w]!);
    }
    const last = peers[999]!;
    expect(routes.lookupAddress(new Uint8Array([172, 19, 231, 9]))).toBe(a.device.peerId(last));
    expect(record(state, a.device.peerId(last)).slice(3, 5)).toEqual([4, 2999]);
    expect(state.peers.byteLength).toBeGreaterThanOrEqual(1001 * PEER_WORDS * 4);
  });
});

/** What a pipeline does after a batch: its counters in peer `id`'s record (datagram bytes), then the mark (activity.ts). */
function workerCounts(state: SharedState, role: "tx" | "rx", id: number, c: { bytes: number; packets: number; authenticated?: number; atMs?: number }): void {
  const f = new Float64Array(state.peers);
  const b = (id * PEER_WORDS) / 2;
  if (role === "tx") {
    f[b + PS.txBytes]! += c.bytes;
    f[b + PS.txPackets]! += c.packets;
  } else {
    f[b + PS.rxBytes]! += c.bytes;
    f[b + PS.rxPackets]! += c.packets;
    f[b + PS.rxAuthenticated]! += c.authenticated ?? c.packets;
  }
  if (c.atMs !== undefined) new Int32Array(state.peers)[id * PEER_WORDS + PT[`${role}At`]] = microsMod32(c.atMs);
  new ActivityWriter(state.activity, RING[role]).mark(new Int32Array(state.peers), id * PEER_WORDS + PF[role], id);
}

describe("activity rings (per-batch traffic events)", () => {
  it("a peer is queued once until drained, then again; the flag is cleared before it is handed over", () => {
    const buf = activityBuffer(1);
    const flags = new Int32Array(8);
    const w = new ActivityWriter(buf, 0);
    const r = new ActivityReader(buf, 0);
    for (let i = 0; i < 5; i++) w.mark(flags, 3, 3);
    w.mark(flags, 5, 5);
    const seen: number[] = [];
    const overflow = r.drain((id) => [flags, id], (id) => {
      expect(flags[id]).toBe(0);
      seen.push(id);
    });
    expect([overflow, seen]).toEqual([false, [3, 5]]);
    expect(r.drain((id) => [flags, id], (id) => seen.push(id))).toBe(false);
    expect(seen).toEqual([3, 5]);
    w.mark(flags, 3, 3);
    r.drain((id) => [flags, id], (id) => seen.push(id));
    expect(seen).toEqual([3, 5, 3]);
  });

  it("more active peers than the ring holds: the overflow word asks for a full walk, and marking resumes after it", () => {
    const buf = activityBuffer(1);
    const flags = new Int32Array(RING_ENTRIES + 10);
    const w = new ActivityWriter(buf, 0);
    const r = new ActivityReader(buf, 0);
    for (let id = 0; id < RING_ENTRIES + 10; id++) w.mark(flags, id, id);
    let n = 0;
    expect(r.drain((id) => [flags, id], () => n++)).toBe(true);
    expect(n).toBe(RING_ENTRIES);
    flags.fill(0); // the caller's full walk clears every flag (SharedState.drainActivity)
    w.mark(flags, RING_ENTRIES + 9, RING_ENTRIES + 9);
    const seen: number[] = [];
    expect(r.drain((id) => [flags, id], (id) => seen.push(id))).toBe(false);
    expect(seen).toEqual([RING_ENTRIES + 9]);
  });

  it("head and tail wrap around 2^31 without losing an id", () => {
    const buf = activityBuffer(1);
    const words = new Int32Array(buf);
    words[0] = words[1] = 0x7fffffff - 2; // head, tail: about to wrap
    const flags = new Int32Array(16);
    const w = new ActivityWriter(buf, 0);
    const r = new ActivityReader(buf, 0);
    const seen: number[] = [];
    for (let id = 0; id < 10; id++) w.mark(flags, id, id);
    expect(r.drain((id) => [flags, id], (id) => seen.push(id))).toBe(false);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("the Publisher reports only the peers a worker marked: bytes, the data timer for data, the receive timers for keepalives", () => {
    const { net, a, b, bOnA } = makePair();
    net.send(a, ping(A_INNER, B_INNER));
    net.send(b, ping(B_INNER, A_INNER));
    const { state, pub, setNow } = publisherFor(a.device);
    for (let i = 0; i < 1000; i++) {
      const key = new Uint8Array(32);
      new DataView(key.buffer).setUint32(0, i + 1);
      key[31] = 0x42;
      a.device.addPeer({ publicKey: key, allowedIps: [`172.16.${i >> 8}.${i & 255}/32`] }, 0);
    }
    pub.sync();
    const id = a.device.peerId(bOnA);
    const t = bOnA.timers;
    setNow(net.now + 1000);
    // Data sent by the tx worker, not yet marked: the core hears nothing.
    const f = new Float64Array(state.peers);
    f[(id * PEER_WORDS) / 2 + PS.txBytes]! += 1000;
    f[(id * PEER_WORDS) / 2 + PS.txPackets]! += 1;
    const tx0 = bOnA.txBytes;
    pub.account();
    expect(bOnA.txBytes).toBe(tx0);
    workerCounts(state, "tx", id, { bytes: 400, packets: 1 });
    pub.account();
    expect(bOnA.txBytes - tx0).toBe(1400);
    expect(t.newHandshakeAt).toBeLessThan(Infinity); // data sent: expect an answer (timersDataSent)
    // A keepalive from the peer: the answer counts (no new handshake), but no keepalive is owed for it.
    t.sendKeepaliveAt = Infinity;
    const rx0 = bOnA.rxBytes;
    workerCounts(state, "rx", id, { bytes: 32, packets: 0, authenticated: 1 });
    pub.account();
    expect(bOnA.rxBytes - rx0).toBe(32);
    expect(t.newHandshakeAt).toBe(Infinity);
    expect(t.sendKeepaliveAt).toBe(Infinity);
    // Data from the peer: a keepalive is owed if we send nothing (timersDataReceived).
    workerCounts(state, "rx", id, { bytes: 128, packets: 1 });
    pub.account();
    expect(bOnA.rxBytes - rx0).toBe(32 + 128);
    expect(t.sendKeepaliveAt).toBeLessThan(Infinity);
  });

  it("both ways in one report: the core hears them in the order of the last datagram each way (wireguard-go's timers)", () => {
    const { net, a, b, bOnA } = makePair();
    net.send(a, ping(A_INNER, B_INNER));
    net.send(b, ping(B_INNER, A_INNER));
    const { state, pub, setNow } = publisherFor(a.device);
    pub.sync();
    const id = a.device.peerId(bOnA);
    const t = bOnA.timers;
    // Where the µs clock's int32 turns negative (2^31 µs into a 2^32 µs turn): the order still holds.
    const turn = 4294967.296;
    const base = Math.ceil(net.now / turn) * turn + turn / 2 - 0.0005;
    setNow(base + 10);
    // A request answered (data in, then data out, 50 µs later): no keepalive is owed (timersAnyAuthenticatedPacketSent
    // after timersDataReceived), an answer is expected (timersDataSent).
    workerCounts(state, "rx", id, { bytes: 128, packets: 1, atMs: base });
    workerCounts(state, "tx", id, { bytes: 128, packets: 1, atMs: base + 0.05 });
    pub.account();
    expect([t.sendKeepaliveAt, t.newHandshakeAt < Infinity]).toEqual([Infinity, true]);
    // Our request, then its answer: a keepalive is owed if we send nothing more, no answer is awaited.
    workerCounts(state, "tx", id, { bytes: 128, packets: 1, atMs: base + 1 });
    workerCounts(state, "rx", id, { bytes: 128, packets: 1, atMs: base + 1.05 });
    pub.account();
    expect([t.sendKeepaliveAt < Infinity, t.newHandshakeAt]).toEqual([true, Infinity]);
  });
});
