/**
 * `pnpm bench`: micro benchmarks (seal/open, handshakes, allowed-IPs lookups — runMicro() from
 * micro.ts) and the macro benchmark (iperf3 and ping through WireGuard tunnels in network
 * namespaces, wg-ts side by side with wireguard-go), printed as tables and written to
 * benchmarks/results/<timestamp>.json and .svg.
 *
 *   node benchmarks/dist/run.js [--only micro|macro] [--quick] [--rounds N] [--seconds S] [--udp-rate 200M] [--settle 12]
 *                               [--pairs wg-ts:wg-ts,wireguard-go:wireguard-go,...]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { IMPLS, isImplName } from "./macro/endpoints.js";
import { BASELINE, DEFAULT_PAIRS, missingTools, runMacro, type MacroResult, type Pair } from "./macro/index.js";
import { macroPanels, macroTable, svgChart } from "./macro/report.js";
import { runMicro, type MicroResult } from "./micro.js";

const RESULTS = resolve(dirname(fileURLToPath(import.meta.url)), "../results");

interface Args {
  only: "micro" | "macro" | null;
  rounds: number;
  seconds: number;
  udpRate: string;
  pairs: readonly Pair[];
  quick: boolean;
  settle: number;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { only: null, rounds: 3, seconds: 5, udpRate: "200M", pairs: DEFAULT_PAIRS, quick: false, settle: 12 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1] ?? "";
    switch (k) {
      case "--only":
        if (v !== "micro" && v !== "macro") throw new Error("--only micro|macro");
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
      case "--udp-rate":
        a.udpRate = v;
        i++;
        break;
      case "--pairs":
        a.pairs = v.split(",").map((p) => {
          const [x, y] = p.split(":");
          if (!isImplName(x) || !isImplName(y)) throw new Error(`--pairs: ${p}: implementations are ${IMPLS.join(", ")}`);
          return [x, y] as const;
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
          "usage: pnpm bench [-- --only micro|macro] [--quick] [--rounds 3] [--seconds 5] [--udp-rate 200M] [--settle 12] [--pairs a:b,...]",
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
  const out: { startedAt: string; host: { cpus: number; node: string }; micro: MicroResult[] | null; macro: MacroResult | null; notes: string[] } = {
    startedAt: started.toISOString(),
    host: { cpus: (await import("node:os")).cpus().length, node: process.version },
    micro: null,
    macro: null,
    notes: [],
  };
  if (args.only !== "macro") out.micro = await micro(args.quick);
  if (args.only !== "micro") {
    const missing = missingTools();
    if (missing.length) {
      const msg = `macro: skipped, missing:\n  ${missing.join("\n  ")}\n  (or run scripts/bootstrap.sh)`;
      log(msg);
      out.notes.push(msg);
    } else {
      out.macro = await runMacro({ rounds: args.rounds, seconds: args.seconds, udpRate: args.udpRate, settleSeconds: args.settle, pairs: args.pairs, log });
      console.log(`\nmacro: median of ${args.rounds} alternating rounds, TCP ${args.seconds} s each; ratio vs ${BASELINE} per round`);
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
