/**
 * `buildTopology`: a small declarative description -> a validated, fully resolved `Topology`.
 *
 * Descriptions give host addresses as an index inside the subnet (Scaleway's reserved addresses are
 * refused), overlay addresses as an index inside the overlay, and peers either as "full-mesh" or
 * as explicit lists. Every inconsistency is reported with the name of the offending object.
 */
import { cidrContains, cidrsOverlap, formatIpv4, parseCidr, prefixesOverlap, usableHostAddress } from "./ipv4.js";
import type {
  Bastion,
  Database,
  Gateway,
  GatewayNat,
  GatewayRole,
  Host,
  HostKind,
  NetworkAttachment,
  Overlay,
  SecurityGroup,
  Topology,
  TopologyInputs,
  Vpc,
  VpcCloud,
} from "./topology.js";

export interface GatewayDescription {
  readonly shortName: string;
  readonly role: GatewayRole;
  readonly vpc: string;
  /** Host index inside the overlay (1 -> 192.168.1.1). */
  readonly overlayIndex: number;
  /** Host index used on every private network of its VPC (e.g. 10 -> 172.16.32.10). */
  readonly hostIndex: number;
  /** "full-mesh" (every other gateway) or explicit gateway names. */
  readonly peers: "full-mesh" | readonly string[];
  readonly defaultVia?: string;
  readonly nat?: Partial<GatewayNat>;
  readonly monitor?: boolean;
  /** Behind a NAT it does not control (default false); needs a PersistentKeepalive > 0. */
  readonly behindNat?: boolean;
  /** Seconds toward its peers; default: the overlay's `persistentKeepalive`. */
  readonly persistentKeepalive?: number;
  /** Serves DHCP (dnsmasq, option 121 routes) to the hosts of its networks (default false). */
  readonly dhcpServer?: boolean;
  readonly instanceType: string;
  readonly securityGroup: string;
}

export interface HostDescription {
  readonly kind: HostKind;
  /** Private network name. */
  readonly network: string;
  readonly hostIndex: number;
  readonly defaultVia?: string;
  /** Routes to the networks behind this gateway's peers via it, not the default (see Host.routesVia). */
  readonly routesVia?: string;
  readonly instanceType?: string;
  readonly securityGroup?: string;
}

export interface TopologyDescription {
  readonly name: string;
  readonly inputs: TopologyInputs;
  readonly overlay: Overlay;
  /** VPC name -> (private network name -> CIDR). */
  readonly vpcs: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** VPC name -> where it lives and, for a VPC the target finds rather than creates, its CIDR (default: Scaleway). */
  readonly placement?: Readonly<Record<string, { readonly cloud: VpcCloud; readonly cidr?: string }>>;
  readonly gateways: Readonly<Record<string, GatewayDescription>>;
  readonly hosts: Readonly<Record<string, HostDescription>>;
  readonly database?: Omit<Database, "host"> & { readonly host: string };
  readonly bastion: {
    readonly name: string;
    readonly sshPort: number;
    readonly type: string;
    /** Host index of the bastion on each attached network. */
    readonly hostIndex: number;
    /** "all" or explicit private network names. */
    readonly attach: "all" | readonly string[];
  };
  readonly securityGroups: readonly SecurityGroup[];
  readonly privateSupernets: readonly string[];
}

/** AWS reserves the first four addresses of every subnet (network, VPC router, DNS, future use). */
const AWS_RESERVED_FIRST = 4;

/** Scaleway allows at most 8 private networks per Public Gateway. */
const MAX_GATEWAY_ATTACHMENTS = 8;
/** Linux interface names are at most 15 bytes; the lab uses `wg-<shortName>` and `<shortName>-…`. */
const MAX_SHORT_NAME = 4;

/** Validates `description` and expands it into a `Topology`. Throws with a precise message on any error. */
export function buildTopology(description: TopologyDescription): Topology {
  const where = `topology ${description.name}`;
  const fail = (message: string): never => {
    throw new Error(`${where}: ${message}`);
  };

  const overlayPrefix = parseCidr(description.overlay.cidr);
  if (overlayPrefix.length > 30) fail(`overlay ${description.overlay.cidr} is too small`);
  checkPort(description.overlay.port, "overlay port", fail);
  if (!(description.overlay.mtu >= 1280 && description.overlay.mtu <= 9000)) fail(`overlay MTU ${description.overlay.mtu} outside 1280..9000`);
  description.privateSupernets.forEach((cidr) => parseCidr(cidr));

  for (const vpc of Object.keys(description.placement ?? {})) if (!(vpc in description.vpcs)) fail(`placement of unknown VPC "${vpc}"`);
  const vpcs: Vpc[] = Object.entries(description.vpcs).map(([vpc, networks]) => {
    const placement = description.placement?.[vpc];
    if (placement?.cidr !== undefined) parseCidr(placement.cidr);
    const privateNetworks = Object.entries(networks).map(([name, cidr]) => {
      parseCidr(cidr);
      if (placement?.cidr !== undefined && !(cidrContains(placement.cidr, cidr.split("/")[0] ?? "") && Number(cidr.split("/")[1]) >= parseCidr(placement.cidr).length)) {
        fail(`private network ${name} (${cidr}) is not inside VPC ${vpc} (${placement.cidr})`);
      }
      return { name, vpc, cidr };
    });
    return { name: vpc, cloud: placement?.cloud ?? "scaleway", ...(placement?.cidr !== undefined ? { cidr: placement.cidr } : {}), privateNetworks };
  });
  const networks = vpcs.flatMap((v) => v.privateNetworks);
  if (networks.length === 0) fail("no private network");
  // Every pair: parsed once, as a generated topology has thousands of networks (wg-deploy simulate).
  const prefixes = networks.map((n) => parseCidr(n.cidr));
  for (const [i, a] of networks.entries()) {
    for (let j = i + 1; j < networks.length; j++) {
      const b = networks[j]!;
      if (a.name === b.name) fail(`private network "${a.name}" declared twice`);
      if (prefixesOverlap(prefixes[i]!, prefixes[j]!)) fail(`private networks ${a.name} (${a.cidr}) and ${b.name} (${b.cidr}) overlap`);
    }
    if (cidrsOverlap(a.cidr, description.overlay.cidr)) fail(`private network ${a.name} overlaps the overlay`);
  }
  const networkNamed = (name: string, user: string) => networks.find((n) => n.name === name) ?? fail(`${user}: unknown private network "${name}"`);
  const attach = (network: string, hostIndex: number, user: string): NetworkAttachment => {
    const pn = networkNamed(network, user);
    const cloud = vpcs.find((v) => v.name === pn.vpc)?.cloud;
    if (cloud === "aws" && hostIndex < AWS_RESERVED_FIRST) fail(`${user} on ${pn.name}: AWS reserves the first ${AWS_RESERVED_FIRST} addresses of a subnet`);
    try {
      return { network: pn.name, cidr: pn.cidr, address: usableHostAddress(pn.cidr, hostIndex) };
    } catch (error) {
      return fail(`${user} on ${pn.name}: ${(error as Error).message}`);
    }
  };

  const gatewayNames = Object.keys(description.gateways);
  const sgNames = new Set(description.securityGroups.map((sg) => sg.name));
  const gateways: Gateway[] = Object.entries(description.gateways).map(([name, g]) => {
    if (!/^[a-z0-9]{1,4}$/.test(g.shortName) || g.shortName.length > MAX_SHORT_NAME) fail(`gateway ${name}: shortName "${g.shortName}" must be 1-4 lowercase letters/digits`);
    const vpc = vpcs.find((v) => v.name === g.vpc) ?? fail(`gateway ${name}: unknown VPC "${g.vpc}"`);
    let overlayIp: string;
    try {
      overlayIp = usableOverlayAddress(description.overlay.cidr, g.overlayIndex);
    } catch (error) {
      return fail(`gateway ${name}: ${(error as Error).message}`);
    }
    const peers = g.peers === "full-mesh" ? gatewayNames.filter((other) => other !== name) : [...g.peers];
    for (const peer of peers) if (peer === name || !gatewayNames.includes(peer)) fail(`gateway ${name}: bad peer "${peer}"`);
    if (g.defaultVia !== undefined && !peers.includes(g.defaultVia)) fail(`gateway ${name}: defaultVia "${g.defaultVia}" is not one of its peers`);
    if (!sgNames.has(g.securityGroup)) fail(`gateway ${name}: unknown security group "${g.securityGroup}"`);
    const persistentKeepalive = g.persistentKeepalive ?? description.overlay.persistentKeepalive;
    if (!Number.isInteger(persistentKeepalive) || persistentKeepalive < 0 || persistentKeepalive > 65535) fail(`gateway ${name}: PersistentKeepalive ${persistentKeepalive} outside 0..65535`);
    if (g.behindNat === true && persistentKeepalive === 0) fail(`gateway ${name}: behind NAT it needs a PersistentKeepalive > 0 to keep its mapping open`);
    const gateway: Gateway = {
      name,
      shortName: g.shortName,
      role: g.role,
      vpc: vpc.name,
      overlayIp,
      attachments: vpc.privateNetworks.map((pn) => attach(pn.name, g.hostIndex, `gateway ${name}`)),
      peers,
      ...(g.defaultVia !== undefined ? { defaultVia: g.defaultVia } : {}),
      nat: { internetEgress: false, localToOverlay: false, overlayToLocal: false, ...g.nat },
      monitor: g.monitor ?? false,
      behindNat: g.behindNat ?? false,
      persistentKeepalive,
      dhcpServer: g.dhcpServer ?? false,
      instanceType: g.instanceType,
      securityGroup: g.securityGroup,
    };
    return gateway;
  });
  const shortNames = new Set(gateways.map((g) => g.shortName));
  if (shortNames.size !== gateways.length) fail("gateway shortNames must be unique");
  const overlayIps = new Set(gateways.map((g) => g.overlayIp));
  if (overlayIps.size !== gateways.length) fail("gateway overlay addresses must be unique");
  for (const g of gateways) {
    for (const peer of g.peers) {
      const other = gateways.find((p) => p.name === peer);
      if (!other?.peers.includes(g.name)) fail(`gateway ${g.name} peers with ${peer} but not the other way round`);
      if (g.behindNat && other?.behindNat) fail(`gateways ${g.name} and ${peer} are both behind NAT: neither could reach the other`);
    }
  }

  const hosts: Host[] = Object.entries(description.hosts).map(([name, h]) => {
    if (gatewayNames.includes(name)) fail(`host ${name}: name already used by a gateway`);
    const attachment = attach(h.network, h.hostIndex, `host ${name}`);
    const vpc = networkNamed(h.network, `host ${name}`).vpc;
    if (h.defaultVia !== undefined) {
      const via = gateways.find((g) => g.name === h.defaultVia) ?? fail(`host ${name}: unknown defaultVia gateway "${h.defaultVia}"`);
      if (!via.attachments.some((a) => a.network === h.network)) fail(`host ${name}: gateway ${via.name} is not on ${h.network}`);
    }
    if (h.routesVia !== undefined) {
      if (h.defaultVia !== undefined) fail(`host ${name}: routesVia and defaultVia exclude each other`);
      const via = gateways.find((g) => g.name === h.routesVia) ?? fail(`host ${name}: unknown routesVia gateway "${h.routesVia}"`);
      if (!via.attachments.some((a) => a.network === h.network)) fail(`host ${name}: gateway ${via.name} is not on ${h.network}`);
    }
    if (h.securityGroup !== undefined && !sgNames.has(h.securityGroup)) fail(`host ${name}: unknown security group "${h.securityGroup}"`);
    const host: Host = {
      name,
      kind: h.kind,
      vpc,
      attachment,
      ...(h.defaultVia !== undefined ? { defaultVia: h.defaultVia } : {}),
      ...(h.routesVia !== undefined ? { routesVia: h.routesVia } : {}),
      ...(h.instanceType !== undefined ? { instanceType: h.instanceType } : {}),
      ...(h.securityGroup !== undefined ? { securityGroup: h.securityGroup } : {}),
    };
    return host;
  });

  let database: Database | undefined;
  if (description.database) {
    const db = description.database;
    const host = hosts.find((h) => h.name === db.host);
    if (!host || host.kind !== "database") fail(`database: "${db.host}" is not a host of kind "database"`);
    checkPort(db.port, "database port", fail);
    db.allowedFrom.forEach((cidr) => parseCidr(cidr));
    database = { ...db, allowedFrom: [...db.allowedFrom] };
  }

  const attached = description.bastion.attach === "all" ? networks.map((n) => n.name) : [...description.bastion.attach];
  if (attached.length > MAX_GATEWAY_ATTACHMENTS) fail(`bastion: ${attached.length} attachments, Scaleway allows ${MAX_GATEWAY_ATTACHMENTS}`);
  checkPort(description.bastion.sshPort, "bastion SSH port", fail);
  const bastion: Bastion = {
    name: description.bastion.name,
    sshPort: description.bastion.sshPort,
    type: description.bastion.type,
    attachments: attached.map((n) => attach(n, description.bastion.hostIndex, `bastion ${description.bastion.name}`)),
    pushDefaultRoute: false,
  };

  const used = new Map<string, string>();
  const claim = (address: string, owner: string) => {
    const previous = used.get(address);
    if (previous !== undefined) fail(`address ${address} used by both ${previous} and ${owner}`);
    used.set(address, owner);
  };
  for (const g of gateways) for (const a of g.attachments) claim(a.address, g.name);
  for (const h of hosts) claim(h.attachment.address, h.name);
  for (const a of bastion.attachments) claim(a.address, bastion.name);
  const names = [bastion.name, ...gatewayNames, ...hosts.map((h) => h.name)];
  if (new Set(names).size !== names.length) fail("node names must be unique");

  return {
    name: description.name,
    inputs: description.inputs,
    overlay: description.overlay,
    vpcs,
    gateways,
    hosts,
    ...(database ? { database } : {}),
    bastion,
    securityGroups: description.securityGroups,
    privateSupernets: [...description.privateSupernets],
  };
}

/** Overlay addresses have no Scaleway reservation: any host address except network/broadcast. */
function usableOverlayAddress(cidr: string, index: number): string {
  const prefix = parseCidr(cidr);
  const size = 2 ** (32 - prefix.length);
  if (!Number.isInteger(index) || index < 1 || index > size - 2) throw new Error(`overlay index ${index} outside 1..${size - 2} of ${cidr}`);
  return formatIpv4(prefix.network + index);
}

function checkPort(port: number, what: string, fail: (message: string) => never): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`${what} ${port} outside 1..65535`);
}
