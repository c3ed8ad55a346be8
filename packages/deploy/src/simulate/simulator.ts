/**
 * A whole network in virtual time: every gateway of a topology runs as a real wg-core `Device`
 * configured from its node plan (the same `planTopology` output the lab and the cloud targets
 * apply), over the simulated underlay of ./network.ts, with hosts behind the gateways sending the
 * traffic mix of ./scenario.ts. Time is the {@link EventQueue}'s; randomness (keys, the Devices'
 * indexes, ephemerals and jitter, the network's losses, the traffic's phases) comes from one seed.
 *
 * The simulator holds no protocol rule: handshakes, retransmissions, rekeys, keepalives and key
 * erasure happen because a Device's `tick` is called at its own `nextTickAt()`; the simulator only
 * moves bytes, calls the Devices, and watches what comes out (datagrams on the wire, packets
 * delivered, drop reasons, each Peer's public `lastHandshakeAt` and `hasSession(now)`).
 *
 * This file wires the parts and runs them: the gateways (./gateway.ts) and their links
 * (./link.ts), the Devices (./devices.ts), the traffic (./traffic.ts), the scenario's events
 * (./events.ts) and the recovery from them (./recovery.ts), and what is counted on the wire
 * (./observation.ts); the report is ./report.ts.
 */
import type { TransportAead, X25519Backend } from "@wg-ts/core";
import type { Topology } from "../model/topology.js";
import { Devices } from "./devices.js";
import { ScenarioEvents } from "./events.js";
import { type SimGateway, simGateways } from "./gateway.js";
import { hourCounters, type SimLink, simLinks } from "./link.js";
import { pair, Underlay } from "./network.js";
import { observeDatagram, sampleSessions } from "./observation.js";
import { Prng } from "./prng.js";
import { EventQueue } from "./queue.js";
import { type EventRecord, Recovery } from "./recovery.js";
import { buildReport, type HourCounters, type SimulationReport } from "./report.js";
import { DEFAULT_CONDITIONS, DEFAULT_NAT, DEFAULT_TRAFFIC, type LinkConditions, type Scenario, type ScenarioInput } from "./scenario.js";
import { type Flow, Traffic } from "./traffic.js";

/** Virtual start of every run (fixed, so TAI64N timestamps and reports do not depend on the real clock). */
export const SIMULATION_EPOCH = Date.UTC(2026, 0, 1);

export interface SimulationOptions {
  topology: Topology;
  seed: number;
  /** Virtual duration, ms. */
  duration: number;
  scenario?: ScenarioInput;
  /** Overrides every gateway's PersistentKeepalive (seconds) — a what-if; absent = the plans' values. */
  keepalive?: number;
  /** The Devices' transport AEAD (default: wg-core's, node:crypto). */
  aead?: TransportAead;
  /** The Devices' handshake X25519 (default: wg-core's, node:crypto). */
  x25519?: X25519Backend;
  /** Called with one line per datagram, delivery and drop (debugging; slows the run down). */
  trace?: (line: string) => void;
  /** How often link sessions are sampled for up/down (ms, default 1000). */
  sampleEvery?: number;
}

export class Simulation {
  readonly options: SimulationOptions;
  readonly queue: EventQueue;
  readonly start = SIMULATION_EPOCH;
  readonly gateways: SimGateway[] = [];
  readonly links: SimLink[];
  readonly flows: Flow[] = [];
  readonly events: EventRecord[] = [];
  /** Diagnostics about the Devices (e.g. a tick that leaves a timer due): the report's findings. */
  readonly findings: string[] = [];
  readonly scenario: Scenario;
  readonly underlay: Underlay;
  /** Datagrams to nobody we know / inner packets delivered to the wrong gateway. */
  unattributedDatagrams = 0;
  misdelivered = 0;

  readonly #byName = new Map<string, SimGateway>();
  readonly #conditions = new Map<number, LinkConditions>();
  readonly #recovery: Recovery;
  readonly #devices: Devices;
  readonly #traffic: Traffic;
  readonly #events: ScenarioEvents;
  #ran = false;

  constructor(options: SimulationOptions) {
    this.options = options;
    const s = options.scenario ?? {};
    this.scenario = {
      conditions: { ...DEFAULT_CONDITIONS, ...s.conditions },
      links: s.links ?? [],
      nat: s.nat ?? DEFAULT_NAT,
      traffic: s.traffic ?? DEFAULT_TRAFFIC,
      events: s.events ?? [],
    };
    this.queue = new EventQueue(this.start);
    const keys = new Prng(options.seed, "keys");
    const topology = options.topology;
    const n = topology.gateways.length;
    this.underlay = new Underlay(n, this.queue, new Prng(options.seed, "network"), this.scenario.nat, {
      conditions: (a, b) => this.#conditions.get(pair(a, b, n)) ?? this.scenario.conditions,
      deliver: (to, datagram, source, from) => this.#devices.receive(this.gateways[to]!, datagram, source, from),
      observe: (from, to, datagram, fate) => observeDatagram(this, from, to, datagram, fate),
    });

    const hostGateway = new Map<number, SimGateway>();
    for (const gw of simGateways(topology, options.seed, keys)) {
      this.gateways.push(gw);
      this.#byName.set(gw.name, gw);
      for (const h of gw.hosts) if (!hostGateway.has(h)) hostGateway.set(h, gw);
      if (gw.behindNat) this.underlay.addNat(gw.index, gw.socket, gw.publicAddress);
      else this.underlay.bind(gw.index, gw.socket);
    }
    this.links = simLinks(this.gateways, (name) => this.gateway(name));
    for (const o of this.scenario.links) {
      const a = this.gateway(o.between[0]);
      const b = this.gateway(o.between[1]);
      this.#conditions.set(pair(a.index, b.index, n), { ...this.scenario.conditions, ...o.conditions });
    }
    this.#recovery = new Recovery(this);
    this.#devices = new Devices(this, this.#recovery, (gw, packet) => this.#traffic.deliver(gw, packet));
    this.#traffic = new Traffic(this, this.#devices, this.#recovery, hostGateway, new Prng(options.seed, "traffic"));
    this.#events = new ScenarioEvents(this, this.#devices, this.#recovery, keys);
    for (const e of this.scenario.events) this.#events.check(e);
    for (const gw of this.gateways) this.#devices.start(gw);
  }

  /** The gateway named `name`, or an error listing the known ones. */
  gateway(name: string): SimGateway {
    const gw = this.#byName.get(name);
    if (gw === undefined) throw new Error(`no gateway named "${name}" (known: ${[...this.#byName.keys()].join(", ")})`);
    return gw;
  }

  /** Virtual ms since the start. */
  get elapsed(): number {
    return this.queue.now - this.start;
  }

  /** Runs the whole duration (once) and returns the report. */
  run(): SimulationReport {
    if (this.#ran) throw new Error("a Simulation runs once");
    this.#ran = true;
    this.#traffic.schedule();
    for (const e of this.scenario.events) this.queue.at(this.start + e.at, () => this.#events.apply(e));
    const sampleEvery = this.options.sampleEvery ?? 1000;
    const sample = (): void => {
      sampleSessions(this);
      this.queue.at(this.queue.now + sampleEvery, sample);
    };
    this.queue.at(this.start, sample);
    const end = this.start + this.options.duration;
    this.queue.runUntil(end, () => this.#devices.flushDirty());
    sampleSessions(this);
    for (const l of this.links) if (!Number.isNaN(l.upSince)) l.sessions.push([l.upSince, this.elapsed]);
    return buildReport(this, this.options);
  }

  /** Hour bucket of the counters of `link` for ms-from-start `t`. */
  counters(link: SimLink, t: number): HourCounters {
    return hourCounters(link, t);
  }

  /** Adds a diagnostic to the findings (at most 100, each once). */
  finding(text: string): void {
    if (this.findings.length < 100 && !this.findings.includes(text)) this.findings.push(text);
  }
}
