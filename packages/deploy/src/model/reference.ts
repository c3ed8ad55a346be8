/**
 * The reference network of seed 000 (Scaleway WireGuard hub and spokes) as data.
 * Every number comes from docs/topology.md (the seed 000 specification); keep them.
 *
 * Host addresses are indexes inside each subnet (Scaleway reserves .0, .1 and the last two):
 * bastion (Public Gateway) .2, WireGuard gateways .10, client and database .20.
 */
import { buildTopology, type TopologyDescription } from "./build.js";
import type { SecurityGroup, Topology } from "./topology.js";

const PRIVATE_SUPERNET = "172.16.0.0/16";
const OVERLAY = "192.168.1.0/24";
const WIREGUARD_PORT = 52345;

const securityGroups: SecurityGroup[] = [
  {
    name: "sg-wireguard",
    inbound: [
      { protocol: "tcp", port: 22, from: { kind: "internet" }, description: "SSH from the internet" },
      { protocol: "udp", port: WIREGUARD_PORT, from: { kind: "internet" }, description: "WireGuard from the internet" },
      { protocol: "any", from: { kind: "cidr", cidr: PRIVATE_SUPERNET }, description: "VPC internal traffic" },
      { protocol: "any", from: { kind: "cidr", cidr: OVERLAY }, description: "WireGuard overlay traffic" },
    ],
  },
  {
    name: "sg-client",
    inbound: [
      { protocol: "tcp", port: 22, from: { kind: "internet" }, description: "SSH from the internet" },
      { protocol: "any", from: { kind: "cidr", cidr: PRIVATE_SUPERNET }, description: "VPC internal traffic" },
      { protocol: "any", from: { kind: "cidr", cidr: OVERLAY }, description: "WireGuard overlay traffic" },
    ],
  },
];

/** Seed 000 as a declarative description (exported so presets can derive from it). */
export const hubSpokeDescription: TopologyDescription = {
  name: "hub-spoke",
  inputs: { zone: "fr-par-1", region: "fr-par" },
  overlay: { cidr: OVERLAY, port: WIREGUARD_PORT, mtu: 1380, persistentKeepalive: 25 },
  vpcs: {
    hub: { "pn-hub": "172.16.188.0/22" },
    "spoke-01": { "pn-spoke-01": "172.16.32.0/22" },
    "spoke-02": { "pn-spoke-02-a": "172.16.64.0/23", "pn-spoke-02-b": "172.16.66.0/23" },
  },
  gateways: {
    "wireguard-hub": {
      shortName: "hub", role: "hub", vpc: "hub", overlayIndex: 1, hostIndex: 10, peers: "full-mesh",
      nat: { internetEgress: true }, instanceType: "PLAY2-MICRO", securityGroup: "sg-wireguard",
    },
    "wireguard-spoke-01": {
      shortName: "s01", role: "spoke", vpc: "spoke-01", overlayIndex: 2, hostIndex: 10, peers: "full-mesh",
      defaultVia: "wireguard-hub", nat: { overlayToLocal: true }, monitor: true,
      instanceType: "PLAY2-MICRO", securityGroup: "sg-wireguard",
    },
    "wireguard-spoke-02": {
      shortName: "s02", role: "spoke", vpc: "spoke-02", overlayIndex: 3, hostIndex: 10, peers: "full-mesh",
      defaultVia: "wireguard-hub", nat: { localToOverlay: true },
      instanceType: "PLAY2-MICRO", securityGroup: "sg-wireguard",
    },
  },
  hosts: {
    rdb: { kind: "database", network: "pn-spoke-01", hostIndex: 20 },
    "postgres-client": {
      kind: "client", network: "pn-spoke-02-a", hostIndex: 20, defaultVia: "wireguard-spoke-02",
      instanceType: "PLAY2-NANO", securityGroup: "sg-client",
    },
  },
  database: {
    host: "rdb", engine: "PostgreSQL-15", nodeType: "DB-DEV-S", port: 5432, user: "dbadmin", database: "appdb",
    allowedFrom: [OVERLAY, PRIVATE_SUPERNET],
  },
  bastion: { name: "bastion", sshPort: 61000, type: "VPC-GW-S", hostIndex: 2, attach: "all" },
  securityGroups,
  privateSupernets: [PRIVATE_SUPERNET, OVERLAY],
};

/** The validated reference topology. */
export function hubSpokeTopology(): Topology {
  return buildTopology(hubSpokeDescription);
}
