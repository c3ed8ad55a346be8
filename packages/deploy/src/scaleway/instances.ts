/**
 * The Instances: every gateway and client host in a Scaleway VPC. Each gets its interfaces'
 * addresses booked (./ipam.ts), a `scaleway_instance_ip` if its plan has an uplink, a
 * `scaleway_instance_server` (Debian 12) with its node plan rendered as cloud-init (./cloud-init.ts,
 * every placeholder a Terraform expression), and one `scaleway_instance_private_nic` per interface
 * with its booked IPAM IP. Gateways download the wg-ts tarball and the Node.js runtime at first boot.
 */
import type { Gateway, Host } from "../model/topology.js";
import type { Placeholder } from "../plan/types.js";
import { hclString, tfName } from "../terraform/document.js";
import type { ScalewayArtifactObject } from "./artifacts.js";
import type { Bastion } from "./bastion.js";
import { renderCloudInit } from "./cloud-init.js";
import type { ScalewayContext } from "./context.js";
import type { ScalewayDatabase } from "./database.js";
import type { IpamBookings } from "./ipam.js";
import type { ScalewayNetworks } from "./network.js";
import type { ScalewayHandle } from "./resources.js";
import type { ScalewayOptions } from "./stack.js";

/** Instance image (Debian 12: the distribution the tests, and the boot test, run). */
export const INSTANCE_IMAGE = "debian_bookworm";

/** Login user on Scaleway's Debian images. */
export const SSH_USER = "root";

/** A node that is an Instance. */
export interface ScalewayInstance {
  readonly name: string;
  readonly kind: "gateway" | "client";
  readonly node: Gateway | Host;
  readonly instanceType: string;
  readonly securityGroup: string;
}

/** A booked address of an Instance's interface. */
export interface InstanceAddress {
  readonly network: string;
  readonly address: string;
  readonly ip: ScalewayHandle<"scaleway_ipam_ip">;
}

/** The gateways, then the client hosts, in Scaleway VPCs. */
export function scalewayInstances(ctx: ScalewayContext): ScalewayInstance[] {
  return [
    ...ctx.gateways.map((g) => ({ name: g.name, kind: "gateway" as const, node: g, instanceType: g.instanceType, securityGroup: g.securityGroup })),
    ...ctx.topology.hosts
      .filter((h) => h.kind === "client" && ctx.inScaleway(h.vpc))
      .map((h) => {
        if (h.instanceType === undefined || h.securityGroup === undefined) throw new Error(`scaleway: client ${h.name} needs instanceType and securityGroup`);
        return { name: h.name, kind: "client" as const, node: h, instanceType: h.instanceType, securityGroup: h.securityGroup };
      }),
  ];
}

/** Books every interface address of `instances`, in order; instance name -> its addresses. */
export function bookInstanceAddresses(ctx: ScalewayContext, instances: readonly ScalewayInstance[], ipam: IpamBookings): Map<string, InstanceAddress[]> {
  const instanceIps = new Map<string, InstanceAddress[]>();
  for (const instance of instances) {
    const plan = ctx.planOf(instance.name);
    instanceIps.set(
      instance.name,
      plan.interfaces.map((i) => {
        const address = i.address.split("/")[0] ?? i.address;
        return { network: i.network, address, ip: ipam.book(instance.name, i.network, address) };
      }),
    );
  }
  return instanceIps;
}

/** What the Instances are declared with. */
export interface InstanceInputs {
  readonly instances: readonly ScalewayInstance[];
  readonly instanceIps: ReadonlyMap<string, readonly InstanceAddress[]>;
  readonly networks: ScalewayNetworks;
  readonly ipam: IpamBookings;
  readonly securityGroups: ReadonlyMap<string, ScalewayHandle<"scaleway_instance_security_group">>;
  readonly bastionPublicIp: Bastion["publicIp"];
  readonly database: ScalewayDatabase;
  readonly artifacts: { readonly artifact: ScalewayArtifactObject; readonly nodeRuntime: ScalewayArtifactObject };
  readonly combined: ScalewayOptions["combined"];
}

/** Declares the public IPs, servers and private NICs; returns the public IPs, each Instance's cloud-init and the NICs ("instance/network"). */
export function addInstances(
  ctx: ScalewayContext,
  inputs: InstanceInputs,
): {
  readonly publicIps: ReadonlyMap<string, ScalewayHandle<"scaleway_instance_ip">>;
  readonly userData: Map<string, string>;
  readonly nics: ReadonlyMap<string, ScalewayHandle<"scaleway_instance_private_nic">>;
} {
  const { stack, topology, common, tags } = ctx;
  const { instances, instanceIps, networks, ipam, securityGroups, bastionPublicIp, combined } = inputs;
  const { password, rdb } = inputs.database;
  const artifact = { url: inputs.artifacts.artifact.url, sha256: inputs.artifacts.artifact.sha256 };
  const nodeRuntime = { url: inputs.artifacts.nodeRuntime.url, sha256: inputs.artifacts.nodeRuntime.sha256 };
  const publicIps = new Map<string, ScalewayHandle<"scaleway_instance_ip">>();
  for (const instance of instances) if (ctx.planOf(instance.name).uplink) publicIps.set(instance.name, stack.resource("scaleway_instance_ip", tfName(`${instance.name}-ip`), { ...common }));
  const expression = (placeholder: Placeholder): string => {
    switch (placeholder.kind) {
      case "wireguard-private-key":
        return `var.wireguard_private_keys[${hclString(placeholder.node)}]`;
      case "wireguard-public-key":
        return `var.wireguard_public_keys[${hclString(placeholder.node)}]`;
      case "public-ip": {
        if (placeholder.node === topology.bastion.name) return bastionPublicIp.ref("address");
        const ip = publicIps.get(placeholder.node);
        if (!ip && combined && !ctx.gateways.some((g) => g.name === placeholder.node)) return combined.peerPublicIp(placeholder.node);
        if (!ip) throw new Error(`scaleway: ${placeholder.node} has no public IP`);
        return ip.ref("address");
      }
      case "database-password":
        return password.ref("result");
      case "database-address":
        if (!rdb) throw new Error(`scaleway: topology ${topology.name} has no database`);
        return rdb.ref("private_network", ".0.ip");
      case "uplink-gateway":
      case "file-path":
        throw new Error(`scaleway: placeholder ${placeholder.kind} is resolved by the cloud-init renderer`);
    }
  };
  const userData = new Map<string, string>();
  const nics = new Map<string, ScalewayHandle<"scaleway_instance_private_nic">>();
  for (const instance of instances) {
    const plan = ctx.planOf(instance.name);
    const cloudInit = renderCloudInit({
      plan,
      expression,
      networkUuid: (name) => `element(split("/", ${networks.network(name).ref("id")}), 1)`,
      sshPublicKey: "var.ssh_public_key",
      ...(plan.wireguard ? { artifact, nodeRuntime } : {}),
    });
    userData.set(instance.name, cloudInit);
    const securityGroup = securityGroups.get(instance.securityGroup);
    if (!securityGroup) throw new Error(`scaleway: unknown security group ${instance.securityGroup}`);
    const publicIp = publicIps.get(instance.name);
    const server = stack.resource("scaleway_instance_server", tfName(instance.name), {
      name: instance.name,
      type: instance.instanceType,
      image: INSTANCE_IMAGE,
      security_group_id: securityGroup.attr("id"),
      ...(publicIp ? { ip_id: publicIp.attr("id") } : {}),
      user_data: { "cloud-init": cloudInit },
      ...common,
      tags: tags(instance.kind),
      // The gateways download the tarball and the runtime at first boot.
      ...(plan.wireguard ? { depends_on: [inputs.artifacts.artifact.object.address, inputs.artifacts.nodeRuntime.object.address] } : {}),
    });
    for (const { network: networkName, ip } of instanceIps.get(instance.name) ?? []) {
      const nic = stack.resource("scaleway_instance_private_nic", tfName(`${instance.name}-${networkName}`), {
        server_id: server.attr("id"),
        private_network_id: networks.network(networkName).attr("id"),
        ipam_ip_ids: [ip.attr("id")],
        ...common,
        depends_on: ipam.bookedIn(networkName),
      });
      nics.set(`${instance.name}/${networkName}`, nic);
    }
  }
  return { publicIps, userData, nics };
}
