/**
 * `wg-deploy simulate`: runs a topology's gateways as wg-core Devices over a simulated network in
 * virtual time (./simulator.ts) and prints the report (table, or JSON with --json); --svg writes the
 * timeline. Everything goes through `DeployIo`; files are read/written relative to `io.cwd`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { Command, Option } from "commander";
import { loadTransportAead } from "@wg-ts/daemon/native-aead";
import type { Registry } from "../registry.js";
import type { DeployIo, TopologyPreset } from "../target.js";
import { formatDuration, parseDuration, parseProbability } from "./duration.js";
import { generatedTopology, isGeneratedTopology } from "./generated.js";
import { formatReport } from "./report.js";
import { DEFAULT_NAT, DEFAULT_TRAFFIC, parseConditions, parseEvent, parseScenarioFile, parseTraffic, type LinkConditions, type ScenarioInput } from "./scenario.js";
import { Simulation } from "./simulator.js";
import { timelineSvg } from "./svg.js";

interface SimulateFlags {
  topology: string;
  hours: string;
  seed: string;
  loss?: string;
  latency?: string;
  jitter?: string;
  reorder?: string;
  duplicate?: string;
  mtu?: string;
  traffic?: string;
  events?: string;
  event: string[];
  keepalive?: string;
  natTimeout?: string;
  json?: boolean;
  svg?: string;
}

export function simulateCommand(io: DeployIo, registries: { topologies: Registry<TopologyPreset> }): Command {
  return new Command("simulate")
    .description("run every gateway of a topology as a wg-core Device over a simulated network, in virtual time")
    .addOption(new Option("-p, --topology <name>", "a preset, or generated:hub-spoke:N / generated:mesh:N").default(io.env["WG_DEPLOY_TOPOLOGY"] ?? "hub-spoke"))
    .option("--hours <h>", "virtual hours to run (fractions allowed)", "1")
    .option("--seed <n>", "seed of every random choice (same seed, same run)", "1")
    .option("--loss <p>", "datagram loss on every link, 0.05 or 5%")
    .option("--latency <ms>", "one-way latency, ms (or 40ms, 0.1s)")
    .option("--jitter <ms>", "extra one-way delay, uniform in [0, jitter)")
    .option("--reorder <p>", "probability a datagram arrives out of order")
    .option("--duplicate <p>", "probability a datagram arrives twice")
    .option("--mtu <bytes>", "path MTU of every link")
    .option("--traffic <mix>", "e.g. ping=1s,db=5s,bulk=200/10s/60s,deadline=1s,pingDirection=both (ping=off for none)")
    .option("--events <file>", "scenario file (JSON or YAML): network, links, nat, traffic, events")
    .option("--event <spec>", "one event, e.g. at=2h,partition=a~b,for=10m | at=3h,restart=GW,down=30s | at=1h,natRebind=GW | at=1h,rotateKey=GW | at=1h,move=GW,address=IP,reconfigurePeers=true (repeatable)", collect, [] as string[])
    .option("--keepalive <s>", "override every gateway's PersistentKeepalive (seconds; 0 = off)")
    .option("--nat-timeout <d>", "idle timeout of NAT mappings (default 120s)")
    .option("--json", "print the report as JSON")
    .option("--svg <file>", "write the timeline as SVG")
    .action((flags: SimulateFlags) => {
      const topology = isGeneratedTopology(flags.topology) ? generatedTopology(flags.topology) : registries.topologies.get(flags.topology).build();
      const scenario = scenarioFromFlags(flags, io);
      const hours = Number(flags.hours);
      if (!(hours > 0)) throw new Error(`--hours ${flags.hours}: a positive number`);
      const seed = Number(flags.seed);
      if (!Number.isInteger(seed)) throw new Error(`--seed ${flags.seed}: an integer`);
      const keepalive = flags.keepalive === undefined ? undefined : Number(flags.keepalive);
      if (keepalive !== undefined && !(Number.isInteger(keepalive) && keepalive >= 0 && keepalive <= 65535)) throw new Error(`--keepalive ${flags.keepalive}: 0..65535 seconds`);
      // The transport AEAD and X25519 the daemon's Device uses (the native addon where it loads,
      // else node:crypto): the same bytes either way, the addon without node:crypto's per-call objects.
      const { aead, x25519 } = loadTransportAead();
      const started = performance.now();
      const sim = new Simulation({ topology, seed, duration: Math.round(hours * 3_600_000), scenario, aead, x25519, ...(keepalive !== undefined ? { keepalive } : {}) });
      const report = sim.run();
      const wall = performance.now() - started;
      io.stdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      if (flags.svg !== undefined) {
        const path = resolve(io.cwd, flags.svg);
        writeFileSync(path, timelineSvg(report));
        io.stderr(`wrote ${path}\n`);
      }
      // Wall-clock time only on stderr: stdout stays a pure function of the inputs.
      io.stderr(`simulated ${formatDuration(report.duration)} of ${topology.name} in ${formatDuration(wall)} (${report.total.handshakes} handshakes, ${report.total.datagrams} datagrams; transport AEAD ${aead.name})\n`);
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The scenario: the file first, then the flags on top. */
export function scenarioFromFlags(flags: SimulateFlags, io: DeployIo): ScenarioInput {
  const file = flags.events === undefined ? {} : parseScenarioFile(readFileSync(resolve(io.cwd, flags.events), "utf8"), flags.events);
  const conditions: Partial<LinkConditions> = { ...file.conditions };
  if (flags.loss !== undefined) conditions.loss = parseProbability(flags.loss, "--loss");
  if (flags.reorder !== undefined) conditions.reorder = parseProbability(flags.reorder, "--reorder");
  if (flags.duplicate !== undefined) conditions.duplicate = parseProbability(flags.duplicate, "--duplicate");
  Object.assign(conditions, parseConditions({ ...pick(flags, "latency", "jitter"), ...(flags.mtu !== undefined ? { mtu: flags.mtu } : {}) }, "network"));
  const events = [...(file.events ?? []), ...flags.event.map((spec, i) => parseEvent(eventObject(spec), `--event ${i + 1}`))];
  return {
    conditions,
    links: file.links ?? [],
    nat: flags.natTimeout === undefined ? (file.nat ?? DEFAULT_NAT) : { ...(file.nat ?? DEFAULT_NAT), idleTimeout: parseDuration(flags.natTimeout, "--nat-timeout") },
    traffic: flags.traffic === undefined ? (file.traffic ?? DEFAULT_TRAFFIC) : parseTraffic(flags.traffic, "--traffic", file.traffic ?? DEFAULT_TRAFFIC),
    events,
  };
}

function pick(flags: SimulateFlags, ...keys: ("latency" | "jitter")[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = flags[k];
    if (v !== undefined) out[k] = /^[0-9.]+$/.test(v) ? `${v}ms` : v;
  }
  return out;
}

/** "at=2h,partition=a~b,for=10m" -> the object a scenario file would hold. */
function eventObject(spec: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const part of spec.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new Error(`--event "${spec}": "${part}" is not key=value`);
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    out[k] = k === "partition" ? v.split("~") : k === "reconfigurePeers" ? v === "true" : v;
  }
  return out;
}
