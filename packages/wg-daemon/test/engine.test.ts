/**
 * Two engines with real wg-core Devices, joined by in-memory TUN/bind fakes: the daemon's
 * batching, UAPI set/get and drop counting without any kernel.
 */
import { randomFillSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { publicKeyOf } from "@wg-ts/core";
import { MemoryBind, MemoryTun } from "./support/memory-devices.js";
import { Engine } from "../src/engine.js";
import { generatePrivateKey } from "../src/keys.js";
import { parseSet } from "../src/uapi-protocol.js";
import { toHex } from "../src/keys.js";
import { sleep, until } from "./support/lab.js";

/** A minimal IPv4/ICMP-shaped packet from src to dst (checksums are not checked by the core). */
function ipv4(src: string, dst: string, payload = 32): Uint8Array {
  const p = new Uint8Array(20 + payload);
  p[0] = 0x45;
  p[2] = (p.length >> 8) & 0xff;
  p[3] = p.length & 0xff;
  p[8] = 64;
  p[9] = 1;
  p.set(src.split(".").map(Number), 12);
  p.set(dst.split(".").map(Number), 16);
  return p;
}

/** In memory, a condition holds within a few event-loop turns: poll it every 5 ms for up to 2.5 s. */
const SOON = { ms: 2500, everyMs: 5 };

describe("Engine over in-memory TUN and bind", () => {
  it("handshakes, carries packets both ways, reports via UAPI get, counts drops by reason", async () => {
    const [bindA, bindB] = MemoryBind.pair("10.0.0.1", "10.0.0.2");
    const tunA = new MemoryTun("a");
    const tunB = new MemoryTun("b");
    const a = new Engine({ tun: tunA, bind: bindA, random: (b) => void randomFillSync(b) });
    const b = new Engine({ tun: tunB, bind: bindB, random: (b) => void randomFillSync(b) });
    await a.start(1000);
    await b.start(2000);
    const ka = generatePrivateKey();
    const kb = generatePrivateKey();
    await a.set(
      parseSet([`private_key=${toHex(ka)}`, `public_key=${toHex(publicKeyOf(kb))}`, "endpoint=10.0.0.2:2000", "allowed_ip=192.168.9.2/32"]),
    );
    await b.set(parseSet([`private_key=${toHex(kb)}`, `public_key=${toHex(publicKeyOf(ka))}`, "allowed_ip=192.168.9.1/32"]));

    tunA.inject(ipv4("192.168.9.1", "192.168.9.2"), ipv4("192.168.9.1", "192.168.9.2"));
    await until(() => tunB.written.length === 2, SOON);
    tunB.inject(ipv4("192.168.9.2", "192.168.9.1"));
    await until(() => tunA.written.length === 1, SOON);

    const getA = a.get();
    expect(getA.listenPort).toBe(1000);
    expect(getA.peers[0]!.lastHandshakeAt).toBeGreaterThan(0);
    expect(Number(getA.peers[0]!.txBytes)).toBeGreaterThan(0);
    // B learnt A's endpoint from the authenticated handshake (roaming).
    expect(b.get().peers[0]!.endpoint).toEqual({ address: "10.0.0.1", port: 1000 });

    // No route: dropped and counted, not thrown.
    tunA.inject(ipv4("192.168.9.1", "203.0.113.9"));
    await until(() => (a.drops.get("no-route") ?? 0) === 1, SOON);

    // Crypto-RP: B sends a packet whose source is outside A's allowed IPs for B.
    tunB.inject(ipv4("192.168.99.99", "192.168.9.1"));
    await until(() => (a.drops.get("source-not-allowed") ?? 0) === 1, SOON);
    expect(tunA.written).toHaveLength(1);

    // Garbage datagrams are counted.
    bindA.onBatch([{ datagram: new Uint8Array([9, 9, 9]), endpoint: { address: "10.0.0.2", port: 2000 } }], 1);
    expect([...a.drops.keys()].some((k) => k !== "no-route" && k !== "source-not-allowed")).toBe(true);

    // Drops counted elsewhere (the fast path's workers) are added to the same reasons in the summary.
    a.extraDrops = () => [["source-not-allowed", 5], ["replay", 2]];
    const summary = new Map(a.dropSummary().split(" ").map((kv) => kv.split("=") as [string, string]));
    expect(summary.get("source-not-allowed")).toBe("6");
    expect(summary.get("replay")).toBe(String((a.drops.get("replay") ?? 0) + 2));
    expect(summary.get("no-route")).toBe("1");
    expect(a.dropSummary().match(/source-not-allowed=/g)).toHaveLength(1);
    a.extraDrops = () => [];

    // UAPI remove: the peer disappears.
    await a.set(parseSet([`public_key=${toHex(publicKeyOf(kb))}`, "remove=true"]));
    expect(a.get().peers).toHaveLength(0);
    a.stop();
    b.stop();
  });

  it("hands the TUN's MTU to the core: padding capped at it, changes followed within a tick", async () => {
    const [bindA, bindB] = MemoryBind.pair("10.0.0.1", "10.0.0.2");
    const tunA = new MemoryTun("a");
    const tunB = new MemoryTun("b");
    tunA.linkMtu = 1420;
    const a = new Engine({ tun: tunA, bind: bindA, random: (b) => void randomFillSync(b) });
    const b = new Engine({ tun: tunB, bind: bindB, random: (b) => void randomFillSync(b) });
    await a.start(1000);
    await b.start(2000);
    expect(a.core.device.mtu).toBe(1420);
    expect(b.core.device.mtu).toBe(0);
    const ka = generatePrivateKey();
    const kb = generatePrivateKey();
    await a.set(
      parseSet([`private_key=${toHex(ka)}`, `public_key=${toHex(publicKeyOf(kb))}`, "endpoint=10.0.0.2:2000", "allowed_ip=192.168.9.2/32"]),
    );
    await b.set(parseSet([`private_key=${toHex(kb)}`, `public_key=${toHex(publicKeyOf(ka))}`, "allowed_ip=192.168.9.1/32"]));
    tunA.inject(ipv4("192.168.9.1", "192.168.9.2"));
    await until(() => tunB.written.length === 1, SOON);
    const last = () => bindA.sent.at(-1)!.datagram.length;
    tunA.inject(ipv4("192.168.9.1", "192.168.9.2", 1409 - 20));
    await until(() => tunB.written.length === 2, SOON);
    expect(last()).toBe(32 + 1420); // not 32 + 1424
    tunA.linkMtu = 1300;
    await until(() => a.core.device.mtu === 1300, SOON);
    tunA.inject(ipv4("192.168.9.1", "192.168.9.2", 1299 - 20));
    await until(() => tunB.written.length === 3, SOON);
    expect(last()).toBe(32 + 1300); // not 32 + 1312
    a.stop();
    b.stop();
  });

  it("the timer sleeps until the core's next deadline: no ticks while nothing is armed, a deadline armed meanwhile runs on time", async () => {
    const [bindA] = MemoryBind.pair("10.0.0.1", "10.0.0.2"); // no engine behind 10.0.0.2: initiations go unanswered
    const a = new Engine({ tun: new MemoryTun("a"), bind: bindA, random: (b) => void randomFillSync(b) });
    await a.start(1000);
    const ticks: number[] = [];
    const tick = a.core.tick.bind(a.core);
    a.core.tick = (now, out) => {
      ticks.push(Date.now());
      tick(now, out);
    };
    await sleep(500);
    expect(ticks.length).toBeLessThanOrEqual(1); // the one after start: nothing armed, then it sleeps
    const ka = generatePrivateKey();
    await a.set(parseSet([`private_key=${toHex(ka)}`, `public_key=${toHex(publicKeyOf(generatePrivateKey()))}`, "endpoint=10.0.0.2:2000", "allowed_ip=192.168.9.2/32"]));
    const n0 = ticks.length;
    const t0 = Date.now();
    (a.tun as MemoryTun).inject(ipv4("192.168.9.1", "192.168.9.2")); // no session: an initiation, retransmitted after REKEY_TIMEOUT
    await until(() => bindA.sent.length === 1, SOON);
    await until(() => bindA.sent.length === 2, { ms: 8000, everyMs: 10 });
    const retransmitMs = Date.now() - t0;
    // REKEY_TIMEOUT (5 s) + jitter (≤ 333 ms), not early; a handful of ticks, not one per TICK_MS (~55).
    expect(retransmitMs).toBeGreaterThanOrEqual(4900);
    expect(retransmitMs).toBeLessThan(6500); // slack for a loaded machine
    expect(ticks.length - n0).toBeLessThanOrEqual(6);
    a.stop();
  });

  it("hands a TUN batch to the core within the TUN's own event; done says why the TUN loop ended", async () => {
    const [bindA] = MemoryBind.pair("10.0.0.1", "10.0.0.2");
    const tunA = new MemoryTun("a");
    const a = new Engine({ tun: tunA, bind: bindA, random: (b) => void randomFillSync(b) });
    await a.start(1000);
    // Delivered synchronously: the drops (no private key yet) are counted before onBatch returns (no queue, no promise hop).
    tunA.onBatch([ipv4("192.168.9.1", "203.0.113.9"), ipv4("192.168.9.1", "203.0.113.9")], 2);
    expect(a.drops.get("no-private-key")).toBe(2);
    tunA.remove();
    expect(await a.done).toEqual(new Error("a: interface deleted"));
    a.stop();

    const b = new Engine({ tun: new MemoryTun("b"), bind: new MemoryBind(), random: (b) => void randomFillSync(b) });
    await b.start(0);
    b.stop();
    expect(await b.done).toBeUndefined();
  });
});
