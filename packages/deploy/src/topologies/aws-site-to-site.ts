/**
 * Preset `aws-site-to-site` (seed 004 on WireGuard): our AWS VPC and a customer's network joined by one
 * WireGuard tunnel, instead of seed 004's IPsec VPN gateway + customer gateway + VPN connection.
 *
 * - `aws` (cloud aws): the VPC the seed selects with `data "aws_vpc" "default"` — a default VPC is
 *   always 172.31.0.0/16 — and one private subnet of it, 172.31.128.0/20 (outside the default /20
 *   subnets 172.31.0.0-172.31.95.255), whose route table is the seed's `${prefix}-private`. The
 *   WireGuard gateway `aws-gw` (an EC2 instance) has its Elastic IP on a public subnet and a second
 *   ENI on the private subnet at .10; the private route table sends every egress route (the
 *   customer's networks) to that ENI (`routesVia`, seed 004's `aws_route` -> the VGW). `aws-host`
 *   (.20) stands for the instances of that subnet: the lab builds it, the aws target does not.
 * - `customer` (external): seed 004's customer gateway (`gateway_ip_address`) with its network
 *   192.168.1.0/24 (seed 001's on-premise numbers) behind it. It is not ours: the aws target only
 *   takes its address and public key as inputs and outputs the wg-quick file it needs; the lab runs
 *   that file with the real wg-quick + wireguard-go, as a customer would.
 *
 * Tunnel 172.16.0.0/24 (aws-gw .1, customer-gw .2), UDP 51820, MTU 1420. The customer side sends
 * PersistentKeepalive 25 (its own NAT or firewall state stays open); the AWS side needs none.
 */
import { buildTopology, type TopologyDescription } from "../model/build.js";
import type { SecurityGroup, Topology } from "../model/topology.js";

const OVERLAY = "172.16.0.0/24";
const WIREGUARD_PORT = 51820;

export const AWS_SITE_TO_SITE_NETWORKS = { vpc: "172.31.0.0/16", awsPrivate: "172.31.128.0/20", customer: "192.168.1.0/24" } as const;

/**
 * The gateway's rules. On AWS the security group gets the internet rules narrowed (WireGuard from the
 * peers' public addresses only, SSH from `ssh_cidr_blocks`) and the rules whose source is inside the
 * VPC; traffic from the customer network and the overlay arrives inside the tunnel, which the
 * gateway's nftables (the same rules) filters.
 */
const securityGroups: SecurityGroup[] = [
  {
    name: "sg-wireguard",
    inbound: [
      { protocol: "udp", port: WIREGUARD_PORT, from: { kind: "internet" }, description: "WireGuard (AWS: from the peers' public addresses only)" },
      { protocol: "tcp", port: 22, from: { kind: "internet" }, description: "SSH (AWS: from ssh_cidr_blocks only, none by default)" },
      { protocol: "any", from: { kind: "cidr", cidr: AWS_SITE_TO_SITE_NETWORKS.vpc }, description: "VPC traffic" },
      { protocol: "any", from: { kind: "cidr", cidr: AWS_SITE_TO_SITE_NETWORKS.customer }, description: "customer network (through the tunnel)" },
      { protocol: "any", from: { kind: "cidr", cidr: OVERLAY }, description: "WireGuard overlay traffic" },
    ],
  },
];

/** Seed 004's network as a topology description. */
export const awsSiteToSiteDescription: TopologyDescription = {
  name: "aws-site-to-site",
  inputs: { zone: "fr-par-1", region: "fr-par" },
  overlay: { cidr: OVERLAY, port: WIREGUARD_PORT, mtu: 1420, persistentKeepalive: 0 },
  vpcs: {
    aws: { "aws-private": AWS_SITE_TO_SITE_NETWORKS.awsPrivate },
    customer: { "customer-lan": AWS_SITE_TO_SITE_NETWORKS.customer },
  },
  placement: {
    aws: { cloud: "aws", cidr: AWS_SITE_TO_SITE_NETWORKS.vpc },
    customer: { cloud: "external" },
  },
  gateways: {
    "aws-gw": {
      shortName: "awsg", role: "hub", vpc: "aws", overlayIndex: 1, hostIndex: 10, peers: ["customer-gw"],
      instanceType: "t3.micro", securityGroup: "sg-wireguard",
    },
    "customer-gw": {
      shortName: "cgw", role: "spoke", vpc: "customer", overlayIndex: 2, hostIndex: 10, peers: ["aws-gw"],
      persistentKeepalive: 25, instanceType: "customer", securityGroup: "sg-wireguard",
    },
  },
  hosts: {
    "aws-host": { kind: "client", network: "aws-private", hostIndex: 20, routesVia: "aws-gw" },
    "customer-host": { kind: "client", network: "customer-lan", hostIndex: 20, defaultVia: "customer-gw" },
  },
  // Not rendered on AWS; in the lab its namespace holds the private network bridges.
  bastion: { name: "bastion", sshPort: 22, type: "none", hostIndex: 2, attach: [] },
  securityGroups,
  privateSupernets: [AWS_SITE_TO_SITE_NETWORKS.vpc, AWS_SITE_TO_SITE_NETWORKS.customer, OVERLAY],
};

/** The validated aws-site-to-site topology. */
export function awsSiteToSiteTopology(): Topology {
  return buildTopology(awsSiteToSiteDescription);
}
