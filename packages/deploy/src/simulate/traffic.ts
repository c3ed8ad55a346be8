/**
 * The hosts behind the gateways and the traffic they send (the scenario's mix): per link, echo
 * requests each way answered at once and bulk bursts; per database client, Poisson requests
 * answered by three responses. Each direction is a {@link Flow}; every inner packet carries its
 * flow and sequence number (./packets.ts), so a delivery is checked against where it was sent
 * (wrong gateway or unknown packet: a finding) and counted once. Phases and Poisson intervals are
 * drawn from the run's "traffic" stream.
 */
import { formatDuration } from "./duration.js";
import type { Devices } from "./devices.js";
import type { SimGateway } from "./gateway.js";
import { parseIpv4 } from "../model/ipv4.js";
import { innerPacket, PacketKind, readPacket } from "./packets.js";
import type { Prng } from "./prng.js";
import type { Recovery } from "./recovery.js";
import type { Simulation } from "./simulator.js";

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

/** Generates the traffic into `sim.flows` and takes the packets the Devices deliver. */
export class Traffic {
  readonly #sim: Simulation;
  readonly #devices: Devices;
  readonly #recovery: Recovery;
  /** Inner address -> the gateway its host is behind (the first gateway that claims it). */
  readonly #hostGateway: ReadonlyMap<number, SimGateway>;
  readonly #random: Prng;
  /** Request flow id -> the flow its answers go back on, how many answer each request and their size (0: the request's). */
  readonly #replies = new Map<number, { flow: Flow; count: number; size: number }>();

  constructor(sim: Simulation, devices: Devices, recovery: Recovery, hostGateway: ReadonlyMap<number, SimGateway>, random: Prng) {
    this.#sim = sim;
    this.#devices = devices;
    this.#recovery = recovery;
    this.#hostGateway = hostGateway;
    this.#random = random;
  }

  #flow(kind: Flow["kind"], from: SimGateway, to: SimGateway, src: number, dst: number): Flow {
    const link = from.linkOf.get(to.index);
    if (link === undefined) throw new Error(`${from.name} and ${to.name} are not peers`);
    const flow: Flow = { id: this.#sim.flows.length, kind, from: from.index, to: to.index, src, dst, link, sentAt: [], deliveredAt: [] };
    this.#sim.flows.push(flow);
    return flow;
  }

  #send(flow: Flow, size: number, kind: PacketKind, seq = flow.sentAt.length): void {
    const sim = this.#sim;
    const gw = sim.gateways[flow.from]!;
    const t = sim.elapsed;
    flow.sentAt[seq] = t;
    sim.options.trace?.(`+${t.toFixed(1)} ${gw.name} sends flow ${flow.id} (${flow.kind}) seq ${seq}`);
    flow.deliveredAt[seq] = NaN;
    sim.counters(sim.links[flow.link]!, t).packetsSent++;
    this.#devices.encapsulate(gw, innerPacket(flow.src, flow.dst, size, { flow: flow.id, seq, kind }));
  }

  /** A packet leaves `gw`'s tunnel toward the host it is addressed to. */
  deliver(gw: SimGateway, packet: Uint8Array): void {
    const sim = this.#sim;
    const tag = readPacket(packet);
    const flow = tag === null ? undefined : sim.flows[tag.flow];
    if (tag === null || flow === undefined || this.#hostGateway.get(tag.dst) !== gw || flow.to !== gw.index) {
      sim.misdelivered++;
      sim.finding(
        tag === null
          ? `${gw.name}: the Device delivered a ${packet.length}-byte inner packet no host sent (toTunnel), first at +${formatDuration(sim.elapsed)}`
          : `${gw.name}: the Device delivered flow ${tag.flow}'s packet for ${tag.dst} to the wrong gateway, first at +${formatDuration(sim.elapsed)}`,
      );
      return;
    }
    if (!Number.isNaN(flow.deliveredAt[tag.seq] ?? 0)) return; // a duplicate
    const t = sim.elapsed;
    flow.deliveredAt[tag.seq] = t;
    sim.options.trace?.(`+${t.toFixed(1)} ${gw.name} delivered flow ${flow.id} (${flow.kind}) seq ${tag.seq} sent +${flow.sentAt[tag.seq]!.toFixed(1)}`);
    const link = sim.links[flow.link]!;
    sim.counters(link, t).packetsDelivered++;
    this.#recovery.noteDelivery(link, flow.from === link.a, flow.sentAt[tag.seq]!, t);
    if (tag.kind === PacketKind.Request) {
      const reply = this.#replies.get(flow.id);
      if (reply === undefined) return;
      const seq = tag.seq;
      // The host answers at once (in a new event: never re-enter the Device from its own actions).
      sim.queue.at(sim.queue.now, () => {
        if (reply.flow.kind === "reply") this.#send(reply.flow, packet.length, PacketKind.Reply, seq);
        else for (let i = 0; i < reply.count; i++) this.#send(reply.flow, reply.size, PacketKind.Reply, seq * reply.count + i);
      });
    }
  }

  /** Creates the flows of the scenario's mix and schedules their sending until the mix's stop (or the end of the run). */
  schedule(): void {
    const sim = this.#sim;
    const mix = sim.scenario.traffic;
    const start = sim.start + mix.start;
    const stop = sim.start + Math.min(mix.stop, sim.options.duration);
    const every = (first: number, next: () => number, action: () => void): void => {
      const step = (at: number): void => {
        if (at >= stop) return;
        sim.queue.at(at, () => {
          action();
          step(sim.queue.now + next());
        });
      };
      step(first);
    };
    const innerMtu = (gw: SimGateway): number => gw.plan.mtu;
    for (const link of sim.links) {
      const a = sim.gateways[link.a]!;
      const b = sim.gateways[link.b]!;
      if (mix.ping > 0) {
        for (const [x, y] of mix.pingDirection === "forward" ? [[a, b]] : mix.pingDirection === "backward" ? [[b, a]] : [[a, b], [b, a]]) {
          const req = this.#flow("ping", x!, y!, x!.hosts[0]!, y!.hosts[0]!);
          const rep = this.#flow("reply", y!, x!, y!.hosts[0]!, x!.hosts[0]!);
          this.#replies.set(req.id, { flow: rep, count: 1, size: 0 });
          every(start + this.#random.next() * mix.ping, () => mix.ping, () => this.#send(req, 84, PacketKind.Request));
        }
      }
      if (mix.bulk !== null) {
        const bulk = mix.bulk;
        const flow = this.#flow("bulk", a, b, a.hosts[0]!, b.hosts[0]!);
        const size = Math.min(innerMtu(a), innerMtu(b));
        const phase = this.#random.next() * bulk.every;
        every(start + phase, () => bulk.every, () => {
          const burstStart = sim.queue.now;
          const count = Math.floor((bulk.rate * bulk.on) / 1000);
          for (let i = 0; i < count; i++) sim.queue.at(burstStart + (i * 1000) / bulk.rate, () => this.#send(flow, size, PacketKind.Data));
        });
      }
    }
    if (mix.db > 0) {
      const topology = sim.options.topology;
      const database = topology.database === undefined ? undefined : topology.hosts.find((h) => h.name === topology.database!.host);
      for (const client of topology.hosts.filter((h) => h.kind === "client")) {
        const from = this.#hostGateway.get(parseIpv4(client.attachment.address));
        const target = database ?? topology.hosts.find((h) => h.kind !== "client" || h.name !== client.name);
        const to = target === undefined ? undefined : this.#hostGateway.get(parseIpv4(target.attachment.address));
        if (from === undefined || to === undefined || target === undefined || from === to || !from.linkOf.has(to.index)) continue;
        const req = this.#flow("db", from, to, parseIpv4(client.attachment.address), parseIpv4(target.attachment.address));
        const rep = this.#flow("response", to, from, req.dst, req.src);
        this.#replies.set(req.id, { flow: rep, count: 3, size: 1200 });
        every(start + this.#random.exponential(mix.db), () => this.#random.exponential(mix.db), () => this.#send(req, 200, PacketKind.Request));
      }
    }
  }
}
