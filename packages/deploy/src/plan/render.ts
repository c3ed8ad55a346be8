/**
 * Generic renderers over plan data: templates -> text, wg-quick configuration -> template.
 * Targets call `renderTemplate` with their own `Resolver`.
 */
import { wgQuickTemplate, type WgQuickLine, type WgQuickSection } from "@wg-ts/daemon/format";
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
 * The wg-quick configuration file of a gateway, as a template (keys and endpoints are placeholders),
 * written by wg-ts's wg-quick writer. Understood by wg-quick and by `wg-ts up`.
 */
export function wgQuickConfigTemplate(wireguard: WireGuardPlan, comment: string): Template {
  const routes = wireguard.routes.flatMap((route): WgQuickLine<Placeholder>[] => [
    { comment: route.reason },
    { key: "PostUp", value: routeCommand(route, wireguard.interfaceName) },
  ]);
  return wgQuickTemplate<Placeholder>([
    {
      header: "Interface",
      comments: [comment],
      lines: [
        { key: "Address", value: wireguard.addresses.join(", ") },
        { key: "ListenPort", value: wireguard.listenPort },
        { key: "MTU", value: wireguard.mtu },
        // No routes from AllowedIPs: the PostUp lines below are the routes.
        { key: "Table", value: wireguard.table },
        { key: "PrivateKey", value: [wireguard.privateKey] },
        ...routes,
      ],
    },
    ...wireguard.peers.map((peer): WgQuickSection<Placeholder> => ({
      header: "Peer",
      comments: [peer.name],
      lines: [
        { key: "PublicKey", value: [peer.publicKey] },
        { key: "Endpoint", value: peer.endpoint ? [peer.endpoint.host, `:${peer.endpoint.port}`] : undefined },
        { key: "AllowedIPs", value: peer.allowedIps.join(", ") },
        { key: "PersistentKeepalive", value: peer.persistentKeepalive > 0 ? peer.persistentKeepalive : undefined },
      ],
    })),
  ]);
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
