/**
 * The lab's network, built in namespaces: the internet (public bridge, router, remote server), one
 * namespace per machine with its plan's sysctls, the private networks' bridges, and each machine's
 * uplink, private links, addresses, boot routes, files and nftables ruleset — everything of a node
 * plan but its tunnel and services.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { withPrefixLength } from "../model/ipv4.js";
import { renderTemplate } from "../plan/render.js";
import type { NodePlan } from "../plan/types.js";
import type { LabContext } from "./context.js";
import { INTERNET_BRIDGE, INTERNET_ROUTER, labFilePath, namespaceOf, nodeDir, PUBLIC_CIDR, REMOTE_SERVER, UPLINK_DEVICE } from "./layout.js";
import { wireBehindNat } from "./nat.js";
import { createNamespace } from "./namespaces.js";
import { markLabOwner } from "./owner.js";
import { run, runIn } from "./shell.js";
import { writeFileAtomic } from "./state.js";

export async function buildInternet(lab: LabContext): Promise<void> {
  const ns = lab.layout.internetNamespace;
  // The internet routes between the public addresses (endpoint routes point at its router address).
  await createNamespace(ns, { "net.ipv4.ip_forward": "1" });
  await run(["ip", "-n", ns, "link", "add", INTERNET_BRIDGE, "type", "bridge"]);
  await run(["ip", "-n", ns, "addr", "add", withPrefixLength(INTERNET_ROUTER, PUBLIC_CIDR), "dev", INTERNET_BRIDGE]);
  await run(["ip", "-n", ns, "link", "set", INTERNET_BRIDGE, "up"]);
  // The "remote server" is a local address of the internet (no dummy module needed).
  await run(["ip", "-n", ns, "addr", "add", `${REMOTE_SERVER}/32`, "dev", "lo"]);
  // Every lab shares this namespace: it says which lab built it (./owner.ts).
  await markLabOwner({ topology: lab.settings.topologyName, stateDir: lab.layout.stateDir });
}

export async function createNode(lab: LabContext, plan: NodePlan): Promise<void> {
  await createNamespace(namespaceOf(lab.layout, plan.node), plan.sysctls);
  mkdirSync(nodeDir(lab.layout, plan.node), { recursive: true, mode: 0o711 });
}

export async function buildPrivateNetworks(lab: LabContext): Promise<void> {
  const fabric = lab.layout.fabricNamespace;
  for (const bridge of lab.layout.bridges.values()) {
    await run(["ip", "-n", fabric, "link", "add", bridge, "type", "bridge"]);
    await run(["ip", "-n", fabric, "link", "set", bridge, "up"]);
  }
  for (const attachment of lab.topology.bastion.attachments) {
    const bridge = lab.layout.bridges.get(attachment.network) ?? "";
    await run(["ip", "-n", fabric, "addr", "add", withPrefixLength(attachment.address, attachment.cidr), "dev", bridge]);
  }
}

/** Uplink veth into the internet bridge, private veths into the network bridges, addresses, boot routes, files. */
export async function wireNode(lab: LabContext, plan: NodePlan): Promise<void> {
  const ns = namespaceOf(lab.layout, plan.node);
  const internet = lab.layout.internetNamespace;
  const natRouter = lab.layout.natRouters.get(plan.node);
  if (plan.uplink && natRouter) {
    await wireBehindNat(natRouter, ns);
  } else if (plan.uplink) {
    const port = lab.layout.uplinkPorts.get(plan.node) ?? "";
    const publicIp = lab.resolver()(plan.uplink.publicIp);
    await run(["ip", "link", "add", "name", UPLINK_DEVICE, "netns", ns, "type", "veth", "peer", "name", port, "netns", internet]);
    await run(["ip", "-n", internet, "link", "set", port, "master", INTERNET_BRIDGE, "up"]);
    await run(["ip", "-n", ns, "addr", "add", withPrefixLength(publicIp, PUBLIC_CIDR), "dev", UPLINK_DEVICE]);
    await run(["ip", "-n", ns, "link", "set", UPLINK_DEVICE, "up"]);
    await run(["ip", "-n", ns, "route", "add", "default", "via", INTERNET_ROUTER, "dev", UPLINK_DEVICE]);
  }
  for (const iface of plan.interfaces) {
    if (plan.kind === "bastion") continue; // the bastion's addresses sit on the bridges themselves
    const attachment = lab.layout.attachments.find((a) => a.node === plan.node && a.network === iface.network);
    if (!attachment) throw new Error(`no lab attachment for ${plan.node} on ${iface.network}`);
    await run(["ip", "link", "add", "name", attachment.device, "netns", ns, "type", "veth", "peer", "name", attachment.bridgePort, "netns", lab.layout.fabricNamespace]);
    await run(["ip", "-n", lab.layout.fabricNamespace, "link", "set", attachment.bridgePort, "master", attachment.bridge, "up"]);
    // An interface served by DHCP gets its address (and routes) from dhclient, later.
    if (iface.dhcp === undefined) await run(["ip", "-n", ns, "addr", "add", iface.address, "dev", attachment.device]);
    await run(["ip", "-n", ns, "link", "set", attachment.device, "up"]);
  }
  const resolve = lab.resolver();
  for (const route of plan.routes) {
    const to = typeof route.to === "string" ? route.to : `${resolve(route.to)}/32`;
    const via = route.via.kind === "address" ? ["via", route.via.address] : route.via.kind === "uplink" ? ["via", resolve(route.via.gateway)] : [];
    if (via.length === 0) throw new Error(`boot route ${to} into WireGuard on ${plan.node}: tunnel routes belong to wireguard.routes`);
    await run(["ip", "-n", ns, "route", "replace", to, ...via]);
  }
  for (const file of plan.files) {
    writeFileAtomic(labFilePath(lab.layout, plan.node, file.path), renderTemplate(file.content, resolve), file.mode);
  }
}

export async function applyNftables(lab: LabContext, plan: NodePlan): Promise<void> {
  if (!plan.nftables) return;
  const path = join(nodeDir(lab.layout, plan.node), "nftables.conf");
  writeFileAtomic(path, plan.nftables, 0o600);
  await runIn(namespaceOf(lab.layout, plan.node), ["nft", "-f", path]);
}
