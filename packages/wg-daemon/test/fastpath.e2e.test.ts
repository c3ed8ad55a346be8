/**
 * `WG_TS_WORKERS=always wg-ts up` (the fast data plane's worker threads, src/dataplane/) end to end, in two pairs of
 * namespaces joined by veth:
 *
 * - wg-ts fast path <-> wireguard-go (wgf-0a / wgf-0b): pings, packets at the MTU, a TCP transfer
 *   with checksum, `wg show` counters and handshake, crypto-RP (a source outside AllowedIPs is
 *   dropped), a forced new handshake (new private key) with traffic continuing, `ip link del`.
 * - wg-ts fast path <-> wg-ts fast path (wgf-1a / wgf-1b), side a a full tunnel (0.0.0.0/0: fwmark
 *   policy routing, so the fast path's UDP socket must carry SO_MARK), the same transfer, `down`.
 *
 * No timing assertions: the transfer only has to arrive intact.
 */
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  WORKERS_ALWAYS_ENV,
  daemonPids,
  dump,
  eventually,
  exists,
  genkey,
  labPair,
  linkExists,
  linkStats,
  nsSh,
  pairConf,
  ping,
  tcpPayload,
  tempDir,
  wgTs,
  writeConf,
} from "./support/lab.js";
import { daemonStatus } from "./support/status.js";

const dir = tempDir("wgf-");
const { bytes: PAYLOAD_BYTES, hash: payloadHash, transfer } = tcpPayload(dir);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true }); // configs hold private keys
});

describe("wg-ts fast path <-> wireguard-go", () => {
  // a: wg-ts, fast path; b: wireguard-go
  const lab = labPair({ ns: ["wgf-0a", "wgf-0b"], ifaces: ["wgf0a", "wgf0b"], n: 131, ports: [53131, 53132], dir });
  const { ns: NS_A, iface: IF_A, tunnel: A4, underlay: UA4, key: ka, conf: confA } = lab.a;
  const { ns: NS_B, iface: IF_B, tunnel: B4, underlay: UB4, key: kb, conf: confB } = lab.b;

  beforeAll(() => {
    lab.create();
    writeConf(confA, pairConf(lab.a, lab.b));
    writeConf(confB, pairConf(lab.b, lab.a));
    lab.upTsGo(WORKERS_ALWAYS_ENV);
  });

  afterAll(() => lab.downTsGo());

  it("runs the data plane's worker threads once a session exists (WG_TS_WORKERS=always)", async () => {
    expect(daemonPids(IF_A).length).toBeGreaterThan(0);
    expect(ping(NS_A, B4)).toBe(true); // the handshake: a session for the workers to send on
    // SIGUSR1: the daemon logs its drops and "fast path: workers=on|off worker-starts=N …".
    const state = async (): Promise<string> => {
      const s = await daemonStatus(IF_A);
      return `workers=${s.workers} worker-starts=${s.starts}`;
    };
    let last = "";
    for (let i = 0; i < 20 && (last = await state()) !== "workers=on worker-starts=1"; i++) await new Promise((r) => setTimeout(r, 250));
    expect(last).toBe("workers=on worker-starts=1");
  });

  it("pings v4 inner addresses in both directions", () => {
    expect(ping(NS_A, B4)).toBe(true);
    expect(ping(NS_B, A4)).toBe(true);
    expect(ping(NS_A, B4, { count: 5 })).toBe(true);
  });

  it("carries packets at the MTU (1420) with DF, both directions", () => {
    expect(ping(NS_A, B4, { size: 1420 - 28 })).toBe(true);
    expect(ping(NS_B, A4, { size: 1420 - 28 })).toBe(true);
    expect(ping(NS_A, B4, { size: 1420 - 27 })).toBe(false);
  });

  it("a TCP transfer of 4 MiB arrives intact, both directions", async () => {
    expect(await transfer(NS_A, NS_B, B4, 5001)).toBe(`${PAYLOAD_BYTES} ${payloadHash}`);
    expect(await transfer(NS_B, NS_A, A4, 5002)).toBe(`${PAYLOAD_BYTES} ${payloadHash}`);
  });

  it("`wg show`: handshake, endpoint and byte counters include the workers' traffic", async () => {
    // The workers report their traffic to the core every 20 ms: wait for the last report to land.
    await eventually(() => Math.min(dump(NS_A, IF_A).peers[0]?.rx ?? 0, dump(NS_A, IF_A).peers[0]?.tx ?? 0) > PAYLOAD_BYTES, 2000);
    const p = dump(NS_A, IF_A).peers[0]!;
    expect(p.pub).toBe(kb.pub);
    expect(p.endpoint).toBe(`${UB4}:53132`);
    expect(p.handshake).toBeGreaterThan(1_600_000_000);
    expect(p.tx).toBeGreaterThan(PAYLOAD_BYTES);
    expect(p.rx).toBeGreaterThan(PAYLOAD_BYTES);
    const go = dump(NS_B, IF_B).peers[0]!;
    expect(go.rx).toBeGreaterThan(PAYLOAD_BYTES);
    expect(go.tx).toBeGreaterThan(PAYLOAD_BYTES);
  });

  it("crypto-RP: a packet from a source outside AllowedIPs never reaches the TUN", () => {
    nsSh(NS_B, "ip", ["addr", "add", "192.168.131.99/32", "dev", IF_B]);
    const tunBefore = linkStats(NS_A, IF_A).rxPackets;
    expect(ping(NS_B, A4, { src: "192.168.131.99", wait: 1 })).toBe(false);
    expect(linkStats(NS_A, IF_A).rxPackets).toBe(tunBefore);
    nsSh(NS_B, "ip", ["addr", "del", "192.168.131.99/32", "dev", IF_B]);
    expect(ping(NS_B, A4)).toBe(true);
  });

  it("SIGUSR1 logs the workers' drops by reason with the engine's", async () => {
    const s = await daemonStatus(IF_A);
    // The crypto-RP test above: the rx worker refused the inner source (no worker-* totals any more).
    expect(s.drops["source-not-allowed"], s.line).toBeGreaterThan(0);
    expect(s.line).not.toMatch(/worker-(rx|tx)-dropped/);
  });

  it("a new private key forces a new handshake; traffic continues on the new keypair", async () => {
    const hsBefore = dump(NS_B, IF_B).peers[0]!.handshake;
    const k2 = genkey();
    writeConf(`${dir}/k2`, k2.priv + "\n");
    nsSh(NS_A, "wg", ["set", IF_A, "private-key", `${dir}/k2`]);
    expect(ping(NS_A, B4, { wait: 1 })).toBe(false); // B does not know the new key yet
    nsSh(NS_B, "wg", ["set", IF_B, "peer", ka.pub, "remove"]);
    nsSh(NS_B, "wg", ["set", IF_B, "peer", k2.pub, "endpoint", `${UA4}:53131`, "allowed-ips", `${A4}/32`]);
    // B initiates (A's own retry waits for Rekey-Timeout after the rejected attempt above).
    expect(ping(NS_B, A4)).toBe(true);
    expect(ping(NS_A, B4)).toBe(true);
    const go = dump(NS_B, IF_B).peers[0]!;
    expect(go.pub).toBe(k2.pub);
    expect(go.handshake).toBeGreaterThanOrEqual(hsBefore);
    expect(go.handshake).toBeGreaterThan(0);
    expect(await transfer(NS_A, NS_B, B4, 5003)).toBe(`${PAYLOAD_BYTES} ${payloadHash}`);
  });

  it("a packet sent before a session exists waits on the tx worker, which sends it after the handshake (never via the main thread)", async () => {
    // The peer re-added on A: no keypair. One echo request: staged by the tx worker, which asks the
    // core for a handshake ("session") and seals the request itself once the keypair is published.
    nsSh(NS_A, "wg", ["set", IF_A, "peer", kb.pub, "remove"]);
    nsSh(NS_A, "wg", ["set", IF_A, "peer", kb.pub, "endpoint", `${UB4}:53132`, "allowed-ips", `${B4}/32`]);
    const before = await daemonStatus(IF_A);
    expect(before.workers).toBe("on");
    expect(ping(NS_A, B4, { count: 1, wait: 3 })).toBe(true);
    const after = await daemonStatus(IF_A);
    expect(after.workers).toBe("on");
    expect(after.txPackets - before.txPackets).toBeGreaterThanOrEqual(1); // the request left from the worker
    expect(after.drops["worker-stopped"] ?? 0).toBe(0);
    expect(after.drops["handshake-timeout"] ?? 0).toBe(0);
  });

  it("`ip link del` stops the daemon and removes its socket", async () => {
    expect(daemonPids(IF_A).length).toBeGreaterThan(0);
    nsSh(NS_A, "ip", ["link", "del", IF_A]);
    expect(await eventually(() => daemonPids(IF_A).length === 0, 10_000)).toBe(true);
    expect(exists(`/var/run/wireguard/${IF_A}.sock`)).toBe(false);
    expect(linkExists(NS_A, IF_A)).toBe(false);
  });
});

describe("wg-ts fast path <-> wg-ts fast path (full tunnel on one side: fwmark + SO_MARK)", () => {
  const lab = labPair({ ns: ["wgf-1a", "wgf-1b"], ifaces: ["wgf1a", "wgf1b"], n: 132, ports: [53231, 53232], dir });
  const { ns: NS_A, iface: IF_A, tunnel: A4, conf: confA } = lab.a;
  const { ns: NS_B, iface: IF_B, tunnel: B4, conf: confB } = lab.b;

  beforeAll(() => {
    lab.create();
    writeConf(confA, pairConf(lab.a, lab.b, { allowedIPs: "0.0.0.0/0" }));
    writeConf(confB, pairConf(lab.b, lab.a));
    const b = wgTs(NS_B, ["up", confB], WORKERS_ALWAYS_ENV);
    expect(b.status, b.stderr).toBe(0);
    const a = wgTs(NS_A, ["up", confA], WORKERS_ALWAYS_ENV);
    expect(a.status, a.stderr).toBe(0);
  });

  afterAll(() => {
    wgTs(NS_A, ["down", confA]);
    wgTs(NS_B, ["down", confB]);
    lab.clean();
  });

  it("policy routing is in place: the interface carries wg-quick's fwmark", () => {
    expect(dump(NS_A, IF_A).fwmark).toBe("0xca6c");
    expect(nsSh(NS_A, "ip", ["rule", "show"])).toMatch(/not from all fwmark 0xca6c lookup 51820/);
  });

  it("pings through the full tunnel, both directions, at the MTU", () => {
    expect(ping(NS_A, B4)).toBe(true);
    expect(ping(NS_B, A4)).toBe(true);
    expect(ping(NS_A, B4, { size: 1420 - 28 })).toBe(true);
    expect(ping(NS_B, A4, { size: 1420 - 28 })).toBe(true);
  });

  it("a TCP transfer of 4 MiB arrives intact, both directions; counters agree", async () => {
    expect(await transfer(NS_A, NS_B, B4, 5011)).toBe(`${PAYLOAD_BYTES} ${payloadHash}`);
    expect(await transfer(NS_B, NS_A, A4, 5012)).toBe(`${PAYLOAD_BYTES} ${payloadHash}`);
    await eventually(() => (dump(NS_A, IF_A).peers[0]?.tx ?? 0) > PAYLOAD_BYTES && (dump(NS_B, IF_B).peers[0]?.rx ?? 0) > PAYLOAD_BYTES, 2000);
    const a = dump(NS_A, IF_A).peers[0]!;
    const b = dump(NS_B, IF_B).peers[0]!;
    expect(a.tx).toBeGreaterThan(PAYLOAD_BYTES);
    expect(b.rx).toBeGreaterThan(PAYLOAD_BYTES);
    expect(a.handshake).toBeGreaterThan(0);
    expect(b.handshake).toBeGreaterThan(0);
  });

  it("`wg-ts down` removes interface, rules, socket and daemon", async () => {
    expect(wgTs(NS_A, ["down", confA]).status).toBe(0);
    expect(linkExists(NS_A, IF_A)).toBe(false);
    expect(nsSh(NS_A, "ip", ["rule", "show"])).not.toMatch(/fwmark/);
    expect(exists(`/var/run/wireguard/${IF_A}.sock`)).toBe(false);
    // the workers finish their poll(2) (≤ 250 ms) before the process exits
    expect(await eventually(() => daemonPids(IF_A).length === 0, 5000)).toBe(true);
  });
});
