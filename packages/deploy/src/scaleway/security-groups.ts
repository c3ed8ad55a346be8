/**
 * One `scaleway_instance_security_group` per model security group an instance uses: public traffic
 * only (stateful, inbound dropped unless a rule accepts it); the gateways apply the same policy to
 * private traffic with the plan's nftables ruleset.
 */
import { tfName } from "../terraform/document.js";
import type { ScalewayContext } from "./context.js";
import type { ScalewayHandle } from "./resources.js";

/** Declares the security groups named in `used`; the WireGuard port's rules use `wireguardPort` (the pinned variable). */
export function addSecurityGroups(ctx: ScalewayContext, used: ReadonlySet<string>, wireguardPort: string): Map<string, ScalewayHandle<"scaleway_instance_security_group">> {
  const { stack, topology, common } = ctx;
  const securityGroups = new Map<string, ScalewayHandle<"scaleway_instance_security_group">>();
  for (const sg of topology.securityGroups.filter((g) => used.has(g.name))) {
    securityGroups.set(
      sg.name,
      stack.resource("scaleway_instance_security_group", tfName(sg.name), {
        name: sg.name,
        description: "wg-deploy: applies to public traffic only; private traffic is filtered by the gateways' nftables",
        stateful: true,
        inbound_default_policy: "drop",
        outbound_default_policy: "accept",
        inbound_rule: sg.inbound.map((rule) => ({
          action: "accept" as const,
          protocol: rule.protocol === "tcp" ? ("TCP" as const) : rule.protocol === "udp" ? ("UDP" as const) : ("ANY" as const),
          ...(rule.port !== undefined ? { port: rule.port === topology.overlay.port ? wireguardPort : rule.port } : {}),
          ...(rule.from.kind === "cidr" ? { ip_range: rule.from.cidr } : {}),
        })),
        ...common,
      }),
    );
  }
  return securityGroups;
}
