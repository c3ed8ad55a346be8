/**
 * The nftables ruleset of a WireGuard gateway (topology.md "Routing and NAT" and "Security").
 *
 * Scaleway security groups filter public traffic only, so the gateway enforces the policy itself:
 * - input: the gateway's security group (e.g. SSH and WireGuard from the internet, everything from
 *   the private supernets), plus loopback, ICMP and DHCP;
 * - forward: private sources may go anywhere; the internet only gets replies (no connection from
 *   the internet into a private network, e.g. to the database); TCP MSS clamped to the path MTU;
 * - postrouting: the gateway's masquerades.
 * The ruleset only touches its own tables (`wgts_filter`, `wgts_nat`), re-created on every apply.
 */
import type { Gateway, SecurityGroup, SecurityRule, Topology } from "../model/topology.js";

export const FILTER_TABLE = "wgts_filter";
export const NAT_TABLE = "wgts_nat";

/** An nft anonymous set: `{ a, b }`, or the single element. */
function nftSet(elements: readonly string[]): string {
  return elements.length === 1 ? (elements[0] ?? "") : `{ ${elements.join(", ")} }`;
}

function quoted(text: string): string {
  return `"${text.replace(/["\\]/g, "")}"`;
}

/** One security-group rule as an nft input statement. */
function securityRuleStatement(rule: SecurityRule): string {
  const source = rule.from.kind === "cidr" ? `ip saddr ${rule.from.cidr} ` : "";
  const match = rule.protocol === "any" ? "" : `${rule.protocol} dport ${rule.port ?? 0} `;
  return `${source}${match}accept comment ${quoted(rule.description)}`;
}

/** The complete ruleset text for `gateway`, whose WireGuard device is `wireguardInterface`. */
export function gatewayRuleset(topology: Topology, gateway: Gateway, wireguardInterface: string): string {
  const securityGroup: SecurityGroup | undefined = topology.securityGroups.find((sg) => sg.name === gateway.securityGroup);
  if (!securityGroup) throw new Error(`gateway ${gateway.name}: unknown security group ${gateway.securityGroup}`);
  const privateNets = nftSet(topology.privateSupernets);
  const localNets = nftSet(gateway.attachments.map((a) => a.cidr));

  const nat: string[] = [];
  if (gateway.nat.internetEgress) {
    nat.push(`ip saddr ${privateNets} ip daddr != ${privateNets} masquerade comment "spokes' traffic to the internet"`);
  }
  if (gateway.nat.localToOverlay) {
    nat.push(`oifname ${quoted(wireguardInterface)} ip saddr ${localNets} masquerade comment "local networks into the tunnel"`);
  }
  if (gateway.nat.overlayToLocal) {
    nat.push(`ip daddr ${localNets} ip saddr != ${localNets} masquerade comment "remote traffic into local networks: hosts answer the gateway"`);
  }

  const lines = [
    `# wg-ts gateway ${gateway.name}: filtering (${securityGroup.name}), MSS clamping, NAT`,
    `table inet ${FILTER_TABLE}`,
    `delete table inet ${FILTER_TABLE}`,
    `table inet ${FILTER_TABLE} {`,
    "  chain input {",
    "    type filter hook input priority filter; policy drop;",
    "    ct state established,related accept",
    `    iifname "lo" accept`,
    "    meta l4proto { icmp, ipv6-icmp } accept",
    `    udp dport { 68, 546 } accept comment "DHCP"`,
    ...(gateway.dhcpServer ? [`    ip saddr 0.0.0.0 udp dport 67 accept comment "DHCP server (dnsmasq): hosts without an address yet"`] : []),
    ...securityGroup.inbound.map((rule) => `    ${securityRuleStatement(rule)}`),
    "  }",
    "  chain forward {",
    "    type filter hook forward priority filter; policy drop;",
    "    tcp flags syn tcp option maxseg size set rt mtu",
    "    ct state established,related accept",
    `    ip saddr ${privateNets} accept comment "private networks and overlay may go anywhere"`,
    "  }",
    "}",
    `table ip ${NAT_TABLE}`,
    `delete table ip ${NAT_TABLE}`,
    `table ip ${NAT_TABLE} {`,
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    ...nat.map((statement) => `    ${statement}`),
    "  }",
    "}",
    "",
  ];
  return lines.join("\n");
}
