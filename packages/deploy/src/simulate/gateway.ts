/**
 * A gateway as the simulator runs it: its WireGuard plan (the same `planTopology` output the lab and
 * the cloud targets apply, with the simulator's interface names), its key, its socket (behind NAT:
 * the inside address; its public address is the NAT box's), the hosts behind it, and its wg-core
 * Device, null while it restarts. Keys are drawn from the run's "keys" stream in topology order;
 * each gateway's Device draws from its own stream, `device:<name>`.
 */
import type { Device, DropReason, Endpoint, Peer } from "@wg-ts/core";
import { PrivateKey } from "@wg-ts/core";
import { labLayout } from "../lab/layout.js";
import { parseIpv4 } from "../model/ipv4.js";
import type { Topology } from "../model/topology.js";
import { planTopology } from "../plan/plan.js";
import type { PlanOptions, WireGuardPlan } from "../plan/types.js";
import { Prng } from "./prng.js";

/** Names the simulator gives WireGuard devices (only used in plans; nothing is created). */
const SIMULATION_PLAN_OPTIONS: PlanOptions = {
  wireguardInterfaceName: (g) => `wg-${g.shortName}`,
  restartTunnelCommand: ({ interfaceName }) => `true ${interfaceName}`,
};

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

/** The topology's gateways in topology order, planned and addressed as the lab lays them out; no Device yet, no links. */
export function simGateways(topology: Topology, seed: number, keys: Prng): SimGateway[] {
  const plans = planTopology(topology, SIMULATION_PLAN_OPTIONS);
  const layout = labLayout(topology, "");
  return topology.gateways.map((g, index) => {
    const plan = plans.get(g.name)?.wireguard;
    if (plan === undefined) throw new Error(`gateway ${g.name} has no WireGuard plan`);
    const nat = layout.natRouters.get(g.name);
    const publicAddress = nat?.publicIp ?? layout.publicIps.get(g.name) ?? "";
    const hostsBehind = topology.hosts.filter((h) => g.attachments.some((a) => a.network === h.attachment.network));
    const hosts = [...hostsBehind.map((h) => parseIpv4(h.attachment.address)), parseIpv4(g.overlayIp)];
    return {
      index,
      name: g.name,
      plan,
      privateKey: PrivateKey.generate((out) => keys.fill(out)),
      device: null,
      publicAddress,
      socket: { address: nat?.gatewayAddress ?? publicAddress, port: plan.listenPort },
      behindNat: nat !== undefined,
      hosts,
      peerOf: new Map(),
      linkOf: new Map(),
      drops: new Map(),
      random: new Prng(seed, `device:${g.name}`),
      tickAt: Infinity,
      tickToken: 0,
    };
  });
}
