/**
 * Preset `site-to-site` (seed 001): a cloud VPC gateway and an on-premise gateway joined by one
 * WireGuard tunnel, each side's hosts routed to the other side through their gateway.
 *
 * Numbers kept from the seed: the VPC 192.168.0.0/24, the on-premise subnet 192.168.1.0/24, tunnel
 * addresses 172.16.0.1 (cloud) and 172.16.0.2 (on-premise), UDP port 52435, PersistentKeepalive 25
 * (the on-premise gateway is behind NAT and must keep its mapping open; the model applies the
 * keepalive to both directions, which costs one packet per 25 s). The seed puts the gateways on .1;
 * Scaleway reserves .1 (and the model refuses it), so the gateways are .10 and the test hosts .20.
 *
 * Route propagation: the seed has each gateway push `192.168.x.0/24 via <gateway>` to its subnet with
 * DHCP option 121 (dnsmasq). Hosts here get the gateway as their default route; the equivalent
 * dnsmasq configuration for real hosts is {@link dnsmasqConfig}.
 */
import { buildTopology, type TopologyDescription } from "../model/build.js";
import { formatIpv4, parseCidr, prefixSize, usableHostAddress } from "../model/ipv4.js";
import type { Gateway, SecurityGroup, Topology } from "../model/topology.js";

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
  overlay: { cidr: OVERLAY, port: WIREGUARD_PORT, mtu: 1420, persistentKeepalive: 25 },
  vpcs: {
    scaleway: { "pn-vpc": SITE_TO_SITE_NETWORKS.cloud },
    "on-premise": { "pn-onprem": SITE_TO_SITE_NETWORKS.onPremise },
  },
  gateways: {
    "vpn-gw": {
      shortName: "vgw", role: "hub", vpc: "scaleway", overlayIndex: 1, hostIndex: 10, peers: ["vpn-client"],
      instanceType: "PLAY2-MICRO", securityGroup: "sg-wireguard",
    },
    "vpn-client": {
      shortName: "vcl", role: "spoke", vpc: "on-premise", overlayIndex: 2, hostIndex: 10, peers: ["vpn-gw"],
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

/**
 * The seed's dnsmasq configuration for a gateway's subnet: DHCP only (no DNS), the gateway as router
 * (option 3) and, with option 121 (RFC 3442 classless static routes), the other side's subnet via
 * the gateway. `device` is the NIC on that subnet (seed: ens5).
 */
export function dnsmasqConfig(topology: Topology, gateway: Gateway, device: string): string {
  const attachment = gateway.attachments[0];
  if (attachment === undefined) throw new Error(`gateway ${gateway.name} has no private network`);
  const prefix = parseCidr(attachment.cidr);
  const netmask = formatIpv4(2 ** 32 - prefixSize(prefix));
  const remote = topology.gateways.filter((g) => gateway.peers.includes(g.name)).flatMap((g) => g.attachments.map((a) => a.cidr));
  // RFC 3442: a client that gets option 121 ignores option 3, so the default route is repeated in 121.
  const classlessRoutes = [...remote.map((cidr) => `${cidr},${attachment.address}`), `0.0.0.0/0,${attachment.address}`];
  return [
    `# dnsmasq for ${attachment.network} (${attachment.cidr}) on ${gateway.name}: DHCP only, routes to the other site (seed 001)`,
    `interface=${device}`,
    "port=0",
    // Scaleway reserves the first two and the last two addresses of the subnet.
    `dhcp-range=${usableHostAddress(attachment.cidr, 2)},${usableHostAddress(attachment.cidr, prefixSize(prefix) - 3)},${netmask},12h`,
    `dhcp-option=3,${attachment.address}`,
    `dhcp-option=121,${classlessRoutes.join(",")}`,
    "log-facility=/var/log/dnsmasq.log",
    "log-dhcp",
    "",
  ].join("\n");
}
