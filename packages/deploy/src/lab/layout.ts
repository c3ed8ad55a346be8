/**
 * How the lab lays a topology out on this machine: namespace, device and address names.
 *
 * - One namespace per machine, `wgts-<node>`, plus `wgts-internet`.
 * - The "internet" is a namespace (documentation ranges only, never the host's network): a bridge
 *   `internet` holding the public addresses 203.0.113.0/24 (router .1, bastion .2, gateways .10…),
 *   and a "remote server" address 198.51.100.1/24 on a dummy device that tests listen on.
 * - Each private network is a bridge in the bastion's namespace (the bastion is attached to every
 *   network, like the Public Gateway; with ip_forward off it bridges frames but routes nothing).
 *   Each machine gets a veth into its network's bridge, named after the network.
 * - A gateway behind NAT (`behindNat`, seed 001's on-premise side) gets a masquerading router
 *   namespace `wgts-<gateway>-nat` between it and the internet: the router holds the public address
 *   (on `wan`, in the internet bridge), the gateway's uplink sits on 100.64.<n>.0/24 (RFC 6598
 *   shared address space) behind it, router .1, gateway .2.
 * - WireGuard devices are `wg-<shortName>`: /var/run/wireguard/IFNAME.sock is shared by every
 *   namespace, so names must be unique on the machine (the cloud uses `wg0`, one per machine).
 */
import { join } from "node:path";
import { formatIpv4, parseCidr } from "../model/ipv4.js";
import { privateNetworks, type Topology } from "../model/topology.js";

export const NAMESPACE_PREFIX = "wgts-";
export const INTERNET_NODE = "internet";
export const INTERNET_BRIDGE = "internet";
export const PUBLIC_CIDR = "203.0.113.0/24";
export const INTERNET_ROUTER = "203.0.113.1";
/** A "remote internet server" address inside the internet namespace (NAT egress tests). */
export const REMOTE_SERVER = "198.51.100.1";
/** The documentation range the remote server belongs to (only its /32 is configured). */
export const REMOTE_CIDR = "198.51.100.0/24";
export const UPLINK_DEVICE = "uplink";

/** Public address index of the bastion and of the first gateway inside PUBLIC_CIDR. */
const BASTION_PUBLIC_INDEX = 2;
const FIRST_GATEWAY_PUBLIC_INDEX = 10;

/** Shared address space (RFC 6598) behind the lab's NAT routers: one /24 per gateway behind NAT. */
const NAT_INSIDE_BASE = "100.64.0.0";
/** Device names inside a NAT router namespace. */
export const NAT_WAN_DEVICE = "wan";
export const NAT_LAN_DEVICE = "lan";

/** The masquerading router in front of a gateway behind NAT. */
export interface NatRouter {
  /** Node name of the router (`<gateway>-nat`), also a key of `LabLayout.namespaces`. */
  readonly node: string;
  readonly namespace: string;
  readonly gateway: string;
  /** Its public address (on `wan`): what the gateway's peers see as its endpoint. */
  readonly publicIp: string;
  /** The inside network, e.g. 100.64.0.0/24. */
  readonly insideCidr: string;
  /** The router's inside address (the gateway's uplink next hop). */
  readonly insideAddress: string;
  /** The gateway's own uplink address. */
  readonly gatewayAddress: string;
  /** The internet-side device of the router's `wan` veth. */
  readonly internetPort: string;
}

/** One veth from a machine into a private network's bridge. */
export interface Attachment {
  readonly node: string;
  readonly namespace: string;
  readonly network: string;
  /** Device inside the machine's namespace. */
  readonly device: string;
  /** Device in the bastion namespace, enslaved to the bridge. */
  readonly bridgePort: string;
  readonly bridge: string;
}

export interface LabLayout {
  readonly stateDir: string;
  readonly internetNamespace: string;
  /** The namespace holding the private network bridges. */
  readonly fabricNamespace: string;
  /** node -> namespace, for every machine plus "internet". */
  readonly namespaces: ReadonlyMap<string, string>;
  /** private network -> bridge device (in `fabricNamespace`). */
  readonly bridges: ReadonlyMap<string, string>;
  readonly attachments: readonly Attachment[];
  /** node -> public IPv4 (bastion and gateways). */
  readonly publicIps: ReadonlyMap<string, string>;
  /** node -> the internet-side device of its uplink veth (not for gateways behind NAT). */
  readonly uplinkPorts: ReadonlyMap<string, string>;
  /** gateway -> the NAT router in front of it (gateways with `behindNat`). */
  readonly natRouters: ReadonlyMap<string, NatRouter>;
}

/** WireGuard device name of a gateway in the lab. */
export function labWireguardInterface(gateway: { shortName: string }): string {
  return `wg-${gateway.shortName}`;
}

/** Linux device names: at most 15 bytes, no '/', no whitespace. */
function deviceName(preferred: string, fallback: string): string {
  return /^[A-Za-z0-9_.-]{1,15}$/.test(preferred) ? preferred : fallback;
}

/** Lays `topology` out under `stateDir`. */
export function labLayout(topology: Topology, stateDir: string): LabLayout {
  const nodes = [topology.bastion.name, ...topology.gateways.map((g) => g.name), ...topology.hosts.map((h) => h.name)];
  if (nodes.includes(INTERNET_NODE)) throw new Error(`topology ${topology.name}: node name "${INTERNET_NODE}" is reserved by the lab`);
  const namespaces = new Map<string, string>([[INTERNET_NODE, `${NAMESPACE_PREFIX}${INTERNET_NODE}`]]);
  for (const node of nodes) namespaces.set(node, `${NAMESPACE_PREFIX}${node}`);
  const fabricNamespace = `${NAMESPACE_PREFIX}${topology.bastion.name}`;

  const networks = privateNetworks(topology);
  const bridges = new Map(networks.map((n, i) => [n.name, deviceName(n.name, `pn${i}`)]));
  const nodeIndex = new Map(nodes.map((n, i) => [n, i]));
  const attachments: Attachment[] = [];
  const attach = (node: string, network: string) => {
    const networkIndex = networks.findIndex((n) => n.name === network);
    attachments.push({
      node,
      namespace: namespaces.get(node) ?? "",
      network,
      device: deviceName(network, `pn${networkIndex}`),
      bridgePort: `n${nodeIndex.get(node) ?? 0}p${networkIndex}`,
      bridge: bridges.get(network) ?? "",
    });
  };
  for (const g of topology.gateways) for (const a of g.attachments) attach(g.name, a.network);
  for (const h of topology.hosts) attach(h.name, h.attachment.network);

  const publicBase = parseCidr(PUBLIC_CIDR).network;
  const publicIps = new Map<string, string>([[topology.bastion.name, formatIpv4(publicBase + BASTION_PUBLIC_INDEX)]]);
  topology.gateways.forEach((g, i) => publicIps.set(g.name, formatIpv4(publicBase + FIRST_GATEWAY_PUBLIC_INDEX + i)));
  const uplinkPorts = new Map([...publicIps.keys()].map((node) => [node, `up${nodeIndex.get(node) ?? 0}`]));

  // A gateway behind NAT: the public address belongs to its router; the gateway sits behind it.
  const natRouters = new Map<string, NatRouter>();
  const insideBase = parseCidr(`${NAT_INSIDE_BASE}/10`).network;
  topology.gateways.filter((g) => g.behindNat).forEach((g, i) => {
    const node = `${g.name}-nat`;
    if (nodes.includes(node)) throw new Error(`topology ${topology.name}: node name "${node}" is reserved by the lab (NAT router of ${g.name})`);
    const namespace = `${NAMESPACE_PREFIX}${node}`;
    namespaces.set(node, namespace);
    const inside = insideBase + i * 256;
    natRouters.set(g.name, {
      node,
      namespace,
      gateway: g.name,
      publicIp: publicIps.get(g.name) ?? "",
      insideCidr: `${formatIpv4(inside)}/24`,
      insideAddress: formatIpv4(inside + 1),
      gatewayAddress: formatIpv4(inside + 2),
      internetPort: `nat${i}`,
    });
    uplinkPorts.delete(g.name);
  });

  return {
    stateDir,
    internetNamespace: `${NAMESPACE_PREFIX}${INTERNET_NODE}`,
    fabricNamespace,
    namespaces,
    bridges,
    attachments,
    publicIps,
    uplinkPorts,
    natRouters,
  };
}

/** Namespace of `node`, or a clear error naming the known nodes. */
export function namespaceOf(layout: LabLayout, node: string): string {
  const namespace = layout.namespaces.get(node);
  if (!namespace) throw new Error(`no lab machine named "${node}" (known: ${[...layout.namespaces.keys()].join(", ")})`);
  return namespace;
}

/** Per-node directory under the state dir. */
export function nodeDir(layout: LabLayout, node: string): string {
  return join(layout.stateDir, "nodes", node);
}

/** Where a plan file with absolute cloud path `path` lives in the lab. */
export function labFilePath(layout: LabLayout, node: string, path: string): string {
  return join(nodeDir(layout, node), "fs", path);
}
