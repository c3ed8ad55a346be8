/**
 * The bastion: Scaleway Public Gateways with SSH bastion on the model's port, attached to the
 * private networks with their booked addresses, no default route pushed and no masquerade (the
 * WireGuard gateways do the NAT, never the Public Gateway). One shared by every VPC (the seed's
 * design), or one per VPC. The operator's SSH key is a project key the bastion copies.
 */
import type { NetworkAttachment } from "../model/topology.js";
import { expr, tfName } from "../terraform/document.js";
import type { ScalewayContext } from "./context.js";
import type { IpamBookings } from "./ipam.js";
import type { ScalewayNetworks } from "./network.js";
import type { ScalewayHandle } from "./resources.js";

/** The bastion's user (Public Gateway SSH bastion). */
export const BASTION_USER = "bastion";

/**
 * How many Public Gateways (bastions): `shared` = one attached to the private networks of every VPC
 * (the seed's design; the docs neither allow nor forbid a gateway across VPCs), `per-vpc` = one per
 * VPC, attached to that VPC's networks only (README "One Public Gateway or one per VPC").
 */
export const PUBLIC_GATEWAY_MODES = ["shared", "per-vpc"] as const;
export type PublicGatewayMode = (typeof PUBLIC_GATEWAY_MODES)[number];

/** A booked bastion address. */
export interface BastionAddress {
  readonly attachment: NetworkAttachment;
  readonly ip: ScalewayHandle<"scaleway_ipam_ip">;
}

/** A Public Gateway: its name, the VPC it serves (undefined: every VPC), its addresses and public IP. */
export interface Bastion {
  readonly name: string;
  readonly vpc: string | undefined;
  readonly ips: readonly BastionAddress[];
  readonly publicIp: ScalewayHandle<"scaleway_vpc_public_gateway_ip">;
}

/** Books the bastion's address on each network it attaches to. */
export function bookBastionAddresses(ctx: ScalewayContext, ipam: IpamBookings): BastionAddress[] {
  const bastion = ctx.topology.bastion;
  return bastion.attachments.map((a) => ({ attachment: a, ip: ipam.book(bastion.name, a.network, a.address) }));
}

/** Declares the operator's SSH key and the Public Gateway(s) with their network attachments. */
export function addBastions(
  ctx: ScalewayContext,
  inputs: { readonly bastionIps: readonly BastionAddress[]; readonly mode: PublicGatewayMode; readonly sshPublicKey: string; readonly networks: ScalewayNetworks; readonly ipam: IpamBookings; readonly vpcOfNetwork: ReadonlyMap<string, string> },
): Bastion[] {
  const { stack, topology, common, tags } = ctx;
  const { bastionIps, networks, ipam, vpcOfNetwork } = inputs;
  const bastionGroups =
    inputs.mode === "per-vpc"
      ? topology.vpcs
          .filter((v) => ctx.inScaleway(v.name))
          .map((v) => ({ name: `${topology.bastion.name}-${v.name}`, vpc: v.name as string | undefined, ips: bastionIps.filter((b) => vpcOfNetwork.get(b.attachment.network) === v.name) }))
          .filter((g) => g.ips.length > 0)
      : [{ name: topology.bastion.name, vpc: undefined as string | undefined, ips: bastionIps }];
  if (bastionGroups.length === 0)
    throw new Error(`scaleway: topology ${topology.name}'s bastion ${topology.bastion.name} is attached to no private network in Scaleway (public_gateways=${inputs.mode}): the instances would have no SSH jump host`);
  const sshKey = stack.resource("scaleway_iam_ssh_key", "operator", { name: `wg-ts-${topology.name}-operator`, public_key: inputs.sshPublicKey });
  return bastionGroups.map((group) => {
    const publicIp = stack.resource("scaleway_vpc_public_gateway_ip", tfName(`${group.name}-ip`), { ...common, tags: tags("bastion") });
    const gateway = stack.resource("scaleway_vpc_public_gateway", tfName(group.name), {
      name: group.name,
      type: topology.bastion.type,
      ip_id: publicIp.attr("id"),
      bastion_enabled: true,
      bastion_port: topology.bastion.sshPort,
      // The bastion copies the project's SSH keys when this value changes.
      refresh_ssh_keys: expr(`sha256(${sshKey.ref("public_key")})`),
      ...common,
      tags: tags("bastion"),
    });
    for (const { attachment, ip } of group.ips) {
      stack.resource("scaleway_vpc_gateway_network", tfName(`${topology.bastion.name}-${attachment.network}`), {
        gateway_id: gateway.attr("id"),
        private_network_id: networks.network(attachment.network).attr("id"),
        enable_masquerade: false,
        ipam_config: { push_default_route: topology.bastion.pushDefaultRoute, ipam_ip_id: ip.attr("id") },
        ...common,
        depends_on: ipam.bookedIn(attachment.network),
      });
    }
    return { ...group, publicIp };
  });
}
