/**
 * Preset `scaleway-aws`: seed 001's Scaleway VPC (vpn-gw + test instance, DHCP option 121 for the
 * return route) connected to the AWS VPC of aws-site-to-site instead of an on-premise site. Both
 * ends are ours: one root module with both providers (`--target scaleway-aws`), each gateway's
 * endpoint and public key wired by Terraform references, so one apply builds both sides and the tunnel.
 *
 * Numbers: seed 001's cloud side (192.168.0.0/24, tunnel 172.16.0.0/24, UDP 52435; vpn-gw .10 and
 * the test instance .20, Scaleway reserving .1), the AWS side of aws-site-to-site (default VPC
 * 172.31.0.0/16, private subnet 172.31.128.0/20, aws-gw .10, aws-host .20 routed by the private
 * route table). Both gateways are reachable: no NAT, no keepalive needed (0).
 */
import { buildTopology, type TopologyDescription } from "../model/build.js";
import type { SecurityGroup, Topology } from "../model/topology.js";

const OVERLAY = "172.16.0.0/24";
const WIREGUARD_PORT = 52435;

export const SCALEWAY_AWS_NETWORKS = { scaleway: "192.168.0.0/24", awsVpc: "172.31.0.0/16", awsPrivate: "172.31.128.0/20" } as const;

const securityGroups: SecurityGroup[] = [
  {
    name: "sg-wireguard",
    inbound: [
      { protocol: "udp", port: WIREGUARD_PORT, from: { kind: "internet" }, description: "WireGuard (AWS: from the peer's public address only)" },
      { protocol: "tcp", port: 22, from: { kind: "internet" }, description: "SSH (AWS: from ssh_cidr_blocks only)" },
      { protocol: "any", from: { kind: "cidr", cidr: SCALEWAY_AWS_NETWORKS.scaleway }, description: "Scaleway VPC traffic" },
      { protocol: "any", from: { kind: "cidr", cidr: SCALEWAY_AWS_NETWORKS.awsVpc }, description: "AWS VPC traffic" },
      { protocol: "any", from: { kind: "cidr", cidr: OVERLAY }, description: "WireGuard overlay traffic" },
    ],
  },
  {
    name: "sg-client",
    inbound: [
      { protocol: "tcp", port: 22, from: { kind: "internet" }, description: "SSH from the internet" },
      { protocol: "any", from: { kind: "cidr", cidr: SCALEWAY_AWS_NETWORKS.scaleway }, description: "Scaleway VPC traffic" },
      { protocol: "any", from: { kind: "cidr", cidr: SCALEWAY_AWS_NETWORKS.awsVpc }, description: "AWS VPC traffic" },
    ],
  },
];

export const scalewayAwsDescription: TopologyDescription = {
  name: "scaleway-aws",
  inputs: { zone: "fr-par-1", region: "fr-par" },
  overlay: { cidr: OVERLAY, port: WIREGUARD_PORT, mtu: 1420, persistentKeepalive: 0 },
  vpcs: {
    scaleway: { "pn-vpc": SCALEWAY_AWS_NETWORKS.scaleway },
    aws: { "aws-private": SCALEWAY_AWS_NETWORKS.awsPrivate },
  },
  placement: { aws: { cloud: "aws", cidr: SCALEWAY_AWS_NETWORKS.awsVpc } },
  gateways: {
    "vpn-gw": {
      shortName: "vgw", role: "hub", vpc: "scaleway", overlayIndex: 1, hostIndex: 10, peers: ["aws-gw"], dhcpServer: true,
      instanceType: "PLAY2-MICRO", securityGroup: "sg-wireguard",
    },
    "aws-gw": {
      shortName: "awsg", role: "spoke", vpc: "aws", overlayIndex: 2, hostIndex: 10, peers: ["vpn-gw"],
      instanceType: "t3.micro", securityGroup: "sg-wireguard",
    },
  },
  hosts: {
    "test-instance": { kind: "client", network: "pn-vpc", hostIndex: 20, defaultVia: "vpn-gw", instanceType: "PLAY2-NANO", securityGroup: "sg-client" },
    "aws-host": { kind: "client", network: "aws-private", hostIndex: 20, routesVia: "aws-gw" },
  },
  bastion: { name: "bastion", sshPort: 61000, type: "VPC-GW-S", hostIndex: 2, attach: ["pn-vpc"] },
  securityGroups,
  privateSupernets: [SCALEWAY_AWS_NETWORKS.scaleway, SCALEWAY_AWS_NETWORKS.awsVpc, OVERLAY],
};

export function scalewayAwsTopology(): Topology {
  return buildTopology(scalewayAwsDescription);
}
