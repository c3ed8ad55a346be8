// The data-plane pipelines (src/dataplane/tx.ts, rx.ts) over in-memory TUN and UDP devices, in one
// process: two wg-core Devices complete a real handshake (wg-core's virtual network), each side
// publishes into its own SharedState as the daemon does (dataplane/publisher.ts), and the
// pipelines the worker threads run carry packets between them — sealing, opening, replay, roaming,
// the gate to the main thread, TSO splitting and GRO coalescing — with no namespace, socket or thread.
import { describe, expect, it } from "vitest";
import { A_INNER, B_INNER, makePair, type VNode } from "../../wg-core/test/support/vnet.js";
import { icmpEcho, ipv4Packet } from "../../wg-core/test/support/ip.mjs";
import { REKEY_TIMEOUT, type Action } from "@wg-ts/core";
import { Publisher } from "../src/dataplane/publisher.js";
import { PipelineContext, type PipelineOptions } from "../src/dataplane/pipeline.js";
import { RxPipeline } from "../src/dataplane/rx.js";
import { PEER_WORDS, PR, STATS_WORDS, SharedState, dropWord, type WorkerDropReason, type WorkerEvent } from "../src/dataplane/shared.js";
import { TxPipeline } from "../src/dataplane/tx.js";
import { VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, VIRTIO_NET_HDR_GSO_TCPV4, readVnetHdr } from "../src/dataplane/gso.js";
import { VNET_HDR_LEN } from "../src/dataplane/tun.js";
import { loadBatchAead } from "../src/native-aead.js";
import { MemoryTunDevice, MemoryUdpDevice, type MemoryDatagram } from "./support/memory-devices.js";

const PLAIN: PipelineOptions = {
  mtu: 1420, offload: false, batch: 128, blocking: false, gro: false, udpGso: true, gsoSegments: 44, udpGro: false, crashAfterReplays: 0,
};
const aead = loadBatchAead().aead;

/** One side: its Device's state published into a SharedState, and both pipelines over in-memory devices. */
function side(node: VNode, now: () => number, o: PipelineOptions = PLAIN) {
  const state = new SharedState();
  const pub = new Publisher(state, node.device, now, () => {}, () => {});
  pub.sync();
  const events: WorkerEvent[] = [];
  const buffers = state.buffers(node.device.sessionTable.handles);
  const tun = new MemoryTunDevice();
  const udp = new MemoryUdpDevice();
  const post = (e: WorkerEvent): void => void events.push(e);
  const tx = new TxPipeline(new PipelineContext(buffers, "tx", aead, post), o, tun, udp);
  const rx = new RxPipeline(new PipelineContext(buffers, "rx", aead, post), o, tun, udp);
  /** Runs a pipeline until it finds nothing queued, handing its events over after each step (as worker.ts). */
  const drain = (p: TxPipeline | RxPipeline): void => {
    for (let i = 0; i < 10_000; i++) {
      const r = p.step();
      p.ctx.events.drain(post);
      if (r === "idle") break;
    }
  };
  return { node, state, pub, buffers, events, tun, udp, tx, rx, drainTx: () => drain(tx), drainRx: () => drain(rx) };
}

/** Two Devices with a session both ways (a real handshake at the current time: the pipelines check keypair age on this clock). */
function pair(o: { a?: PipelineOptions; b?: PipelineOptions } = {}) {
  const p = makePair();
  p.net.now = performance.timeOrigin + performance.now();
  p.net.send(p.a, icmpEcho(A_INNER, B_INNER, { id: 1, seq: 1 }));
  p.net.send(p.b, icmpEcho(B_INNER, A_INNER, { id: 1, seq: 1 }));
  expect(p.bOnA.current).not.toBeNull();
  expect(p.aOnB.current).not.toBeNull();
  const now = (): number => p.net.now;
  return { ...p, A: side(p.a, now, o.a), B: side(p.b, now, o.b) };
}

/**
 * A's core starts a new handshake with B as it does on a worker's "session" event (Device.wantSession),
 * past the pair's own handshake (one initiation per REKEY_TIMEOUT); it completes over the virtual
 * network. Returns the kinds of what wantSession emitted. The caller publishes (A.pub.sync).
 */
function newSession({ a, bOnA, net }: ReturnType<typeof pair>): string[] {
  const out: Action[] = [];
  net.now += REKEY_TIMEOUT;
  a.device.wantSession(a.device.peerId(bOnA), net.now, out);
  const kinds = out.map((x) => x.kind);
  net.process(a, out);
  return kinds;
}

/** What A's socket sent, delivered to B's socket as coming from `from` (default: A's endpoint). */
function deliver(sent: MemoryDatagram[], to: MemoryUdpDevice, from = { address: "192.0.2.1", port: 1001 }): MemoryDatagram[] {
  const moved = sent.splice(0, sent.length);
  for (const d of moved) to.inbox.push({ datagram: d.datagram, peer: from });
  return moved;
}

/** Drops the rx pipeline counted for `reason` (its stats block, shared.ts). */
const rxDrops = (s: SharedState, reason: WorkerDropReason): number => new Float64Array(s.stats, STATS_WORDS * 8, STATS_WORDS)[dropWord(reason)]!;

/** The ICMP echo sequence number of an IPv4 packet (20-byte header). */
const icmpSeq = (p: Uint8Array): number => (p[26]! << 8) | p[27]!;

/** Peer `id`'s published endpoint in `state` (family, port). */
function recordEndpoint(state: SharedState, id: number): [number, number] {
  const w = new Int32Array(state.peers);
  return [w[id * PEER_WORDS + PR.endpointFamily]!, w[id * PEER_WORDS + PR.endpointPort]!];
}

describe("data-plane pipelines over in-memory devices", () => {
  it("tx seals, rx opens: the same inner packets reach B's TUN; the core hears of the traffic through the activity rings", () => {
    const { A, B, aOnB, bOnA } = pair();
    const packets = Array.from({ length: 50 }, (_, i) => icmpEcho(A_INNER, B_INNER, { id: 2, seq: i, data: new Uint8Array(56 + i * 20).fill(i) }));
    A.tun.inbox.push(...packets);
    A.drainTx();
    expect(A.udp.sent).toHaveLength(50);
    for (const d of A.udp.sent) expect(d.peer).toEqual({ address: "192.0.2.2", port: 1002 });
    // Padding to 16 and the header + tag: 32 bytes of overhead over the padded packet (whitepaper §5.4.6).
    expect(A.udp.sent[0]!.datagram.length).toBe(32 + Math.ceil(packets[0]!.length / 16) * 16);
    const datagramBytes = deliver(A.udp.sent, B.udp).reduce((n, d) => n + d.datagram.length, 0);
    B.drainRx();
    expect(B.tun.written.map((p) => Buffer.from(p).toString("hex"))).toEqual(packets.map((p) => Buffer.from(p).toString("hex")));
    const txBefore = bOnA.txBytes;
    const rxBefore = aOnB.rxBytes;
    A.pub.account();
    B.pub.account();
    // Datagram bytes, as `wg show` counts them (the kernel, wireguard-go): header, padding, tag.
    expect(bOnA.txBytes - txBefore).toBe(datagramBytes);
    expect(aOnB.rxBytes - rxBefore).toBe(datagramBytes);
  });

  it("a replayed datagram is dropped by the rx pipeline and, after it, by the core: one replay window for every thread", () => {
    const { A, B, b, net } = pair();
    A.tun.inbox.push(...Array.from({ length: 10 }, (_, i) => icmpEcho(A_INNER, B_INNER, { id: 3, seq: i })));
    A.drainTx();
    const recorded = deliver(A.udp.sent, B.udp);
    B.drainRx();
    expect(B.tun.written).toHaveLength(10);
    for (const d of recorded) B.udp.inbox.push({ datagram: d.datagram, peer: { address: "192.0.2.1", port: 1001 } });
    B.drainRx();
    expect(B.tun.written).toHaveLength(10);
    expect(rxDrops(B.state, "replay")).toBe(10);
    // The main thread's core judges the same datagrams on the same session table.
    const out: Action[] = [];
    for (const d of recorded) b.device.decapsulate(d.datagram, { address: "192.0.2.9", port: 9 }, net.now, out);
    expect(out.filter((x) => x.kind === "toTunnel")).toHaveLength(0);
    expect(out.filter((x) => x.kind === "drop").map((x) => (x as { reason: string }).reason)).toEqual(Array(10).fill("replay"));
    expect(b.device.peers()[0]!.endpoint).toEqual({ address: "192.0.2.1", port: 1001 }); // a replay moves no endpoint
  });

  it("roaming: the record moves to the new source before delivery, B's tx answers there, the core is told", () => {
    const { A, B, b, aOnB } = pair();
    A.tun.inbox.push(icmpEcho(A_INNER, B_INNER, { id: 4, seq: 1 }));
    A.drainTx();
    B.events.length = 0;
    deliver(A.udp.sent, B.udp, { address: "198.51.100.7", port: 40000 });
    B.drainRx();
    expect(B.tun.written).toHaveLength(1);
    const id = b.device.peerId(aOnB);
    expect(recordEndpoint(B.state, id)).toEqual([4, 40000]);
    const roamed = B.events.find((e) => e.kind === "received");
    expect(roamed).toMatchObject({ kind: "received", from: { address: "198.51.100.7", port: 40000 }, data: true });
    B.tun.inbox.push(icmpEcho(B_INNER, A_INNER, { id: 4, seq: 1 }));
    B.drainTx();
    expect(B.udp.sent.map((d) => d.peer)).toEqual([{ address: "198.51.100.7", port: 40000 }]);
  });

  it("the gate: junk and a forged initiation are dropped in the pipeline; a real initiation reaches the main thread", () => {
    const { B, a, bOnA, net } = pair();
    // A real initiation from A's core: its keys erased and a packet to send, past REKEY_TIMEOUT.
    net.now += 6000;
    bOnA.zeroKeys();
    const out: Action[] = [];
    a.device.encapsulate(icmpEcho(A_INNER, B_INNER, { id: 6, seq: 1 }), net.now, out);
    const initiation = out.find((x) => x.kind === "toNetwork");
    if (initiation?.kind !== "toNetwork") throw new Error("A's core sent no initiation");
    expect([initiation.datagram[0], initiation.datagram.length]).toEqual([1, 148]);
    const forged = new Uint8Array(148);
    forged[0] = 1; // right type and size, MAC1 all zero
    B.events.length = 0;
    B.udp.inbox.push(
      { datagram: new Uint8Array([1]), peer: { address: "203.0.113.1", port: 1 } },
      { datagram: forged, peer: { address: "203.0.113.1", port: 2 } },
      { datagram: new Uint8Array(40).fill(9), peer: { address: "203.0.113.1", port: 3 } },
      { datagram: initiation.datagram, peer: { address: "192.0.2.1", port: 1001 } },
    );
    B.drainRx();
    expect([rxDrops(B.state, "truncated"), rxDrops(B.state, "bad-mac1"), rxDrops(B.state, "unknown-type")]).toEqual([1, 1, 1]);
    expect(B.events.map((e) => (e.kind === "control" ? { ...e, datagram: Buffer.from(e.datagram).toString("hex") } : e))).toEqual([
      { kind: "control", datagram: Buffer.from(initiation.datagram).toString("hex"), from: { address: "192.0.2.1", port: 1001 } },
    ]);
    expect(B.tun.written).toHaveLength(0);
  });

  it("on a worker, packets for a peer without a usable keypair wait in the pipeline; the core is asked for a handshake, never handed the packets", () => {
    const p = pair();
    const { A, B, a, bOnA } = p;
    bOnA.zeroKeys();
    A.pub.sync();
    A.events.length = 0;
    A.tun.inbox.push(...Array.from({ length: 3 }, (_, i) => icmpEcho(A_INNER, B_INNER, { id: 5, seq: i })));
    A.drainTx();
    expect(A.udp.sent).toHaveLength(0);
    const id = a.device.peerId(bOnA);
    expect(A.events).toEqual([{ kind: "session", peer: id }]); // one request for three packets, no packet
    expect(A.tx.idle()).toBe(1); // no keypair yet: the worker looks again soon
    // The main thread: Device.wantSession starts the handshake; it completes over the virtual network.
    expect(newSession(p)).toEqual(["toNetwork"]);
    expect(bOnA.current).not.toBeNull();
    A.pub.sync();
    // The worker sends what waited, in order, with the new keypair; B's rx delivers it.
    expect(A.tx.idle()).toBeGreaterThan(1); // nothing waits any more: the long poll again
    deliver(A.udp.sent, B.udp);
    B.drainRx();
    expect(B.tun.written.map(icmpSeq)).toEqual([0, 1, 2]);
    expect(A.events).toEqual([{ kind: "session", peer: id }]);
  });

  it("staged packets: a new packet of the peer sends what waited first; a stopped worker drops and counts what is left", () => {
    const p = pair();
    const { A, B, bOnA } = p;
    bOnA.zeroKeys();
    A.pub.sync();
    A.tun.inbox.push(icmpEcho(A_INNER, B_INNER, { id: 6, seq: 0 }));
    A.drainTx();
    newSession(p);
    A.pub.sync();
    A.tun.inbox.push(icmpEcho(A_INNER, B_INNER, { id: 6, seq: 1 }));
    A.drainTx();
    deliver(A.udp.sent, B.udp);
    B.drainRx();
    expect(B.tun.written.map(icmpSeq)).toEqual([0, 1]);
    bOnA.zeroKeys();
    A.pub.sync();
    A.tun.inbox.push(icmpEcho(A_INNER, B_INNER, { id: 6, seq: 2 }), icmpEcho(A_INNER, B_INNER, { id: 6, seq: 3 }));
    A.drainTx();
    A.tx.close();
    expect(new Float64Array(A.state.stats, 0, STATS_WORDS)[dropWord("worker-stopped")]).toBe(2);
    expect(A.udp.sent).toHaveLength(0);
  });

  it("staged packets are routed again when they leave: a prefix the peer lost while they waited is not sent to it", () => {
    const p = pair();
    const { A, B, a, bOnA, net } = p;
    bOnA.zeroKeys();
    A.pub.sync();
    A.tun.inbox.push(icmpEcho(A_INNER, B_INNER, { id: 7, seq: 0 }));
    A.drainTx();
    a.device.updatePeer(bOnA.publicKey, { allowedIps: ["10.9.9.9/32"], replaceAllowedIps: true }, net.now);
    newSession(p);
    expect(bOnA.current).not.toBeNull();
    A.pub.routesChanged();
    A.pub.sync();
    A.tx.idle();
    expect(A.udp.sent).toHaveLength(0);
    expect(new Float64Array(A.state.stats, 0, STATS_WORDS)[dropWord("no-route")]).toBe(1);
    expect(B.tun.written).toHaveLength(0);
  });

  it("on the main thread, a packet for a peer without a usable keypair goes to its core (slow), not to the network", () => {
    const { A, bOnA } = pair();
    bOnA.zeroKeys();
    A.pub.sync();
    const events: WorkerEvent[] = [];
    const tx = new TxPipeline(new PipelineContext(A.buffers, "tx", aead, (e) => events.push(e), "main"), PLAIN, A.tun, A.udp);
    A.tun.inbox.push(icmpEcho(A_INNER, B_INNER, { id: 5, seq: 1 }));
    for (let i = 0; i < 100 && tx.step() !== "idle"; i++);
    expect(events).toHaveLength(0); // queued until the loop hands them over (dataplane/events.ts)
    tx.ctx.events.drain((e) => events.push(e));
    expect(A.udp.sent).toHaveLength(0);
    expect(events.map((e) => e.kind)).toEqual(["slow"]);
  });

  it("offload: a 64 KiB TSO super-packet from A's TUN is split, sealed, opened and merged again into one GRO write on B", () => {
    const offload: PipelineOptions = { ...PLAIN, offload: true, gro: true };
    const { A, B } = pair({ a: offload, b: offload });
    const payload = Buffer.alloc(60_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + 3) & 0xff;
    const tcp = Buffer.alloc(20);
    tcp.writeUInt16BE(40000, 0);
    tcp.writeUInt16BE(5201, 2);
    tcp.writeUInt32BE(1_000_000, 4); // seq
    tcp.writeUInt32BE(7, 8); // ack
    tcp[12] = 5 << 4;
    tcp[13] = 0x18; // ACK | PSH
    tcp.writeUInt16BE(65535, 14);
    const ip = ipv4Packet(A_INNER, B_INNER, 6, Buffer.concat([tcp, payload]));
    const mss = 1380;
    const vnet = Buffer.alloc(VNET_HDR_LEN);
    vnet[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    vnet[1] = VIRTIO_NET_HDR_GSO_TCPV4;
    vnet.writeUInt16LE(40, 2);
    vnet.writeUInt16LE(mss, 4);
    vnet.writeUInt16LE(20, 6);
    vnet.writeUInt16LE(16, 8);
    A.tun.inbox.push(Buffer.concat([vnet, Buffer.from(ip)]));
    A.drainTx();
    expect(A.udp.sent).toHaveLength(Math.ceil(payload.length / mss));
    const datagrams = deliver(A.udp.sent, B.udp).length;
    B.drainRx();
    // B's kernel gets the flow back in super-packets (GRO), each with its virtio-net header.
    let got = Buffer.alloc(0);
    for (const w of B.tun.written) {
      const h = readVnetHdr(w, 0, { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 });
      expect([VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_NONE]).toContain(h.gsoType);
      got = Buffer.concat([got, Buffer.from(w.subarray(VNET_HDR_LEN + 40))]);
    }
    console.log(`offload: 1 TUN read → ${datagrams} datagrams → ${B.tun.written.length} TUN write(s)`);
    expect(B.tun.written.length).toBeLessThanOrEqual(2); // ≤ 65535 bytes per super-packet: 60 KB of payload in one or two
    expect(got.equals(payload)).toBe(true);
  });
});
