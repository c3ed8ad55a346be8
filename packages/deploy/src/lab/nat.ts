/**
 * The lab's NAT routers: a namespace between a gateway behind NAT and the lab's internet, like the
 * home or office router in front of seed 001's on-premise gateway. It masquerades everything leaving
 * on `wan`, so the gateway's peers see the router's public address and a port the router picked, and
 * nothing from the internet reaches the gateway unless the gateway opened the mapping first.
 */
import { withPrefixLength } from "../model/ipv4.js";
import { createNamespace } from "./namespaces.js";
import { INTERNET_BRIDGE, INTERNET_ROUTER, NAT_LAN_DEVICE, NAT_WAN_DEVICE, PUBLIC_CIDR, UPLINK_DEVICE, type NatRouter } from "./layout.js";
import { run, runIn } from "./shell.js";

/** nft ruleset of a NAT router: masquerade on the way out, only replies on the way in. */
export function natRouterRuleset(router: NatRouter): string {
  return [
    `# ${router.node}: masquerading router in front of ${router.gateway}`,
    "table ip wgts_natrouter",
    "delete table ip wgts_natrouter",
    "table ip wgts_natrouter {",
    "  chain forward {",
    "    type filter hook forward priority filter; policy drop;",
    "    ct state established,related accept",
    `    iifname "${NAT_LAN_DEVICE}" oifname "${NAT_WAN_DEVICE}" accept comment "inside may go out"`,
    "  }",
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    `    oifname "${NAT_WAN_DEVICE}" counter masquerade comment "everything leaves with the public address"`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** Creates the router namespace, its `wan` in the internet bridge and its masquerade. */
export async function buildNatRouter(router: NatRouter, internetNamespace: string): Promise<void> {
  const ns = router.namespace;
  await createNamespace(ns, { "net.ipv4.ip_forward": "1" });
  await run(["ip", "link", "add", "name", NAT_WAN_DEVICE, "netns", ns, "type", "veth", "peer", "name", router.internetPort, "netns", internetNamespace]);
  await run(["ip", "-n", internetNamespace, "link", "set", router.internetPort, "master", INTERNET_BRIDGE, "up"]);
  await run(["ip", "-n", ns, "addr", "add", withPrefixLength(router.publicIp, PUBLIC_CIDR), "dev", NAT_WAN_DEVICE]);
  await run(["ip", "-n", ns, "link", "set", NAT_WAN_DEVICE, "up"]);
  await run(["ip", "-n", ns, "route", "add", "default", "via", INTERNET_ROUTER, "dev", NAT_WAN_DEVICE]);
  await runIn(ns, ["nft", "-f", "-"], { input: natRouterRuleset(router) });
}

/** The gateway's uplink: a veth to the router's `lan`, default route via the router. */
export async function wireBehindNat(router: NatRouter, gatewayNamespace: string): Promise<void> {
  const prefix = router.insideCidr.split("/")[1] ?? "24";
  await run(["ip", "link", "add", "name", UPLINK_DEVICE, "netns", gatewayNamespace, "type", "veth", "peer", "name", NAT_LAN_DEVICE, "netns", router.namespace]);
  await run(["ip", "-n", router.namespace, "addr", "add", `${router.insideAddress}/${prefix}`, "dev", NAT_LAN_DEVICE]);
  await run(["ip", "-n", router.namespace, "link", "set", NAT_LAN_DEVICE, "up"]);
  await run(["ip", "-n", gatewayNamespace, "addr", "add", `${router.gatewayAddress}/${prefix}`, "dev", UPLINK_DEVICE]);
  await run(["ip", "-n", gatewayNamespace, "link", "set", UPLINK_DEVICE, "up"]);
  await run(["ip", "-n", gatewayNamespace, "route", "add", "default", "via", router.insideAddress, "dev", UPLINK_DEVICE]);
}
