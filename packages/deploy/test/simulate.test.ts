// `wg-deploy simulate`: whole topologies as wg-core Devices over a simulated network, in virtual time,
// with fixed seeds. Every protocol behaviour asserted here comes from wg-core's Device (tick at its
// own nextTickAt); the simulator only moves bytes and watches.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KEEPALIVE_TIMEOUT, REJECT_AFTER_TIME, REKEY_AFTER_TIME, REKEY_TIMEOUT, REKEY_TIMEOUT_JITTER_MAX_MS } from "@wg-ts/core";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli.js";
import { hubSpokeTopology } from "../src/model/reference.js";
import { generatedTopology } from "../src/simulate/generated.js";
import type { LinkReport, SimulationReport } from "../src/simulate/report.js";
import { DEFAULT_TRAFFIC, parseScenarioFile, parseTraffic, type ScenarioEvent, type ScenarioInput } from "../src/simulate/scenario.js";
import { Simulation, type SimulationOptions } from "../src/simulate/simulator.js";
import { siteToSiteTopology, threeSiteMeshTopology } from "../src/topologies/index.js";
import type { DeployIo } from "../src/target.js";

const HOUR = 3_600_000;
const MIN = 60_000;
const RETRY = REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX_MS;
/** Default links: 20 ms ± 5 ms one way. */
const RTT_MAX = 2 * (20 + 5);
/** Drop reasons that would mean the protocol (not the network) lost or held back an inner packet. */
const DATA_DROPS = ["handshake-timeout", "staged-queue-full", "no-endpoint", "no-route", "expired-keypair", "source-not-allowed", "invalid-inner-packet"];

function simulate(options: Omit<SimulationOptions, "scenario"> & { scenario?: ScenarioInput }): { sim: Simulation; report: SimulationReport; ms: number } {
  const started = performance.now();
  const sim = new Simulation(options);
  const report = sim.run();
  return { sim, report, ms: performance.now() - started };
}

const link = (r: SimulationReport, name: string): LinkReport => {
  const l = r.links.find((x) => x.name === name);
  if (l === undefined) throw new Error(`no link ${name} (${r.links.map((x) => x.name).join(", ")})`);
  return l;
};
const traffic = (spec: string) => parseTraffic(spec, "test");
const dataDrops = (r: SimulationReport) =>
  r.gateways.flatMap((g) => Object.entries(g.drops).filter(([reason]) => DATA_DROPS.includes(reason)).map(([reason, n]) => `${g.name} ${reason}=${n}`));

describe("simulate: the protocol over a day and through failures", () => {
  it("hub-spoke, 24 h at 5 % loss: a handshake every ~120 s on every pair, no session lost, no packet lost or held by the protocol", () => {
    // Every 5 s on every link an echo request each way, answered. (With requests one way only, three
    // lost round trips in a row leave the pinging side 15 s without an answer, and wg-core then
    // rightly starts a new handshake early: KEEPALIVE_TIMEOUT + REKEY_TIMEOUT after data sent.)
    const { report, ms } = simulate({ topology: hubSpokeTopology(), seed: 24, duration: 24 * HOUR, scenario: { conditions: { loss: 0.05 }, traffic: traffic("ping=5s") } });
    console.log(`24 h hub-spoke, 5 % loss, pings every 5 s both ways: ${(ms / 1000).toFixed(1)} s wall, ${report.total.handshakes} handshakes, ${report.total.datagrams} datagrams`);
    expect(report.links.map((l) => l.name)).toEqual(["wireguard-hub~wireguard-spoke-01", "wireguard-hub~wireguard-spoke-02", "wireguard-spoke-01~wireguard-spoke-02"]);
    for (const l of report.links) {
      // One session from the first handshake to the end: never lost.
      expect(l.sessions, l.name).toHaveLength(1);
      expect(l.sessionLosses).toBe(0);
      expect(l.sessions[0]![0]).toBeLessThanOrEqual(3 * RETRY);
      expect(l.sessions[0]![1]).toBe(24 * HOUR);
      // Rekeys: never before REKEY_AFTER_TIME; later only by the next packet sent (≤ one ping
      // interval, or a persistent keepalive) plus REKEY_TIMEOUT retries for lost handshake messages.
      const i = l.handshakeInterval!;
      expect(i.min, l.name).toBeGreaterThanOrEqual(REKEY_AFTER_TIME);
      expect(i.mean).toBeLessThan(REKEY_AFTER_TIME + 5000);
      expect(i.max).toBeLessThanOrEqual(REKEY_AFTER_TIME + 5000 + 5 * RETRY);
      expect(l.total.handshakes).toBeGreaterThan((24 * HOUR) / (REKEY_AFTER_TIME + 5000));
      expect(l.total.rekeys).toBe(l.total.handshakes - 1);
      expect(l.hours).toHaveLength(24);
      for (const h of l.hours) expect(h.handshakes, `${l.name} hour ${h.hour}`).toBeGreaterThanOrEqual(28);
      // Every inner packet that did not arrive was lost on the wire (one data datagram each); none
      // was dropped, held back or delivered late by the protocol after the first handshake.
      for (const h of l.hours.slice(0, -1)) expect(h.packetsLost, `${l.name} hour ${h.hour}`).toBe(h.dataDatagramsLost);
      for (const h of l.hours.slice(1)) expect(h.packetsLate, `${l.name} hour ${h.hour}`).toBe(0);
      expect(l.total.packetsLost / l.total.packetsSent).toBeGreaterThan(0.03);
      expect(l.total.packetsLost / l.total.packetsSent).toBeLessThan(0.07);
    }
    expect(dataDrops(report)).toEqual([]);
    expect(report.findings.filter((f) => f.includes("nextTickAt"))).toEqual([]);
    // So every gap is a run of pings the network lost: the longest is a whole number of ping intervals.
    for (const g of report.longestGaps) expect(g.length % 5000 === 0 || Math.abs((g.length % 5000) - 5000) < 1e-6 || g.length % 5000 < 1e-6, JSON.stringify(g)).toBe(true);
  }, 120_000); // a day of virtual time: ~10 s of CPU here, more on a loaded machine

  it("heals a 10-minute partition within REKEY_TIMEOUT + jitter of its end, without operator action", () => {
    const event = { at: 20 * MIN, kind: "partition", between: ["wireguard-spoke-01", "wireguard-spoke-02"], duration: 10 * MIN } as const;
    const { report } = simulate({ topology: hubSpokeTopology(), seed: 7, duration: 1 * HOUR, scenario: { traffic: traffic("ping=1s"), events: [event] } });
    const l = link(report, "wireguard-spoke-01~wireguard-spoke-02");
    // The session died during the partition (REJECT_AFTER_TIME without a new handshake)…
    expect(l.sessions).toHaveLength(2);
    const [first, second] = l.sessions as [[number, number], [number, number]];
    expect(first[1]).toBeGreaterThan(20 * MIN);
    expect(first[1]).toBeLessThanOrEqual(20 * MIN + REJECT_AFTER_TIME + 1000);
    // …and came back on its own: the first handshake after the end within one retry interval.
    const rec = report.events[0]!.recovery[l.name]!;
    expect(report.events[0]!.t0).toBe(30 * MIN);
    expect(rec.handshake).not.toBeNull();
    expect(rec.handshake!).toBeLessThanOrEqual(RETRY + RTT_MAX);
    expect(rec.forward!).toBeLessThanOrEqual(RETRY + RTT_MAX + 1000);
    expect(rec.backward!).toBeLessThanOrEqual(RETRY + RTT_MAX + 1000);
    expect(second[0]).toBeLessThanOrEqual(30 * MIN + RETRY + 1000);
    // The partition's gap: from its start to its end plus that retry, both ways.
    expect(l.total.longestGap).toBeGreaterThanOrEqual(10 * MIN - 1000);
    expect(l.total.longestGap).toBeLessThanOrEqual(10 * MIN + RETRY + 2000);
    // The hub's links never noticed.
    for (const name of ["wireguard-hub~wireguard-spoke-01", "wireguard-hub~wireguard-spoke-02"]) {
      expect(link(report, name).sessionLosses).toBe(0);
      expect(link(report, name).total.packetsLost).toBe(0);
    }
  });

  it("site-to-site: after a NAT rebind the cloud side reaches the NAT'd gateway again through its PersistentKeepalive 25", () => {
    // Only the cloud side (vpn-gw) sends pings: nothing but the keepalives of vpn-client can tell it the new port.
    const event = { at: 30 * MIN, kind: "nat-rebind", gateway: "vpn-client" } as const;
    const { report } = simulate({ topology: siteToSiteTopology(), seed: 3, duration: 1 * HOUR, scenario: { traffic: traffic("ping=1s,pingDirection=forward"), events: [event] } });
    const l = link(report, "vpn-gw~vpn-client");
    expect(report.gateways.find((g) => g.name === "vpn-client")!.behindNat).toBe(true);
    const rec = report.events[0]!.recovery[l.name]!;
    // Pings toward the old port are lost until vpn-client's next keepalive (≤ 25 s) moves vpn-gw's endpoint.
    expect(rec.forward).not.toBeNull();
    expect(rec.forward!).toBeGreaterThan(1000);
    expect(rec.forward!).toBeLessThanOrEqual(25_000 + 1000 + RTT_MAX);
    expect(l.hours[0]!.longestGap).toBeGreaterThan(1000);
    expect(l.hours[0]!.longestGap).toBeLessThanOrEqual(25_000 + 1000);
    expect(l.total.datagramsLost).toBeGreaterThan(0); // to the forgotten mapping
    expect(l.sessionLosses).toBe(0);
  });

  it("site-to-site: a NAT that forgets mappings after 20 s (outbound refresh only) against keepalives every 25 s: lost again and again, recovered each time", () => {
    const { report } = simulate({
      topology: siteToSiteTopology(),
      seed: 5,
      duration: 20 * MIN,
      scenario: { traffic: traffic("ping=30s,pingDirection=forward"), nat: { idleTimeout: 20_000, refreshInbound: false } },
    });
    const l = link(report, "vpn-gw~vpn-client");
    // vpn-client sends (answers, keepalives) at most every 25 s; pings arriving more than 20 s later find no mapping.
    expect(l.total.datagramsLost).toBeGreaterThan(5);
    expect(l.total.packetsDelivered).toBeGreaterThan(5);
    // Each keepalive of vpn-client opens a new mapping and moves vpn-gw's endpoint there (roaming).
    expect(l.total.longestGap).toBeLessThanOrEqual(25_000 + 2 * 30_000);
    const same = simulate({ topology: siteToSiteTopology(), seed: 5, duration: 20 * MIN, scenario: { traffic: traffic("ping=30s,pingDirection=forward"), nat: { idleTimeout: 20_000, refreshInbound: true } } }).report;
    expect(link(same, "vpn-gw~vpn-client").total.datagramsLost).toBe(0); // inbound pings keep it open
  });

  it("a restarted gateway (fresh Device, keys kept) is back within 15 s + jitter of its first outbound packet", () => {
    const event = { at: 30 * MIN, kind: "restart", gateway: "wireguard-spoke-02", down: 10_000 } as const;
    const { report } = simulate({ topology: hubSpokeTopology(), seed: 11, duration: 1 * HOUR, scenario: { traffic: traffic("ping=1s"), events: [event] } });
    const rec = report.events[0]!;
    expect(rec.t0).not.toBeNull();
    expect(rec.t0!).toBeGreaterThanOrEqual(30 * MIN + 10_000);
    expect(Object.keys(rec.recovery)).toEqual(["wireguard-hub~wireguard-spoke-02", "wireguard-spoke-01~wireguard-spoke-02"]);
    for (const [name, r] of Object.entries(rec.recovery)) {
      expect(r.handshake, name).not.toBeNull();
      expect(r.handshake!, name).toBeLessThanOrEqual(KEEPALIVE_TIMEOUT + RETRY + RTT_MAX);
      expect(r.forward!, name).toBeLessThanOrEqual(KEEPALIVE_TIMEOUT + RETRY + RTT_MAX + 1000);
      expect(r.backward!, name).toBeLessThanOrEqual(KEEPALIVE_TIMEOUT + RETRY + RTT_MAX + 1000);
    }
    expect(link(report, "wireguard-hub~wireguard-spoke-01").sessionLosses).toBe(0);
  });

  it("with PersistentKeepalive 0 and no traffic after one exchange, keys are erased 540 s after the last handshake", () => {
    // three-site-mesh has no PersistentKeepalive; one ping each way per link in the first 20 s, then silence.
    const topology = threeSiteMeshTopology();
    const sim = new Simulation({ topology, seed: 9, duration: 20 * MIN, scenario: { traffic: { ...DEFAULT_TRAFFIC, ping: 20_000, stop: 20_000 } } });
    const checks: string[] = [];
    const keys = (gateway: string, peer: string): boolean => {
      const gw = sim.gateway(gateway);
      const p = gw.peerOf.get(sim.gateway(peer).index)!;
      return p.current !== null || p.previous !== null || p.next !== null;
    };
    // Probe every link at 1 s resolution; record when each side's keys disappear.
    const erasedAt = new Map<string, number>();
    const probe = (): void => {
      for (const l of sim.links) {
        for (const [x, y] of [[l.a, l.b], [l.b, l.a]] as const) {
          const k = `${sim.gateways[x]!.name}>${sim.gateways[y]!.name}`;
          if (!erasedAt.has(k) && !keys(sim.gateways[x]!.name, sim.gateways[y]!.name) && sim.elapsed > 30_000) erasedAt.set(k, sim.elapsed);
        }
      }
      if (sim.elapsed < 20 * MIN) sim.queue.at(sim.queue.now + 1000, probe);
    };
    sim.queue.at(sim.start + 1000, probe);
    const report = sim.run();
    for (const l of report.links) {
      const last = l.handshakes.at(-1)!;
      expect(l.handshakes.length, l.name).toBeGreaterThanOrEqual(1);
      expect(last).toBeLessThan(30_000);
      // No traffic, no keepalive: the session ends at REJECT_AFTER_TIME, the keys at 3 × REJECT_AFTER_TIME.
      expect(l.sessions).toHaveLength(1);
      expect(l.sessions[0]![1] - last).toBeGreaterThanOrEqual(REJECT_AFTER_TIME - 1000);
      expect(l.sessions[0]![1] - last).toBeLessThanOrEqual(REJECT_AFTER_TIME + 1000);
      for (const k of [`${l.a}>${l.b}`, `${l.b}>${l.a}`]) {
        const t = erasedAt.get(k);
        expect(t, k).toBeDefined();
        checks.push(`${k} ${t! - last}`);
        expect(t! - last, k).toBeGreaterThanOrEqual(3 * REJECT_AFTER_TIME - 1000);
        expect(t! - last, k).toBeLessThanOrEqual(3 * REJECT_AFTER_TIME + 1000);
      }
      expect(l.total.keepalives).toBeLessThanOrEqual(2); // the handshake's confirmation and one passive keepalive
    }
    expect(report.total.initiations).toBe(report.total.handshakes);
    expect(checks).toHaveLength(6);
  });
});

describe("simulate: reproducible, conditions, scale", () => {
  const eventful: ScenarioInput = {
    conditions: { loss: 0.03, reorder: 0.05, duplicate: 0.02, jitter: 30 },
    traffic: traffic("ping=5s,db=5s,bulk=20/2s/120s"),
    events: [
      { at: 5 * MIN, kind: "partition", between: ["wireguard-hub", "wireguard-spoke-02"], duration: 2 * MIN },
      { at: 10 * MIN, kind: "restart", gateway: "wireguard-hub", down: 5000 },
      { at: 15 * MIN, kind: "rotate-key", gateway: "wireguard-spoke-01" },
      { at: 20 * MIN, kind: "move", gateway: "wireguard-spoke-02", address: "203.0.113.99", reconfigurePeers: true },
    ],
  };

  it("two runs with the same seed give identical JSON; another seed does not", () => {
    const run = (seed: number) => JSON.stringify(simulate({ topology: hubSpokeTopology(), seed, duration: 25 * MIN, scenario: eventful }).report);
    const a = run(42);
    expect(run(42)).toBe(a);
    expect(run(43)).not.toBe(a);
    const r = JSON.parse(a) as SimulationReport;
    expect(r.total.cookieReplies).toBe(0);
    expect(r.total.packetsDelivered).toBeGreaterThan(1000);
    expect(r.events.map((e) => e.kind)).toEqual(["partition", "restart", "rotate-key", "move"]);
    // Duplicated datagrams reach the Devices twice: the second copy is a replay.
    expect(r.gateways.reduce((n, g) => n + (g.drops.replay ?? 0), 0)).toBeGreaterThan(0);
    // After every event each affected link carried traffic both ways again.
    for (const e of r.events) for (const [name, x] of Object.entries(e.recovery)) expect([name, x.forward !== null, x.backward !== null]).toEqual([name, true, true]);
    // The rotated key and the moved endpoint were picked up without a lost session at the end.
    for (const l of r.links) expect(l.sessions.at(-1)![1]).toBe(25 * MIN);
  });

  it("datagrams larger than the path MTU are lost; the db client's answers and the bulk flows are counted", () => {
    const { report } = simulate({ topology: hubSpokeTopology(), seed: 2, duration: 10 * MIN, scenario: { conditions: { mtu: 1400 }, traffic: traffic("ping=5s,db=2s,bulk=20/2s/60s") } });
    // Bulk packets are tunnel-MTU sized (1380 + 32 + 28 > 1400) and db answers 1200 B (fits).
    const l = link(report, "wireguard-hub~wireguard-spoke-01");
    expect(l.total.dataDatagramsLost).toBeGreaterThan(0);
    const db = link(report, "wireguard-spoke-01~wireguard-spoke-02"); // postgres-client (spoke-02) -> rdb (spoke-01)
    expect(db.total.packetsLost).toBeGreaterThan(0); // its bulk
    const ok = simulate({ topology: hubSpokeTopology(), seed: 2, duration: 10 * MIN, scenario: { traffic: traffic("ping=5s,db=2s,bulk=20/2s/60s") } }).report;
    expect(ok.total.packetsLost).toBe(0);
    expect(ok.total.packetsSent).toBeGreaterThan(report.total.packetsSent - 100);
  });

  it("generated:hub-spoke:N and generated:mesh:N come up completely", () => {
    const hub = simulate({ topology: generatedTopology("generated:hub-spoke:40"), seed: 1, duration: 10 * MIN, scenario: { traffic: traffic("ping=10s") } }).report;
    expect(hub.links).toHaveLength(40);
    for (const l of hub.links) expect([l.name, l.sessions.length, l.sessions[0]![1]]).toEqual([l.name, 1, 10 * MIN]);
    const mesh = simulate({ topology: generatedTopology("generated:mesh:8"), seed: 1, duration: 5 * MIN, scenario: { traffic: traffic("ping=10s") } }).report;
    expect(mesh.links).toHaveLength(28);
    expect(mesh.total.packetsLost).toBe(0);
    expect(() => generatedTopology("generated:ring:3")).toThrow(/hub-spoke:N or generated:mesh:N/);
  });

  it("reads scenario files (YAML/JSON) and refuses unknown keys and events", () => {
    const s = parseScenarioFile(
      [
        "network: { loss: 1%, latency: 30ms }",
        "links:",
        "  - between: [wireguard-hub, wireguard-spoke-01]",
        "    loss: 10%",
        "nat: { idleTimeout: 30s }",
        "traffic: { ping: 2s, db: 10s }",
        "events:",
        "  - { at: 1h, partition: [wireguard-hub, wireguard-spoke-02], for: 10m }",
        "  - { at: 90m, restart: wireguard-hub, down: 20s }",
        "  - { at: 2h, natRebind: vpn-client }",
        "  - { at: 3h, rotateKey: wireguard-spoke-01 }",
        "  - { at: 4h, move: wireguard-spoke-02, address: 203.0.113.50, reconfigurePeers: true }",
      ].join("\n"),
      "s.yaml",
    );
    expect(s.conditions).toEqual({ loss: 0.01, latency: 30 });
    expect(s.links).toEqual([{ between: ["wireguard-hub", "wireguard-spoke-01"], conditions: { loss: 0.1 } }]);
    expect(s.nat).toEqual({ idleTimeout: 30_000, refreshInbound: true });
    expect(s.traffic).toMatchObject({ ping: 2000, db: 10_000 });
    expect(s.events!.map((e) => [e.kind, e.at])).toEqual([["partition", HOUR], ["restart", 90 * MIN], ["nat-rebind", 2 * HOUR], ["rotate-key", 3 * HOUR], ["move", 4 * HOUR]]);
    expect(() => parseScenarioFile("events: [{ at: 1h, explode: hub }]", "x")).toThrow(/exactly one of/);
    expect(() => parseScenarioFile("nework: {}", "x")).toThrow(/unknown key "nework"/);
    expect(() => parseScenarioFile("network: { loss: 150% }", "x")).toThrow(/probability/);
    expect(() => parseTraffic("pong=1s", "t")).toThrow(/unknown traffic kind/);
    expect(() => new Simulation({ topology: hubSpokeTopology(), seed: 1, duration: MIN, scenario: { links: [{ between: ["nope", "wireguard-hub"], conditions: {} }] } })).toThrow(/no gateway named "nope"/);
    const refused = (event: ScenarioEvent) => () => new Simulation({ topology: siteToSiteTopology(), seed: 1, duration: MIN, scenario: { events: [event] } });
    expect(refused({ at: 0, kind: "nat-rebind", gateway: "vpn-gw" })).toThrow(/vpn-gw is not behind NAT/);
    expect(refused({ at: 0, kind: "move", gateway: "vpn-client", address: "203.0.113.9", reconfigurePeers: false })).toThrow(/behind NAT/);
    expect(refused({ at: 0, kind: "move", gateway: "vpn-gw", address: "300.1.1.1", reconfigurePeers: false })).toThrow(/invalid IPv4/);
    expect(refused({ at: 0, kind: "restart", gateway: "ghost", down: 0 })).toThrow(/no gateway named "ghost"/);
  });
});

// A wg-core bug the simulator found (fixed): the inbound packet's length was read from the shared
// one-packet batch AFTER #sendStaged had sealed the responder's staged packets with that same batch, so
// the packet that confirmed a responder's session was delivered with the sealed packet's length; a
// confirming keepalive armed the passive-keepalive timer, the responder alone sent the keepalives,
// nothing rekeyed and the session expired at REJECT_AFTER_TIME (a 5-10 s outage at ~3 minutes).
describe("wg-core: the confirming packet's length (a bug the simulator found)", () => {
  it("the Devices deliver to the tunnel exactly the packets the hosts sent", () => {
    const { report } = simulate({ topology: hubSpokeTopology(), seed: 1, duration: 2 * MIN, scenario: { traffic: traffic("ping=1s") } });
    expect(report.findings).toEqual([]);
    expect(report.misdelivered).toBe(0);
  });

  it("no traffic, PersistentKeepalive 25 both ways (seed 000 as planned): no session is ever lost", () => {
    const { report } = simulate({ topology: hubSpokeTopology(), seed: 1, duration: 10 * MIN, scenario: { traffic: traffic("ping=off") } });
    // Before the fix: wireguard-hub~wireguard-spoke-01 was down from 186 s to 196 s.
    for (const l of report.links) expect([l.name, l.sessionLosses]).toEqual([l.name, 0]);
  });
});

describe("wg-deploy simulate (CLI)", () => {
  const run = async (...args: string[]) => {
    let out = "";
    let err = "";
    const cwd = mkdtempSync(join(tmpdir(), "wg-sim-"));
    const io: DeployIo = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env: {}, cwd };
    const status = await main(["node", "wg-deploy", "simulate", ...args], io);
    return { status, out, err, cwd };
  };

  it("prints a table, or the same JSON twice with --json, and writes the SVG timeline", async () => {
    const table = await run("--topology", "site-to-site", "--hours", "0.25", "--loss", "2%", "--event", "at=5m,natRebind=vpn-client", "--svg", "t.svg");
    expect(table.status).toBe(0);
    expect(table.out).toMatch(/^simulate site-to-site: 2 gateways, 1 links, 15m00s virtual, seed 1/);
    expect(table.out).toMatch(/^vpn-gw~vpn-client +0 /m);
    expect(table.out).toMatch(/^TOTAL /m);
    expect(table.out).toMatch(/event \+5m00s NAT rebind in front of vpn-client/);
    expect(table.err).toMatch(/simulated 15m00s of site-to-site in /);
    const svg = readFileSync(join(table.cwd, "t.svg"), "utf8");
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain("vpn-gw ↔ vpn-client");
    expect(svg).toContain("NAT rebind in front of vpn-client");
    rmSync(table.cwd, { recursive: true });

    const args = ["--topology", "hub-spoke", "--hours", "0.1", "--seed", "5", "--loss", "0.05", "--latency", "30", "--jitter", "10", "--reorder", "1%", "--json"];
    const a = await run(...args);
    const b = await run(...args);
    expect(a.status).toBe(0);
    expect(a.out).toBe(b.out);
    const r = JSON.parse(a.out) as SimulationReport;
    expect(r.conditions).toMatchObject({ loss: 0.05, latency: 30, jitter: 10, reorder: 0.01 });
    expect(r.seed).toBe(5);
    expect(r.links).toHaveLength(3);
  });

  it("simulates every registered topology preset (the plans of each, as the lab and the clouds use them)", async () => {
    let listed = "";
    await main(["node", "wg-deploy", "topologies"], { stdout: (t) => void (listed += t), stderr: () => {}, env: {}, cwd: tmpdir() });
    const names = listed.trim().split("\n").map((line) => line.split("\t")[0]!);
    expect(names).toEqual(expect.arrayContaining(["hub-spoke", "three-site-mesh", "site-to-site"]));
    for (const name of names) {
      const r = await run("--topology", name, "--hours", "0.1", "--traffic", "ping=2s", "--json");
      expect([name, r.status, r.err.replace(/^simulated .*\n/, "")]).toEqual([name, 0, ""]);
      const report = JSON.parse(r.out) as SimulationReport;
      expect(report.links.length).toBeGreaterThan(0);
      for (const l of report.links) expect([name, l.name, l.sessionLosses, l.total.packetsLost]).toEqual([name, l.name, 0, 0]);
      rmSync(r.cwd, { recursive: true });
    }
  });

  it("takes a scenario file and refuses bad arguments", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wg-sim-"));
    const file = join(dir, "s.yaml");
    writeFileSync(file, "traffic: { ping: 5s }\nevents:\n  - { at: 2m, partition: [wireguard-hub, wireguard-spoke-01], for: 1m }\n");
    const ok = await run("--hours", "0.1", "--events", file, "--json");
    expect(ok.status).toBe(0);
    expect((JSON.parse(ok.out) as SimulationReport).events[0]).toMatchObject({ kind: "partition", at: 2 * MIN, duration: MIN });
    expect((await run("--loss", "2")).err).toMatch(/--loss: "2" is not a probability/);
    expect((await run("--topology", "nope")).err).toMatch(/unknown topology "nope"/);
    expect((await run("--hours", "0")).err).toMatch(/--hours 0/);
    expect((await run("--event", "at=1m,restart=ghost")).err).toMatch(/no gateway named "ghost"/);
    rmSync(dir, { recursive: true });
  });
});
