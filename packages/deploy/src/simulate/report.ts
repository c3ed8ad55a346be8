/**
 * What a simulation reports, per link and per hour of virtual time: handshakes (completed, counted
 * on the initiator's side), rekeys (handshakes completed while the link already had a session),
 * initiations/responses/cookie replies/keepalives put on the wire, datagrams and bytes, inner
 * packets sent/delivered/lost/late, and the longest gap in which a host could not reach the other.
 *
 * A gap, per direction of traffic between two hosts (requests, bulk data: the flows that send on
 * their own schedule; answers go only to requests that arrived): from the sending time of a packet that did not
 * reach its host within the traffic's deadline (lost, or later than `deadline`, like `ping -W`) to
 * the sending time of the next packet that did. Packets sent in the last `deadline` + 1 s of the run
 * are "in flight" and not judged. A gap still open at the end lasts until the end.
 *
 * The report is plain data (JSON-able, deterministic: virtual times in ms from the start, no real
 * clock anywhere); {@link formatReport} renders the table printed on stdout.
 */
import type { DropReason } from "@wg-ts/core";
import { formatDuration } from "./duration.js";
import type { LinkConditions, NatOptions, ScenarioEvent } from "./scenario.js";
import type { Simulation, SimulationOptions } from "./simulator.js";

export interface HourCounters {
  handshakes: number;
  rekeys: number;
  initiations: number;
  responses: number;
  cookieReplies: number;
  keepalives: number;
  /** Datagrams put on the wire (both directions) and lost on it (loss, partition, MTU, NAT, nobody there). */
  datagrams: number;
  datagramsLost: number;
  /** Of those lost, transport datagrams carrying data (not keepalives): each is an inner packet the network lost. */
  dataDatagramsLost: number;
  /** UDP payload bytes put on the wire. */
  bytes: number;
  packetsSent: number;
  packetsDelivered: number;
  packetsLost: number;
  packetsLate: number;
  /** Longest gap starting in this hour, ms. */
  longestGap: number;
}

export function emptyCounters(): HourCounters {
  return {
    handshakes: 0, rekeys: 0, initiations: 0, responses: 0, cookieReplies: 0, keepalives: 0,
    datagrams: 0, datagramsLost: 0, dataDatagramsLost: 0, bytes: 0, packetsSent: 0, packetsDelivered: 0, packetsLost: 0, packetsLate: 0, longestGap: 0,
  };
}

function add(into: HourCounters, c: HourCounters): void {
  for (const k of Object.keys(into) as (keyof HourCounters)[]) into[k] = k === "longestGap" ? Math.max(into[k], c[k]) : into[k] + c[k];
}

export interface Gap {
  link: string;
  /** Sending and receiving gateway of the traffic direction. */
  from: string;
  to: string;
  /** ms from the start. */
  start: number;
  length: number;
}

export interface LinkReport {
  name: string;
  a: string;
  b: string;
  total: HourCounters;
  hours: (HourCounters & { hour: number })[];
  /** ms from the start of each completed handshake. */
  handshakes: number[];
  /** Time between consecutive completed handshakes, ms (null without two). */
  handshakeInterval: { min: number; mean: number; max: number } | null;
  /** [up, down) intervals of the session (both sides can send), sampled. */
  sessions: [number, number][];
  /** Times the session went down after it first came up (before the end). */
  sessionLosses: number;
  /** [start, length] of every gap of at least {@link NOTABLE_GAP} ms (both directions; at most 1000). */
  gaps: [number, number][];
}

/** Gaps at least this long are listed per link (shorter ones are single lost packets). */
export const NOTABLE_GAP = 3000;

export interface SimulationReport {
  topology: string;
  seed: number;
  /** ms of virtual time. */
  duration: number;
  /** The virtual clock's start (ISO 8601; fixed). */
  start: string;
  conditions: LinkConditions;
  linkOverrides: { between: readonly [string, string]; conditions: Partial<LinkConditions> }[];
  nat: NatOptions;
  traffic: Record<string, unknown>;
  keepaliveOverride: number | null;
  gateways: { name: string; publicAddress: string; behindNat: boolean; peers: number; drops: Partial<Record<DropReason, number>> }[];
  links: LinkReport[];
  total: HourCounters;
  longestGaps: Gap[];
  events: (ScenarioEvent & { t0: number | null; recovery: Record<string, { handshake: number | null; forward: number | null; backward: number | null }> })[];
  /** Packets not judged (sent too close to the end). */
  packetsInFlight: number;
  unattributedDatagrams: number;
  misdelivered: number;
  /** Odd things the simulator saw the Devices do (see the README's "Findings"). */
  findings: string[];
}

export function buildReport(sim: Simulation, options: SimulationOptions): SimulationReport {
  const deadline = sim.scenario.traffic.deadline;
  const judgedUntil = options.duration - deadline - 1000;
  const gaps: Gap[] = [];
  const linkGaps = sim.links.map((): [number, number][] => []);
  let inFlight = 0;
  for (const flow of sim.flows) {
    const link = sim.links[flow.link]!;
    // Answers are only sent to requests that arrived: their flows count packets, not gaps.
    const judged = flow.kind !== "reply" && flow.kind !== "response";
    let outage = NaN;
    const close = (until: number): void => {
      const length = until - outage;
      const c = sim.counters(link, outage);
      c.longestGap = Math.max(c.longestGap, length);
      gaps.push({ link: link.name, from: sim.gateways[flow.from]!.name, to: sim.gateways[flow.to]!.name, start: outage, length });
      const mine = linkGaps[link.index]!;
      if (length >= NOTABLE_GAP && mine.length < 1000) mine.push([outage, length]);
      outage = NaN;
    };
    for (let i = 0; i < flow.sentAt.length; i++) {
      const s = flow.sentAt[i];
      if (s === undefined) continue; // a request that was never answered has no reply
      const d = flow.deliveredAt[i]!;
      if (s > judgedUntil) {
        if (Number.isNaN(d)) inFlight++;
        continue;
      }
      const c = sim.counters(link, s);
      if (Number.isNaN(d)) c.packetsLost++;
      const reached = !Number.isNaN(d) && d - s <= deadline;
      if (!reached && !Number.isNaN(d)) c.packetsLate++;
      if (!judged) continue;
      if (!reached && Number.isNaN(outage)) outage = s;
      else if (reached && !Number.isNaN(outage)) close(s);
    }
    if (!Number.isNaN(outage)) close(Math.min(options.duration, sim.scenario.traffic.stop));
  }
  gaps.sort((x, y) => y.length - x.length || x.start - y.start || x.link.localeCompare(y.link));

  const total = emptyCounters();
  const links: LinkReport[] = sim.links.map((l) => {
    const t = emptyCounters();
    for (const h of l.hours) add(t, h);
    add(total, t);
    const intervals = l.handshakes.slice(1).map((x, i) => x - l.handshakes[i]!);
    const firstUp = l.sessions[0]?.[0];
    return {
      name: l.name,
      a: sim.gateways[l.a]!.name,
      b: sim.gateways[l.b]!.name,
      total: t,
      hours: l.hours.map((h, hour) => ({ hour, ...h })),
      handshakes: l.handshakes,
      handshakeInterval:
        intervals.length === 0 ? null : { min: Math.min(...intervals), mean: Math.round(intervals.reduce((s, x) => s + x, 0) / intervals.length), max: Math.max(...intervals) },
      sessions: l.sessions,
      sessionLosses: firstUp === undefined ? 0 : l.sessions.filter(([, down]) => down < options.duration).length,
      gaps: linkGaps[l.index]!.sort((x, y) => x[0] - y[0] || x[1] - y[1]),
    };
  });
  const mix = sim.scenario.traffic;
  return {
    topology: options.topology.name,
    seed: options.seed,
    duration: options.duration,
    start: new Date(sim.start).toISOString(),
    conditions: sim.scenario.conditions,
    linkOverrides: sim.scenario.links,
    nat: sim.scenario.nat,
    traffic: { ...mix, stop: Number.isFinite(mix.stop) ? mix.stop : null },
    keepaliveOverride: options.keepalive ?? null,
    gateways: sim.gateways.map((g) => ({
      name: g.name,
      publicAddress: g.publicAddress,
      behindNat: g.behindNat,
      peers: g.plan.peers.length,
      drops: Object.fromEntries([...g.drops].sort(([a], [b]) => a.localeCompare(b))),
    })),
    links,
    total,
    longestGaps: gaps.slice(0, 10),
    events: sim.events.map((r) => ({ ...r.event, t0: Number.isNaN(r.t0) ? null : r.t0, recovery: r.recovery })),
    packetsInFlight: inFlight,
    unattributedDatagrams: sim.unattributedDatagrams,
    misdelivered: sim.misdelivered,
    findings: sim.findings,
  };
}

const COLUMNS: [string, (c: HourCounters) => string][] = [
  ["hs", (c) => String(c.handshakes)],
  ["rekey", (c) => String(c.rekeys)],
  ["init", (c) => String(c.initiations)],
  ["cookie", (c) => String(c.cookieReplies)],
  ["ka", (c) => String(c.keepalives)],
  ["pkts", (c) => String(c.packetsSent)],
  ["deliv", (c) => String(c.packetsDelivered)],
  ["lost", (c) => String(c.packetsLost)],
  ["late", (c) => String(c.packetsLate)],
  ["gap", (c) => (c.longestGap === 0 ? "-" : formatDuration(c.longestGap))],
  ["dgrams", (c) => String(c.datagrams)],
  ["dlost", (c) => String(c.datagramsLost)],
  ["bytes", (c) => formatBytes(c.bytes)],
];

/** The text table: one row per link and hour (per link only when that would be more than `maxRows`), then totals. */
export function formatReport(r: SimulationReport, maxRows = 200): string {
  const rows: string[][] = [];
  const perHour = r.links.reduce((s, l) => s + l.hours.length, 0) <= maxRows;
  for (const l of r.links) {
    if (perHour) for (const h of l.hours) rows.push([l.name, String(h.hour), ...COLUMNS.map(([, f]) => f(h))]);
    rows.push([l.name, perHour ? "all" : "all", ...COLUMNS.map(([, f]) => f(l.total))]);
  }
  rows.push(["TOTAL", "", ...COLUMNS.map(([, f]) => f(r.total))]);
  const header = ["link", "hour", ...COLUMNS.map(([h]) => h)];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  const out = [
    `simulate ${r.topology}: ${r.gateways.length} gateways, ${r.links.length} links, ${formatDuration(r.duration)} virtual, seed ${r.seed}`,
    `network: latency ${r.conditions.latency}ms jitter ${r.conditions.jitter}ms loss ${pct(r.conditions.loss)} dup ${pct(r.conditions.duplicate)} reorder ${pct(r.conditions.reorder)} mtu ${r.conditions.mtu}` +
      (r.linkOverrides.length > 0 ? ` (+${r.linkOverrides.length} link overrides)` : ""),
    "",
    line(header),
    ...rows.map(line),
    "",
  ];
  if (!perHour) out.splice(3, 0, `(${r.links.length} links: per-link totals only; --json has every hour)`, "");
  const sessionLosses = r.links.filter((l) => l.sessionLosses > 0);
  out.push(`sessions lost: ${sessionLosses.length === 0 ? "none" : sessionLosses.map((l) => `${l.name} ×${l.sessionLosses}`).join(", ")}`);
  const hsi = r.links.filter((l) => l.handshakeInterval !== null).slice(0, 10);
  if (hsi.length > 0) out.push(`handshake interval (min/mean/max): ${hsi.map((l) => `${l.name} ${formatDuration(l.handshakeInterval!.min)}/${formatDuration(l.handshakeInterval!.mean)}/${formatDuration(l.handshakeInterval!.max)}`).join("; ")}`);
  if (r.longestGaps.length > 0) {
    out.push("longest gaps:");
    for (const g of r.longestGaps.slice(0, 5)) out.push(`  ${formatDuration(g.length).padStart(8)}  ${g.from} -> ${g.to} at +${formatDuration(g.start)}`);
  }
  for (const e of r.events) {
    const rec = Object.entries(e.recovery)
      .map(([link, x]) => `${link}: handshake ${fmt(x.handshake)}, delivered ${fmt(x.forward)} / ${fmt(x.backward)}`)
      .join("; ");
    out.push(`event +${formatDuration(e.at)} ${describeEvent(e)}: from +${e.t0 === null ? "?" : formatDuration(e.t0)} ${rec}`);
  }
  const drops = r.gateways.filter((g) => Object.keys(g.drops).length > 0).slice(0, 10);
  if (drops.length > 0) out.push(`drops: ${drops.map((g) => `${g.name} ${Object.entries(g.drops).map(([k, v]) => `${k}=${v}`).join(",")}`).join("; ")}`);
  if (r.misdelivered > 0) out.push(`misdelivered inner packets: ${r.misdelivered}`);
  for (const f of r.findings) out.push(`finding: ${f}`);
  return `${out.join("\n")}\n`;
}

export function describeEvent(e: ScenarioEvent): string {
  switch (e.kind) {
    case "partition":
      return `partition ${e.between[0]}~${e.between[1]} for ${formatDuration(e.duration)}`;
    case "restart":
      return `restart ${e.gateway}${e.down > 0 ? ` (down ${formatDuration(e.down)})` : ""}`;
    case "move":
      return `move ${e.gateway} to ${e.address}${e.reconfigurePeers ? " (peers reconfigured)" : ""}`;
    case "rotate-key":
      return `rotate key of ${e.gateway}`;
    case "nat-rebind":
      return `NAT rebind in front of ${e.gateway}`;
  }
}

const fmt = (ms: number | null): string => (ms === null ? "never" : formatDuration(ms));
const pct = (p: number): string => `${+(p * 100).toFixed(3)}%`;
function formatBytes(b: number): string {
  if (b < 10_000) return `${b}`;
  if (b < 10_000_000) return `${(b / 1000).toFixed(0)}k`;
  return `${(b / 1e6).toFixed(0)}M`;
}
