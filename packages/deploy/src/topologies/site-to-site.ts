/**
 * Preset `site-to-site` (seed 001): a cloud VPC gateway and an on-premise gateway joined by one
 * WireGuard tunnel, each side's hosts routed to the other side through their gateway.
 *
 * Numbers kept from the seed: the VPC 192.168.0.0/24, the on-premise subnet 192.168.1.0/24, tunnel
 * addresses 172.16.0.1 (cloud) and 172.16.0.2 (on-premise), UDP port 52435. The on-premise gateway
 * is behind NAT (`behindNat`): the cloud gateway has no Endpoint for it, and only the on-premise side
 * sends PersistentKeepalive 25 to keep its mapping open, exactly as the seed's two wg0.conf. The seed
 * puts the gateways on .1; Scaleway reserves .1 (and the model refuses it), so the gateways are .10
 * and the test hosts .20.
 *
 * Route propagation: as in the seed, each gateway runs dnsmasq (DHCP only) on its subnet and pushes
 * `<other side> via <gateway>` (and the default route) with option 121 (src/plan/dnsmasq.ts).
 */
import { buildTopology, type TopologyDescription } from "../model/build.js";
import type { SecurityGroup, Topology } from "../model/topology.js";

const OVERLAY = "172.16.0.0/24";
const WIREGUARD_PORT = 52435;

export const SITE_TO_SITE_NETWORKS = { cloud: "192.168.0.0/24", onPremise: "192.168.1.0/24" } as const;

const securityGroups: SecurityGroup[] = [
  {
    name: "sg-wireguard",
    inbound: [
      { protocol: "tcp", port: 22, from: { kind: "internet" }, description: "SSH from the internet" },
      { protocol: "udp", port: WIREGUARD_PORT, from: { kind: "internet" }, description: "WireGuard (seed: UDP 52435)" },
      { protocol: "any", from: { kind: "cidr", cidr: SITE_TO_SITE_NETWORKS.cloud }, description: "VPC traffic" },
      { protocol: "any", from: { kind: "cidr", cidr: SITE_TO_SITE_NETWORKS.onPremise }, description: "on-premise traffic" },
      { protocol: "any", from: { kind: "cidr", cidr: OVERLAY }, description: "WireGuard overlay traffic" },
    ],
  },
  {
    name: "sg-client",
    inbound: [
      { protocol: "tcp", port: 22, from: { kind: "internet" }, description: "SSH from the internet" },
      { protocol: "any", from: { kind: "cidr", cidr: SITE_TO_SITE_NETWORKS.cloud }, description: "VPC traffic" },
      { protocol: "any", from: { kind: "cidr", cidr: SITE_TO_SITE_NETWORKS.onPremise }, description: "on-premise traffic" },
    ],
  },
];

/** Seed 001 as a topology description. */
export const siteToSiteDescription: TopologyDescription = {
  name: "site-to-site",
  inputs: { zone: "fr-par-1", region: "fr-par" },
  // No keepalive by default: the cloud gateway is reachable; the on-premise one sets its own.
  overlay: { cidr: OVERLAY, port: WIREGUARD_PORT, mtu: 1420, persistentKeepalive: 0 },
  vpcs: {
    scaleway: { "pn-vpc": SITE_TO_SITE_NETWORKS.cloud },
    "on-premise": { "pn-onprem": SITE_TO_SITE_NETWORKS.onPremise },
  },
  gateways: {
    "vpn-gw": {
      shortName: "vgw", role: "hub", vpc: "scaleway", overlayIndex: 1, hostIndex: 10, peers: ["vpn-client"], dhcpServer: true,
      instanceType: "PLAY2-MICRO", securityGroup: "sg-wireguard",
    },
    "vpn-client": {
      shortName: "vcl", role: "spoke", vpc: "on-premise", overlayIndex: 2, hostIndex: 10, peers: ["vpn-gw"],
      behindNat: true, persistentKeepalive: 25, dhcpServer: true,
      instanceType: "PLAY2-MICRO", securityGroup: "sg-wireguard",
    },
  },
  hosts: {
    "test-instance": { kind: "client", network: "pn-vpc", hostIndex: 20, defaultVia: "vpn-gw", instanceType: "PLAY2-NANO", securityGroup: "sg-client" },
    "test-server": { kind: "client", network: "pn-onprem", hostIndex: 20, defaultVia: "vpn-client", instanceType: "PLAY2-NANO", securityGroup: "sg-client" },
  },
  bastion: { name: "bastion", sshPort: 61000, type: "VPC-GW-S", hostIndex: 2, attach: ["pn-vpc"] },
  securityGroups,
  privateSupernets: [SITE_TO_SITE_NETWORKS.cloud, SITE_TO_SITE_NETWORKS.onPremise, OVERLAY],
};

/** The validated site-to-site topology. */
export function siteToSiteTopology(): Topology {
  return buildTopology(siteToSiteDescription);
}
