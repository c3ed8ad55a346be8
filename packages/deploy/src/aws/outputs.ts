/**
 * The outputs of the aws target: the gateway's Elastic IP and WireGuard public key, the customer's
 * wg-quick file (sensitive), SSH and diagnosis commands, the overlay, the private networks on each
 * side, and the egress routes. A combined root module (./scaleway-aws.ts) adds the gateway's entries
 * to the Scaleway outputs of the same names instead.
 */
import { vpnSubnets, wireguardStatusCommand } from "../cloud/outputs.js";
import type { Topology } from "../model/topology.js";
import type { NodePlan } from "../plan/types.js";
import { expr, hclString, type Stack } from "../terraform/document.js";
import { AWS_SSH_USER } from "./instance.js";
import type { AwsCatalog } from "./resources.js";
import type { AwsSite } from "./site.js";

/** The AWS gateway's entries of the `public_ips`, `ssh_commands` and `wireguard_status_commands` output maps. */
export function awsGatewayEntries(site: AwsSite): { public_ips: Record<string, string>; ssh_commands: Record<string, string>; wireguard_status_commands: Record<string, string> } {
  const name = site.gateway.name;
  const eip = expr(site.publicIp);
  return {
    public_ips: { [name]: eip },
    ssh_commands: { [name]: `ssh ${AWS_SSH_USER}@${eip}` },
    wireguard_status_commands: { [name]: `ssh ${AWS_SSH_USER}@${eip} '${wireguardStatusCommand(true)}'` },
  };
}

/** Value of the `egress_routes` output: the private route table's routes to the gateway's ENI. */
export function egressRoutesValue(site: AwsSite): Record<string, string> {
  return { route_table_id: site.routeTable.attr("id"), network_interface_id: site.privateEni.attr("id"), destinations: "${var.egress_routes}" };
}

/** Declares the outputs of an aws-target document; `remoteConfigs` are the external gateways' wg-quick files. */
export function addAwsOutputs(stack: Stack<AwsCatalog>, topology: Topology, plans: ReadonlyMap<string, NodePlan>, site: AwsSite, remoteConfigs: ReadonlyMap<string, string>): void {
  const g = site.gateway;
  const entries = awsGatewayEntries(site);
  stack.output("public_ips", { description: "Public IPv4 (Elastic IP) of the WireGuard gateway.", value: entries.public_ips });
  stack.output("wireguard_public_key", { description: `WireGuard public key of ${g.name} (give it to the remote side).`, value: expr(`var.wireguard_public_keys[${hclString(g.name)}]`) });
  for (const [peer, config] of remoteConfigs) {
    stack.output("remote_wireguard_config", {
      description: `The wg-quick file ${peer} needs (/etc/wireguard/${plans.get(peer)?.wireguard?.interfaceName ?? "wg0"}.conf): sensitive, it holds ${peer}'s private key when wg-deploy generated it.`,
      sensitive: true,
      value: config,
    });
  }
  stack.output("ssh_commands", {
    description: "SSH to the gateway (needs ssh_key_name and your address in ssh_cidr_blocks).",
    value: entries.ssh_commands,
  });
  stack.output("wireguard_status_commands", {
    description: "Diagnosis commands for the WireGuard gateway (wg show through wg-ts's UAPI socket, the unit, wg-stats).",
    value: entries.wireguard_status_commands,
  });
  stack.output("wireguard_network", {
    description: "The WireGuard overlay.",
    value: {
      cidr: topology.overlay.cidr,
      port: topology.overlay.port,
      mtu: topology.overlay.mtu,
      gateways: Object.fromEntries(topology.gateways.map((x) => [x.name, x.overlayIp])),
    },
  });
  stack.output("vpn_subnets", {
    description: "Private networks on each side of the tunnel.",
    value: vpnSubnets(topology),
  });
  stack.output("egress_routes", {
    description: "The private route table's routes to the gateway's ENI (seed 004's egress_routes).",
    value: egressRoutesValue(site),
  });
}
