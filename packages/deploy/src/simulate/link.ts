/**
 * A WireGuard link of the simulation: two gateways that are each other's peers, with what the
 * report needs of it — counters per hour of virtual time, completed handshakes, session intervals.
 */
import { pair } from "./network.js";
import type { SimGateway } from "./gateway.js";
import { emptyCounters, type HourCounters } from "./report.js";

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

/**
 * The links between `gateways`, numbered in the order their plans' peers first name them (the lower
 * gateway index is `a`); fills each gateway's `linkOf`. `gateway` looks a peer up by name.
 */
export function simLinks(gateways: readonly SimGateway[], gateway: (name: string) => SimGateway): SimLink[] {
  const links: SimLink[] = [];
  const linkByPair = new Map<number, number>();
  const n = gateways.length;
  for (const gw of gateways) {
    for (const p of gw.plan.peers) {
      const other = gateway(p.name);
      const k = pair(gw.index, other.index, n);
      let link = linkByPair.get(k);
      if (link === undefined) {
        link = links.length;
        linkByPair.set(k, link);
        const [a, b] = gw.index < other.index ? [gw.index, other.index] : [other.index, gw.index];
        const name = `${gateways[a]!.name}~${gateways[b]!.name}`;
        links.push({ index: link, name, a, b, hours: [], handshakes: [], sessions: [], upSince: NaN });
      }
      gw.linkOf.set(other.index, link);
    }
  }
  return links;
}

/** Hour bucket of the counters of `link` for ms-from-start `t` (created, with the hours before it, on first use). */
export function hourCounters(link: SimLink, t: number): HourCounters {
  const h = Math.floor(t / 3_600_000);
  while (link.hours.length <= h) link.hours.push(emptyCounters());
  return link.hours[h]!;
}
