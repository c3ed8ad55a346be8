/**
 * Preset `three-site-mesh` (seed 003): three sites in a full WireGuard mesh, each announcing its
 * client network to the other two, and one site (Moly) as the internet exit: Giant and Raspi send
 * their default route to Moly through the tunnel, Moly masquerades it.
 *
 * Numbers kept from the seed: the sites giant/moly/raspi, the tunnel addresses 172.16.1.1/.2/.3 on
 * 172.16.1.0/24, UDP port 5555, the client networks 10.0.2.0/24 and 77.66.55.0/24 (the one Moly
 * masquerades in the seed). The seed also lists 172.16.1.0/24 as a client network, but that prefix is
 * its tunnel subnet; Giant's client network is 10.0.1.0/24 here. No PersistentKeepalive: the three
 * sites reach each other directly (seed: "ceux ci sont directement joignables"), so 0 = off.
 * Host addresses follow the reference preset: gateway .10, a client .20, the bastion .2 (.1 is
 * reserved on Scaleway and refused by the model).
 */
import { buildTopology, type TopologyDescription } from "../model/build.js";
import type { SecurityGroup, Topology } from "../model/topology.js";

const OVERLAY = "172.16.1.0/24";
const WIREGUARD_PORT = 5555;

/** Each site's client network. */
export const THREE_SITE_NETWORKS = {
  giant: "10.0.1.0/24",
  moly: "10.0.2.0/24",
  raspi: "77.66.55.0/24",
} as const;

const SITE_NETWORKS = Object.values(THREE_SITE_NETWORKS);

const securityGroups: SecurityGroup[] = [
  {
    name: "sg-wireguard",
    inbound: [
      { protocol: "tcp", port: 22, from: { kind: "internet" }, description: "SSH from the internet" },
      { protocol: "udp", port: WIREGUARD_PORT, from: { kind: "internet" }, description: "WireGuard from the other sites" },
      ...SITE_NETWORKS.map((cidr) => ({ protocol: "any" as const, from: { kind: "cidr" as const, cidr }, description: `site network ${cidr}` })),
      { protocol: "any", from: { kind: "cidr", cidr: OVERLAY }, description: "WireGuard overlay traffic" },
    ],
  },
  {
    name: "sg-client",
    inbound: [
      { protocol: "tcp", port: 22, from: { kind: "internet" }, description: "SSH from the internet" },
      ...SITE_NETWORKS.map((cidr) => ({ protocol: "any" as const, from: { kind: "cidr" as const, cidr }, description: `site network ${cidr}` })),
    ],
  },
];

/** Seed 003 as a topology description. */
export const threeSiteMeshDescription: TopologyDescription = {
  name: "three-site-mesh",
  inputs: { zone: "fr-par-1", region: "fr-par" },
  overlay: { cidr: OVERLAY, port: WIREGUARD_PORT, mtu: 1420, persistentKeepalive: 0 },
  vpcs: {
    giant: { "pn-giant": THREE_SITE_NETWORKS.giant },
    moly: { "pn-moly": THREE_SITE_NETWORKS.moly },
    raspi: { "pn-raspi": THREE_SITE_NETWORKS.raspi },
  },
  gateways: {
    giant: {
      shortName: "gnt", role: "spoke", vpc: "giant", overlayIndex: 1, hostIndex: 10, peers: "full-mesh",
      defaultVia: "moly", instanceType: "PLAY2-MICRO", securityGroup: "sg-wireguard",
    },
    moly: {
      shortName: "moly", role: "hub", vpc: "moly", overlayIndex: 2, hostIndex: 10, peers: "full-mesh",
      nat: { internetEgress: true }, instanceType: "PLAY2-MICRO", securityGroup: "sg-wireguard",
    },
    raspi: {
      shortName: "rpi", role: "spoke", vpc: "raspi", overlayIndex: 3, hostIndex: 10, peers: "full-mesh",
      defaultVia: "moly", instanceType: "PLAY2-MICRO", securityGroup: "sg-wireguard",
    },
  },
  hosts: {
    "giant-client": { kind: "client", network: "pn-giant", hostIndex: 20, defaultVia: "giant", instanceType: "PLAY2-NANO", securityGroup: "sg-client" },
    "moly-client": { kind: "client", network: "pn-moly", hostIndex: 20, defaultVia: "moly", instanceType: "PLAY2-NANO", securityGroup: "sg-client" },
    "raspi-client": { kind: "client", network: "pn-raspi", hostIndex: 20, defaultVia: "raspi", instanceType: "PLAY2-NANO", securityGroup: "sg-client" },
  },
  bastion: { name: "bastion", sshPort: 61000, type: "VPC-GW-S", hostIndex: 2, attach: "all" },
  securityGroups,
  // Masqueraded by the exit and allowed through every gateway's forward chain.
  privateSupernets: [...SITE_NETWORKS, OVERLAY],
};

/** The validated three-site mesh. */
export function threeSiteMeshTopology(): Topology {
  return buildTopology(threeSiteMeshDescription);
}
