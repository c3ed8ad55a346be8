/**
 * Generic renderers over plan data: templates -> text, wg-quick configuration -> template.
 * Targets call `renderTemplate` with their own `Resolver`.
 */
import type { Placeholder, Resolver, RoutePlan, Template, Value, WireGuardPlan } from "./types.js";

/** True if `value` is a placeholder rather than literal text. */
export function isPlaceholder(value: unknown): value is Placeholder {
  return typeof value === "object" && value !== null && typeof (value as { kind?: unknown }).kind === "string";
}

/** Concatenates a template, resolving each placeholder with `resolve`. */
export function renderTemplate(template: Template, resolve: Resolver): string {
  return template.map((part) => (typeof part === "string" ? part : resolve(part))).join("");
}

/** Resolves a single value. */
export function renderValue(value: Value, resolve: Resolver): string {
  return typeof value === "string" ? value : resolve(value);
}

/** Human-readable description of a placeholder, e.g. `<wireguard-public-key:wireguard-hub>`. */
export function describePlaceholder(placeholder: Placeholder): string {
  switch (placeholder.kind) {
    case "database-password":
    case "database-address":
      return `<${placeholder.kind}>`;
    case "file-path":
      return `<file-path:${placeholder.node}:${placeholder.path}>`;
    default:
      return `<${placeholder.kind}:${placeholder.node}>`;
  }
}

/**
 * The wg-quick configuration file of a gateway, as a template (keys and endpoints are placeholders).
 * Understood by wg-quick and by `wg-ts up`.
 */
export function wgQuickConfigTemplate(wireguard: WireGuardPlan, comment: string): Template {
  const out: (string | Placeholder)[] = [
    `# ${comment}\n`,
    "[Interface]\n",
    `Address = ${wireguard.addresses.join(", ")}\n`,
    `ListenPort = ${wireguard.listenPort}\n`,
    `MTU = ${wireguard.mtu}\n`,
    // No routes from AllowedIPs: the PostUp lines below are the routes.
    `Table = ${wireguard.table}\n`,
    "PrivateKey = ",
    wireguard.privateKey,
    "\n",
  ];
  for (const route of wireguard.routes) out.push(`# ${route.reason}\n`, "PostUp = ", ...routeCommand(route, wireguard.interfaceName), "\n");
  for (const peer of wireguard.peers) {
    out.push(
      `\n# ${peer.name}\n`,
      "[Peer]\n",
      "PublicKey = ",
      peer.publicKey,
      "\n",
      ...(peer.endpoint ? ["Endpoint = ", peer.endpoint.host, `:${peer.endpoint.port}\n`] : []),
      `AllowedIPs = ${peer.allowedIps.join(", ")}\n`,
      ...(peer.persistentKeepalive > 0 ? [`PersistentKeepalive = ${peer.persistentKeepalive}\n`] : []),
    );
  }
  return out;
}

/** `ip route replace …` for one route; `wireguardInterface` is the device of `via: wireguard`. */
export function routeCommand(route: RoutePlan, wireguardInterface: string): Template {
  const to: Template = typeof route.to === "string" ? [route.to] : [route.to, "/32"];
  switch (route.via.kind) {
    case "wireguard":
      return ["ip route replace ", ...to, ` dev ${wireguardInterface}`];
    case "address":
      return ["ip route replace ", ...to, ` via ${route.via.address}`];
    case "uplink":
      return ["ip route replace ", ...to, " via ", route.via.gateway];
  }
}
