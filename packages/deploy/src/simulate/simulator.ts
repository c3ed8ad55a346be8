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
 */
import { type Action, Device, type DropReason, type Endpoint, type Peer, PrivateKey, PublicKey, type TransportAead } from "@wg-ts/core";
import { labLayout } from "../lab/layout.js";
import { parseIpv4 } from "../model/ipv4.js";
import type { Topology } from "../model/topology.js";
import { planTopology } from "../plan/plan.js";
import { renderValue } from "../plan/render.js";
import type { Placeholder, PlanOptions, WireGuardPeerPlan, WireGuardPlan } from "../plan/types.js";
import { formatDuration } from "./duration.js";
import { type Fate, pair, Underlay } from "./network.js";
import { innerPacket, PacketKind, readPacket } from "./packets.js";
import { Prng } from "./prng.js";
import { EventQueue } from "./queue.js";
import { DEFAULT_CONDITIONS, DEFAULT_NAT, DEFAULT_TRAFFIC, type LinkConditions, type Scenario, type ScenarioEvent, type ScenarioInput } from "./scenario.js";
import { buildReport, emptyCounters, type HourCounters, type SimulationReport } from "./report.js";

/** Virtual start of every run (fixed, so TAI64N timestamps and reports do not depend on the real clock). */
export const SIMULATION_EPOCH = Date.UTC(2026, 0, 1);

/** Names the simulator gives WireGuard devices (only used in plans; nothing is created). */
const SIMULATION_PLAN_OPTIONS: PlanOptions = {
  wireguardInterfaceName: (g) => `wg-${g.shortName}`,
  restartTunnelCommand: ({ interfaceName }) => `true ${interfaceName}`,
};

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
  /** Called with one line per datagram, delivery and drop (debugging; slows the run down). */
  trace?: (line: string) => void;
  /** How often link sessions are sampled for up/down (ms, default 1000). */
  sampleEvery?: number;
}

/** A gateway as the simulator runs it. */
export interface SimGateway {
  readonly index: number;
  readonly name: string;
  readonly plan: WireGuardPlan;
  privateKey: PrivateKey;
  /** null while down (between a restart's stop and start). */
  device: Device | null;
  /** Its public address (behind NAT: the NAT box's). */
  publicAddress: string;
  /** Its own socket (behind NAT: the inside address). */
  socket: Endpoint;
  readonly behindNat: boolean;
  /** Inner addresses of the hosts behind it (numbers), the first being where its traffic comes from. */
  readonly hosts: number[];
  /** Peer gateway index -> its Peer in `device`. */
  readonly peerOf: Map<number, Peer>;
  /** Peer gateway index -> link index. */
  readonly linkOf: Map<number, number>;
  readonly drops: Map<DropReason, number>;
  readonly random: Prng;
  tickAt: number;
  tickToken: number;
}

/** A WireGuard link: two gateways that are each other's peers. */
export interface SimLink {
  readonly index: number;
  /** "a~b". */
  readonly name: string;
  readonly a: number;
  readonly b: number;
  readonly hours: HourCounters[];
  /** Virtual ms (from the start) of every completed handshake (initiator side). */
  readonly handshakes: number[];
  /** Session intervals [up, down) in ms from the start (down = end of run if still up). */
  readonly sessions: [number, number][];
  upSince: number;
}

/** One direction of traffic between two hosts. */
export interface Flow {
  readonly id: number;
  readonly kind: "ping" | "reply" | "db" | "response" | "bulk";
  readonly from: number;
  readonly to: number;
  readonly src: number;
  readonly dst: number;
  readonly link: number;
  readonly sentAt: number[];
  readonly deliveredAt: number[];
}

/** What happened to an event of the scenario, for the report. */
export interface EventRecord {
  readonly event: ScenarioEvent;
  /** Reference time (ms from start) recovery is measured from. */
  t0: number;
  /** Per link name: ms from t0 to the first completed handshake and to the first packet delivered each way. */
  readonly recovery: Record<string, { handshake: number | null; forward: number | null; backward: number | null }>;
}

export class Simulation {
  readonly queue: EventQueue;
  readonly start = SIMULATION_EPOCH;
  readonly gateways: SimGateway[] = [];
  readonly links: SimLink[] = [];
  readonly flows: Flow[] = [];
  readonly events: EventRecord[] = [];
  /** Diagnostics about the Devices (e.g. a tick that leaves a timer due): the report's findings. */
  readonly findings: string[] = [];
  readonly scenario: Scenario;
  readonly underlay: Underlay;
  /** Datagrams to nobody we know / inner packets delivered to the wrong gateway. */
  unattributedDatagrams = 0;
  misdelivered = 0;

  readonly #options: SimulationOptions;
  readonly #byName = new Map<string, SimGateway>();
  readonly #linkByPair = new Map<number, number>();
  readonly #keys: Prng;
  readonly #traffic: Prng;
  readonly #dirty = new Set<SimGateway>();
  readonly #hostGateway = new Map<number, SimGateway>();
  readonly #conditions = new Map<number, LinkConditions>();
  #ran = false;

  constructor(options: SimulationOptions) {
    this.#options = options;
    const s = options.scenario ?? {};
    this.scenario = {
      conditions: { ...DEFAULT_CONDITIONS, ...s.conditions },
      links: s.links ?? [],
      nat: s.nat ?? DEFAULT_NAT,
      traffic: s.traffic ?? DEFAULT_TRAFFIC,
      events: s.events ?? [],
    };
    this.queue = new EventQueue(this.start);
    this.#keys = new Prng(options.seed, "keys");
    this.#traffic = new Prng(options.seed, "traffic");
    const topology = options.topology;
    const n = topology.gateways.length;
    this.underlay = new Underlay(n, this.queue, new Prng(options.seed, "network"), this.scenario.nat, {
      conditions: (a, b) => this.#conditions.get(pair(a, b, n)) ?? this.scenario.conditions,
      deliver: (to, datagram, source, from) => this.#receive(this.gateways[to]!, datagram, source, from),
      observe: (from, to, datagram, fate) => this.#observe(from, to, datagram, fate),
    });

    const plans = planTopology(topology, SIMULATION_PLAN_OPTIONS);
    const layout = labLayout(topology, "");
    topology.gateways.forEach((g, index) => {
      const plan = plans.get(g.name)?.wireguard;
      if (plan === undefined) throw new Error(`gateway ${g.name} has no WireGuard plan`);
      const nat = layout.natRouters.get(g.name);
      const publicAddress = nat?.publicIp ?? layout.publicIps.get(g.name) ?? "";
      const hostsBehind = topology.hosts.filter((h) => g.attachments.some((a) => a.network === h.attachment.network));
      const hosts = [...hostsBehind.map((h) => parseIpv4(h.attachment.address)), parseIpv4(g.overlayIp)];
      const gw: SimGateway = {
        index,
        name: g.name,
        plan,
        privateKey: PrivateKey.generate((out) => this.#keys.fill(out)),
        device: null,
        publicAddress,
        socket: { address: nat?.gatewayAddress ?? publicAddress, port: plan.listenPort },
        behindNat: nat !== undefined,
        hosts,
        peerOf: new Map(),
        linkOf: new Map(),
        drops: new Map(),
        random: new Prng(options.seed, `device:${g.name}`),
        tickAt: Infinity,
        tickToken: 0,
      };
      this.gateways.push(gw);
      this.#byName.set(g.name, gw);
      for (const h of hosts) if (!this.#hostGateway.has(h)) this.#hostGateway.set(h, gw);
      if (nat !== undefined) this.underlay.addNat(index, gw.socket, publicAddress);
      else this.underlay.bind(index, gw.socket);
    });
    for (const gw of this.gateways) {
      for (const p of gw.plan.peers) {
        const other = this.gateway(p.name);
        const k = pair(gw.index, other.index, n);
        let link = this.#linkByPair.get(k);
        if (link === undefined) {
          link = this.links.length;
          this.#linkByPair.set(k, link);
          const [a, b] = gw.index < other.index ? [gw.index, other.index] : [other.index, gw.index];
          const name = `${this.gateways[a]!.name}~${this.gateways[b]!.name}`;
          this.links.push({ index: link, name, a, b, hours: [], handshakes: [], sessions: [], upSince: NaN });
        }
        gw.linkOf.set(other.index, link);
      }
    }
    for (const o of this.scenario.links) {
      const a = this.gateway(o.between[0]);
      const b = this.gateway(o.between[1]);
      this.#conditions.set(pair(a.index, b.index, n), { ...this.scenario.conditions, ...o.conditions });
    }
    for (const e of this.scenario.events) this.#check(e);
    for (const gw of this.gateways) this.#startDevice(gw);
  }

  /** Refuses an event that names no gateway of the topology (or cannot apply to it) before anything runs. */
  #check(e: ScenarioEvent): void {
    if (!(e.at >= 0)) throw new Error(`event at ${e.at} ms: before the start`);
    if (e.kind === "partition") {
      const [a, b] = e.between.map((name) => this.gateway(name)) as [SimGateway, SimGateway];
      if (!a.linkOf.has(b.index)) throw new Error(`partition: ${a.name} and ${b.name} are not peers`);
      return;
    }
    const gw = this.gateway(e.gateway);
    if (e.kind === "move") {
      parseIpv4(e.address);
      if (gw.behindNat) throw new Error(`move: ${gw.name} is behind NAT; its public address is its NAT box's`);
    }
    if (e.kind === "nat-rebind" && !gw.behindNat) throw new Error(`natRebind: ${gw.name} is not behind NAT`);
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
    this.#scheduleTraffic();
    for (const e of this.scenario.events) this.queue.at(this.start + e.at, () => this.#apply(e));
    const sampleEvery = this.#options.sampleEvery ?? 1000;
    const sample = (): void => {
      this.#sampleSessions();
      this.queue.at(this.queue.now + sampleEvery, sample);
    };
    this.queue.at(this.start, sample);
    const end = this.start + this.#options.duration;
    this.queue.runUntil(end, () => this.#flushDirty());
    this.#sampleSessions();
    for (const l of this.links) if (!Number.isNaN(l.upSince)) l.sessions.push([l.upSince, this.elapsed]);
    return buildReport(this, this.#options);
  }

  /** Hour bucket of the counters of `link` for ms-from-start `t`. */
  counters(link: SimLink, t: number): HourCounters {
    const h = Math.floor(t / 3_600_000);
    while (link.hours.length <= h) link.hours.push(emptyCounters());
    return link.hours[h]!;
  }

  // -----------------------------------------------------------------------------------------
  // Devices
  // -----------------------------------------------------------------------------------------

  /** A fresh Device from the gateway's plan, its current key and its peers' current keys/addresses. */
  #startDevice(gw: SimGateway): void {
    const now = this.queue.now;
    const device = new Device({
      privateKey: gw.privateKey,
      random: (out) => gw.random.fill(out),
      mtu: gw.plan.mtu,
      ...(this.#options.aead !== undefined ? { aead: this.#options.aead } : {}),
    });
    gw.device = device;
    gw.peerOf.clear();
    for (const p of gw.plan.peers) this.#addPeer(gw, p, now);
    this.#touch(gw);
  }

  #addPeer(gw: SimGateway, p: WireGuardPeerPlan, now: number): void {
    const other = this.gateway(p.name);
    const resolve = (ph: Placeholder): string => this.#resolve(ph);
    const peer = gw.device!.addPeer(
      {
        publicKey: PublicKey.fromBase64(resolve(p.publicKey)),
        allowedIps: p.allowedIps,
        ...(p.endpoint !== undefined ? { endpoint: { address: renderValue(p.endpoint.host, resolve), port: p.endpoint.port } } : {}),
        persistentKeepalive: this.#options.keepalive ?? p.persistentKeepalive,
      },
      now,
    );
    gw.peerOf.set(other.index, peer);
  }

  /** The simulator's values for plan placeholders (only WireGuard ones occur in a WireGuard plan). */
  #resolve(ph: Placeholder): string {
    switch (ph.kind) {
      case "wireguard-public-key":
        return this.gateway(ph.node).privateKey.publicKey().toBase64();
      case "public-ip":
        return this.gateway(ph.node).publicAddress;
      default:
        throw new Error(`the simulator cannot resolve a ${ph.kind} placeholder`);
    }
  }

  /** Marks `gw` for a new `nextTickAt()` after the current event. */
  #touch(gw: SimGateway): void {
    this.#dirty.add(gw);
  }

  #flushDirty(): void {
    if (this.#dirty.size === 0) return;
    for (const gw of this.#dirty) {
      const device = gw.device;
      const next = device === null ? Infinity : device.nextTickAt();
      // A tick already scheduled earlier stays: ticking before anything is due does nothing, and the
      // tick reschedules. (Most packets push a deadline later; this keeps the queue from filling
      // with superseded ticks.)
      if (next >= gw.tickAt) continue;
      gw.tickAt = next;
      const token = ++gw.tickToken;
      if (next === Infinity) continue;
      this.queue.at(next, () => {
        if (gw.tickToken === token) this.#tick(gw);
      });
    }
    this.#dirty.clear();
  }

  #tick(gw: SimGateway): void {
    const device = gw.device;
    gw.tickAt = Infinity;
    if (device === null) return;
    const now = this.queue.now;
    const out = this.#actions();
    device.tick(now, out);
    this.#handle(gw, out);
    this.#touch(gw);
    // A tick must leave no timer due at `now`; otherwise the Device would be ticked forever.
    if (device.nextTickAt() <= now) {
      this.#finding(`${gw.name}: nextTickAt() <= now right after tick(now) at +${this.elapsed} ms; ticking again 1 ms later`);
      gw.tickAt = now + 1;
      const token = ++gw.tickToken;
      this.queue.at(now + 1, () => {
        if (gw.tickToken === token) this.#tick(gw);
      });
      this.#dirty.delete(gw);
    }
  }

  readonly #out: Action[] = [];

  /**
   * The one actions array, emptied. Safe to share: handling actions never calls into a Device
   * synchronously (datagrams and answers are scheduled), so no call is nested inside another.
   */
  #actions(): Action[] {
    this.#out.length = 0;
    return this.#out;
  }

  #finding(text: string): void {
    if (this.findings.length < 100 && !this.findings.includes(text)) this.findings.push(text);
  }

  /** A datagram reaches `gw`'s socket from gateway `from`, seen as coming from `source`. */
  #receive(gw: SimGateway, datagram: Uint8Array, source: Endpoint, from: number): void {
    const device = gw.device;
    const link = this.links[gw.linkOf.get(from) ?? -1];
    if (device === null) {
      // Lost at a gateway that is down (restarting).
      if (link !== undefined) {
        const c = this.counters(link, this.elapsed);
        c.datagramsLost++;
        if (datagram[0] === 4 && datagram.length > 32) c.dataDatagramsLost++;
      }
      return;
    }
    const now = this.queue.now;
    const peer = gw.peerOf.get(from);
    const wasUp = peer?.hasSession(now) ?? false;
    const lastHandshake = peer?.lastHandshakeAt ?? 0;
    const out = this.#actions();
    device.decapsulate(datagram, source, now, out);
    // The initiator's side completes a handshake when it consumes a response (type 2).
    if (peer !== undefined && link !== undefined && datagram[0] === 2 && peer.lastHandshakeAt !== lastHandshake) {
      const t = this.elapsed;
      link.handshakes.push(t);
      const c = this.counters(link, t);
      c.handshakes++;
      if (wasUp) c.rekeys++;
      for (const r of this.events) {
        const rec = r.recovery[link.name];
        if (rec !== undefined && rec.handshake === null && t >= r.t0) rec.handshake = t - r.t0; // false while t0 is NaN
      }
    }
    this.#handle(gw, out);
    this.#touch(gw);
  }

  /** Carries out a Device's actions. */
  #handle(gw: SimGateway, out: Action[]): void {
    for (const a of out) {
      switch (a.kind) {
        case "toNetwork":
          if (this.#firstOutbound.size > 0) this.#noteOutbound(gw.index);
          this.underlay.send(gw.index, a.datagram, a.endpoint);
          break;
        case "toTunnel":
          this.#deliver(gw, a.packet);
          break;
        case "drop":
          gw.drops.set(a.reason, (gw.drops.get(a.reason) ?? 0) + 1);
          this.#options.trace?.(`+${this.elapsed.toFixed(1)} ${gw.name} drop ${a.reason}`);
          break;
      }
    }
  }

  /** Sends an inner packet from a host behind `gw` into its tunnel. */
  #encapsulate(gw: SimGateway, packet: Uint8Array): void {
    const device = gw.device;
    if (device === null) return;
    const out = this.#actions();
    device.encapsulate(packet, this.queue.now, out);
    this.#handle(gw, out);
    this.#touch(gw);
  }

  // -----------------------------------------------------------------------------------------
  // Observation
  // -----------------------------------------------------------------------------------------

  #observe(from: number, to: number, datagram: Uint8Array, fate: Fate): void {
    this.#options.trace?.(`+${this.elapsed.toFixed(1)} ${this.gateways[from]!.name} -> ${to < 0 ? "?" : this.gateways[to]!.name} type ${datagram[0]} len ${datagram.length} ${fate}`);
    const link = to < 0 ? undefined : this.links[this.gateways[from]!.linkOf.get(to) ?? -1];
    if (link === undefined) {
      this.unattributedDatagrams++;
      return;
    }
    const c = this.counters(link, this.elapsed);
    if (fate !== "sent") {
      c.datagramsLost++;
      if (datagram[0] === 4 && datagram.length > 32) c.dataDatagramsLost++;
      return;
    }
    c.datagrams++;
    c.bytes += datagram.length;
    switch (datagram[0]) {
      case 1:
        c.initiations++;
        break;
      case 2:
        c.responses++;
        break;
      case 3:
        c.cookieReplies++;
        break;
      case 4:
        if (datagram.length === 32) c.keepalives++; // an empty transport payload (whitepaper §6.5)
        break;
    }
  }

  #sampleSessions(): void {
    const now = this.queue.now;
    const t = this.elapsed;
    for (const l of this.links) {
      const a = this.gateways[l.a]!;
      const b = this.gateways[l.b]!;
      const up = (a.peerOf.get(l.b)?.hasSession(now) ?? false) && (b.peerOf.get(l.a)?.hasSession(now) ?? false) && a.device !== null && b.device !== null;
      if (up && Number.isNaN(l.upSince)) l.upSince = t;
      else if (!up && !Number.isNaN(l.upSince)) {
        l.sessions.push([l.upSince, t]);
        l.upSince = NaN;
      }
    }
  }

  // -----------------------------------------------------------------------------------------
  // Traffic
  // -----------------------------------------------------------------------------------------

  #flow(kind: Flow["kind"], from: SimGateway, to: SimGateway, src: number, dst: number): Flow {
    const link = from.linkOf.get(to.index);
    if (link === undefined) throw new Error(`${from.name} and ${to.name} are not peers`);
    const flow: Flow = { id: this.flows.length, kind, from: from.index, to: to.index, src, dst, link, sentAt: [], deliveredAt: [] };
    this.flows.push(flow);
    return flow;
  }

  #send(flow: Flow, size: number, kind: PacketKind, seq = flow.sentAt.length): void {
    const gw = this.gateways[flow.from]!;
    const t = this.elapsed;
    flow.sentAt[seq] = t;
    this.#options.trace?.(`+${t.toFixed(1)} ${gw.name} sends flow ${flow.id} (${flow.kind}) seq ${seq}`);
    flow.deliveredAt[seq] = NaN;
    this.counters(this.links[flow.link]!, t).packetsSent++;
    this.#encapsulate(gw, innerPacket(flow.src, flow.dst, size, { flow: flow.id, seq, kind }));
  }

  /** A packet leaves `gw`'s tunnel toward the host it is addressed to. */
  #deliver(gw: SimGateway, packet: Uint8Array): void {
    const tag = readPacket(packet);
    const flow = tag === null ? undefined : this.flows[tag.flow];
    if (tag === null || flow === undefined || this.#hostGateway.get(tag.dst) !== gw || flow.to !== gw.index) {
      this.misdelivered++;
      this.#finding(
        tag === null
          ? `${gw.name}: the Device delivered a ${packet.length}-byte inner packet no host sent (toTunnel), first at +${formatDuration(this.elapsed)}`
          : `${gw.name}: the Device delivered flow ${tag.flow}'s packet for ${tag.dst} to the wrong gateway, first at +${formatDuration(this.elapsed)}`,
      );
      return;
    }
    if (!Number.isNaN(flow.deliveredAt[tag.seq] ?? 0)) return; // a duplicate
    const t = this.elapsed;
    flow.deliveredAt[tag.seq] = t;
    this.#options.trace?.(`+${t.toFixed(1)} ${gw.name} delivered flow ${flow.id} (${flow.kind}) seq ${tag.seq} sent +${flow.sentAt[tag.seq]!.toFixed(1)}`);
    const link = this.links[flow.link]!;
    this.counters(link, t).packetsDelivered++;
    const name = link.name;
    const forward = flow.from === link.a;
    for (const r of this.events) {
      const rec = r.recovery[name];
      if (rec === undefined || !(flow.sentAt[tag.seq]! >= r.t0)) continue; // also while t0 is NaN
      if (forward && rec.forward === null) rec.forward = t - r.t0;
      if (!forward && rec.backward === null) rec.backward = t - r.t0;
    }
    if (tag.kind === PacketKind.Request) {
      const reply = this.#replies.get(flow.id);
      if (reply === undefined) return;
      const seq = tag.seq;
      // The host answers at once (in a new event: never re-enter the Device from its own actions).
      this.queue.at(this.queue.now, () => {
        if (reply.flow.kind === "reply") this.#send(reply.flow, packet.length, PacketKind.Reply, seq);
        else for (let i = 0; i < reply.count; i++) this.#send(reply.flow, reply.size, PacketKind.Reply, seq * reply.count + i);
      });
    }
  }

  readonly #replies = new Map<number, { flow: Flow; count: number; size: number }>();

  #scheduleTraffic(): void {
    const mix = this.scenario.traffic;
    const start = this.start + mix.start;
    const stop = this.start + Math.min(mix.stop, this.#options.duration);
    const every = (first: number, next: () => number, action: () => void): void => {
      const step = (at: number): void => {
        if (at >= stop) return;
        this.queue.at(at, () => {
          action();
          step(this.queue.now + next());
        });
      };
      step(first);
    };
    const innerMtu = (gw: SimGateway): number => gw.plan.mtu;
    for (const link of this.links) {
      const a = this.gateways[link.a]!;
      const b = this.gateways[link.b]!;
      if (mix.ping > 0) {
        for (const [x, y] of mix.pingDirection === "forward" ? [[a, b]] : mix.pingDirection === "backward" ? [[b, a]] : [[a, b], [b, a]]) {
          const req = this.#flow("ping", x!, y!, x!.hosts[0]!, y!.hosts[0]!);
          const rep = this.#flow("reply", y!, x!, y!.hosts[0]!, x!.hosts[0]!);
          this.#replies.set(req.id, { flow: rep, count: 1, size: 0 });
          every(start + this.#traffic.next() * mix.ping, () => mix.ping, () => this.#send(req, 84, PacketKind.Request));
        }
      }
      if (mix.bulk !== null) {
        const bulk = mix.bulk;
        const flow = this.#flow("bulk", a, b, a.hosts[0]!, b.hosts[0]!);
        const size = Math.min(innerMtu(a), innerMtu(b));
        const phase = this.#traffic.next() * bulk.every;
        every(start + phase, () => bulk.every, () => {
          const burstStart = this.queue.now;
          const count = Math.floor((bulk.rate * bulk.on) / 1000);
          for (let i = 0; i < count; i++) this.queue.at(burstStart + (i * 1000) / bulk.rate, () => this.#send(flow, size, PacketKind.Data));
        });
      }
    }
    if (mix.db > 0) {
      const topology = this.#options.topology;
      const database = topology.database === undefined ? undefined : topology.hosts.find((h) => h.name === topology.database!.host);
      for (const client of topology.hosts.filter((h) => h.kind === "client")) {
        const from = this.#hostGateway.get(parseIpv4(client.attachment.address));
        const target = database ?? topology.hosts.find((h) => h.kind !== "client" || h.name !== client.name);
        const to = target === undefined ? undefined : this.#hostGateway.get(parseIpv4(target.attachment.address));
        if (from === undefined || to === undefined || target === undefined || from === to || !from.linkOf.has(to.index)) continue;
        const req = this.#flow("db", from, to, parseIpv4(client.attachment.address), parseIpv4(target.attachment.address));
        const rep = this.#flow("response", to, from, req.dst, req.src);
        this.#replies.set(req.id, { flow: rep, count: 3, size: 1200 });
        every(start + this.#traffic.exponential(mix.db), () => this.#traffic.exponential(mix.db), () => this.#send(req, 200, PacketKind.Request));
      }
    }
  }

  // -----------------------------------------------------------------------------------------
  // Scenario events
  // -----------------------------------------------------------------------------------------

  /** Records an event; recovery is watched on `links` (default: every link of `gateways`). */
  #record(event: ScenarioEvent, gateways: SimGateway[], links = this.links.filter((l) => gateways.some((g) => g.index === l.a || g.index === l.b))): EventRecord {
    const recovery: EventRecord["recovery"] = {};
    for (const l of links) recovery[l.name] = { handshake: null, forward: null, backward: null };
    const rec: EventRecord = { event, t0: this.elapsed, recovery };
    this.events.push(rec);
    return rec;
  }

  #apply(e: ScenarioEvent): void {
    const now = this.queue.now;
    switch (e.kind) {
      case "partition": {
        const a = this.gateway(e.between[0]);
        const b = this.gateway(e.between[1]);
        this.underlay.partition(a.index, b.index, e.duration);
        const link = this.links[a.linkOf.get(b.index) ?? -1];
        const rec = this.#record(e, [a, b], link === undefined ? [] : [link]);
        rec.t0 = this.elapsed + e.duration; // recovery counts from the end of the partition
        break;
      }
      case "restart": {
        const gw = this.gateway(e.gateway);
        gw.device = null;
        gw.tickToken++;
        gw.tickAt = Infinity;
        const rec = this.#record(e, [gw]);
        rec.t0 = NaN; // set by the restarted Device's first datagram
        this.queue.at(now + e.down, () => {
          this.#startDevice(gw);
          this.#firstOutbound.set(gw.index, rec);
        });
        break;
      }
      case "move": {
        const gw = this.gateway(e.gateway);
        gw.publicAddress = e.address;
        gw.socket = { address: e.address, port: gw.socket.port };
        this.underlay.bind(gw.index, gw.socket);
        this.#record(e, [gw]);
        if (e.reconfigurePeers) {
          for (const [peerIndex] of gw.linkOf) {
            const other = this.gateways[peerIndex]!;
            const p = other.plan.peers.find((x) => x.name === gw.name);
            if (other.device === null || p?.endpoint === undefined) continue;
            other.device.updatePeer(gw.privateKey.publicKey(), { endpoint: { address: e.address, port: p.endpoint.port } }, now);
            this.#touch(other);
          }
        }
        break;
      }
      case "rotate-key": {
        const gw = this.gateway(e.gateway);
        const old = gw.privateKey.publicKey();
        gw.privateKey = PrivateKey.generate((out) => this.#keys.fill(out));
        gw.device?.setPrivateKey(gw.privateKey, now);
        this.#touch(gw);
        for (const [peerIndex] of gw.linkOf) {
          const other = this.gateways[peerIndex]!;
          const p = other.plan.peers.find((x) => x.name === gw.name);
          if (other.device === null || p === undefined) continue;
          other.device.removePeer(old);
          this.#addPeer(other, p, now);
          this.#touch(other);
        }
        this.#record(e, [gw]);
        break;
      }
      case "nat-rebind": {
        const gw = this.gateway(e.gateway);
        this.underlay.rebind(gw.index);
        this.#record(e, [gw]);
        break;
      }
    }
  }

  readonly #firstOutbound = new Map<number, EventRecord>();

  /** A restarted gateway's first datagram: recovery is measured from here. */
  #noteOutbound(g: number): void {
    const rec = this.#firstOutbound.get(g);
    if (rec === undefined) return;
    rec.t0 = this.elapsed;
    this.#firstOutbound.delete(g);
  }
}

