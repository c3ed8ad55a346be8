/**
 * `pnpm bench`: micro benchmarks (seal/open, handshakes, allowed-IPs lookups — runMicro() from
 * micro.ts) and the macro benchmark (iperf3 and ping through WireGuard tunnels in network
 * namespaces, wg-ts side by side with wireguard-go), printed as tables and written to
 * benchmarks/results/<timestamp>.json and .svg.
 *
 *   node benchmarks/dist/run.js [--only micro|macro|lab] [--quick] [--rounds N] [--seconds S] [--udp-rate 200M] [--settle 12]
 *                               [--pairs wg-ts:wg-ts,wireguard-go:wireguard-go,...] [--wireguard-go PATH] [--peers N]
 *
 * --wireguard-go PATH: the wireguard-go to compare with (default: `wireguard-go` on PATH); the report
 * names each implementation's binary and version. --baseline DIR: another built checkout, run as the
 * implementation `wg-ts-baseline` (pairs such as wg-ts-baseline:wg-ts-baseline beside wg-ts:wg-ts compare a change
 * with what it changes in one run). --peers N: N extra peers configured on both sides;
 * a pair written a:b+N has N extra peers on both sides for that pair alone (one run compares a:b with a:b+1000).
 * --only lab: pgbench and ping through the seed-000 lab, wg-ts against wireguard-go gateways (lab.ts);
 * not part of the default run (it takes the lab's namespaces, ~1 min per implementation and round).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { IMPLS, implementationVersions, isImplName, useBaseline, useWireguardGo } from "./macro/endpoints.js";
import { BASELINE, DEFAULT_PAIRS, missingTools, runMacro, type MacroResult, type Pair } from "./macro/index.js";
import { macroPanels, macroTable, svgChart } from "./macro/report.js";
import { runMicro, type MicroResult } from "./micro.js";
import { labTable, runLab, type LabResult } from "./lab.js";

const RESULTS = resolve(dirname(fileURLToPath(import.meta.url)), "../results");

interface Args {
  only: "micro" | "macro" | "lab" | null;
  rounds: number;
  seconds: number;
  udpRate: string;
  pairs: readonly Pair[];
  quick: boolean;
  settle: number;
  wireguardGo: string | null;
  /** Another built checkout for the `wg-ts-baseline` implementation (`--baseline DIR`). */
  baseline: string | null;
  peers: number;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { only: null, rounds: 3, seconds: 5, udpRate: "200M", pairs: DEFAULT_PAIRS, quick: false, settle: 12, wireguardGo: null, baseline: null, peers: 0 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1] ?? "";
    switch (k) {
      case "--only":
        if (v !== "micro" && v !== "macro" && v !== "lab") throw new Error("--only micro|macro|lab");
        a.only = v;
        i++;
        break;
      case "--rounds":
        a.rounds = Math.max(1, Number(v) | 0);
        i++;
        break;
      case "--seconds":
        a.seconds = Math.max(1, Number(v) | 0);
        i++;
        break;
      case "--settle":
        a.settle = Math.max(0, Number(v) | 0);
        i++;
        break;
      case "--wireguard-go":
        if (!v) throw new Error("--wireguard-go PATH");
        a.wireguardGo = v;
        i++;
        break;
      case "--baseline":
        if (!v) throw new Error("--baseline DIR: a built checkout of wg-ts (the wg-ts-baseline pairs run its packages/wg-daemon/bin/wg-ts.js)");
        a.baseline = v;
        i++;
        break;
      case "--peers":
        if (!/^\d+$/.test(v) || Number(v) > 100_000) throw new Error("--peers N: an integer from 0 to 100000");
        a.peers = Number(v);
        i++;
        break;
      case "--udp-rate":
        a.udpRate = v;
        i++;
        break;
      case "--pairs":
        a.pairs = v.split(",").map((p) => {
          const m = /^([^:]+):([^+]+)(?:\+(\d+))?$/.exec(p);
          const [x, y, n] = m ? [m[1], m[2], m[3]] : [];
          if (!isImplName(x) || !isImplName(y)) throw new Error(`--pairs: ${p}: implementations are ${IMPLS.join(", ")}`);
          if (n !== undefined && Number(n) > 100_000) throw new Error(`--pairs: ${p}: +N extra peers: at most 100000`);
          return n === undefined ? ([x, y] as const) : ([x, y, Number(n)] as const);
        });
        i++;
        break;
      case "--":
        break;
      case "--quick":
        a.quick = true;
        break;
      case "-h":
      case "--help":
        console.log(
          "usage: pnpm bench [-- --only micro|macro|lab] [--quick] [--rounds 3] [--seconds 5] [--udp-rate 200M] [--settle 12] [--pairs a:b,...] [--wireguard-go PATH] [--peers N] [--baseline DIR]",
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${k}`);
    }
  }
  return a;
}

const log = (s: string): void => void process.stderr.write(`${s}\n`);

async function micro(quick: boolean): Promise<MicroResult[]> {
  log("micro: running (seal/open, allowed-IPs lookups, x25519, handshakes) …");
  return await runMicro({ quick });
}

function microPanels(rows: readonly MicroResult[]): Parameters<typeof svgChart>[1] {
  const pick = (f: (r: MicroResult) => boolean): { label: string; value: number }[] =>
    rows.filter(f).map((r) => ({ label: `${r.benchmark} ${r.implementation}${r.size ? ` ${r.size}` : ""}`, value: r.opsPerSec }));
  return [
    { title: "micro: transport seal/open, 1420-byte packets", unit: "packets/s per core", bars: pick((r) => (r.benchmark === "seal" || r.benchmark === "open") && r.size === 1420) },
    { title: "micro: transport seal/open, 64-byte packets", unit: "packets/s per core", bars: pick((r) => (r.benchmark === "seal" || r.benchmark === "open") && r.size === 64) },
    { title: "micro: handshakes, x25519, allowed-IPs lookups", unit: "ops/s", bars: pick((r) => r.benchmark !== "seal" && r.benchmark !== "open") },
  ].filter((p) => p.bars.length > 0);
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const started = new Date();
  if (args.wireguardGo) useWireguardGo(args.wireguardGo);
  if (args.baseline) useBaseline(args.baseline);
  const out: { startedAt: string; host: { cpus: number; node: string }; implementations: Record<string, string>; micro: MicroResult[] | null; macro: MacroResult | null; lab: LabResult | null; notes: string[] } = {
    startedAt: started.toISOString(),
    host: { cpus: (await import("node:os")).cpus().length, node: process.version },
    implementations: implementationVersions(),
    micro: null,
    macro: null,
    lab: null,
    notes: [],
  };
  if (args.only === "lab") {
    out.lab = runLab({ rounds: args.rounds, seconds: args.seconds * 2, wireguardGo: args.wireguardGo, log });
    console.log(`\nlab: median of ${args.rounds} alternating rounds, pgbench ${args.seconds * 2} s each; ratio vs wireguard-go per round`);
    for (const [impl, v] of Object.entries(out.implementations)) console.log(`  ${impl}: ${v}`);
    console.log(labTable(out.lab));
    for (const s of out.lab.summary) for (const e of s.errors) console.log(`  ${s.impl} ${e}`);
  }
  if (args.only === null || args.only === "micro") out.micro = await micro(args.quick);
  if (args.only === null || args.only === "macro") {
    const missing = missingTools();
    if (missing.length) {
      const msg = `macro: skipped, missing:\n  ${missing.join("\n  ")}\n  (or run scripts/bootstrap.sh)`;
      log(msg);
      out.notes.push(msg);
    } else {
      out.macro = await runMacro({ rounds: args.rounds, seconds: args.seconds, udpRate: args.udpRate, settleSeconds: args.settle, pairs: args.pairs, peers: args.peers, log });
      console.log(`\nmacro: median of ${args.rounds} alternating rounds, TCP ${args.seconds} s each way; ratio vs ${BASELINE} per round${args.peers ? `; ${args.peers} extra peers on each side` : ""}`);
      for (const [impl, v] of Object.entries(out.implementations)) console.log(`  ${impl}: ${v}`);
      console.log(macroTable(out.macro));
      for (const s of out.macro.summary) for (const e of s.errors) console.log(`  ${s.pair} ${e}`);
      for (const s of out.macro.skipped) console.log(`  skipped ${s.pair}: ${s.reason}`);
    }
  }
  mkdirSync(RESULTS, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, "-");
  const json = join(RESULTS, `${stamp}.json`);
  writeFileSync(json, JSON.stringify(out, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2));
  console.log(`\nwrote ${json}`);
  const panels = [...(out.macro ? macroPanels(out.macro) : []), ...(out.micro ? microPanels(out.micro) : [])];
  if (panels.length > 0) {
    const svg = join(RESULTS, `${stamp}.svg`);
    writeFileSync(svg, svgChart(`wg-ts vs wireguard-go — ${out.startedAt}`, panels));
    console.log(`wrote ${svg}`);
  }
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exitCode = 1;
    },
  );
}
