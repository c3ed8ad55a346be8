/**
 * The scenario's events applied to the running network: a partition of two peers' path, a
 * gateway's restart (Device gone for `down` ms, then a fresh one from its plan), a move to a new
 * public address (peers optionally reconfigured with it), a key rotation (peers given the new public
 * key), a NAT box forgetting its mapping. Each applied event is recorded for the recovery
 * measurements (./recovery.ts). Events that cannot apply to the topology are refused before the run.
 */
import { PrivateKey } from "@wg-ts/core";
import { parseIpv4 } from "../model/ipv4.js";
import type { Devices } from "./devices.js";
import type { SimGateway } from "./gateway.js";
import type { Prng } from "./prng.js";
import type { Recovery } from "./recovery.js";
import type { ScenarioEvent } from "./scenario.js";
import type { Simulation } from "./simulator.js";

export class ScenarioEvents {
  readonly #sim: Simulation;
  readonly #devices: Devices;
  readonly #recovery: Recovery;
  /** The stream new keys are drawn from (the one the gateways' first keys came from). */
  readonly #keys: Prng;

  constructor(sim: Simulation, devices: Devices, recovery: Recovery, keys: Prng) {
    this.#sim = sim;
    this.#devices = devices;
    this.#recovery = recovery;
    this.#keys = keys;
  }

  /** Refuses an event that names no gateway of the topology (or cannot apply to it) before anything runs. */
  check(e: ScenarioEvent): void {
    if (!(e.at >= 0)) throw new Error(`event at ${e.at} ms: before the start`);
    if (e.kind === "partition") {
      const [a, b] = e.between.map((name) => this.#sim.gateway(name)) as [SimGateway, SimGateway];
      if (!a.linkOf.has(b.index)) throw new Error(`partition: ${a.name} and ${b.name} are not peers`);
      return;
    }
    const gw = this.#sim.gateway(e.gateway);
    if (e.kind === "move") {
      parseIpv4(e.address);
      if (gw.behindNat) throw new Error(`move: ${gw.name} is behind NAT; its public address is its NAT box's`);
    }
    if (e.kind === "nat-rebind" && !gw.behindNat) throw new Error(`natRebind: ${gw.name} is not behind NAT`);
  }

  /** Applies `e` now. */
  apply(e: ScenarioEvent): void {
    const sim = this.#sim;
    const now = sim.queue.now;
    switch (e.kind) {
      case "partition": {
        const a = sim.gateway(e.between[0]);
        const b = sim.gateway(e.between[1]);
        sim.underlay.partition(a.index, b.index, e.duration);
        const link = sim.links[a.linkOf.get(b.index) ?? -1];
        const rec = this.#recovery.record(e, [a, b], link === undefined ? [] : [link]);
        rec.t0 = sim.elapsed + e.duration; // recovery counts from the end of the partition
        break;
      }
      case "restart": {
        const gw = sim.gateway(e.gateway);
        gw.device = null;
        gw.tickToken++;
        gw.tickAt = Infinity;
        const rec = this.#recovery.record(e, [gw]);
        rec.t0 = NaN; // set by the restarted Device's first datagram
        sim.queue.at(now + e.down, () => {
          this.#devices.start(gw);
          this.#recovery.fromFirstOutbound(gw.index, rec);
        });
        break;
      }
      case "move": {
        const gw = sim.gateway(e.gateway);
        gw.publicAddress = e.address;
        gw.socket = { address: e.address, port: gw.socket.port };
        sim.underlay.bind(gw.index, gw.socket);
        this.#recovery.record(e, [gw]);
        if (e.reconfigurePeers) {
          for (const [peerIndex] of gw.linkOf) {
            const other = sim.gateways[peerIndex]!;
            const p = other.plan.peers.find((x) => x.name === gw.name);
            if (other.device === null || p?.endpoint === undefined) continue;
            other.device.updatePeer(gw.privateKey.publicKey(), { endpoint: { address: e.address, port: p.endpoint.port } }, now);
            this.#devices.touch(other);
          }
        }
        break;
      }
      case "rotate-key": {
        const gw = sim.gateway(e.gateway);
        const old = gw.privateKey.publicKey();
        gw.privateKey = PrivateKey.generate((out) => this.#keys.fill(out));
        gw.device?.setPrivateKey(gw.privateKey, now);
        this.#devices.touch(gw);
        for (const [peerIndex] of gw.linkOf) {
          const other = sim.gateways[peerIndex]!;
          const p = other.plan.peers.find((x) => x.name === gw.name);
          if (other.device === null || p === undefined) continue;
          other.device.removePeer(old);
          this.#devices.addPeer(other, p, now);
          this.#devices.touch(other);
        }
        this.#recovery.record(e, [gw]);
        break;
      }
      case "nat-rebind": {
        const gw = sim.gateway(e.gateway);
        sim.underlay.rebind(gw.index);
        this.#recovery.record(e, [gw]);
        break;
      }
    }
  }
}
