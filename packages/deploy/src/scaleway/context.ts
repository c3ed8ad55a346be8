/**
 * What every part of the Scaleway document is declared with: the stack (its own, or a combined
 * root module's), the topology, which of its VPCs are in Scaleway (all of them, except in a
 * combined root module), the zone and region, the tags, and the node plans.
 */
import { vpcNamed, type Gateway, type Topology } from "../model/topology.js";
import type { NodePlan } from "../plan/types.js";
import type { Stack } from "../terraform/document.js";
import type { ScalewayCatalog } from "./resources.js";

export interface ScalewayContext {
  readonly stack: Stack<ScalewayCatalog>;
  readonly topology: Topology;
  /** True for a VPC in Scaleway. */
  inScaleway(vpc: string): boolean;
  /** The gateways in Scaleway VPCs. */
  readonly gateways: readonly Gateway[];
  /** The node plan of `node` (an error if it has none). */
  planOf(node: string): NodePlan;
  /** Expressions of the `zone` and `region` variables. */
  readonly zone: string;
  readonly region: string;
  /** `{ zone }`: zonal resources' common arguments. */
  readonly common: { readonly zone: string };
  /** Tags of every resource: wg-ts, topology-<name>, then `extra`. */
  tags(...extra: string[]): string[];
}

/** The context of `topology`'s Scaleway part, built into `stack` from `plans`. */
export function scalewayContext(stack: Stack<ScalewayCatalog>, topology: Topology, plans: ReadonlyMap<string, NodePlan>, zone: string, region: string): ScalewayContext {
  // Only what lives in Scaleway VPCs (all of it, except in a combined root module).
  const inScaleway = (vpc: string) => vpcNamed(topology, vpc).cloud === "scaleway";
  return {
    stack,
    topology,
    inScaleway,
    gateways: topology.gateways.filter((g) => inScaleway(g.vpc)),
    planOf: (node) => {
      const plan = plans.get(node);
      if (!plan) throw new Error(`scaleway: no node plan for ${node}`);
      return plan;
    },
    zone,
    region,
    common: { zone },
    tags: (...extra) => ["wg-ts", `topology-${topology.name}`, ...extra],
  };
}
