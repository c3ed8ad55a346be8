/**
 * Runs the gateways' wg-core Devices in virtual time. A Device is built from its gateway's plan
 * (peers' public keys and endpoints resolved from the simulated gateways), ticked at its own
 * `nextTickAt()`, and handed the datagrams the underlay delivers and the inner packets its hosts
 * send; its actions are carried out: datagrams onto the underlay, packets to the hosts (`toHost`),
 * drops counted per reason. A handshake is counted on the initiator's side, when it consumes a
 * response. No protocol rule here: only calls into the Devices and what comes out of them.
 */
import { type Action, Device, type Endpoint, PublicKey } from "@wg-ts/core";
import { renderValue } from "../plan/render.js";
import type { Placeholder, WireGuardPeerPlan } from "../plan/types.js";
import type { SimGateway } from "./gateway.js";
import { countLost } from "./observation.js";
import type { Recovery } from "./recovery.js";
import type { Simulation } from "./simulator.js";

export class Devices {
  readonly #sim: Simulation;
  readonly #recovery: Recovery;
  readonly #toHost: (gw: SimGateway, packet: Uint8Array) => void;
  readonly #dirty = new Set<SimGateway>();
  readonly #out: Action[] = [];

  /** `toHost` receives every packet a Device delivers out of its tunnel. */
  constructor(sim: Simulation, recovery: Recovery, toHost: (gw: SimGateway, packet: Uint8Array) => void) {
    this.#sim = sim;
    this.#recovery = recovery;
    this.#toHost = toHost;
  }

  /** A fresh Device from the gateway's plan, its current key and its peers' current keys/addresses. */
  start(gw: SimGateway): void {
    const now = this.#sim.queue.now;
    const { aead, x25519 } = this.#sim.options;
    const device = new Device({
      privateKey: gw.privateKey,
      random: (out) => gw.random.fill(out),
      mtu: gw.plan.mtu,
      ...(aead !== undefined ? { aead } : {}),
      ...(x25519 !== undefined ? { x25519 } : {}),
    });
    gw.device = device;
    gw.peerOf.clear();
    for (const p of gw.plan.peers) this.addPeer(gw, p, now);
    this.touch(gw);
  }

  /** Adds the plan's peer `p` to `gw`'s Device, with the peer's current key and address. */
  addPeer(gw: SimGateway, p: WireGuardPeerPlan, now: number): void {
    const other = this.#sim.gateway(p.name);
    const resolve = (ph: Placeholder): string => this.#resolve(ph);
    const peer = gw.device!.addPeer(
      {
        publicKey: PublicKey.fromBase64(resolve(p.publicKey)),
        allowedIps: p.allowedIps,
        ...(p.endpoint !== undefined ? { endpoint: { address: renderValue(p.endpoint.host, resolve), port: p.endpoint.port } } : {}),
        persistentKeepalive: this.#sim.options.keepalive ?? p.persistentKeepalive,
      },
      now,
    );
    gw.peerOf.set(other.index, peer);
  }

  /** The simulator's values for plan placeholders (only WireGuard ones occur in a WireGuard plan). */
  #resolve(ph: Placeholder): string {
    switch (ph.kind) {
      case "wireguard-public-key":
        return this.#sim.gateway(ph.node).privateKey.publicKey().toBase64();
      case "public-ip":
        return this.#sim.gateway(ph.node).publicAddress;
      default:
        throw new Error(`the simulator cannot resolve a ${ph.kind} placeholder`);
    }
  }

  /** Marks `gw` for a new `nextTickAt()` after the current event. */
  touch(gw: SimGateway): void {
    this.#dirty.add(gw);
  }

  /** Schedules a tick for every gateway touched by the event just run (the queue calls this after each event). */
  flushDirty(): void {
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
      this.#sim.queue.at(next, () => {
        if (gw.tickToken === token) this.#tick(gw);
      });
    }
    this.#dirty.clear();
  }

  #tick(gw: SimGateway): void {
    const device = gw.device;
    gw.tickAt = Infinity;
    if (device === null) return;
    const now = this.#sim.queue.now;
    const out = this.#actions();
    device.tick(now, out);
    this.#handle(gw, out);
    this.touch(gw);
    // A tick must leave no timer due at `now`; otherwise the Device would be ticked forever.
    if (device.nextTickAt() <= now) {
      this.#sim.finding(`${gw.name}: nextTickAt() <= now right after tick(now) at +${this.#sim.elapsed} ms; ticking again 1 ms later`);
      gw.tickAt = now + 1;
      const token = ++gw.tickToken;
      this.#sim.queue.at(now + 1, () => {
        if (gw.tickToken === token) this.#tick(gw);
      });
      this.#dirty.delete(gw);
    }
  }

  /**
   * The one actions array, emptied. Safe to share: handling actions never calls into a Device
   * synchronously (datagrams and answers are scheduled), so no call is nested inside another.
   */
  #actions(): Action[] {
    this.#out.length = 0;
    return this.#out;
  }

  /** A datagram reaches `gw`'s socket from gateway `from`, seen as coming from `source`. */
  receive(gw: SimGateway, datagram: Uint8Array, source: Endpoint, from: number): void {
    const sim = this.#sim;
    const device = gw.device;
    const link = sim.links[gw.linkOf.get(from) ?? -1];
    if (device === null) {
      // Lost at a gateway that is down (restarting).
      if (link !== undefined) countLost(sim.counters(link, sim.elapsed), datagram);
      return;
    }
    const now = sim.queue.now;
    const peer = gw.peerOf.get(from);
    const wasUp = peer?.hasSession(now) ?? false;
    const lastHandshake = peer?.lastHandshakeAt ?? 0;
    const out = this.#actions();
    device.decapsulate(datagram, source, now, out);
    // The initiator's side completes a handshake when it consumes a response (type 2).
    if (peer !== undefined && link !== undefined && datagram[0] === 2 && peer.lastHandshakeAt !== lastHandshake) {
      const t = sim.elapsed;
      link.handshakes.push(t);
      const c = sim.counters(link, t);
      c.handshakes++;
      if (wasUp) c.rekeys++;
      this.#recovery.noteHandshake(link, t);
    }
    this.#handle(gw, out);
    this.touch(gw);
  }

  /** Carries out a Device's actions. */
  #handle(gw: SimGateway, out: Action[]): void {
    for (const a of out) {
      switch (a.kind) {
        case "toNetwork":
          this.#recovery.noteOutbound(gw.index);
          this.#sim.underlay.send(gw.index, a.datagram, a.endpoint);
          break;
        case "toTunnel":
          this.#toHost(gw, a.packet);
          break;
        case "drop":
          gw.drops.set(a.reason, (gw.drops.get(a.reason) ?? 0) + 1);
          this.#sim.options.trace?.(`+${this.#sim.elapsed.toFixed(1)} ${gw.name} drop ${a.reason}`);
          break;
      }
    }
  }

  /** Sends an inner packet from a host behind `gw` into its tunnel. */
  encapsulate(gw: SimGateway, packet: Uint8Array): void {
    const device = gw.device;
    if (device === null) return;
    const out = this.#actions();
    device.encapsulate(packet, this.#sim.queue.now, out);
    this.#handle(gw, out);
    this.touch(gw);
  }
}
