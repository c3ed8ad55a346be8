/**
 * How the network recovers from each scenario event: one record per applied event, and for each
 * link it watches, the virtual ms from the event's reference time `t0` to the first completed
 * handshake and to the first packet (sent at or after `t0`) delivered each way. `t0` is when the
 * event applies, the end of a partition, or — after a restart — the restarted gateway's first
 * datagram (NaN until then: nothing is measured while it is NaN).
 */
import type { SimGateway } from "./gateway.js";
import type { SimLink } from "./link.js";
import type { ScenarioEvent } from "./scenario.js";
import type { Simulation } from "./simulator.js";

/** What happened to an event of the scenario, for the report. */
export interface EventRecord {
  readonly event: ScenarioEvent;
  /** Reference time (ms from start) recovery is measured from. */
  t0: number;
  /** Per link name: ms from t0 to the first completed handshake and to the first packet delivered each way. */
  readonly recovery: Record<string, { handshake: number | null; forward: number | null; backward: number | null }>;
}

/** Records events into `sim.events` and fills in their recovery times as handshakes and packets arrive. */
export class Recovery {
  readonly #sim: Simulation;
  readonly #firstOutbound = new Map<number, EventRecord>();

  constructor(sim: Simulation) {
    this.#sim = sim;
  }

  /** Records an event; recovery is watched on `links` (default: every link of `gateways`). */
  record(event: ScenarioEvent, gateways: SimGateway[], links = this.#sim.links.filter((l) => gateways.some((g) => g.index === l.a || g.index === l.b))): EventRecord {
    const recovery: EventRecord["recovery"] = {};
    for (const l of links) recovery[l.name] = { handshake: null, forward: null, backward: null };
    const rec: EventRecord = { event, t0: this.#sim.elapsed, recovery };
    this.#sim.events.push(rec);
    return rec;
  }

  /** `rec`'s recovery counts from gateway `g`'s next datagram (a restarted gateway). */
  fromFirstOutbound(g: number, rec: EventRecord): void {
    this.#firstOutbound.set(g, rec);
  }

  /** Gateway `g` puts a datagram on the wire. */
  noteOutbound(g: number): void {
    if (this.#firstOutbound.size === 0) return;
    const rec = this.#firstOutbound.get(g);
    if (rec === undefined) return;
    rec.t0 = this.#sim.elapsed;
    this.#firstOutbound.delete(g);
  }

  /** A handshake on `link` completed at `t` (ms from start). */
  noteHandshake(link: SimLink, t: number): void {
    for (const r of this.#sim.events) {
      const rec = r.recovery[link.name];
      if (rec !== undefined && rec.handshake === null && t >= r.t0) rec.handshake = t - r.t0; // false while t0 is NaN
    }
  }

  /** A packet sent at `sentAt` crossed `link` (`forward`: from `a` to `b`) and was delivered at `t`. */
  noteDelivery(link: SimLink, forward: boolean, sentAt: number, t: number): void {
    for (const r of this.#sim.events) {
      const rec = r.recovery[link.name];
      if (rec === undefined || !(sentAt >= r.t0)) continue; // also while t0 is NaN
      if (forward && rec.forward === null) rec.forward = t - r.t0;
      if (!forward && rec.backward === null) rec.backward = t - r.t0;
    }
  }
}
