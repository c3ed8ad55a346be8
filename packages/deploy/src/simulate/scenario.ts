/**
 * What a simulation is asked to do: network conditions (defaults and per-link overrides), the
 * traffic mix, and scheduled events (partitions, restarts, endpoint changes, key rotations, NAT
 * rebinds). Given on the command line or in a scenario file (JSON or YAML):
 *
 * ```yaml
 * links:                                # per-link overrides of the --loss/--latency/… defaults
 *   - between: [wireguard-hub, wireguard-spoke-01]
 *     loss: 5%
 *     latency: 40ms
 * nat: { idleTimeout: 120s, refreshInbound: true }   # NAT boxes in front of gateways behind NAT
 * traffic: { ping: 1s, db: 5s, bulk: { rate: 200, on: 10s, every: 60s } }
 * events:
 *   - { at: 2h, partition: [wireguard-spoke-01, wireguard-spoke-02], for: 10m }
 *   - { at: 3h, restart: wireguard-hub, down: 30s }
 *   - { at: 4h, move: wireguard-spoke-02, address: 203.0.113.99, reconfigurePeers: true }
 *   - { at: 5h, rotateKey: wireguard-spoke-01 }
 *   - { at: 6h, natRebind: vpn-client }
 * ```
 */
import { parse as parseYaml } from "yaml";
import { parseDuration, parseProbability } from "./duration.js";

/** Conditions of one underlay path between two gateways (both directions). */
export interface LinkConditions {
  /** One-way base latency, ms. */
  latency: number;
  /** Extra one-way delay, uniform in [0, jitter) ms (FIFO kept unless reordered). */
  jitter: number;
  /** Probability a datagram is lost. */
  loss: number;
  /** Probability a datagram is delivered twice. */
  duplicate: number;
  /** Probability a datagram overtakes FIFO order and arrives late (latency + jitter + 1..50 ms more). */
  reorder: number;
  /** Largest IP packet (UDP payload + 28 bytes) the path carries; larger datagrams are lost. */
  mtu: number;
}

export const DEFAULT_CONDITIONS: LinkConditions = { latency: 20, jitter: 5, loss: 0, duplicate: 0, reorder: 0, mtu: 1500 };

export interface LinkOverride {
  between: readonly [string, string];
  conditions: Partial<LinkConditions>;
}

/** The traffic mix. Intervals in ms; 0 = off. */
export interface TrafficMix {
  /** Every peered gateway pair: an echo request each way every `ping` ms, answered at once. */
  ping: number;
  /** Which side of each link sends the echo requests: both, the first gateway of the pair (topology order), or the second. */
  pingDirection: "both" | "forward" | "backward";
  /**
   * Database-client traffic: each client host sends a 200-byte request to the database host (or, with
   * no database, to the next site's host) at Poisson intervals of mean `db` ms; answered by 3 × 1200 B.
   */
  db: number;
  /** Bulk: every peered pair, the first gateway's side sends `rate` packets/s of MTU size for `on` ms every `every` ms. */
  bulk: { rate: number; on: number; every: number } | null;
  /** Inner packets count as "reached" when delivered within this many ms of being sent (ping -W). */
  deadline: number;
  /** Traffic starts at this offset from the start, ms. */
  start: number;
  /** And stops at this offset (Infinity = the end of the run). */
  stop: number;
}

export const DEFAULT_TRAFFIC: TrafficMix = { ping: 1000, pingDirection: "both", db: 0, bulk: null, deadline: 1000, start: 0, stop: Infinity };

/** A scheduled event; `at` is ms from the start of the run. */
export type ScenarioEvent =
  /** No datagram between the two gateways (both ways) for `duration` ms. */
  | { at: number; kind: "partition"; between: readonly [string, string]; duration: number }
  /** The gateway's Device is discarded; after `down` ms a fresh one starts with the same keys and plan. */
  | { at: number; kind: "restart"; gateway: string; down: number }
  /** The gateway's public address changes; with `reconfigurePeers` its peers' configured endpoints are updated too. */
  | { at: number; kind: "move"; gateway: string; address: string; reconfigurePeers: boolean }
  /** The gateway gets a new key pair; every peer's configuration is updated at the same moment. */
  | { at: number; kind: "rotate-key"; gateway: string }
  /** The NAT box in front of the gateway forgets its mapping (the next packet gets a new port). */
  | { at: number; kind: "nat-rebind"; gateway: string };

export interface NatOptions {
  /** A mapping unused this long is dropped; the next outbound packet gets a new port. */
  idleTimeout: number;
  /** Inbound packets keep the mapping alive too (Linux conntrack, the lab's masquerade); false = outbound only (RFC 4787 REQ-6's minimum). */
  refreshInbound: boolean;
}

export const DEFAULT_NAT: NatOptions = { idleTimeout: 120_000, refreshInbound: true };

export interface Scenario {
  conditions: LinkConditions;
  links: LinkOverride[];
  nat: NatOptions;
  traffic: TrafficMix;
  events: ScenarioEvent[];
}

/** The parts of a {@link Scenario} a caller sets (the rest are defaults). */
export interface ScenarioInput {
  conditions?: Partial<LinkConditions>;
  links?: LinkOverride[];
  nat?: NatOptions;
  traffic?: TrafficMix;
  events?: ScenarioEvent[];
}

/** A scenario file's text (JSON or YAML) -> the parts it sets. */
export function parseScenarioFile(text: string, where: string): ScenarioInput {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new Error(`${where}: ${(error as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  const root = asRecord(doc, where);
  const out: ScenarioInput = {};
  for (const key of Object.keys(root)) {
    if (!["links", "nat", "traffic", "events", "network"].includes(key)) throw new Error(`${where}: unknown key "${key}" (links, network, nat, traffic, events)`);
  }
  if (root["network"] !== undefined) out.conditions = parseConditions(root["network"], `${where}: network`);
  if (root["links"] !== undefined) {
    out.links = asArray(root["links"], `${where}: links`).map((l, i) => {
      const w = `${where}: links[${i}]`;
      const r = asRecord(l, w);
      const between = asPair(r["between"], `${w}.between`);
      const { between: _, ...rest } = r;
      return { between, conditions: parseConditions(rest, w) };
    });
  }
  if (root["nat"] !== undefined) {
    const r = asRecord(root["nat"], `${where}: nat`);
    for (const k of Object.keys(r)) if (k !== "idleTimeout" && k !== "refreshInbound") throw new Error(`${where}: nat: unknown key "${k}" (idleTimeout, refreshInbound)`);
    out.nat = {
      idleTimeout: parseDuration(asScalar(r["idleTimeout"] ?? 120, `${where}: nat.idleTimeout`), `${where}: nat.idleTimeout`),
      refreshInbound: r["refreshInbound"] !== false,
    };
  }
  if (root["traffic"] !== undefined) out.traffic = parseTraffic(root["traffic"], `${where}: traffic`);
  if (root["events"] !== undefined) out.events = asArray(root["events"], `${where}: events`).map((e, i) => parseEvent(e, `${where}: events[${i}]`));
  return out;
}

/** One event object of a scenario file. */
export function parseEvent(value: unknown, where: string): ScenarioEvent {
  const r = asRecord(value, where);
  const at = parseDuration(asScalar(r["at"], `${where}.at`), `${where}.at`);
  const kinds = ["partition", "restart", "move", "rotateKey", "natRebind"].filter((k) => r[k] !== undefined);
  if (kinds.length !== 1) throw new Error(`${where}: exactly one of partition, restart, move, rotateKey, natRebind`);
  switch (kinds[0]) {
    case "partition":
      return { at, kind: "partition", between: asPair(r["partition"], `${where}.partition`), duration: parseDuration(asScalar(r["for"], `${where}.for`), `${where}.for`) };
    case "restart":
      return { at, kind: "restart", gateway: asString(r["restart"], `${where}.restart`), down: parseDuration(asScalar(r["down"] ?? 0, `${where}.down`), `${where}.down`) };
    case "move":
      return {
        at,
        kind: "move",
        gateway: asString(r["move"], `${where}.move`),
        address: asString(r["address"], `${where}.address`),
        reconfigurePeers: r["reconfigurePeers"] === true,
      };
    case "rotateKey":
      return { at, kind: "rotate-key", gateway: asString(r["rotateKey"], `${where}.rotateKey`) };
    default:
      return { at, kind: "nat-rebind", gateway: asString(r["natRebind"], `${where}.natRebind`) };
  }
}

/** `--traffic ping=1s,db=5s,bulk=200/10s/60s,deadline=1s` or a scenario file's `traffic` object. */
export function parseTraffic(value: unknown, where: string, base: TrafficMix = DEFAULT_TRAFFIC): TrafficMix {
  const entries: [string, unknown][] =
    typeof value === "string"
      ? value.split(",").filter((s) => s.trim() !== "").map((s) => {
          const eq = s.indexOf("=");
          if (eq <= 0) throw new Error(`${where}: "${s}" is not key=value`);
          return [s.slice(0, eq).trim(), s.slice(eq + 1).trim()];
        })
      : Object.entries(asRecord(value, where));
  const mix: TrafficMix = { ...base };
  for (const [k, v] of entries) {
    const w = `${where}.${k}`;
    switch (k) {
      case "ping":
      case "db":
      case "deadline":
      case "start":
        mix[k] = v === "off" ? 0 : parseDuration(asScalar(v, w), w);
        break;
      case "pingDirection":
        if (v !== "both" && v !== "forward" && v !== "backward") throw new Error(`${w}: both, forward or backward`);
        mix.pingDirection = v;
        break;
      case "stop":
        mix.stop = v === "never" ? Infinity : parseDuration(asScalar(v, w), w);
        break;
      case "bulk": {
        if (v === "off" || v === 0) {
          mix.bulk = null;
          break;
        }
        if (typeof v === "string") {
          const [rate, on, every] = v.split("/");
          mix.bulk = { rate: Number(rate), on: parseDuration(on ?? "10s", w), every: parseDuration(every ?? "60s", w) };
        } else {
          const r = asRecord(v, w);
          mix.bulk = { rate: Number(r["rate"]), on: parseDuration(asScalar(r["on"] ?? "10s", w), w), every: parseDuration(asScalar(r["every"] ?? "60s", w), w) };
        }
        if (!(mix.bulk.rate > 0) || !(mix.bulk.on > 0) || !(mix.bulk.every >= mix.bulk.on)) throw new Error(`${w}: expected RATE/ON/EVERY with RATE > 0 packets/s and EVERY >= ON`);
        break;
      }
      default:
        throw new Error(`${where}: unknown traffic kind "${k}" (ping, pingDirection, db, bulk, deadline, start, stop)`);
    }
  }
  return mix;
}

/** Link conditions from a record of strings/numbers (latency/jitter durations, loss/duplicate/reorder probabilities, mtu bytes). */
export function parseConditions(value: unknown, where: string): Partial<LinkConditions> {
  const r = asRecord(value, where);
  const out: Partial<LinkConditions> = {};
  for (const [k, v] of Object.entries(r)) {
    const w = `${where}.${k}`;
    switch (k) {
      case "latency":
      case "jitter":
        out[k] = parseDuration(typeof v === "number" ? `${v}ms` : asScalar(v, w), w);
        break;
      case "loss":
      case "duplicate":
      case "reorder":
        out[k] = parseProbability(asScalar(v, w), w);
        break;
      case "mtu": {
        const mtu = Number(v);
        if (!Number.isInteger(mtu) || mtu < 576 || mtu > 65535) throw new Error(`${w}: MTU ${String(v)} outside 576..65535`);
        out.mtu = mtu;
        break;
      }
      default:
        throw new Error(`${where}: unknown link setting "${k}" (latency, jitter, loss, duplicate, reorder, mtu)`);
    }
  }
  return out;
}

function asRecord(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`${where}: expected an object`);
  return v as Record<string, unknown>;
}
function asArray(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${where}: expected a list`);
  return v;
}
function asString(v: unknown, where: string): string {
  if (typeof v !== "string" || v === "") throw new Error(`${where}: expected a name`);
  return v;
}
function asScalar(v: unknown, where: string): string | number {
  if (typeof v !== "string" && typeof v !== "number") throw new Error(`${where}: expected a value`);
  return v;
}
function asPair(v: unknown, where: string): readonly [string, string] {
  const a = asArray(v, where);
  if (a.length !== 2) throw new Error(`${where}: expected two gateway names`);
  return [asString(a[0], where), asString(a[1], where)];
}
