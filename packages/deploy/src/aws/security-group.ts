/**
 * The gateway's security group: WireGuard from its peers' public addresses only, SSH from
 * `ssh_cidr_blocks`, everything from the VPC (its hosts' traffic to the remote networks, the
 * replies), everything out. The gateway's nftables ruleset applies the plan's policy on top.
 */
import type { Gateway, Topology } from "../model/topology.js";
import { type Stack, tfName } from "../terraform/document.js";
import type { AwsInputs } from "./inputs.js";
import type { AwsCatalog, AwsDataHandle, AwsHandle } from "./resources.js";

/** Declares the security group of `gateway` and its rules; `peerPublicIp` is the expression of a peer's public IPv4. */
export function addGatewaySecurityGroup(
  stack: Stack<AwsCatalog>,
  topology: Topology,
  gateway: Gateway,
  vpc: AwsDataHandle<"aws_vpc">,
  inputs: AwsInputs,
  peerPublicIp: (peer: Gateway) => string,
): AwsHandle<"aws_security_group"> {
  const { prefix, vpnTag, wireguardPort } = inputs;
  const gw = tfName(gateway.name);
  const sg = stack.resource("aws_security_group", `${gw}`, {
    name: `${prefix}-\${var.vpn_name}-wireguard`,
    description: `wg-deploy: WireGuard gateway ${gateway.name} (UDP ${topology.overlay.port} from its peers, SSH from ssh_cidr_blocks, all from the VPC)`,
    vpc_id: vpc.attr("id"),
    tags: vpnTag("wireguard"),
  });
  const peerGateways = gateway.peers.map((name) => {
    const peer = topology.gateways.find((g) => g.name === name);
    if (!peer) throw new Error(`aws: unknown peer ${name}`);
    return peer;
  });
  for (const peer of peerGateways) {
    if (peer.behindNat) throw new Error(`aws: peer ${peer.name} is behind NAT: the security group cannot name its address`);
    stack.resource("aws_vpc_security_group_ingress_rule", `${gw}_wireguard_from_${tfName(peer.name)}`, {
      security_group_id: sg.attr("id"),
      description: `WireGuard from ${peer.name}`,
      ip_protocol: "udp",
      from_port: wireguardPort,
      to_port: wireguardPort,
      cidr_ipv4: `\${${peerPublicIp(peer)}}/32`,
      tags: vpnTag(`wireguard-from-${peer.name}`),
    });
  }
  stack.resource("aws_vpc_security_group_ingress_rule", `${gw}_ssh`, {
    count: "${length(var.ssh_cidr_blocks)}",
    security_group_id: sg.attr("id"),
    description: "SSH (ssh_cidr_blocks)",
    ip_protocol: "tcp",
    from_port: 22,
    to_port: 22,
    cidr_ipv4: "${var.ssh_cidr_blocks[count.index]}",
    tags: vpnTag("ssh"),
  });
  stack.resource("aws_vpc_security_group_ingress_rule", `${gw}_vpc`, {
    security_group_id: sg.attr("id"),
    description: "everything from the VPC (its hosts' traffic to the remote networks, the replies)",
    ip_protocol: "-1",
    cidr_ipv4: vpc.attr("cidr_block"),
    tags: vpnTag("vpc"),
  });
  stack.resource("aws_vpc_security_group_egress_rule", `${gw}_all`, {
    security_group_id: sg.attr("id"),
    description: "everything out (apt, the artifact bucket, the tunnel, forwarded traffic)",
    ip_protocol: "-1",
    cidr_ipv4: "0.0.0.0/0",
    tags: vpnTag("egress"),
  });
  return sg;
}
