/**
 * Route propagation to hosts as seed 001 does it: a gateway runs dnsmasq as a DHCP server only
 * (`port=0`: no DNS) on its private network, and tells each host its address, the gateway as router
 * (option 3) and, with option 121 (RFC 3442 classless static routes), the other sites' networks via
 * the gateway. A client that gets option 121 ignores option 3, so the default route is repeated in 121.
 *
 * Differences from the seed, both for Scaleway: the first two and last two addresses of a subnet are
 * reserved, and the private network already has Scaleway's own DHCP (IPAM). So dnsmasq hands out no
 * dynamic range: `dhcp-range=<network>,static` + one `dhcp-host=<hostname>,<address>` per host, i.e.
 * it answers only the hosts of the model, with the same address IPAM booked for them.
 * It listens by address (`listen-address`), so the configuration does not depend on NIC names.
 */
import { withPrefixLength } from "../model/ipv4.js";
import type { Gateway, Host, NetworkAttachment, Topology } from "../model/topology.js";
import type { RoutePlan, Template } from "./types.js";

/** Paths of a gateway's dnsmasq for `network` (one instance per served network). */
export const DNSMASQ_PATHS = {
  config: (network: string) => `/etc/wg-ts/dnsmasq-${network}.conf`,
  leases: (network: string) => `/var/lib/wg-ts/dnsmasq-${network}.leases`,
  log: "/var/log/dnsmasq.log",
} as const;

/** Hosts whose address and routes `gateway` serves by DHCP on `network`. */
export function dhcpClients(topology: Topology, gateway: Gateway, network: string): Host[] {
  if (!gateway.dhcpServer) return [];
  return topology.hosts.filter((h) => h.defaultVia === gateway.name && h.attachment.network === network);
}

/** The gateway serving `host` by DHCP, if any. */
export function dhcpServerOf(topology: Topology, host: Host): Gateway | undefined {
  const gateway = topology.gateways.find((g) => g.name === host.defaultVia);
  return gateway?.dhcpServer ? gateway : undefined;
}

/** What option 121 gives a host of `attachment` (the gateway's side): the peers' networks, then the default. */
export function dhcpRoutes(topology: Topology, gateway: Gateway, attachment: NetworkAttachment): RoutePlan[] {
  const remote = topology.gateways.filter((g) => gateway.peers.includes(g.name)).flatMap((g) => g.attachments.map((a) => a.cidr));
  const via = { kind: "address", address: attachment.address } as const;
  return [
    ...remote.map((cidr): RoutePlan => ({ to: cidr, via, reason: `option 121 from ${gateway.name}: ${cidr} over WireGuard` })),
    { to: "default", via, reason: `option 121 from ${gateway.name}: default route` },
  ];
}

/** The dnsmasq configuration file of `gateway` for `attachment` (paths are placeholders). */
export function dnsmasqConfigTemplate(topology: Topology, gateway: Gateway, attachment: NetworkAttachment): Template {
  const hosts = dhcpClients(topology, gateway, attachment.network);
  const netmask = withPrefixLength(attachment.address, attachment.cidr).split("/")[1] ?? "32";
  const routes = dhcpRoutes(topology, gateway, attachment).map((r) => `${r.to === "default" ? "0.0.0.0/0" : String(r.to)},${attachment.address}`);
  const network = attachment.cidr.split("/")[0] ?? attachment.cidr;
  return [
    `# dnsmasq for ${attachment.network} (${attachment.cidr}) on ${gateway.name}: DHCP only, routes to the other sites (seed 001)\n`,
    `listen-address=${attachment.address}\n`,
    "bind-interfaces\n",
    "port=0\n",
    `dhcp-range=${network},static,${prefixToNetmask(Number(netmask))},12h\n`,
    ...hosts.map((h) => `dhcp-host=${h.name},${h.attachment.address}\n`),
    `dhcp-option=3,${attachment.address}\n`,
    `dhcp-option=121,${routes.join(",")}\n`,
    "dhcp-leasefile=",
    { kind: "file-path", node: gateway.name, path: DNSMASQ_PATHS.leases(attachment.network) },
    "\nlog-facility=",
    { kind: "file-path", node: gateway.name, path: DNSMASQ_PATHS.log },
    "\nlog-dhcp\n",
  ];
}

/** 24 -> "255.255.255.0". */
function prefixToNetmask(length: number): string {
  const mask = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
  return [24, 16, 8, 0].map((shift) => (mask >>> shift) & 0xff).join(".");
}
