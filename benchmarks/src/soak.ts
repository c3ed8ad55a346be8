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
 *
 * Cycles mode (the two-tier data plane: worker threads start under load, stop after ~10 s of quiet):
 *
 *   node benchmarks/dist/soak.js --minutes 6 --burst 3 --quiet 14 [--sample 5] [--rate 0|100M]
 *
 * repeats an iperf3 TCP burst of --burst seconds followed by --quiet seconds without traffic for
 * --minutes. Per cycle: the wg-ts RSS at the end of the quiet period (the workers should be off by
 * then), its peak during the burst (VmHWM, reset before each burst through /proc/PID/clear_refs,
 * and 200 ms polls), its thread count at both points, and the burst's throughput. The summary gives
 * the end-of-quiet RSS first/last/min/max and its least-squares slope (MiB per cycle); at the end
 * the daemon is sent SIGUSR1 and `worker-starts` is read from its log (one per burst expected).
 * The JSON gets the per-cycle series (`cycles`), the SVG the end-of-quiet RSS per cycle.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
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
  /** Cycles mode: seconds of iperf3 per burst (absent: the continuous soak). */
  burstSeconds?: number;
  /** Cycles mode: seconds without traffic after each burst. */
  quietSeconds?: number;
}

/** Bad command line: main() prints it and exits 2. */
class UsageError extends Error {}

const USAGE =
  "usage: soak.js [--minutes N] [--sample SECONDS] [--rate 0|100M] [--idle SECONDS]\n" +
  "       soak.js --minutes N --burst SECONDS [--quiet SECONDS] [--sample SECONDS] [--rate 0|100M]";

/** One burst + quiet period of the cycles mode. */
export interface SoakCycle {
  cycle: number;
  /** seconds since the start of the soak at the start of the burst */
  t: number;
  mbps: number;
  retransmits: number;
  error?: string;
  /** wg-ts peak RSS during the burst (MiB) */
  peakRssMiB: number;
  /** wg-ts RSS at the end of the quiet period (MiB) */
  endQuietRssMiB: number;
  endQuietAnonMiB: number;
  wireguardGoEndQuietRssMiB: number;
  /** wg-ts threads: most seen during the burst, and at the end of the quiet period (workers: +2) */
  burstThreads: number;
  endQuietThreads: number;
}

export interface SoakCycles {
  burstSeconds: number;
  quietSeconds: number;
  /** wg-ts RSS before the first burst (after the handshake) */
  baselineRssMiB: number;
  baselineThreads: number;
  list: SoakCycle[];
  summary: {
    cycles: number;
    failedBursts: number;
    firstEndQuietRssMiB: number;
    lastEndQuietRssMiB: number;
    minEndQuietRssMiB: number;
    maxEndQuietRssMiB: number;
    /** least squares over the cycles, MiB per cycle */
    slopeMiBPerCycle: number;
    /** the same over the second half of the cycles (a plateau shows here) */
    slopeSecondHalfMiBPerCycle: number;
    maxPeakRssMiB: number;
    meanBurstMbps: number;
    /** from the daemon's SIGUSR1 line at the end (NaN when it was not found) */
    workerStarts: number;
    workersAtEnd: string;
    /** the daemon's SIGUSR1 line, as logged */
    statusLine: string;
  };
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
  /** cycles mode only */
  cycles?: SoakCycles;
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
  let idleGiven = false;
  /** The number after option `o`, at least `min` (an integer when `int`), or a UsageError. */
  const num = (o: string, v: string | undefined, min: number, int = false): number => {
    const n = v === undefined || v.trim() === "" ? NaN : Number(v);
    if (!Number.isFinite(n) || n < min || (int && !Number.isInteger(n)))
      throw new UsageError(`${o} needs ${int ? "an integer" : "a number"} >= ${min}, got ${v === undefined ? "nothing" : JSON.stringify(v)}\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const o = argv[i]!;
    const v = argv[i + 1];
    switch (o) {
      case "--minutes":
        a.minutes = num(o, v, 0.1);
        i++;
        break;
      case "--sample":
        a.sampleSeconds = num(o, v, 1);
        i++;
        break;
      case "--idle":
        a.idleSeconds = num(o, v, 0);
        idleGiven = true;
        i++;
        break;
      case "--burst":
        // iperf3 -t takes whole seconds
        a.burstSeconds = num(o, v, 1, true);
        i++;
        break;
      case "--quiet":
        a.quietSeconds = num(o, v, 0);
        i++;
        break;
      case "--rate":
        if (v === undefined || !/^\d+(\.\d+)?[KMGT]?(\/\d+)?$/i.test(v)) throw new UsageError(`--rate needs 0 or a rate like 100M, got ${JSON.stringify(v ?? "nothing")}\n${USAGE}`);
        a.rate = v;
        i++;
        break;
      case "--":
        break;
      default:
        throw new UsageError(`unknown option ${o}\n${USAGE}`);
    }
  }
  if (a.burstSeconds === undefined) {
    if (a.quietSeconds !== undefined) throw new UsageError(`--quiet needs --burst (the cycles mode)\n${USAGE}`);
  } else {
    if (idleGiven) throw new UsageError(`--idle is for the continuous soak; the cycles mode has --quiet\n${USAGE}`);
    a.quietSeconds ??= 14;
    if (a.burstSeconds + a.quietSeconds + 1 > a.minutes * 60)
      throw new UsageError(`--minutes ${a.minutes} is shorter than one cycle (--burst ${a.burstSeconds} + --quiet ${a.quietSeconds} s)\n${USAGE}`);
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

/** Threads of a process (/proc/PID/status), NaN when it is gone. */
function threads(pid: number): number {
  try {
    return Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
  } catch {
    return Number.NaN;
  }
}

/** Resets a process's VmHWM to its current RSS (clear_refs 5, Linux ≥ 4.0); false when it cannot. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** One iperf3 TCP run A→B: throughput (Mbit/s received) or the error. */
async function iperf(secs: number, rate: string): Promise<{ mbps: number; retransmits: number; error?: string }> {
  const r = await runAsync("ip", ["netns", "exec", NS_A, "iperf3", "-c", TUN_B, "-J", "-t", String(secs), "-b", rate]);
  try {
    const j = JSON.parse(r.stdout) as { error?: string; end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } } };
    if (j.error) throw new Error(j.error);
    return { mbps: (j.end?.sum_received?.bits_per_second ?? NaN) / 1e6, retransmits: j.end?.sum_sent?.retransmits ?? 0 };
  } catch (e) {
    return { mbps: 0, retransmits: 0, error: (e as Error).message || r.stderr.slice(0, 200) || `iperf3 exited ${r.code}` };
  }
}

/** Least-squares slope of ys over xs (NaN with fewer than two finite points). */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const p = xs.map((x, i) => [x, ys[i]!] as const).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (p.length < 2) return Number.NaN;
  const mx = p.reduce((s, [x]) => s + x, 0) / p.length;
  const my = p.reduce((s, [, y]) => s + y, 0) / p.length;
  const sxx = p.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? Number.NaN : p.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
}

/**
 * Sends SIGUSR1 to the wg-ts daemon and waits (≤ 3 s) for the `fast path: ...` line it logs to
 * its stderr (kept by the endpoint's log()). Returns the line, or "" when none came.
 */
async function daemonStatus(ep: RunningEndpoint, pid: number): Promise<string> {
  // The endpoint keeps only the tail of the log: what is new is what follows the old tail's end.
  const anchor = ep.log().slice(-200);
  try {
    process.kill(pid, "SIGUSR1");
  } catch {
    return "";
  }
  for (let i = 0; i < 30; i++) {
    await sleep(100);
    const now = ep.log();
    const at = anchor ? now.lastIndexOf(anchor) : -1;
    const fresh = at >= 0 ? now.slice(at + anchor.length) : now;
    const line = fresh.split("\n").slice(0, -1).reverse().find((l) => l.includes("fast path: workers="));
    if (line !== undefined) return line.trim();
  }
  return "";
}

const f1 = (x: number, w = 6): string => (Number.isFinite(x) ? x.toFixed(1) : "-").padStart(w);

/** One sample of both daemons, `t` in seconds since `t0`. */
function takeSample(t0: number, pidA: number, pidB: number): SoakSample {
  return {
    t: (Date.now() - t0) / 1000,
    wgTsRssMiB: memory(pidA).rssMiB,
    wireguardGoRssMiB: memory(pidB).rssMiB,
    wgTsCpuS: cpuSeconds(pidA),
  };
}

/** The cycles mode: --burst s of iperf3, --quiet s without traffic, for --minutes. */
async function runCycles(
  a: Args,
  burstS: number,
  quietS: number,
  ea: RunningEndpoint,
  pidA: number,
  pidB: number,
  log: (l: string) => void,
): Promise<SoakResult> {
  const samples: SoakSample[] = [];
  const slices: SoakResult["slices"] = [];
  const list: SoakCycle[] = [];
  const t0 = Date.now();
  const end = t0 + a.minutes * 60_000;
  let cycle = 0;
  const sample = (): SoakSample => {
    const s = takeSample(t0, pidA, pidB);
    samples.push(s);
    return s;
  };
  const baseline = sample();
  const baselineThreads = threads(pidA);
  if (quietS < 12) log(`note: --quiet ${quietS} s is shorter than the workers' ~10 s idle window plus ticks: they may still run at the end of a quiet period`);
  log(`cycles: ${burstS} s iperf3 burst + ${quietS} s quiet, for ${a.minutes} min; wg-ts baseline RSS ${baseline.wgTsRssMiB.toFixed(1)} MiB, ${baselineThreads} threads`);
  log("");
  log("cycle      t  Mbit/s  peak RSS  end-quiet RSS (anon)  wireguard-go  threads burst/quiet");
  // Every --sample seconds for the curve (quietly: the table is the output here).
  const sampler = setInterval(() => {
    const s = sample();
    if (cycle > 0) s.idle = list.length === cycle; // the current cycle's burst is done
  }, a.sampleSeconds * 1000);
  try {
    // A cycle needs burst + quiet seconds (and ~0.5 s of iperf3 set-up).
    while (Date.now() + (burstS + quietS + 0.5) * 1000 <= end && alive(pidA)) {
      cycle++;
      const t = (Date.now() - t0) / 1000;
      const hwmReset = resetPeak(pidA);
      let polled = memory(pidA).rssMiB;
      let burstThreads = threads(pidA);
      const poll = setInterval(() => {
        polled = Math.max(polled, memory(pidA).rssMiB);
        burstThreads = Math.max(burstThreads, threads(pidA));
      }, 200);
      const r = await iperf(burstS, a.rate);
      clearInterval(poll);
      const peak = Math.max(polled, hwmReset ? memory(pidA).hwmMiB : Number.NaN);
      slices.push({ t, ...r });
      list.push({
        cycle, t, ...r, peakRssMiB: Number.isFinite(peak) ? peak : polled, endQuietRssMiB: NaN, endQuietAnonMiB: NaN,
        wireguardGoEndQuietRssMiB: NaN, burstThreads, endQuietThreads: NaN,
      });
      if (r.error) log(`cycle ${cycle}: iperf3 failed: ${r.error}`);
      await sleep(quietS * 1000);
      const m = memory(pidA);
      const c = list[list.length - 1]!;
      c.endQuietRssMiB = m.rssMiB;
      c.endQuietAnonMiB = m.anonMiB;
      c.wireguardGoEndQuietRssMiB = memory(pidB).rssMiB;
      c.endQuietThreads = threads(pidA);
      samples.push({ t: (Date.now() - t0) / 1000, wgTsRssMiB: m.rssMiB, wireguardGoRssMiB: c.wireguardGoEndQuietRssMiB, wgTsCpuS: cpuSeconds(pidA), idle: true });
      log(
        `${String(cycle).padStart(5)} ${t.toFixed(0).padStart(6)} ${(r.error ? "fail" : r.mbps.toFixed(0)).padStart(7)} ${f1(c.peakRssMiB, 9)} ` +
          `${f1(c.endQuietRssMiB, 14)} (${f1(c.endQuietAnonMiB, 4)}) ${f1(c.wireguardGoEndQuietRssMiB, 13)}  ${String(c.burstThreads).padStart(5)}/${c.endQuietThreads}`,
      );
    }
  } finally {
    clearInterval(sampler);
  }
  const statusLine = alive(pidA) ? await daemonStatus(ea, pidA) : "";
  const starts = /worker-starts=(\d+)/.exec(statusLine);
  const workers = /workers=(\w+)/.exec(statusLine);
  const eq = list.map((c) => c.endQuietRssMiB);
  const eqFinite = eq.filter(Number.isFinite);
  const idx = list.map((c) => c.cycle);
  const half = Math.floor(list.length / 2);
  const ok = list.filter((c) => !c.error);
  const meanMbps = ok.length ? ok.reduce((x, c) => x + c.mbps, 0) / ok.length : 0;
  const rss = samples.map((s) => s.wgTsRssMiB).filter(Number.isFinite);
  const maxPeak = Math.max(...list.map((c) => c.peakRssMiB).filter(Number.isFinite));
  return {
    minutes: a.minutes,
    rate: a.rate,
    samples,
    slices,
    cycles: {
      burstSeconds: burstS,
      quietSeconds: quietS,
      baselineRssMiB: baseline.wgTsRssMiB,
      baselineThreads,
      list,
      summary: {
        cycles: list.length,
        failedBursts: list.length - ok.length,
        firstEndQuietRssMiB: eqFinite[0] ?? NaN,
        lastEndQuietRssMiB: eqFinite[eqFinite.length - 1] ?? NaN,
        minEndQuietRssMiB: Math.min(...eqFinite),
        maxEndQuietRssMiB: Math.max(...eqFinite),
        slopeMiBPerCycle: slope(idx, eq),
        slopeSecondHalfMiBPerCycle: slope(idx.slice(half), eq.slice(half)),
        maxPeakRssMiB: maxPeak,
        meanBurstMbps: meanMbps,
        workerStarts: starts ? Number(starts[1]) : NaN,
        workersAtEnd: workers?.[1] ?? "?",
        statusLine,
      },
    },
    summary: {
      startRssMiB: rss[0] ?? NaN,
      minRssMiB: Math.min(...rss),
      maxRssMiB: Math.max(...rss, maxPeak),
      endRssMiB: rss[rss.length - 1] ?? NaN,
      idleEndRssMiB: eqFinite[eqFinite.length - 1] ?? NaN,
      hwmMiB: maxPeak,
      meanMbps,
      totalGB: (ok.reduce((x, c) => x + c.mbps, 0) * 1e6 * burstS) / 8 / 1e9,
      failedSlices: list.length - ok.length,
      daemonAlive: alive(pidA),
    },
  };
}

/** A line chart of the wg-ts end-of-quiet RSS per cycle (and the burst peaks, lighter). */
function svgCycles(r: SoakResult): string {
  const c = r.cycles!;
  const W = 760;
  const H = 320;
  const L = 60;
  const B = 40;
  const T = 40;
  const n = Math.max(2, c.list.length);
  const ys = c.list.flatMap((x) => [x.endQuietRssMiB, x.peakRssMiB]).filter(Number.isFinite);
  const yMax = Math.max(1, ...ys) * 1.1;
  const px = (i: number): number => L + ((W - L - 20) * (i - 1)) / (n - 1);
  const py = (v: number): number => H - B - ((H - B - T) * v) / yMax;
  const line = (f: (x: SoakCycle) => number, color: string, width: number): string =>
    `<polyline fill="none" stroke="${color}" stroke-width="${width}" points="${c.list
      .filter((x) => Number.isFinite(f(x)))
      .map((x) => `${px(x.cycle).toFixed(1)},${py(f(x)).toFixed(1)}`)
      .join(" ")}"/>`;
  const dots = c.list
    .filter((x) => Number.isFinite(x.endQuietRssMiB))
    .map((x) => `<circle cx="${px(x.cycle).toFixed(1)}" cy="${py(x.endQuietRssMiB).toFixed(1)}" r="3" fill="#e45756"/>`)
    .join("");
  const s = c.summary;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n` +
    `<text x="10" y="20" font-size="15" font-weight="bold">wg-ts RSS over ${s.cycles} cycles (${c.burstSeconds} s iperf3, ${c.quietSeconds} s quiet; mean ${s.meanBurstMbps.toFixed(0)} Mbit/s)</text>\n` +
    `<line x1="${L}" y1="${H - B}" x2="${W - 20}" y2="${H - B}" stroke="#000"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#000"/>\n` +
    `<text x="${L}" y="${H - 12}">cycle 1</text><text x="${W - 70}" y="${H - 12}">cycle ${c.list.length}</text>\n` +
    `<text x="5" y="${py(yMax / 1.1) + 4}">${(yMax / 1.1).toFixed(0)} MiB</text><text x="5" y="${H - B}">0 MiB</text>\n` +
    line((x) => x.peakRssMiB, "#f2b5b5", 1) +
    "\n" +
    line((x) => x.endQuietRssMiB, "#e45756", 2) +
    dots +
    `\n<text x="${L + 10}" y="${T}" fill="#e45756">end of quiet: ${f1(s.firstEndQuietRssMiB, 0)} → ${f1(s.lastEndQuietRssMiB, 0)} MiB, slope ${s.slopeMiBPerCycle.toFixed(2)} MiB/cycle; worker-starts ${Number.isFinite(s.workerStarts) ? s.workerStarts : "?"}</text>` +
    `\n<text x="${L + 10}" y="${T + 16}" fill="#d08080">peak during the burst (max ${f1(s.maxPeakRssMiB, 0)} MiB)</text>\n</svg>\n`
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
    if (a.burstSeconds !== undefined) return await runCycles(a, a.burstSeconds, a.quietSeconds ?? 14, ea, pidA, pidB, log);
    const t0 = Date.now();
    const end = t0 + a.minutes * 60_000;
    const sample = (): void => {
      const s = takeSample(t0, pidA, pidB);
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
  if (r.cycles) {
    const c = r.cycles.summary;
    console.log(
      `\nsoak cycles ${r.minutes} min: ${c.cycles} cycles (${r.cycles.burstSeconds} s burst + ${r.cycles.quietSeconds} s quiet), ` +
        `failed bursts ${c.failedBursts}; wg-ts end-of-quiet RSS first ${f1(c.firstEndQuietRssMiB, 0)} / last ${f1(c.lastEndQuietRssMiB, 0)} / ` +
        `min ${f1(c.minEndQuietRssMiB, 0)} / max ${f1(c.maxEndQuietRssMiB, 0)} MiB (baseline before the first burst ${f1(r.cycles.baselineRssMiB, 0)}), ` +
        `slope ${c.slopeMiBPerCycle.toFixed(3)} MiB/cycle (second half ${c.slopeSecondHalfMiBPerCycle.toFixed(3)}); ` +
        `peak during bursts ${f1(c.maxPeakRssMiB, 0)} MiB; mean burst ${c.meanBurstMbps.toFixed(0)} Mbit/s; ` +
        `worker-starts ${Number.isFinite(c.workerStarts) ? c.workerStarts : "? (no SIGUSR1 line)"}, workers at the end ${c.workersAtEnd}; daemon alive ${s.daemonAlive}`,
    );
    if (c.statusLine) console.log(`daemon: ${c.statusLine}`);
  } else {
    console.log(
      `\nsoak ${r.minutes} min: wg-ts RSS start ${s.startRssMiB.toFixed(1)} / min ${s.minRssMiB.toFixed(1)} / max ${s.maxRssMiB.toFixed(1)} / end ${s.endRssMiB.toFixed(1)} MiB (peak ${s.hwmMiB.toFixed(1)}; ${r.samples.filter((x) => x.idle).length ? `after the idle period ${s.idleEndRssMiB.toFixed(1)}` : "no idle period"}); ` +
        `iperf3 mean ${s.meanMbps.toFixed(0)} Mbit/s, ~${s.totalGB.toFixed(1)} GB, failed slices ${s.failedSlices}, daemon alive ${s.daemonAlive}`,
    );
  }
  mkdirSync(RESULTS, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const base = join(RESULTS, `soak-${stamp}`);
  writeFileSync(`${base}.json`, JSON.stringify(r, null, 2) + "\n");
  writeFileSync(`${base}.svg`, r.cycles ? svgCycles(r) : svgCurve(r));
  console.log(`wrote ${base}.json and ${base}.svg`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(`soak: ${(e as Error).message}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
}
