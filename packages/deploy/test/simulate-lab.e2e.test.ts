/**
 * The simulator against the lab, for real: site-to-site (seed 001: vpn-client behind NAT with
 * PersistentKeepalive 25, vpn-gw without) in network namespaces with wg-ts, and the same topology
 * and traffic in `Simulation`, over WINDOW (5 minutes of real time): vpn-client's tunnel is
 * (re)started at t0, vpn-gw pings vpn-client every 2 s for the first 2 minutes, then nothing. Both
 * must put the same handshake messages and keepalives on the wire, per direction, within what
 * real-time jitter allows. The lab side is counted by nftables counters on each gateway's WireGuard
 * port (UDP payload type byte, keepalive = 32-byte payload); the simulator side from its trace.
 * Needs root, `pnpm build` first; takes WINDOW + about a minute. SIM_LAB_WINDOW=seconds shortens it.
 */
import { afterAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { inNs, run, sleep } from "../../wg-daemon/test/support/lab.js";
import { Simulation } from "../src/simulate/simulator.js";
import { parseTraffic } from "../src/simulate/scenario.js";
import { siteToSiteTopology } from "../src/topologies/index.js";

const WG_DEPLOY = fileURLToPath(new URL("../bin/wg-deploy.js", import.meta.url));
const STATE_DIR = "/run/wg-ts-lab-simulate-e2e";
const ENV = { ...process.env, WG_DEPLOY_LAB_DIR: STATE_DIR, WG_DEPLOY_WIREGUARD: "wg-ts" };
const WINDOW = Number(process.env["SIM_LAB_WINDOW"] ?? 300) * 1000;
const PING_EVERY = 2000;
const PING_FOR = 120_000;
const PORT = siteToSiteTopology().overlay.port;
const TABLE = "wgts_simcount";
const KINDS = ["initiation", "response", "cookie", "keepalive", "transport"] as const;
type Counts = Record<(typeof KINDS)[number], number>;

const wgDeploy = (...args: string[]) => run(process.execPath, [WG_DEPLOY, ...args], { env: ENV });

/** nftables counters of the WireGuard datagrams a gateway sends, by message type. */
function installCounters(ns: string): void {
  const rules = [
    `table inet ${TABLE} {`,
    ...KINDS.map((k) => `  counter ${k} {}`),
    "  chain out {",
    "    type filter hook output priority 0; policy accept;",
    `    udp sport ${PORT} @th,64,8 1 counter name "initiation"`,
    `    udp sport ${PORT} @th,64,8 2 counter name "response"`,
    `    udp sport ${PORT} @th,64,8 3 counter name "cookie"`,
    `    udp sport ${PORT} udp length 40 @th,64,8 4 counter name "keepalive"`,
    `    udp sport ${PORT} @th,64,8 4 counter name "transport"`,
    "  }",
    "}",
  ].join("\n");
  inNs(ns, "nft", ["delete", "table", "inet", TABLE]);
  const r = inNs(ns, "nft", ["-f", "-"], { input: `${rules}\n` });
  if (r.status !== 0) throw new Error(`nft in ${ns}: ${r.stderr}`);
}

function readCounters(ns: string): Counts {
  const r = inNs(ns, "nft", ["-j", "list", "counters", "table", "inet", TABLE]);
  if (r.status !== 0) throw new Error(`nft list in ${ns}: ${r.stderr}`);
  const out = Object.fromEntries(KINDS.map((k) => [k, 0])) as Counts;
  for (const item of (JSON.parse(r.stdout) as { nftables: { counter?: { name: string; packets: number } }[] }).nftables) {
    if (item.counter && (KINDS as readonly string[]).includes(item.counter.name)) out[item.counter.name as keyof Counts] = item.counter.packets;
  }
  return out;
}

/** The same window in the simulator, counted per sending gateway from the trace. */
function simulated(): Record<"vpn-gw" | "vpn-client", Counts> {
  const counts = { "vpn-gw": zero(), "vpn-client": zero() };
  const sim = new Simulation({
    topology: siteToSiteTopology(),
    seed: 1,
    duration: WINDOW,
    // The lab's veths: no loss, sub-millisecond latency.
    scenario: { conditions: { latency: 0.05, jitter: 0.05 }, traffic: parseTraffic(`ping=${PING_EVERY}ms,pingDirection=forward,stop=${PING_FOR}ms`, "lab") },
    trace: (line) => {
      const m = /^\+\S+ (vpn-gw|vpn-client) -> \S+ type (\d) len (\d+) sent$/.exec(line);
      if (!m) return;
      const c = counts[m[1] as "vpn-gw" | "vpn-client"];
      const type = Number(m[2]);
      if (type === 1) c.initiation++;
      if (type === 2) c.response++;
      if (type === 3) c.cookie++;
      if (type === 4) c.transport++;
      if (type === 4 && m[3] === "32") c.keepalive++;
    },
  });
  sim.run();
  return counts;
}

function zero(): Counts {
  return { initiation: 0, response: 0, cookie: 0, keepalive: 0, transport: 0 };
}

afterAll(() => void wgDeploy("down"));

describe("simulator vs lab: site-to-site", () => {
  it(
    `puts the same handshakes and keepalives on the wire over ${WINDOW / 1000} s`,
    async () => {
      wgDeploy("down");
      const up = wgDeploy("up", "--topology", "site-to-site");
      expect(up.status, up.stderr).toBe(0);
      // t0: counting starts and vpn-client's tunnel starts afresh (its PersistentKeepalive starts a handshake at once).
      for (const gw of ["vpn-gw", "vpn-client"]) installCounters(`wgts-${gw}`);
      const t0 = Date.now();
      const restart = wgDeploy("restart", "vpn-client");
      expect(restart.status, restart.stderr).toBe(0);
      // vpn-gw pings vpn-client's overlay address every 2 s for 2 minutes (in the background).
      const pinger = run("sh", ["-c", `ip netns exec wgts-vpn-gw ping -q -i ${PING_EVERY / 1000} -c ${PING_FOR / PING_EVERY} 172.16.0.2 >/dev/null 2>&1 &`]);
      expect(pinger.status).toBe(0);
      await sleep(Math.max(0, t0 + WINDOW - Date.now()));
      const lab = { "vpn-gw": readCounters("wgts-vpn-gw"), "vpn-client": readCounters("wgts-vpn-client") };
      const sim = simulated();
      console.log(JSON.stringify({ windowSeconds: WINDOW / 1000, lab, sim }));
      for (const gw of ["vpn-gw", "vpn-client"] as const) {
        // Handshake messages: exactly the same (no loss on either network).
        expect([gw, "initiation", lab[gw].initiation]).toEqual([gw, "initiation", sim[gw].initiation]);
        expect([gw, "response", lab[gw].response]).toEqual([gw, "response", sim[gw].response]);
        expect(lab[gw].cookie).toBe(0);
        expect(sim[gw].cookie).toBe(0);
        // Keepalives: real time shifts a timer across the window's end at most once per timer kind.
        expect(Math.abs(lab[gw].keepalive - sim[gw].keepalive), `${gw} keepalives lab ${lab[gw].keepalive} sim ${sim[gw].keepalive}`).toBeLessThanOrEqual(1);
        // All transport datagrams (pings, answers, keepalives): within a few of each other.
        expect(Math.abs(lab[gw].transport - sim[gw].transport), `${gw} transport lab ${lab[gw].transport} sim ${sim[gw].transport}`).toBeLessThanOrEqual(3);
      }
    },
    WINDOW + 240_000,
  );
});
