/**
 * The Scaleway networks: one `scaleway_vpc` per VPC (routing on) and one
 * `scaleway_vpc_private_network` per private network; and the VPC routes that send the other sites'
 * networks and the overlay to the VPC's WireGuard gateway (its first private NIC).
 */
import { tfName } from "../terraform/document.js";
import type { ScalewayContext } from "./context.js";
import type { ScalewayHandle } from "./resources.js";

/** What {@link addNetworks} declared. */
export interface ScalewayNetworks {
  /** VPC name -> its resource. */
  readonly vpcs: ReadonlyMap<string, ScalewayHandle<"scaleway_vpc">>;
  /** The private network named `name` (an error if it is not in Scaleway). */
  network(name: string): ScalewayHandle<"scaleway_vpc_private_network">;
}

/** Declares the VPCs in Scaleway and their private networks. */
export function addNetworks(ctx: ScalewayContext): ScalewayNetworks {
  const { stack, topology, region, tags } = ctx;
  const vpcs = new Map<string, ScalewayHandle<"scaleway_vpc">>();
  const networks = new Map<string, ScalewayHandle<"scaleway_vpc_private_network">>();
  for (const vpc of topology.vpcs.filter((v) => ctx.inScaleway(v.name))) {
    // Routing on: the custom routes below (remote networks behind the WireGuard gateway) need it.
    const handle = stack.resource("scaleway_vpc", tfName(vpc.name), { name: vpc.name, enable_routing: true, region, tags: tags() });
    vpcs.set(vpc.name, handle);
    for (const pn of vpc.privateNetworks) {
      networks.set(
        pn.name,
        stack.resource("scaleway_vpc_private_network", tfName(pn.name), {
          name: pn.name,
          vpc_id: handle.attr("id"),
          ipv4_subnet: { subnet: pn.cidr },
          region,
          tags: tags(`vpc-${vpc.name}`),
        }),
      );
    }
  }
  const network = (name: string) => {
    const handle = networks.get(name);
    if (!handle) throw new Error(`scaleway: unknown private network ${name}`);
    return handle;
  };
  return { vpcs, network };
}

/**
 * VPC routes: the other sites' networks and the overlay are behind the VPC's WireGuard gateway
 * (topology.md: the database must be able to answer spoke-02; this declares the path to the VPC
 * dataplane in addition to the spoke-01 masquerade of the plan). `nics` maps "instance/network" to
 * the private NIC.
 */
export function addVpcRoutes(ctx: ScalewayContext, networks: ScalewayNetworks, nics: ReadonlyMap<string, ScalewayHandle<"scaleway_instance_private_nic">>): void {
  const { stack, topology, region, tags } = ctx;
  for (const gateway of ctx.gateways) {
    const first = gateway.attachments[0];
    const nic = first ? nics.get(`${gateway.name}/${first.network}`) : undefined;
    const vpc = networks.vpcs.get(gateway.vpc);
    if (!nic || !vpc) throw new Error(`scaleway: gateway ${gateway.name} has no NIC in VPC ${gateway.vpc}`);
    const remote = [...topology.gateways.filter((o) => o.name !== gateway.name).flatMap((o) => o.attachments.map((a) => a.cidr)), topology.overlay.cidr];
    for (const destination of remote) {
      stack.resource("scaleway_vpc_route", tfName(`${gateway.vpc}-to-${destination}`), {
        vpc_id: vpc.attr("id"),
        description: `${destination} via ${gateway.name} (WireGuard)`,
        destination,
        nexthop_resource_id: nic.attr("id"),
        region,
        tags: tags(),
      });
    }
  }
}
