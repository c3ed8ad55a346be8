/**
 * Macro benchmark: two network namespaces joined by a veth pair, a WireGuard tunnel between them
 * built by a chosen pair of implementations, and through it iperf3 TCP in both directions, iperf3
 * UDP at a fixed rate (loss reported), ping latency of a lone packet (50 ms apart) and of a stream
 * (2 ms apart) and, where tcpdump is installed, that lone packet's time per hop (hops.ts), CPU
 * seconds per GB moved on each side and daemon memory. `peers` extra peers
 * (random keys, one /32 each) can be configured on both sides, to compare with the one-peer case.
 *
 * Pairs alternate inside every round (round r starts at pair r mod n), so slow drifts of the
 * shared machine hit every pair alike; the summary is the median over rounds.
 * Traffic stays inside the namespaces this module creates (wgb-bench-a/b); they are deleted at exit.
 */
import { randomBytes } from "node:crypto";
import { startEndpoint, unavailable, keyPair, type ImplName, type RunningEndpoint, type SideSpec } from "./endpoints.js";
import { type Hops, hopsText, measureHops, medianHops, NO_HOPS } from "./hops.js";
import { publicKeyOf } from "@wg-ts/core";
import { cpuSeconds, cpuTimes, have, median, memory, nsRun, run, runAsync, sleep, background } from "./sys.js";

/** Side A, side B, and optionally extra peers configured on both sides for this pair alone (`--pairs a:b+N`). */
export type Pair = readonly [ImplName, ImplName, number?];

export const DEFAULT_PAIRS: readonly Pair[] = [
  ["wg-ts", "wg-ts"],
  ["wg-ts", "wireguard-go"],
  ["wireguard-go", "wireguard-go"],
];
export const BASELINE = "wireguard-go↔wireguard-go";

export interface MacroOptions {
  rounds: number;
  /** Seconds per iperf3 TCP run. */
  seconds: number;
  /** iperf3 -b for the UDP test, e.g. "200M". */
  udpRate: string;
  /**
   * Seconds of quiet after the load before the "after load" RSS is read (default 12: wg-ts stops
   * its worker threads after 10 s below its load threshold; 0 skips the wait and the reading).
   */
  settleSeconds?: number;
  pairs: readonly Pair[];
  /** Extra peers configured on both sides (default 0). */
  peers?: number;
  /** Capture the lone pings hop by hop (default: when tcpdump is installed). */
  hops?: boolean;
  log: (line: string) => void;
}

export interface RoundResult {
  pair: string;
  round: number;
  /** iperf3 TCP A→B (A sends). */
  tcpMbps: number;
  /** iperf3 TCP B→A (`-R`: B sends). */
  tcpRevMbps: number;
  udpSentMbps: number;
  udpRecvMbps: number;
  udpLossPct: number;
  /** Ping RTT average, a lone packet every 50 ms (what an interactive session sees). */
  pingAvgMs: number;
  /** The median of the same RTTs: one slow reply (a GC, the machine's neighbours) does not move it. */
  pingMedianMs: number;
  pingMaxMs: number;
  /** Ping RTT average, one packet every 2 ms. */
  ping2AvgMs: number;
  /**
   * Ping RTT average of a second run of lone packets 50 ms apart, right after the 2 ms one: the
   * daemons' code warm (the first run starts ~1 s after the daemons, whose first pings pay for their JIT).
   */
  pingWarmAvgMs: number;
  /** Per-hop medians (µs) of a second run of lone pings, captured (hops.ts); NaN without tcpdump. */
  hopsUs: Hops;
  /** Daemon CPU seconds (both sides, user+system) per GB of TCP payload received, both directions together. */
  cpuSecPerGB: number;
  /** The same per side: [A, B]. */
  cpuSecPerGBSide: [number, number];
  /** Of that, system (kernel) time per side: [A, B]. */
  sysSecPerGBSide: [number, number];
  idleRssMiB: [number, number];
  /** RssAnon of each daemon when idle: private memory, without shared executable pages. */
  idleAnonMiB: [number, number];
  peakRssMiB: [number, number];
  /** RSS of each daemon {@link MacroOptions.settleSeconds} after the load ended (idle again). */
  afterRssMiB: [number, number];
  error?: string;
}

export interface PairSummary {
  pair: string;
  rounds: number;
  tcpMbps: number;
  tcpVsBaseline: number;
  tcpRevMbps: number;
  tcpRevVsBaseline: number;
  udpRecvMbps: number;
  udpLossPct: number;
  pingAvgMs: number;
  pingMedianMs: number;
  ping2AvgMs: number;
  pingWarmAvgMs: number;
  /** Medians over the rounds, hop by hop. */
  hopsUs: Hops;
  cpuSecPerGB: number;
  /** Medians per side: [A, B]. */
  cpuSecPerGBSide: [number, number];
  /** Medians per side of the system (kernel) part: [A, B]. */
  sysSecPerGBSide: [number, number];
  idleRssMiB: [number, number];
  idleAnonMiB: [number, number];
  peakRssMiB: [number, number];
  afterRssMiB: [number, number];
  errors: string[];
}

export interface MacroResult {
  options: { rounds: number; seconds: number; udpRate: string; settleSeconds: number; peers: number };
  skipped: { pair: string; reason: string }[];
  rounds: RoundResult[];
  summary: PairSummary[];
}

const NS_A = "wgb-bench-a";
const NS_B = "wgb-bench-b";
const VETH_A = "wgbm-va";
const VETH_B = "wgbm-vb";
const UNDER_A = "10.213.0.1";
const UNDER_B = "10.213.0.2";
const TUN_A = "10.214.0.1";
const TUN_B = "10.214.0.2";
const PORT_A = 51820;
const PORT_B = 51821;
const MTU = 1420;
/** Pings 50 ms apart per round (their average, median and max are reported). */
const LONE_PINGS = 100;

export const pairName = (p: Pair): string => `${p[0]}↔${p[1]}${p[2] ? `+${p[2]} peers` : ""}`;

/** What the macro benchmark needs on this machine; each missing item with how to install it. */
export function missingTools(): string[] {
  const out: string[] = [];
  if (process.getuid?.() !== 0) out.push("root (network namespaces, TUN): run as root");
  if (!have("ip")) out.push("ip: apt-get install -y iproute2");
  if (!have("iperf3")) out.push("iperf3: apt-get install -y iperf3");
  if (!have("ping")) out.push("ping: apt-get install -y iputils-ping");
  if (!have("ss")) out.push("ss: apt-get install -y iproute2");
  return out;
}

function teardownLab(): void {
  for (const ns of [NS_A, NS_B]) run("ip", ["netns", "del", ns], { allowFail: true });
}

function setupLab(): void {
  teardownLab();
  run("ip", ["netns", "add", NS_A]);
  run("ip", ["netns", "add", NS_B]);
  run("ip", ["-n", NS_A, "link", "add", VETH_A, "type", "veth", "peer", "name", VETH_B, "netns", NS_B]);
  run("ip", ["-n", NS_A, "addr", "add", `${UNDER_A}/24`, "dev", VETH_A]);
  run("ip", ["-n", NS_B, "addr", "add", `${UNDER_B}/24`, "dev", VETH_B]);
  for (const [ns, dev] of [[NS_A, VETH_A], [NS_B, VETH_B]] as const) {
    run("ip", ["-n", ns, "link", "set", "lo", "up"]);
    run("ip", ["-n", ns, "link", "set", dev, "up"]);
  }
}

/**
 * `n` [Peer] sections with fresh keys, peer i owning 10.(220 + ⌊i/65536⌋).⌊i/256⌋%256.(i%256)/32 —
 * addresses outside the tunnel's and the underlay's, so they never route benchmark traffic.
 */
function extraPeers(n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const pub = Buffer.from(publicKeyOf(new Uint8Array(randomBytes(32)))).toString("base64");
    out.push(`[Peer]\nPublicKey = ${pub}\nAllowedIPs = 10.${220 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}/32\n`);
  }
  return out.join("\n");
}

function sides(p: Pair, slot: number, peers: number): [SideSpec, SideSpec] {
  const a = keyPair();
  const b = keyPair();
  // Distinct names per slot: UAPI sockets in /var/run/wireguard are shared by all namespaces.
  const base = `wgbm${slot % 10}`;
  const A: SideSpec = {
    ns: NS_A, ifname: `${base}a`, privateKey: a.privateKey, listenPort: PORT_A, address: `${TUN_A}/24`, mtu: MTU,
    peer: { publicKey: b.publicKey, endpoint: `${UNDER_B}:${PORT_B}`, allowedIps: `${TUN_B}/32` },
  };
  const B: SideSpec = {
    ns: NS_B, ifname: `${base}b`, privateKey: b.privateKey, listenPort: PORT_B, address: `${TUN_B}/24`, mtu: MTU,
    peer: { publicKey: a.publicKey, endpoint: `${UNDER_A}:${PORT_A}`, allowedIps: `${TUN_A}/32` },
  };
  if (peers > 0) {
    A.extraPeers = extraPeers(peers);
    B.extraPeers = extraPeers(peers);
  }
  return [A, B];
}

async function waitForTunnel(): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const r = await runAsync("ip", ["netns", "exec", NS_A, "ping", "-c", "1", "-W", "1", TUN_B]);
    if (r.code === 0) return;
    await sleep(100);
  }
  throw new Error("tunnel never came up (no ping reply within ~40 attempts)");
}

/** RTTs of `ping`'s output: every reply's `time=` (ms), and the summary line's average and max (NaN when absent). */
export function parsePing(stdout: string): { avg: number; max: number; median: number } {
  const times = [...stdout.matchAll(/ time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  const m = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\//.exec(stdout);
  return { avg: m ? Number(m[2]) : NaN, max: m ? Number(m[3]) : NaN, median: median(times) };
}

/** RTT statistics in ms of `count` pings `interval` seconds apart from A to B. */
async function pingStats(count: number, interval: string): Promise<{ avg: number; max: number; median: number }> {
  const ping = await runAsync("ip", ["netns", "exec", NS_A, "ping", "-c", String(count), "-i", interval, TUN_B]);
  return parsePing(ping.stdout);
}

async function iperfJson(args: string[]): Promise<Record<string, unknown>> {
  const r = await runAsync("ip", ["netns", "exec", NS_A, "iperf3", "-c", TUN_B, "-J", ...args]);
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`iperf3 ${args.join(" ")}: ${r.stderr || r.stdout.slice(0, 300)}`);
  }
  if (typeof j["error"] === "string") throw new Error(`iperf3: ${j["error"]}`);
  return j;
}

type J = Record<string, unknown> | undefined;
const obj = (x: unknown): J => (x && typeof x === "object" ? (x as Record<string, unknown>) : undefined);
const num = (x: unknown): number => (typeof x === "number" ? x : Number.NaN);

async function measurePair(p: Pair, round: number, slot: number, o: MacroOptions): Promise<RoundResult> {
  const res: RoundResult = {
    pair: pairName(p), round, tcpMbps: NaN, tcpRevMbps: NaN, udpSentMbps: NaN, udpRecvMbps: NaN, udpLossPct: NaN,
    pingAvgMs: NaN, pingMedianMs: NaN, pingMaxMs: NaN, ping2AvgMs: NaN, pingWarmAvgMs: NaN, hopsUs: NO_HOPS, cpuSecPerGB: NaN, cpuSecPerGBSide: [NaN, NaN], sysSecPerGBSide: [NaN, NaN],
    idleRssMiB: [NaN, NaN], idleAnonMiB: [NaN, NaN], peakRssMiB: [NaN, NaN], afterRssMiB: [NaN, NaN],
  };
  const [sa, sb] = sides(p, slot, p[2] ?? o.peers ?? 0);
  const eps: RunningEndpoint[] = [];
  let server: ReturnType<typeof background> | null = null;
  try {
    eps.push(await startEndpoint(p[0], sa));
    eps.push(await startEndpoint(p[1], sb));
    try {
      await waitForTunnel();
    } catch (e) {
      // Say why: the daemons' own last words, and what wg shows on each side.
      const tail = (x: RunningEndpoint): string => x.log().trim().split("\n").slice(-3).join(" / ");
      const show = (ns: string, s: SideSpec): string =>
        nsRun(ns, ["wg", "show", s.ifname, "latest-handshakes"], { allowFail: true }).trim() || "(no wg show)";
      throw new Error(
        `${(e as Error).message}; A: ${tail(eps[0]!)} ${show(NS_A, sa)}; B: ${tail(eps[1]!)} ${show(NS_B, sb)}`,
      );
    }
    server = background("ip", ["netns", "exec", NS_B, "iperf3", "-s", "-B", TUN_B]);
    await sleep(300);
    const [ea, eb] = eps as [RunningEndpoint, RunningEndpoint];
    const rss = (e: RunningEndpoint, key: "rssMiB" | "hwmMiB" | "anonMiB"): number =>
      e.pids.reduce((s, pid) => s + memory(pid)[key], 0);
    res.idleRssMiB = [rss(ea, "rssMiB"), rss(eb, "rssMiB")];
    res.idleAnonMiB = [rss(ea, "anonMiB"), rss(eb, "anonMiB")];

    ({ avg: res.pingAvgMs, max: res.pingMaxMs, median: res.pingMedianMs } = await pingStats(LONE_PINGS, "0.05"));
    res.ping2AvgMs = (await pingStats(500, "0.002")).avg;
    res.pingWarmAvgMs = (await pingStats(LONE_PINGS, "0.05")).avg;
    if (o.hops === true) {
      const points = { nsA: NS_A, nsB: NS_B, tunA: sa.ifname, tunB: sb.ifname, vethA: VETH_A, underlay: { a: UNDER_A, b: UNDER_B } };
      res.hopsUs = await measureHops(points, () => pingStats(LONE_PINGS, "0.05"));
    }

    const cpu = (e: RunningEndpoint): number => e.pids.reduce((s, pid) => s + cpuSeconds(pid), 0);
    const sys = (e: RunningEndpoint): number => e.pids.reduce((s, pid) => s + cpuTimes(pid).system, 0);
    const cpu0 = [cpu(ea), cpu(eb)];
    const sys0 = [sys(ea), sys(eb)];
    let gb = 0;
    for (const reverse of [false, true]) {
      const tcp = await iperfJson(["-t", String(o.seconds), ...(reverse ? ["-R"] : [])]);
      const recv = obj(obj(tcp["end"])?.["sum_received"]);
      const mbps = num(recv?.["bits_per_second"]) / 1e6;
      if (reverse) res.tcpRevMbps = mbps;
      else res.tcpMbps = mbps;
      gb += num(recv?.["bytes"]) / 1e9;
    }
    res.cpuSecPerGBSide = [(cpu(ea) - cpu0[0]!) / gb, (cpu(eb) - cpu0[1]!) / gb];
    res.cpuSecPerGB = res.cpuSecPerGBSide[0] + res.cpuSecPerGBSide[1];
    res.sysSecPerGBSide = [(sys(ea) - sys0[0]!) / gb, (sys(eb) - sys0[1]!) / gb];

    const udp = await iperfJson(["-u", "-b", o.udpRate, "-l", String(MTU - 28), "-t", "3"]);
    const end = obj(udp["end"]);
    const sum = obj(end?.["sum"]);
    res.udpSentMbps = num(obj(end?.["sum_sent"])?.["bits_per_second"] ?? sum?.["bits_per_second"]) / 1e6;
    res.udpLossPct = num(obj(end?.["sum_received"])?.["lost_percent"] ?? sum?.["lost_percent"]);
    res.udpRecvMbps = num(obj(end?.["sum_received"])?.["bits_per_second"]) / 1e6;
    if (!Number.isFinite(res.udpRecvMbps)) res.udpRecvMbps = res.udpSentMbps * (1 - res.udpLossPct / 100);
    res.peakRssMiB = [rss(ea, "hwmMiB"), rss(eb, "hwmMiB")];
    const settle = o.settleSeconds ?? 12;
    if (settle > 0) {
      await sleep(settle * 1000);
      res.afterRssMiB = [rss(ea, "rssMiB"), rss(eb, "rssMiB")];
    }
  } catch (e) {
    res.error = e instanceof Error ? e.message.split("\n").slice(0, 6).join(" | ") : String(e);
    // The daemons' last words (a daemon that exited or deleted its link explains most failures).
    for (const ep of eps) {
      const last = ep.log().trim().split("\n").slice(-3).join(" / ");
      if (last && !res.error.includes(last)) res.error += ` | ${ep.impl}: ${last}`;
    }
  } finally {
    await server?.stop();
    for (const e of eps.reverse()) await e.stop();
    for (const [ns, s] of [[NS_A, sa], [NS_B, sb]] as const)
      nsRun(ns, ["ip", "link", "del", s.ifname], { allowFail: true });
  }
  return res;
}

function summarize(rounds: RoundResult[], pairs: readonly Pair[]): PairSummary[] {
  const out: PairSummary[] = pairs.map((p) => {
    const rs = rounds.filter((r) => r.pair === pairName(p));
    const med = (f: (r: RoundResult) => number): number => median(rs.map(f));
    return {
      pair: pairName(p),
      rounds: rs.filter((r) => !r.error).length,
      tcpMbps: med((r) => r.tcpMbps),
      tcpVsBaseline: NaN,
      tcpRevMbps: med((r) => r.tcpRevMbps),
      tcpRevVsBaseline: NaN,
      udpRecvMbps: med((r) => r.udpRecvMbps),
      udpLossPct: med((r) => r.udpLossPct),
      pingAvgMs: med((r) => r.pingAvgMs),
      pingMedianMs: med((r) => r.pingMedianMs),
      ping2AvgMs: med((r) => r.ping2AvgMs),
      pingWarmAvgMs: med((r) => r.pingWarmAvgMs),
      hopsUs: medianHops(rs.map((r) => r.hopsUs)),
      cpuSecPerGB: med((r) => r.cpuSecPerGB),
      cpuSecPerGBSide: [med((r) => r.cpuSecPerGBSide[0]), med((r) => r.cpuSecPerGBSide[1])],
      sysSecPerGBSide: [med((r) => r.sysSecPerGBSide[0]), med((r) => r.sysSecPerGBSide[1])],
      idleRssMiB: [med((r) => r.idleRssMiB[0]), med((r) => r.idleRssMiB[1])],
      idleAnonMiB: [med((r) => r.idleAnonMiB[0]), med((r) => r.idleAnonMiB[1])],
      peakRssMiB: [med((r) => r.peakRssMiB[0]), med((r) => r.peakRssMiB[1])],
      afterRssMiB: [med((r) => r.afterRssMiB[0]), med((r) => r.afterRssMiB[1])],
      errors: rs.flatMap((r) => (r.error ? [`round ${r.round}: ${r.error}`] : [])),
    };
  });
  // Ratios against wireguard-go↔wireguard-go, computed round by round (same moment of the
  // shared machine) and then the median of those ratios.
  const ratio = (pair: string, f: (r: RoundResult) => number): number =>
    median(
      rounds
        .filter((r) => r.pair === pair)
        .map((r) => {
          const base = rounds.find((b) => b.pair === BASELINE && b.round === r.round);
          return base ? f(r) / f(base) : NaN;
        }),
    );
  for (const s of out) {
    s.tcpVsBaseline = ratio(s.pair, (r) => r.tcpMbps);
    s.tcpRevVsBaseline = ratio(s.pair, (r) => r.tcpRevMbps);
  }
  return out;
}

export async function runMacro(o: MacroOptions): Promise<MacroResult> {
  const skipped: { pair: string; reason: string }[] = [];
  const pairs = o.pairs.filter((p) => {
    const why = unavailable(p[0]) ?? unavailable(p[1]);
    if (why) skipped.push({ pair: pairName(p), reason: why });
    return !why;
  });
  for (const s of skipped) o.log(`macro: skipping ${s.pair}: ${s.reason}`);
  const hops = o.hops ?? have("tcpdump");
  if (!hops) o.log("macro: no tcpdump: the per-hop latency is left out (apt-get install -y tcpdump)");
  const rounds: RoundResult[] = [];
  const cleanup = (): void => teardownLab();
  const onSignal = (): void => {
    cleanup();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    setupLab();
    let slot = 0;
    for (let round = 1; round <= o.rounds; round++) {
      for (let i = 0; i < pairs.length; i++) {
        const p = pairs[(i + round - 1) % pairs.length]!;
        o.log(`macro: round ${round}/${o.rounds} ${pairName(p)} …`);
        const r = await measurePair(p, round, slot++, { ...o, hops });
        rounds.push(r);
        o.log(
          r.error
            ? `macro:   FAILED ${r.error}`
            : `macro:   tcp ${r.tcpMbps.toFixed(0)} / reverse ${r.tcpRevMbps.toFixed(0)} Mbit/s, udp ${r.udpRecvMbps.toFixed(0)} Mbit/s loss ${r.udpLossPct.toFixed(2)}%, ` +
                `ping ${r.pingAvgMs.toFixed(3)} ms (median ${r.pingMedianMs.toFixed(3)}; 2 ms apart: ${r.ping2AvgMs.toFixed(3)}; warm: ${r.pingWarmAvgMs.toFixed(3)}), ` +
                (hops ? `hops µs ${hopsText(r.hopsUs)} (${r.hopsUs.pings} pings), ` : "") +
                `CPU s/GB ${r.cpuSecPerGBSide.map((x) => x.toFixed(1)).join("+")} (system ${r.sysSecPerGBSide.map((x) => x.toFixed(1)).join("+")}), ` +
                `rss idle ${r.idleRssMiB.map((x) => x.toFixed(1)).join("/")} MiB, after load ${r.afterRssMiB.map((x) => x.toFixed(1)).join("/")} MiB`,
        );
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    cleanup();
  }
  return { options: { rounds: o.rounds, seconds: o.seconds, udpRate: o.udpRate, settleSeconds: o.settleSeconds ?? 12, peers: o.peers ?? 0 }, skipped, rounds, summary: summarize(rounds, pairs) };
}
