/**
 * Soak run (a benchmark, not a CI test): iperf3 TCP through a wg-ts <-> wireguard-go tunnel for N
 * minutes while the wg-ts daemon's RSS (and wireguard-go's, side by side) is sampled every few
 * seconds. Prints the curve and writes benchmarks/results/soak-<timestamp>.json and .svg.
 *
 *   node benchmarks/dist/soak.js [--minutes 10] [--sample 5] [--rate 0|100M] [--idle 30]
 *
 * After the traffic, the daemon is sampled --idle more seconds with no traffic (does RSS come back?).
 * iperf3 runs in back-to-back 30 s slices so a throughput figure exists per slice (and one
 * failure does not end the soak). Traffic stays inside the two namespaces this script creates
 * (wgs-soak-a/b, deleted at exit); the run is bounded by --minutes and stops by itself.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { keyPair, startEndpoint, unavailable, type RunningEndpoint, type SideSpec } from "./macro/endpoints.js";
import { missingTools } from "./macro/index.js";
import { background, cpuSeconds, memory, run, runAsync, sleep } from "./macro/sys.js";

const RESULTS = resolve(dirname(fileURLToPath(import.meta.url)), "../results");
const NS_A = "wgs-soak-a";
const NS_B = "wgs-soak-b";
const UNDER_A = "10.223.0.1";
const UNDER_B = "10.223.0.2";
const TUN_A = "10.224.0.1";
const TUN_B = "10.224.0.2";
const SLICE_S = 30;

interface Args {
  minutes: number;
  sampleSeconds: number;
  rate: string;
  idleSeconds: number;
}

export interface SoakSample {
  /** seconds since the start of the soak */
  t: number;
  wgTsRssMiB: number;
  wireguardGoRssMiB: number;
  wgTsCpuS: number;
  /** true once the traffic has stopped */
  idle?: boolean;
}

export interface SoakResult {
  minutes: number;
  rate: string;
  samples: SoakSample[];
  slices: { t: number; mbps: number; retransmits: number; error?: string }[];
  summary: {
    startRssMiB: number;
    minRssMiB: number;
    maxRssMiB: number;
    endRssMiB: number;
    /** last sample after --idle seconds without traffic */
    idleEndRssMiB: number;
    hwmMiB: number;
    meanMbps: number;
    totalGB: number;
    failedSlices: number;
    daemonAlive: boolean;
  };
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { minutes: 10, sampleSeconds: 5, rate: "0", idleSeconds: 30 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1] ?? "";
    switch (argv[i]) {
      case "--minutes":
        a.minutes = Math.max(0.1, Number(v) || 10);
        i++;
        break;
      case "--sample":
        a.sampleSeconds = Math.max(1, Number(v) || 5);
        i++;
        break;
      case "--idle":
        a.idleSeconds = Math.max(0, Number(v) || 0);
        i++;
        break;
      case "--rate":
        a.rate = v;
        i++;
        break;
      case "--":
        break;
      default:
        throw new Error(`usage: soak.js [--minutes N] [--sample SECONDS] [--rate 0|100M] [--idle SECONDS] (unknown ${argv[i]})`);
    }
  }
  return a;
}

function teardown(): void {
  for (const ns of [NS_A, NS_B]) run("ip", ["netns", "del", ns], { allowFail: true });
}

function setup(): void {
  teardown();
  run("ip", ["netns", "add", NS_A]);
  run("ip", ["netns", "add", NS_B]);
  run("ip", ["-n", NS_A, "link", "add", "wgsk-va", "type", "veth", "peer", "name", "wgsk-vb", "netns", NS_B]);
  run("ip", ["-n", NS_A, "addr", "add", `${UNDER_A}/24`, "dev", "wgsk-va"]);
  run("ip", ["-n", NS_B, "addr", "add", `${UNDER_B}/24`, "dev", "wgsk-vb"]);
  for (const [ns, dev] of [[NS_A, "wgsk-va"], [NS_B, "wgsk-vb"]] as const) {
    run("ip", ["-n", ns, "link", "set", "lo", "up"]);
    run("ip", ["-n", ns, "link", "set", dev, "up"]);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A line chart of RSS over time, both daemons. */
function svgCurve(r: SoakResult): string {
  const W = 760;
  const H = 320;
  const L = 60;
  const B = 40;
  const T = 40;
  const xs = r.samples.map((s) => s.t);
  const ys = r.samples.flatMap((s) => [s.wgTsRssMiB, s.wireguardGoRssMiB]).filter(Number.isFinite);
  const xMax = Math.max(1, ...xs);
  const yMax = Math.max(1, ...ys) * 1.1;
  const px = (t: number): number => L + ((W - L - 20) * t) / xMax;
  const py = (v: number): number => H - B - ((H - B - T) * v) / yMax;
  const line = (f: (s: SoakSample) => number, color: string): string =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${r.samples
      .filter((s) => Number.isFinite(f(s)))
      .map((s) => `${px(s.t).toFixed(1)},${py(f(s)).toFixed(1)}`)
      .join(" ")}"/>`;
  const s = r.summary;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n` +
    `<text x="10" y="20" font-size="15" font-weight="bold">wg-ts soak: RSS over ${r.minutes} min of iperf3 (mean ${s.meanMbps.toFixed(0)} Mbit/s)</text>\n` +
    `<line x1="${L}" y1="${H - B}" x2="${W - 20}" y2="${H - B}" stroke="#000"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#000"/>\n` +
    `<text x="${L}" y="${H - 12}">0 s</text><text x="${W - 60}" y="${H - 12}">${xMax.toFixed(0)} s</text>\n` +
    `<text x="5" y="${py(yMax / 1.1) + 4}">${(yMax / 1.1).toFixed(0)} MiB</text><text x="5" y="${H - B}">0 MiB</text>\n` +
    line((x) => x.wgTsRssMiB, "#e45756") +
    "\n" +
    line((x) => x.wireguardGoRssMiB, "#4c78a8") +
    `\n<text x="${W - 220}" y="${T}" fill="#e45756">wg-ts RSS (start ${s.startRssMiB.toFixed(1)}, max ${s.maxRssMiB.toFixed(1)}, end ${s.endRssMiB.toFixed(1)})</text>` +
    `\n<text x="${W - 220}" y="${T + 16}" fill="#4c78a8">wireguard-go RSS</text>\n</svg>\n`
  );
}

export async function runSoak(a: Args, log: (l: string) => void): Promise<SoakResult> {
  const missing = [...missingTools(), unavailable("wg-ts"), unavailable("wireguard-go")].filter((x): x is string => !!x);
  if (missing.length) throw new Error(`soak needs: ${missing.join("; ")}`);
  setup();
  const ka = keyPair();
  const kb = keyPair();
  const A: SideSpec = {
    ns: NS_A, ifname: "wgsk0a", privateKey: ka.privateKey, listenPort: 51931, address: `${TUN_A}/24`, mtu: 1420,
    peer: { publicKey: kb.publicKey, endpoint: `${UNDER_B}:51932`, allowedIps: `${TUN_B}/32` },
  };
  const B: SideSpec = {
    ns: NS_B, ifname: "wgsk0b", privateKey: kb.privateKey, listenPort: 51932, address: `${TUN_B}/24`, mtu: 1420,
    peer: { publicKey: ka.publicKey, endpoint: `${UNDER_A}:51931`, allowedIps: `${TUN_A}/32` },
  };
  const eps: RunningEndpoint[] = [];
  const server = { bg: null as ReturnType<typeof background> | null };
  const samples: SoakSample[] = [];
  const slices: SoakResult["slices"] = [];
  try {
    eps.push(await startEndpoint("wg-ts", A));
    eps.push(await startEndpoint("wireguard-go", B));
    const [ea, eb] = eps as [RunningEndpoint, RunningEndpoint];
    const pidA = ea.pids[0];
    const pidB = eb.pids[0];
    if (pidA === undefined || pidB === undefined)
      throw new Error(`daemon pids not found (wg-ts: ${ea.log().slice(-500)}; wireguard-go: ${eb.log().slice(-500)})`);
    for (let i = 0; i < 40; i++) {
      if ((await runAsync("ip", ["netns", "exec", NS_A, "ping", "-c", "1", "-W", "1", TUN_B])).code === 0) break;
      if (i === 39) throw new Error("tunnel never came up");
    }
    server.bg = background("ip", ["netns", "exec", NS_B, "iperf3", "-s", "-B", TUN_B]);
    await sleep(300);
    const t0 = Date.now();
    const end = t0 + a.minutes * 60_000;
    const sample = (): void => {
      const s: SoakSample = {
        t: (Date.now() - t0) / 1000,
        wgTsRssMiB: memory(pidA).rssMiB,
        wireguardGoRssMiB: memory(pidB).rssMiB,
        wgTsCpuS: cpuSeconds(pidA),
      };
      samples.push(s);
      log(`t=${s.t.toFixed(0).padStart(4)}s  wg-ts RSS ${s.wgTsRssMiB.toFixed(1).padStart(6)} MiB  wireguard-go RSS ${s.wireguardGoRssMiB.toFixed(1).padStart(6)} MiB  wg-ts cpu ${s.wgTsCpuS.toFixed(0)} s`);
    };
    sample();
    const sampler = setInterval(sample, a.sampleSeconds * 1000);
    try {
      while (Date.now() < end - 2000 && alive(pidA)) {
        const secs = Math.max(1, Math.min(SLICE_S, Math.floor((end - Date.now()) / 1000)));
        const t = (Date.now() - t0) / 1000;
        const r = await runAsync("ip", ["netns", "exec", NS_A, "iperf3", "-c", TUN_B, "-J", "-t", String(secs), "-b", a.rate]);
        try {
          const j = JSON.parse(r.stdout) as { error?: string; end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } } };
          if (j.error) throw new Error(j.error);
          const mbps = (j.end?.sum_received?.bits_per_second ?? NaN) / 1e6;
          slices.push({ t, mbps, retransmits: j.end?.sum_sent?.retransmits ?? 0 });
          log(`slice t=${t.toFixed(0)}s: ${mbps.toFixed(0)} Mbit/s`);
        } catch (e) {
          slices.push({ t, mbps: 0, retransmits: 0, error: (e as Error).message || r.stderr.slice(0, 200) });
          log(`slice t=${t.toFixed(0)}s failed: ${(e as Error).message}`);
          await sleep(1000);
        }
      }
    } finally {
      clearInterval(sampler);
    }
    sample();
    const trafficEnd = Date.now();
    const busy = samples.length;
    for (let t = 0; t < a.idleSeconds; t += a.sampleSeconds) {
      await sleep(a.sampleSeconds * 1000);
      sample();
      samples[samples.length - 1]!.idle = true;
    }
    const idleEnd = samples.length > busy ? samples[samples.length - 1]!.wgTsRssMiB : NaN;
    const rss = samples.slice(0, busy).map((s) => s.wgTsRssMiB).filter(Number.isFinite);
    const ok = slices.filter((s) => !s.error);
    const totalSec = ok.length ? ok.reduce((x, s, i) => x + (i + 1 < ok.length ? ok[i + 1]!.t - s.t : (trafficEnd - t0) / 1000 - s.t), 0) : 0;
    const meanMbps = ok.length ? ok.reduce((x, s) => x + s.mbps, 0) / ok.length : 0;
    return {
      minutes: a.minutes,
      rate: a.rate,
      samples,
      slices,
      summary: {
        startRssMiB: rss[0] ?? NaN,
        minRssMiB: Math.min(...rss),
        maxRssMiB: Math.max(...rss),
        endRssMiB: rss[rss.length - 1] ?? NaN,
        idleEndRssMiB: idleEnd,
        hwmMiB: memory(pidA).hwmMiB,
        meanMbps,
        totalGB: (meanMbps * 1e6 * totalSec) / 8 / 1e9,
        failedSlices: slices.length - ok.length,
        daemonAlive: alive(pidA),
      },
    };
  } finally {
    await server.bg?.stop();
    for (const e of eps.reverse()) await e.stop();
    teardown();
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const r = await runSoak(a, (l) => console.log(l));
  const s = r.summary;
  console.log(
    `\nsoak ${r.minutes} min: wg-ts RSS start ${s.startRssMiB.toFixed(1)} / min ${s.minRssMiB.toFixed(1)} / max ${s.maxRssMiB.toFixed(1)} / end ${s.endRssMiB.toFixed(1)} MiB (peak ${s.hwmMiB.toFixed(1)}; ${r.samples.filter((x) => x.idle).length ? `after the idle period ${s.idleEndRssMiB.toFixed(1)}` : "no idle period"}); ` +
      `iperf3 mean ${s.meanMbps.toFixed(0)} Mbit/s, ~${s.totalGB.toFixed(1)} GB, failed slices ${s.failedSlices}, daemon alive ${s.daemonAlive}`,
  );
  mkdirSync(RESULTS, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const base = join(RESULTS, `soak-${stamp}`);
  writeFileSync(`${base}.json`, JSON.stringify(r, null, 2) + "\n");
  writeFileSync(`${base}.svg`, svgCurve(r));
  console.log(`wrote ${base}.json and ${base}.svg`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(`soak: ${(e as Error).message}`);
    process.exit(1);
  });
}
