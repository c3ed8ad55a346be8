/**
 * The topology model: what the network IS, independent of where it runs.
 *
 * One `Topology` value is rendered by several targets (the local namespace lab, Scaleway's
 * Terraform JSON + cloud-init). Nothing here knows about namespaces, veths, Terraform resources
 * or interface names; those are decided by the plan options and the renderers.
 *
 * Build a `Topology` from a `TopologyDescription` with `buildTopology` (./build.ts): it validates
 * the description (CIDRs, Scaleway's reserved addresses, overlay addresses, peer names) and
 * expands it into the fully resolved objects below.
 */

/** IPv4 prefix in CIDR notation, e.g. "172.16.32.0/22". */
export type Cidr = string;
/** IPv4 address in dotted-quad notation, e.g. "172.16.32.10". */
export type Ipv4 = string;

/** The WireGuard overlay shared by every gateway (topology.md: 192.168.1.0/24, 52345, 1380, 25). */
export interface Overlay {
  readonly cidr: Cidr;
  /** UDP listen port of every gateway (Terraform input `wireguard_port`). */
  readonly port: number;
  /** MTU of every WireGuard interface (Terraform input `wireguard_mtu`). */
  readonly mtu: number;
  /**
   * Default PersistentKeepalive, seconds, of every gateway toward its peers (0 = off); a gateway may
   * set its own (`Gateway.persistentKeepalive`, e.g. only the side behind NAT, seed 001).
   */
  readonly persistentKeepalive: number;
}

/** A Scaleway private network: one L2 segment with one IPv4 subnet inside a VPC. */
export interface PrivateNetwork {
  readonly name: string;
  /** Name of the VPC this network belongs to. */
  readonly vpc: string;
  readonly cidr: Cidr;
}

/**
 * Where a VPC lives, i.e. which target renders it: a Scaleway VPC, an AWS VPC (the `aws` target),
 * or a network that is not ours ("external": seed 004's customer site; a target renders only its
 * gateway's settings as inputs and outputs, the lab builds it like any other site).
 */
export type VpcCloud = "scaleway" | "aws" | "external";

/** A VPC: a group of private networks that the WireGuard gateways interconnect. */
export interface Vpc {
  readonly name: string;
  readonly cloud: VpcCloud;
  /**
   * The VPC's own address block when the target does not create the VPC but finds it (AWS: seed
   * 004's `data "aws_vpc"`); its private networks lie inside it. Absent for Scaleway VPCs.
   */
  readonly cidr?: Cidr;
  readonly privateNetworks: readonly PrivateNetwork[];
}

/** A gateway's address on one private network. */
export interface NetworkAttachment {
  /** Name of the private network. */
  readonly network: string;
  readonly cidr: Cidr;
  readonly address: Ipv4;
}

/** What a WireGuard gateway masquerades (source NAT). */
export interface GatewayNat {
  /** Hub: masquerade private/overlay traffic leaving to the internet (the spokes' egress). */
  readonly internetEgress: boolean;
  /** Spoke-02: masquerade traffic from its local networks entering the tunnel. */
  readonly localToOverlay: boolean;
  /**
   * Spoke-01: masquerade traffic from elsewhere entering its local networks, so hosts that have no
   * route back (the managed database) answer to the gateway (topology.md "Scaleway platform facts").
   */
  readonly overlayToLocal: boolean;
}

export type GatewayRole = "hub" | "spoke";

/** A WireGuard gateway instance (wireguard-hub, wireguard-spoke-01, …). */
export interface Gateway {
  readonly name: string;
  /** Short unique tag (≤ 4 chars) used where names must be short, e.g. lab interface `wg-s01`. */
  readonly shortName: string;
  readonly role: GatewayRole;
  readonly vpc: string;
  /** Address on the overlay, e.g. 192.168.1.1. */
  readonly overlayIp: Ipv4;
  /** Addresses on the private networks of its VPC (first = primary). */
  readonly attachments: readonly NetworkAttachment[];
  /** Names of the gateways it peers with. */
  readonly peers: readonly string[];
  /** Name of the peer that carries this gateway's default route; absent = default via the public uplink. */
  readonly defaultVia?: string;
  readonly nat: GatewayNat;
  /** Runs the tunnel monitor that restarts WireGuard when `defaultVia` stops answering. */
  readonly monitor: boolean;
  /**
   * The gateway reaches the internet through a NAT it does not control (seed 001's on-premise
   * gateway): it has no reachable public address, so its peers get no Endpoint for it and pin no
   * route to it; it keeps the NAT mapping open with `persistentKeepalive` (> 0) toward its peers.
   */
  readonly behindNat: boolean;
  /** PersistentKeepalive, seconds, toward each of its peers (0 = off). */
  readonly persistentKeepalive: number;
  /**
   * Serves DHCP on its private networks (dnsmasq, seed 001 "Route propagation"): each host on them
   * gets its address and, with option 121, the routes to the other sites via this gateway.
   */
  readonly dhcpServer: boolean;
  /** Scaleway commercial type (PLAY2-MICRO). */
  readonly instanceType: string;
  readonly securityGroup: string;
}

export type HostKind = "client" | "database";

/** A non-gateway machine on one private network. */
export interface Host {
  readonly name: string;
  readonly kind: HostKind;
  readonly vpc: string;
  readonly attachment: NetworkAttachment;
  /**
   * Name of the gateway (on the same network) that gets this host's default route. Absent = the
   * host has no route beyond its own subnet (the managed database: replies are NATed for it).
   */
  readonly defaultVia?: string;
  /**
   * Name of the gateway (on the same network) that gets this host's routes to the networks behind
   * that gateway's peers, but not its default route: AWS's private route table (seed 004's
   * `egress_routes` -> our gateway's ENI). Exclusive with `defaultVia`.
   */
  readonly routesVia?: string;
  /** Scaleway commercial type; absent for managed services. */
  readonly instanceType?: string;
  readonly securityGroup?: string;
}

/** The managed PostgreSQL (Scaleway RDB), private network only. */
export interface Database {
  /** Name of the `Host` (kind "database") that stands for it. */
  readonly host: string;
  /** Scaleway engine name, e.g. "PostgreSQL-15". */
  readonly engine: string;
  /** Scaleway node type, e.g. "DB-DEV-S". */
  readonly nodeType: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  /** Source prefixes allowed to connect (topology.md: 192.168.1.0/24 and 172.16.0.0/16). */
  readonly allowedFrom: readonly Cidr[];
}

/** Where a security rule's traffic comes from. */
export type TrafficSource = { readonly kind: "internet" } | { readonly kind: "cidr"; readonly cidr: Cidr };

/** One inbound allow rule of a security group. */
export interface SecurityRule {
  readonly protocol: "tcp" | "udp" | "any";
  /** Destination port; absent for protocol "any". */
  readonly port?: number;
  readonly from: TrafficSource;
  readonly description: string;
}

/**
 * A Scaleway security group. Scaleway applies it to PUBLIC traffic only; the gateways' nftables
 * rules enforce the same policy for private traffic (topology.md "Security").
 */
export interface SecurityGroup {
  readonly name: string;
  readonly inbound: readonly SecurityRule[];
}

/** The Public Gateway used as an SSH bastion. It never pushes a default route and never NATs. */
export interface Bastion {
  readonly name: string;
  readonly sshPort: number;
  /** Scaleway gateway type (VPC-GW-S). */
  readonly type: string;
  /** Its address on each attached private network (at most 8 attachments on Scaleway). */
  readonly attachments: readonly NetworkAttachment[];
  readonly pushDefaultRoute: false;
}

/** Inputs of the seed's Terraform (names kept). */
export interface TopologyInputs {
  readonly zone: string;
  readonly region: string;
}

/** The whole network. */
export interface Topology {
  /** Preset name, e.g. "hub-spoke". */
  readonly name: string;
  readonly inputs: TopologyInputs;
  readonly overlay: Overlay;
  readonly vpcs: readonly Vpc[];
  readonly gateways: readonly Gateway[];
  readonly hosts: readonly Host[];
  readonly database?: Database;
  readonly bastion: Bastion;
  readonly securityGroups: readonly SecurityGroup[];
  /** Prefixes considered "private" for filtering (172.16.0.0/16 and the overlay). */
  readonly privateSupernets: readonly Cidr[];
}

/** All private networks of a topology, in declaration order. */
export function privateNetworks(topology: Topology): PrivateNetwork[] {
  return topology.vpcs.flatMap((vpc) => vpc.privateNetworks);
}

/** The VPC named `name`, or a clear error. */
export function vpcNamed(topology: Topology, name: string): Vpc {
  const vpc = topology.vpcs.find((v) => v.name === name);
  if (!vpc) throw new Error(`topology ${topology.name}: no VPC named "${name}"`);
  return vpc;
}

/** The gateways whose VPC lives in `cloud`. */
export function gatewaysIn(topology: Topology, cloud: VpcCloud): Gateway[] {
  return topology.gateways.filter((g) => vpcNamed(topology, g.vpc).cloud === cloud);
}

/** The gateway named `name`, or a clear error. */
export function gatewayNamed(topology: Topology, name: string): Gateway {
  const gateway = topology.gateways.find((g) => g.name === name);
  if (!gateway) throw new Error(`topology ${topology.name}: no gateway named "${name}"`);
  return gateway;
}

/** Names of every machine that gets a node plan: gateways, hosts, bastion. */
export function nodeNames(topology: Topology): string[] {
  return [topology.bastion.name, ...topology.gateways.map((g) => g.name), ...topology.hosts.map((h) => h.name)];
}
