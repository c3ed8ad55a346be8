/**
 * What the simulator counts from outside the Devices: every datagram the underlay reports (by
 * message type, bytes, and its fate on the wire) in its link's hour counters, and whether each
 * link has a session — both peers hold one and both Devices run — sampled at intervals into the
 * link's session intervals.
 */
import type { HourCounters } from "./report.js";
import type { Fate } from "./network.js";
import type { Simulation } from "./simulator.js";

/** Counts `datagram` as lost (and as lost data when it is a transport datagram carrying a packet, not a keepalive). */
export function countLost(c: HourCounters, datagram: Uint8Array): void {
  c.datagramsLost++;
  if (datagram[0] === 4 && datagram.length > 32) c.dataDatagramsLost++;
}

/** A datagram gateway `from` put on the wire toward gateway `to` (-1: nobody there), with its fate. */
export function observeDatagram(sim: Simulation, from: number, to: number, datagram: Uint8Array, fate: Fate): void {
  sim.options.trace?.(`+${sim.elapsed.toFixed(1)} ${sim.gateways[from]!.name} -> ${to < 0 ? "?" : sim.gateways[to]!.name} type ${datagram[0]} len ${datagram.length} ${fate}`);
  const link = to < 0 ? undefined : sim.links[sim.gateways[from]!.linkOf.get(to) ?? -1];
  if (link === undefined) {
    sim.unattributedDatagrams++;
    return;
  }
  const c = sim.counters(link, sim.elapsed);
  if (fate !== "sent") {
    countLost(c, datagram);
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

/** Opens or closes each link's session interval as its session is now up or down. */
export function sampleSessions(sim: Simulation): void {
  const now = sim.queue.now;
  const t = sim.elapsed;
  for (const l of sim.links) {
    const a = sim.gateways[l.a]!;
    const b = sim.gateways[l.b]!;
    const up = (a.peerOf.get(l.b)?.hasSession(now) ?? false) && (b.peerOf.get(l.a)?.hasSession(now) ?? false) && a.device !== null && b.device !== null;
    if (up && Number.isNaN(l.upSince)) l.upSince = t;
    else if (!up && !Number.isNaN(l.upSince)) {
      l.sessions.push([l.upSince, t]);
      l.upSince = NaN;
    }
  }
}
