/**
 * `pnpm bench --only lab`: the seed-000 reference network as a lab of namespaces (`wg-deploy up`),
 * its gateways' tunnels run by wg-ts and by wireguard-go in alternating rounds, and through it what
 * the seed's users do: from postgres-client to rdb (spoke-02 → hub → spoke-01, two tunnels),
 * pgbench select-only and TPC-B with 1 and 4 clients (TPS, average latency) and ping 50 ms apart.
 *
 * The lab is the real `wg-deploy` one (same plans, same PostgreSQL); traffic stays in its namespaces.
 * Nothing is timed against a threshold: the numbers are reported side by side, per round.
 */
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { table } from "./macro/report.js";
import { median } from "./macro/sys.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const WG_DEPLOY = join(ROOT, "packages/deploy/bin/wg-deploy.js");
const CLIENT = "postgres-client";

export type LabImpl = "wg-ts" | "wireguard-go";
export const LAB_IMPLS: readonly LabImpl[] = ["wg-ts", "wireguard-go"];

export interface LabOptions {
  rounds: number;
  /** Seconds per pgbench run. */
  seconds: number;
  /** wireguard-go binary for the reference gateways (default: Debian's, on PATH). */
  wireguardGo: string | null;
  log: (line: string) => void;
}

/** One pgbench workload: select-only (-S) or the default TPC-B-like script, with `clients` connections. */
export interface Workload {
  readonly name: string;
  readonly args: readonly string[];
  readonly clients: number;
}
export const WORKLOADS: readonly Workload[] = [
  { name: "select-only, 1 client", args: ["-S"], clients: 1 },
  { name: "select-only, 4 clients", args: ["-S"], clients: 4 },
  { name: "TPC-B, 1 client", args: [], clients: 1 },
  { name: "TPC-B, 4 clients", args: [], clients: 4 },
];

export interface LabRound {
  impl: LabImpl;
  round: number;
  /** Per workload name: transactions per second and average latency in ms. */
  pgbench: Record<string, { tps: number; latencyMs: number }>;
  pingAvgMs: number;
  error?: string;
}

export interface LabSummary {
  impl: LabImpl;
  pgbench: Record<string, { tps: number; latencyMs: number; latencyVsWireguardGo: number }>;
  pingAvgMs: number;
  pingVsWireguardGo: number;
  errors: string[];
}

export interface LabResult {
  options: { rounds: number; seconds: number };
  rounds: LabRound[];
  summary: LabSummary[];
}

function deploy(args: readonly string[], env: NodeJS.ProcessEnv): { code: number; out: string } {
  const r = spawnSync(process.execPath, [WG_DEPLOY, ...args], { encoding: "utf8", env, timeout: 300_000 });
  return { code: r.status ?? 1, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/** Runs `argv` on the lab's client (its plan's commands on PATH); throws with the output on failure. */
function onClient(argv: readonly string[], env: NodeJS.ProcessEnv): string {
  const r = deploy(["exec", CLIENT, "--", ...argv], env);
  if (r.code !== 0) throw new Error(`${argv.slice(0, 3).join(" ")} on ${CLIENT}: exit ${r.code}: ${r.out.trim().split("\n").slice(-3).join(" / ")}`);
  return r.out;
}

/** The connection the client's `dbconnect` uses (the plan's own command), as pgbench arguments and env. */
function connection(env: NodeJS.ProcessEnv): { args: string[]; env: Record<string, string>; host: string; db: string } {
  const script = onClient(["sh", "-c", 'cat "$(command -v dbconnect)"'], env);
  const m = /PGPASSFILE="([^"]+)" exec psql "host=(\S+) port=(\d+) user=(\S+) dbname=(\S+)/.exec(script);
  if (!m) throw new Error("cannot read the connection from the client's dbconnect");
  const [, passfile, host, port, user, db] = m as unknown as [string, string, string, string, string, string];
  return { args: ["-h", host, "-p", port, "-U", user], env: { PGPASSFILE: passfile }, host, db };
}

function oneRound(impl: LabImpl, round: number, o: LabOptions): LabRound {
  const res: LabRound = { impl, round, pgbench: {}, pingAvgMs: NaN };
  const env: NodeJS.ProcessEnv = { ...process.env, WG_DEPLOY_WIREGUARD: impl };
  if (o.wireguardGo) env["WG_DEPLOY_WIREGUARD_GO"] = o.wireguardGo;
  deploy(["down"], env);
  try {
    const up = deploy(["up", "-o", `wireguard=${impl}`], env);
    if (up.code !== 0) throw new Error(`wg-deploy up: ${up.out.trim().split("\n").slice(-3).join(" / ")}`);
    const c = connection(env);
    const withPass = ["env", `PGPASSFILE=${c.env["PGPASSFILE"]}`];
    onClient([...withPass, "pgbench", ...c.args, "-i", "-q", "-s", "1", c.db], env);
    for (const w of WORKLOADS) {
      const out = onClient([...withPass, "pgbench", ...c.args, "-n", ...w.args, "-c", String(w.clients), "-j", String(w.clients), "-T", String(o.seconds), c.db], env);
      const tps = /tps = ([\d.]+)/.exec(out);
      const lat = /latency average = ([\d.]+) ms/.exec(out);
      res.pgbench[w.name] = { tps: Number(tps?.[1] ?? NaN), latencyMs: Number(lat?.[1] ?? NaN) };
    }
    const ping = onClient(["ping", "-q", "-c", "40", "-i", "0.05", c.host], env);
    const m = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\//.exec(ping);
    res.pingAvgMs = Number(m?.[2] ?? NaN);
  } catch (e) {
    res.error = (e as Error).message;
  } finally {
    deploy(["down"], env);
  }
  return res;
}

function summarize(rounds: readonly LabRound[]): LabSummary[] {
  const ok = rounds.filter((r) => !r.error);
  const ratio = (impl: LabImpl, f: (r: LabRound) => number): number =>
    median(
      ok
        .filter((r) => r.impl === impl)
        .map((r) => {
          const base = ok.find((b) => b.impl === "wireguard-go" && b.round === r.round);
          return base ? f(r) / f(base) : NaN;
        }),
    );
  return LAB_IMPLS.map((impl) => {
    const mine = ok.filter((r) => r.impl === impl);
    const pgbench: LabSummary["pgbench"] = {};
    for (const w of WORKLOADS) {
      pgbench[w.name] = {
        tps: median(mine.map((r) => r.pgbench[w.name]?.tps ?? NaN)),
        latencyMs: median(mine.map((r) => r.pgbench[w.name]?.latencyMs ?? NaN)),
        latencyVsWireguardGo: ratio(impl, (r) => r.pgbench[w.name]?.latencyMs ?? NaN),
      };
    }
    return {
      impl,
      pgbench,
      pingAvgMs: median(mine.map((r) => r.pingAvgMs)),
      pingVsWireguardGo: ratio(impl, (r) => r.pingAvgMs),
      errors: rounds.filter((r) => r.impl === impl && r.error).map((r) => `round ${r.round}: ${r.error}`),
    };
  });
}

/** Alternating rounds (round r starts with implementation r mod 2), medians and same-round ratios. */
export function runLab(o: LabOptions): LabResult {
  const rounds: LabRound[] = [];
  for (let round = 1; round <= o.rounds; round++) {
    for (let i = 0; i < LAB_IMPLS.length; i++) {
      const impl = LAB_IMPLS[(i + round - 1) % LAB_IMPLS.length]!;
      o.log(`lab: round ${round}/${o.rounds} ${impl} …`);
      const r = oneRound(impl, round, o);
      rounds.push(r);
      o.log(
        r.error
          ? `lab:   FAILED ${r.error}`
          : `lab:   ${Object.entries(r.pgbench).map(([n, v]) => `${n}: ${v.tps.toFixed(0)} tps ${v.latencyMs.toFixed(3)} ms`).join("; ")}; ping ${r.pingAvgMs.toFixed(3)} ms`,
      );
    }
  }
  return { options: { rounds: o.rounds, seconds: o.seconds }, rounds, summary: summarize(rounds) };
}

/** The summary as a text table: one row per implementation and workload. */
export function labTable(r: LabResult): string {
  const f = (x: number, d: number): string => (Number.isFinite(x) ? x.toFixed(d) : "—");
  const rows: string[][] = [];
  for (const s of r.summary) {
    for (const [name, v] of Object.entries(s.pgbench)) rows.push([s.impl, `pgbench ${name}`, f(v.tps, 0), f(v.latencyMs, 3), `${f(v.latencyVsWireguardGo, 2)}×`]);
    rows.push([s.impl, "ping, 50 ms apart", "", f(s.pingAvgMs, 3), `${f(s.pingVsWireguardGo, 2)}×`]);
  }
  return table(["gateways", "postgres-client → rdb", "TPS", "latency ms", "vs wireguard-go"], rows);
}
