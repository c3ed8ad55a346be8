/**
 * The fast path's worker threads (`WG_TS_WORKERS=always wg-ts up`) with several peers: a hub (wgf-mh) whose two peers
 * are a wireguard-go node (wgf-ma, IPv4 underlay) and a wg-ts node (wgf-mb, IPv6 underlay endpoint),
 * then a third peer (wgf-mc, wg-ts) added live with `wg set` and removed again.
 *
 * Checks pings and a 4 MiB TCP transfer with checksum to each peer through the hub, and that the
 * hub's workers carried them (SIGUSR1: "fast path: workers=on worker-starts=1 peers=N worker-tx-packets=… worker-rx-packets=…",
 * the log line "fast path: N peers in the workers"): a test passing on the main-thread fallback
 * would prove nothing. No timing assertions.
 */
import { readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  WORKERS_ALWAYS_ENV,
  cleanLeftovers,
  daemonPids,
  dump,
  eventually,
  genkey,
  logPath,
  nsSh,
  ping,
  quickConf,
  sh,
  tcpPayload,
  tempDir,
  wgQuickGo,
  wgTs,
  writeConf,
  type Result,
} from "./support/lab.js";
import { daemonStatus } from "./support/status.js";

const dir = tempDir("wgfm-");
const { bytes: PAYLOAD_BYTES, hash: payloadHash, transfer } = tcpPayload(dir);

const NS_H = "wgf-mh"; // hub: wg-ts, fast path
const NS_A = "wgf-ma"; // wireguard-go, IPv4 underlay
const NS_B = "wgf-mb"; // wg-ts, IPv6 underlay
const NS_C = "wgf-mc"; // wg-ts, added live
const IF_H = "wgfmh";
const IF_A = "wgfma";
const IF_B = "wgfmb";
const IF_C = "wgfmc";
const H4 = "192.168.141.1";
const A4 = "192.168.141.2";
const B4 = "192.168.141.3";
const C4 = "192.168.141.4";
const PORT_H = 53141;
const PORT_A = 53142;
const PORT_B = 53143;
const PORT_C = 53144;
const kh = genkey();
const ka = genkey();
const kb = genkey();
const kc = genkey();

/** A veth between the hub and `ns` (underlay 10.141.n.1/2, fd01:141:n::1/2). */
function link(ns: string, n: number): void {
  sh("ip", ["netns", "add", ns]);
  const vh = `wgfmh${n}`;
  const vs = `${ns}v`;
  sh("ip", ["link", "add", vh, "netns", NS_H, "type", "veth", "peer", "name", vs, "netns", ns]);
  for (const [space, dev, host] of [
    [NS_H, vh, 1],
    [ns, vs, 2],
  ] as const) {
    sh("ip", ["-n", space, "link", "set", "lo", "up"]);
    sh("ip", ["-n", space, "addr", "add", `10.141.${n}.${host}/24`, "dev", dev]);
    sh("ip", ["-n", space, "addr", "add", `fd01:141:${n}::${host}/64`, "dev", dev, "nodad"]);
    sh("ip", ["-n", space, "link", "set", dev, "up"]);
  }
}

function spokeConf(path: string, priv: string, port: number, addr: string, hubEndpoint: string): void {
  writeConf(path, quickConf({ priv, port, address: `${addr}/24`, peers: [{ pub: kh.pub, allowedIPs: `${H4}/32`, endpoint: hubEndpoint, keepalive: 25 }] }));
}

/** The hub daemon's fast path counters (SIGUSR1); its workers must be running. */
async function hubStatus(): Promise<{ peers: number; tx: number; rx: number }> {
  const s = await daemonStatus(IF_H);
  expect(s.workers, s.line).toBe("on");
  return { peers: s.peers, tx: s.txPackets, rx: s.rxPackets };
}

/** Both directions between the hub and a spoke; the hub's workers carry at least one payload's worth each way. */
async function transfers(ns: string, addr: string, port: number): Promise<void> {
  const before = await hubStatus();
  expect(await transfer(NS_H, ns, addr, port)).toBe(`${PAYLOAD_BYTES} ${payloadHash}`);
  expect(await transfer(ns, NS_H, H4, port + 1)).toBe(`${PAYLOAD_BYTES} ${payloadHash}`);
  const after = await hubStatus();
  // 4 MiB in ≤ 1420-byte segments: ≥ 2950 packets each way, plus the ACKs of the other transfer.
  expect(after.tx - before.tx).toBeGreaterThan(2900);
  expect(after.rx - before.rx).toBeGreaterThan(2900);
}

const confH = `${dir}/${IF_H}.conf`;
const confA = `${dir}/${IF_A}.conf`;
const confB = `${dir}/${IF_B}.conf`;
const confC = `${dir}/${IF_C}.conf`;

beforeAll(() => {
  cleanLeftovers([NS_H, NS_A, NS_B, NS_C], [IF_H, IF_A, IF_B, IF_C]);
  sh("ip", ["netns", "add", NS_H]);
  link(NS_A, 1);
  link(NS_B, 2);
  link(NS_C, 3);
  writeConf(
    confH,
    quickConf({
      priv: kh.priv,
      port: PORT_H,
      address: `${H4}/24`,
      peers: [
        { pub: ka.pub, allowedIPs: `${A4}/32`, endpoint: `10.141.1.2:${PORT_A}` },
        { pub: kb.pub, allowedIPs: `${B4}/32`, endpoint: `[fd01:141:2::2]:${PORT_B}` },
      ],
    }),
  );
  spokeConf(confA, ka.priv, PORT_A, A4, `10.141.1.1:${PORT_H}`);
  spokeConf(confB, kb.priv, PORT_B, B4, `[fd01:141:2::1]:${PORT_H}`);
  spokeConf(confC, kc.priv, PORT_C, C4, `10.141.3.1:${PORT_H}`);
  const up = wgTs(NS_H, ["up", confH], WORKERS_ALWAYS_ENV);
  expect(up.status, up.stderr).toBe(0);
  const go = wgQuickGo(NS_A, "up", confA);
  expect(go.status, go.stderr).toBe(0);
  for (const [ns, conf] of [
    [NS_B, confB],
    [NS_C, confC],
  ] as const) {
    const r: Result = wgTs(ns, ["up", conf]);
    expect(r.status, r.stderr).toBe(0);
  }
});

afterAll(() => {
  wgTs(NS_H, ["down", confH]);
  wgQuickGo(NS_A, "down", confA);
  wgTs(NS_B, ["down", confB]);
  wgTs(NS_C, ["down", confC]);
  cleanLeftovers([NS_H, NS_A, NS_B, NS_C], [IF_H, IF_A, IF_B, IF_C]);
  rmSync(dir, { recursive: true, force: true }); // configs hold private keys
});

describe("wg-ts fast path hub with several peers (wireguard-go, wg-ts over IPv6, one added live)", () => {
  it("runs on the fast path with both peers in the workers", async () => {
    expect(daemonPids(IF_H).length).toBeGreaterThan(0);
    expect(await eventually(() => readFileSync(logPath(IF_H), "utf8").includes(`${IF_H}: fast path: 2 peers in the workers`), 3000)).toBe(true);
    expect((await hubStatus()).peers).toBe(2);
  });

  it("pings each peer through the hub, both directions", () => {
    expect(ping(NS_H, A4)).toBe(true);
    expect(ping(NS_H, B4)).toBe(true);
    expect(ping(NS_A, H4)).toBe(true);
    expect(ping(NS_B, H4)).toBe(true);
    expect(ping(NS_H, A4, { count: 5, size: 1420 - 28 })).toBe(true);
    expect(ping(NS_H, B4, { count: 5, size: 1420 - 28 })).toBe(true);
  });

  it("a TCP transfer of 4 MiB to and from the wireguard-go peer (IPv4 endpoint) goes through the workers", async () => {
    await transfers(NS_A, A4, 5101);
  });

  it("a TCP transfer of 4 MiB to and from the wg-ts peer (IPv6 endpoint) goes through the workers", async () => {
    await transfers(NS_B, B4, 5111);
  });

  it("`wg show` on the hub: each peer's endpoint, handshake and counters with the workers' traffic", async () => {
    // The workers report their traffic to the core every 20 ms: wait for the last report to land.
    await eventually(() => dump(NS_H, IF_H).peers.every((p) => Math.min(p.rx, p.tx) > PAYLOAD_BYTES), 2000);
    const peers = dump(NS_H, IF_H).peers;
    const a = peers.find((p) => p.pub === ka.pub)!;
    const b = peers.find((p) => p.pub === kb.pub)!;
    expect(a.endpoint).toBe(`10.141.1.2:${PORT_A}`);
    expect(b.endpoint).toBe(`[fd01:141:2::2]:${PORT_B}`);
    for (const p of [a, b]) {
      expect(p.handshake).toBeGreaterThan(1_600_000_000);
      expect(p.tx).toBeGreaterThan(PAYLOAD_BYTES);
      expect(p.rx).toBeGreaterThan(PAYLOAD_BYTES);
    }
  });

  it("a peer added live with `wg set` is served by the workers; removing it leaves the others working", async () => {
    nsSh(NS_H, "wg", ["set", IF_H, "peer", kc.pub, "allowed-ips", `${C4}/32`, "endpoint", `10.141.3.2:${PORT_C}`]);
    expect(await eventually(() => readFileSync(logPath(IF_H), "utf8").includes(`${IF_H}: fast path: 3 peers in the workers`), 3000)).toBe(true);
    expect(ping(NS_H, C4, { count: 3 })).toBe(true);
    expect(ping(NS_C, H4)).toBe(true);
    await transfers(NS_C, C4, 5121);
    expect((await hubStatus()).peers).toBe(3);
    nsSh(NS_H, "wg", ["set", IF_H, "peer", kc.pub, "remove"]);
    expect(await eventually(() => readFileSync(logPath(IF_H), "utf8").includes(`${IF_H}: fast path: 2 peers in the workers`, readFileSync(logPath(IF_H), "utf8").lastIndexOf("3 peers")), 3000)).toBe(true);
    expect(ping(NS_H, C4, { wait: 1 })).toBe(false);
    expect(ping(NS_H, A4)).toBe(true);
    expect(ping(NS_H, B4)).toBe(true);
  });
});
