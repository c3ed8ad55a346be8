/**
 * The node plans every cloud target renders (Scaleway, AWS, both in one root module): `wg0` on
 * every gateway, restarted through the wg-ts systemd unit. The lab plans the same topology with
 * its own names.
 */
import type { Topology } from "../model/topology.js";
import { planTopology } from "../plan/plan.js";
import type { NodePlan, PlanOptions } from "../plan/types.js";

/** The WireGuard interface of every cloud gateway. */
export const CLOUD_WIREGUARD_INTERFACE = "wg0";

/** Cloud plan options: `wg0` on every gateway, restarted through the wg-ts systemd unit. */
export const CLOUD_PLAN_OPTIONS: PlanOptions = {
  wireguardInterfaceName: () => CLOUD_WIREGUARD_INTERFACE,
  restartTunnelCommand: ({ interfaceName }) => `systemctl restart wg-ts@${interfaceName}`,
};

/** The node plans of `topology` as the cloud targets render them. */
export function cloudPlans(topology: Topology): Map<string, NodePlan> {
  return planTopology(topology, CLOUD_PLAN_OPTIONS);
}
