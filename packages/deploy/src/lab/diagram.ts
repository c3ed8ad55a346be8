/**
 * A text diagram of the lab as built: the internet namespace and public addresses, the overlay
 * links with their latest handshakes, then each VPC's networks and machines.
 */
import type { Topology } from "../model/topology.js";
import { INTERNET_ROUTER, PUBLIC_CIDR, REMOTE_SERVER, type LabLayout } from "./layout.js";

export interface DiagramFacts {
  readonly topology: Topology;
  readonly layout: LabLayout;
  /** WireGuard device per gateway. */
  readonly interfaces: ReadonlyMap<string, string>;
  /** Seconds since the latest handshake between two gateways (key "a|b"), undefined = never. */
  readonly handshakeAge: (a: string, b: string) => number | undefined;
  readonly implementation: string;
}

const pad = (text: string, width: number) => text.padEnd(width);

export function renderDiagram(facts: DiagramFacts): string {
  const { topology, layout } = facts;
  const lines: string[] = [];
  lines.push(`INTERNET  ${layout.internetNamespace}  ${PUBLIC_CIDR} (router ${INTERNET_ROUTER}), remote server ${REMOTE_SERVER}`);
  const publicNodes = [...layout.publicIps.entries()];
  publicNodes.forEach(([node, ip], i) => {
    const branch = i === publicNodes.length - 1 ? "└─" : "├─";
    const gateway = topology.gateways.find((g) => g.name === node);
    const router = layout.natRouters.get(node);
    const behind = router ? `  behind NAT router ${router.namespace} (own uplink ${router.gatewayAddress})` : "";
    const keepalive = gateway && gateway.persistentKeepalive > 0 ? `  keepalive ${gateway.persistentKeepalive}s` : "";
    const what = gateway
      ? `${facts.interfaces.get(node) ?? "?"} ${gateway.overlayIp} udp/${topology.overlay.port}${gateway.nat.internetEgress ? "  NAT to the internet" : ""}${keepalive}${behind}`
      : `SSH bastion :${topology.bastion.sshPort}, attached to ${topology.bastion.attachments.length} networks, no default route pushed`;
    lines.push(`  ${branch} ${pad(ip, 14)} ${pad(node, 20)} ${what}`);
  });
  lines.push("");
  lines.push(`WIREGUARD OVERLAY ${topology.overlay.cidr}  MTU ${topology.overlay.mtu}  (${facts.implementation})`);
  const seen = new Set<string>();
  for (const gateway of topology.gateways) {
    for (const peer of gateway.peers) {
      const key = [gateway.name, peer].sort().join("|");
      if (seen.has(key)) continue;
      seen.add(key);
      const other = topology.gateways.find((g) => g.name === peer);
      const age = facts.handshakeAge(gateway.name, peer);
      const state = age === undefined ? "no handshake" : `handshake ${age}s ago`;
      const defaultNote = gateway.defaultVia === peer ? `  (${gateway.name} default route)` : other?.defaultVia === gateway.name ? `  (${peer} default route)` : "";
      lines.push(`  ${pad(`${gateway.name} ${gateway.overlayIp}`, 32)} <==> ${pad(`${peer} ${other?.overlayIp ?? "?"}`, 32)} ${state}${defaultNote}`);
    }
  }
  lines.push("");
  for (const vpc of topology.vpcs) {
    lines.push(`VPC ${vpc.name}`);
    for (const network of vpc.privateNetworks) {
      lines.push(`  ${network.name} ${network.cidr}`);
      const members: string[] = [];
      for (const g of topology.gateways) {
        const a = g.attachments.find((x) => x.network === network.name);
        if (a) {
          const nat = [g.nat.localToOverlay ? "NAT local->tunnel" : "", g.nat.overlayToLocal ? "NAT tunnel->local" : "", g.dhcpServer ? "DHCP server: dnsmasq, option 121" : ""].filter(Boolean).join(", ");
          members.push(`${pad(a.address, 14)} ${g.name}${nat ? `  (${nat})` : ""}`);
        }
      }
      for (const h of topology.hosts) {
        if (h.attachment.network !== network.name) continue;
        const db = topology.database?.host === h.name ? `  PostgreSQL :${topology.database.port}` : "";
        const dhcp = topology.gateways.find((g) => g.name === h.defaultVia)?.dhcpServer === true;
        const route = h.defaultVia ? `  default via ${h.defaultVia}${dhcp ? " (by DHCP)" : ""}` : "";
        members.push(`${pad(h.attachment.address, 14)} ${h.name}${db}${route}`);
      }
      const b = topology.bastion.attachments.find((x) => x.network === network.name);
      if (b) members.push(`${pad(b.address, 14)} ${topology.bastion.name}`);
      members.forEach((m, i) => lines.push(`    ${i === members.length - 1 ? "└─" : "├─"} ${m}`));
    }
  }
  return `${lines.join("\n")}\n`;
}
