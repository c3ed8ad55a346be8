/**
 * `planTopology`: topology -> one `NodePlan` per machine. Pure: no I/O, no keys, no addresses that
 * only a target knows (those are placeholders, see ./types.ts).
 */
import { withPrefixLength } from "../model/ipv4.js";
import type { Gateway, Host, Topology } from "../model/topology.js";
import { dhcpClients, dhcpRoutes, dhcpServerOf, DNSMASQ_PATHS, dnsmasqConfigTemplate } from "./dnsmasq.js";
import { gatewayRuleset } from "./nftables.js";
import { wgQuickConfigTemplate } from "./render.js";
import type { FilePlan, NodePlan, PlanOptions, RoutePlan, ServicePlan, Template, WireGuardPeerPlan, WireGuardPlan } from "./types.js";

/** Cloud defaults: one gateway per machine, so `wg0` and systemd's wg-quick unit. */
export const CLOUD_PLAN_OPTIONS: PlanOptions = {
  wireguardInterfaceName: () => "wg0",
  restartTunnelCommand: ({ interfaceName }) => `systemctl restart wg-quick@${interfaceName}`,
};

/** Paths of the operational files on a gateway (names from the seed). */
export const GATEWAY_PATHS = {
  stats: "/usr/local/bin/wg-stats.sh",
  monitor: "/usr/local/bin/wg-monitor.sh",
  monitorLog: "/var/log/wireguard-monitor.log",
  wireguardConfig: (interfaceName: string) => `/etc/wireguard/${interfaceName}.conf`,
} as const;

/** Paths on the database client. */
export const CLIENT_PATHS = { dbconnect: "/usr/local/bin/dbconnect", pgpass: "/etc/wg-ts/pgpass" } as const;

/** Monitor timing (seed: wg-monitor.sh on spoke-01). */
const MONITOR = { intervalSeconds: 10, failuresBeforeRestart: 3 } as const;

/** The default route as two halves that override, without replacing, the uplink's default route. */
export const DEFAULT_ROUTE_HALVES = ["0.0.0.0/1", "128.0.0.0/1"] as const;

const GATEWAY_SYSCTLS = {
  "net.ipv4.ip_forward": "1",
  // Asymmetric routes through the tunnels: reverse-path filtering off (seed, "Notes importantes" 5).
  "net.ipv4.conf.all.rp_filter": "0",
  "net.ipv4.conf.default.rp_filter": "0",
} as const;

/** Plans every node of `topology`, keyed by node name. */
export function planTopology(topology: Topology, options: PlanOptions = CLOUD_PLAN_OPTIONS): Map<string, NodePlan> {
  const plans = new Map<string, NodePlan>();
  plans.set(topology.bastion.name, planBastion(topology));
  for (const gateway of topology.gateways) plans.set(gateway.name, planGateway(topology, gateway, options));
  for (const host of topology.hosts) plans.set(host.name, planHost(topology, host));
  return plans;
}

/** Local private networks of a gateway as CIDRs. */
function localNetworks(gateway: Gateway): string[] {
  return gateway.attachments.map((a) => a.cidr);
}

/** The private networks behind `gateway`'s peers, in peer order (what its tunnel routes). */
export function remoteNetworks(topology: Topology, gateway: Gateway): string[] {
  return gateway.peers.flatMap((peer) => localNetworks(gatewayByName(topology, peer)));
}

function gatewayByName(topology: Topology, name: string): Gateway {
  const gateway = topology.gateways.find((g) => g.name === name);
  if (!gateway) throw new Error(`topology ${topology.name}: no gateway "${name}"`);
  return gateway;
}

/**
 * The WireGuard part of a gateway: every peer gets its overlay /32 and local networks; the default
 * peer also 0.0.0.0/0. A peer behind NAT gets no Endpoint (it reaches us; we answer where its packets
 * come from). PersistentKeepalive is this gateway's own (seed 001: only the side behind NAT sends it).
 */
export function wireguardPlan(topology: Topology, gateway: Gateway, interfaceName: string): WireGuardPlan {
  const prefixLength = topology.overlay.cidr.split("/")[1] ?? "32";
  const peers: WireGuardPeerPlan[] = gateway.peers.map((peerName) => {
    const peer = gatewayByName(topology, peerName);
    const allowedIps = [`${peer.overlayIp}/32`, ...localNetworks(peer)];
    if (gateway.defaultVia === peer.name) allowedIps.push("0.0.0.0/0");
    return {
      name: peer.name,
      publicKey: { kind: "wireguard-public-key", node: peer.name },
      ...(peer.behindNat ? {} : { endpoint: { host: { kind: "public-ip", node: peer.name }, port: topology.overlay.port } }),
      allowedIps,
      persistentKeepalive: gateway.persistentKeepalive,
    };
  });
  return {
    interfaceName,
    addresses: [`${gateway.overlayIp}/${prefixLength}`],
    listenPort: topology.overlay.port,
    mtu: topology.overlay.mtu,
    table: "off",
    privateKey: { kind: "wireguard-private-key", node: gateway.name },
    peers,
    routes: gatewayRoutes(topology, gateway),
  };
}

/**
 * Tunnel routes of a gateway. With a `defaultVia` peer: pin every peer's public endpoint to the
 * uplink first (so the encrypted UDP never loops into the tunnel; peers behind NAT have no public
 * endpoint to pin), then the default route into the
 * tunnel as its two halves 0.0.0.0/1 + 128.0.0.0/1: they win over the uplink's default route without
 * replacing it, so stopping the tunnel gives the machine its uplink back.
 * Always: static routes to every peer's private networks into the tunnel.
 */
export function gatewayRoutes(topology: Topology, gateway: Gateway): RoutePlan[] {
  const routes: RoutePlan[] = [];
  if (gateway.defaultVia !== undefined) {
    for (const peer of gateway.peers) {
      if (gatewayByName(topology, peer).behindNat) continue;
      routes.push({ to: { kind: "public-ip", node: peer }, via: { kind: "uplink", gateway: { kind: "uplink-gateway", node: gateway.name } }, reason: `WireGuard endpoint of ${peer} stays on the uplink` });
    }
    for (const half of DEFAULT_ROUTE_HALVES) {
      routes.push({ to: half, via: { kind: "wireguard" }, reason: `default route via ${gateway.defaultVia} over WireGuard` });
    }
  }
  for (const peerName of gateway.peers) {
    for (const cidr of localNetworks(gatewayByName(topology, peerName))) {
      routes.push({ to: cidr, via: { kind: "wireguard" }, reason: `private network behind ${peerName}` });
    }
  }
  return routes;
}

function statsScript(gateway: Gateway, topology: Topology, interfaceName: string): Template {
  const peers = gateway.peers.map((name) => gatewayByName(topology, name));
  return [
    "#!/bin/sh\n",
    `# wg-stats: WireGuard diagnosis for ${gateway.name} (${gateway.overlayIp})\n`,
    `IF=${interfaceName}\n`,
    `echo "== wg show $IF"; wg show "$IF"\n`,
    `echo "== transfer (bytes rx/tx per peer)"; wg show "$IF" transfer\n`,
    `echo "== latest handshakes (epoch seconds)"; wg show "$IF" latest-handshakes\n`,
    `echo "== routes"; ip route\n`,
    `echo "== overlay reachability"\n`,
    ...peers.map((p) => `if ping -c 1 -W 2 ${p.overlayIp} >/dev/null 2>&1; then echo "${p.name} ${p.overlayIp} up"; else echo "${p.name} ${p.overlayIp} DOWN"; fi\n`),
  ];
}

function monitorScript(gateway: Gateway, probe: string, restartCommand: string, logFile: Template): Template {
  return [
    "#!/bin/sh\n",
    `# wg-monitor: restart the tunnel of ${gateway.name} when ${probe} stops answering\n`,
    `PROBE=${probe}\nINTERVAL=${MONITOR.intervalSeconds}\nMAX_FAILURES=${MONITOR.failuresBeforeRestart}\n`,
    'LOG="',
    ...logFile,
    '"\n',
    "failures=0\n",
    "while true; do\n",
    '  if ping -c 1 -W 2 "$PROBE" >/dev/null 2>&1; then failures=0; else\n',
    "    failures=$((failures + 1))\n",
    '    echo "$(date -u +%FT%TZ) $PROBE unreachable ($failures/$MAX_FAILURES)" >>"$LOG"\n',
    "  fi\n",
    '  if [ "$failures" -ge "$MAX_FAILURES" ]; then\n',
    '    echo "$(date -u +%FT%TZ) restarting the tunnel" >>"$LOG"\n',
    `    ${restartCommand} >>"$LOG" 2>&1\n`,
    "    failures=0\n",
    "  fi\n",
    '  sleep "$INTERVAL"\n',
    "done\n",
  ];
}

function planGateway(topology: Topology, gateway: Gateway, options: PlanOptions): NodePlan {
  const interfaceName = options.wireguardInterfaceName(gateway);
  const wireguard = wireguardPlan(topology, gateway, interfaceName);
  const configPath = GATEWAY_PATHS.wireguardConfig(interfaceName);
  const files: FilePlan[] = [
    {
      path: configPath,
      mode: 0o600,
      content: wgQuickConfigTemplate(wireguard, `${gateway.name} (${gateway.role}) — generated by wg-deploy`),
      description: "wg-quick configuration (holds the private key)",
    },
    { path: GATEWAY_PATHS.stats, mode: 0o755, content: statsScript(gateway, topology, interfaceName), description: "wg-stats diagnosis command" },
  ];
  const services: ServicePlan[] = [{ kind: "wireguard", name: `wireguard-${interfaceName}`, interfaceName }];
  if (gateway.monitor) {
    const probeGateway = gateway.defaultVia ?? gateway.peers[0];
    if (probeGateway === undefined) throw new Error(`gateway ${gateway.name}: a monitor needs a peer to probe`);
    const probe = gatewayByName(topology, probeGateway).overlayIp;
    const logFile: Template = [{ kind: "file-path", node: gateway.name, path: GATEWAY_PATHS.monitorLog }];
    const restart = options.restartTunnelCommand({ name: gateway.name, interfaceName });
    files.push({ path: GATEWAY_PATHS.monitor, mode: 0o755, content: monitorScript(gateway, probe, restart, logFile), description: "wg-monitor tunnel watchdog" });
    services.push({
      kind: "monitor",
      name: "wg-monitor",
      probe,
      intervalSeconds: MONITOR.intervalSeconds,
      failuresBeforeRestart: MONITOR.failuresBeforeRestart,
      script: GATEWAY_PATHS.monitor,
      logFile: GATEWAY_PATHS.monitorLog,
    });
  }
  const packages = ["wireguard-tools", "nftables", "iproute2", "iputils-ping"];
  for (const attachment of gateway.attachments) {
    if (dhcpClients(topology, gateway, attachment.network).length === 0) continue;
    const config = DNSMASQ_PATHS.config(attachment.network);
    files.push({ path: config, mode: 0o644, content: dnsmasqConfigTemplate(topology, gateway, attachment), description: `dnsmasq DHCP for ${attachment.network} (option 121 routes)` });
    services.push({ kind: "dhcp-server", name: `dnsmasq-${attachment.network}`, network: attachment.network, listenAddress: attachment.address, config });
    if (!packages.includes("dnsmasq-base")) packages.push("dnsmasq-base");
  }
  return {
    node: gateway.name,
    kind: "gateway",
    hostname: gateway.name,
    interfaces: gateway.attachments.map((a) => ({ network: a.network, address: withPrefixLength(a.address, a.cidr) })),
    uplink: { publicIp: { kind: "public-ip", node: gateway.name } },
    wireguard,
    sysctls: { ...GATEWAY_SYSCTLS },
    nftables: gatewayRuleset(topology, gateway, interfaceName),
    routes: [],
    services,
    files,
    packages,
  };
}

function planHost(topology: Topology, host: Host): NodePlan {
  const routes: RoutePlan[] = [];
  const dhcpServer = dhcpServerOf(topology, host);
  const serverAttachment = dhcpServer?.attachments.find((a) => a.network === host.attachment.network);
  if (dhcpServer && !serverAttachment) throw new Error(`host ${host.name}: gateway ${dhcpServer.name} is not on ${host.attachment.network}`);
  if (host.defaultVia !== undefined && !dhcpServer) {
    const via = gatewayByName(topology, host.defaultVia).attachments.find((a) => a.network === host.attachment.network);
    if (!via) throw new Error(`host ${host.name}: gateway ${host.defaultVia} is not on ${host.attachment.network}`);
    routes.push({ to: "default", via: { kind: "address", address: via.address }, reason: `default route via ${host.defaultVia}` });
  }
  if (host.routesVia !== undefined) {
    // AWS's private route table: the networks behind the gateway's peers go to its ENI.
    const gateway = gatewayByName(topology, host.routesVia);
    const via = gateway.attachments.find((a) => a.network === host.attachment.network);
    if (!via) throw new Error(`host ${host.name}: gateway ${host.routesVia} is not on ${host.attachment.network}`);
    for (const cidr of remoteNetworks(topology, gateway)) {
      routes.push({ to: cidr, via: { kind: "address", address: via.address }, reason: `route table: ${cidr} -> ${gateway.name}` });
    }
  }
  const files: FilePlan[] = [];
  const services: ServicePlan[] = [];
  const packages: string[] = [];
  const db = topology.database;
  if (host.kind === "client" && db) {
    const dbHost = topology.hosts.find((h) => h.name === db.host);
    if (!dbHost) throw new Error(`database host ${db.host} missing`);
    // The address only a target knows for sure (Scaleway: IPAM picks it); the lab's is the model's.
    const address = { kind: "database-address" } as const;
    files.push(
      {
        path: CLIENT_PATHS.pgpass,
        mode: 0o600,
        content: [address, `:${db.port}:${db.database}:${db.user}:`, { kind: "database-password" }, "\n"],
        description: "PostgreSQL password file (holds the database password)",
      },
      {
        path: CLIENT_PATHS.dbconnect,
        mode: 0o755,
        content: [
          "#!/bin/sh\n",
          `# dbconnect: psql to ${db.host} (`,
          address,
          ") through the WireGuard tunnels\n",
          'PGPASSFILE="',
          { kind: "file-path", node: host.name, path: CLIENT_PATHS.pgpass },
          '" exec psql "host=',
          address,
          ` port=${db.port} user=${db.user} dbname=${db.database} connect_timeout=10" "$@"\n`,
        ],
        description: "dbconnect command",
      },
    );
    packages.push("postgresql-client");
  }
  if (host.kind === "database" && db) {
    services.push({
      kind: "postgresql",
      name: "postgresql",
      listenAddress: host.attachment.address,
      port: db.port,
      user: db.user,
      database: db.database,
      password: { kind: "database-password" },
      allowedFrom: db.allowedFrom,
    });
    packages.push("postgresql");
  }
  return {
    node: host.name,
    kind: host.kind,
    hostname: host.name,
    interfaces: [
      {
        network: host.attachment.network,
        address: withPrefixLength(host.attachment.address, host.attachment.cidr),
        ...(dhcpServer && serverAttachment ? { dhcp: { server: dhcpServer.name, routes: dhcpRoutes(topology, dhcpServer, serverAttachment) } } : {}),
      },
    ],
    sysctls: {},
    routes,
    services,
    files,
    packages,
  };
}

function planBastion(topology: Topology): NodePlan {
  const bastion = topology.bastion;
  return {
    node: bastion.name,
    kind: "bastion",
    hostname: bastion.name,
    interfaces: bastion.attachments.map((a) => ({ network: a.network, address: withPrefixLength(a.address, a.cidr) })),
    uplink: { publicIp: { kind: "public-ip", node: bastion.name } },
    // The Public Gateway does not route between private networks and NATs nothing here.
    sysctls: { "net.ipv4.ip_forward": "0" },
    routes: [],
    services: [],
    files: [],
    packages: [],
  };
}
