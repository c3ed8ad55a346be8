/**
 * Generated topologies for scale runs, `generated:hub-spoke:N` and `generated:mesh:N`: built with the
 * same `buildTopology` (so validated like the presets) and planned with the same `planTopology`.
 *
 * - hub-spoke:N — a hub and N spokes; each spoke peers with the hub only and sends its default route
 *   to it; PersistentKeepalive 25 everywhere (like seed 000).
 * - mesh:N — N sites in a full mesh, PersistentKeepalive 25.
 *
 * Addresses: gateway i (the hub is 0) has the private network 10.<i div 256>.<i mod 256>.0/24 (its
 * address .10) and the overlay address 192.168.0.0/16 + i + 1; WireGuard port 51820, MTU 1420.
 */
import { buildTopology, type GatewayDescription, type TopologyDescription } from "../model/build.js";
import { formatIpv4 } from "../model/ipv4.js";
import type { Topology } from "../model/topology.js";

const OVERLAY = "192.168.0.0/16";
const MAX_GATEWAYS = 4096;

/** True for `generated:…` names. */
export function isGeneratedTopology(name: string): boolean {
  return name.startsWith("generated:");
}

/** Builds `generated:hub-spoke:N` or `generated:mesh:N`. */
export function generatedTopology(name: string): Topology {
  const m = /^generated:(hub-spoke|mesh):([0-9]+)$/.exec(name);
  const n = m ? Number(m[2]) : NaN;
  if (!m || !(n >= 1)) throw new Error(`unknown generated topology "${name}" (generated:hub-spoke:N or generated:mesh:N)`);
  const kind = m[1] as "hub-spoke" | "mesh";
  const count = kind === "hub-spoke" ? n + 1 : n;
  if (kind === "mesh" && n < 2) throw new Error(`${name}: a mesh needs at least 2 sites`);
  if (count > MAX_GATEWAYS) throw new Error(`${name}: at most ${MAX_GATEWAYS} gateways`);
  const names = Array.from({ length: count }, (_, i) =>
    kind === "hub-spoke" ? (i === 0 ? "hub" : `spoke-${String(i).padStart(4, "0")}`) : `site-${String(i + 1).padStart(3, "0")}`,
  );
  const vpcs: Record<string, Record<string, string>> = {};
  const gateways: Record<string, GatewayDescription> = {};
  names.forEach((gw, i) => {
    vpcs[gw] = { [`pn-${gw}`]: `${formatIpv4((10 << 24) + i * 256)}/24` };
    const hub = kind === "hub-spoke" && i === 0;
    gateways[gw] = {
      shortName: i.toString(36),
      role: hub || kind === "mesh" ? "hub" : "spoke",
      vpc: gw,
      overlayIndex: i + 1,
      hostIndex: 10,
      peers: kind === "mesh" ? "full-mesh" : hub ? names.slice(1) : ["hub"],
      ...(kind === "hub-spoke" && !hub ? { defaultVia: "hub" } : {}),
      instanceType: "PLAY2-MICRO",
      securityGroup: "sg-wireguard",
    };
  });
  const description: TopologyDescription = {
    name,
    inputs: { zone: "fr-par-1", region: "fr-par" },
    overlay: { cidr: OVERLAY, port: 51820, mtu: 1420, persistentKeepalive: 25 },
    vpcs,
    gateways,
    hosts: {},
    bastion: { name: "bastion", sshPort: 61000, type: "VPC-GW-S", hostIndex: 2, attach: [`pn-${names[0]}`] },
    securityGroups: [{ name: "sg-wireguard", inbound: [{ protocol: "udp", port: 51820, from: { kind: "internet" }, description: "WireGuard" }] }],
    privateSupernets: ["10.0.0.0/8", OVERLAY],
  };
  return buildTopology(description);
}
