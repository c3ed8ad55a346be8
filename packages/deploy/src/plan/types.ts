/**
 * Node plans: what one machine must run, computed once from the topology and applied by every target.
 *
 * The lab applies a `NodePlan` to a network namespace; the Scaleway renderer writes the same plan
 * into cloud-init. Values only a target knows (WireGuard keys, public IPs, the database password,
 * the uplink's gateway, where a file finally lives) are `Placeholder`s that the target resolves:
 * the lab from its 0600 key store and fixed lab addresses, Scaleway from Terraform expressions.
 */

/** A value the plan cannot know; each target provides a `Resolver`. */
export type Placeholder =
  /** Base64 private key of a gateway (secret). */
  | { readonly kind: "wireguard-private-key"; readonly node: string }
  /** Base64 public key of a gateway. */
  | { readonly kind: "wireguard-public-key"; readonly node: string }
  /** Public IPv4 address of a node (gateway or bastion). */
  | { readonly kind: "public-ip"; readonly node: string }
  /** Password of the database user (secret). */
  | { readonly kind: "database-password" }
  /**
   * Private IPv4 of the database. The lab uses the model's fixed address; Scaleway lets IPAM choose it
   * (`enable_ipam = true`: a fixed `ip_net` is not registered in IPAM and may be unreachable) and
   * Terraform reads it back from the `scaleway_rdb_instance`.
   */
  | { readonly kind: "database-address" }
  /** Next hop of the node's public uplink (the route that existed before the tunnel took the default). */
  | { readonly kind: "uplink-gateway"; readonly node: string }
  /** Where the plan file with this absolute cloud path ends up on the target (lab: under its state dir). */
  | { readonly kind: "file-path"; readonly node: string; readonly path: string };

export type PlaceholderKind = Placeholder["kind"];

/** Kinds whose resolved value is a secret: never print it, write it only to 0600 files. */
export const SECRET_PLACEHOLDERS: ReadonlySet<PlaceholderKind> = new Set(["wireguard-private-key", "database-password"]);

/** A target's way to turn placeholders into text. */
export type Resolver = (placeholder: Placeholder) => string;

/** Text with holes: literal strings and placeholders, concatenated by `renderTemplate`. */
export type Template = readonly (string | Placeholder)[];

/** A string, or a placeholder standing for one. */
export type Value = string | Placeholder;

/** What a machine is in the topology. */
export type NodeKind = "gateway" | "client" | "database" | "bastion";

/** An address on a private network (a NIC in the cloud, a veth on a bridge in the lab). */
export interface InterfacePlan {
  /** Private network name (targets map it to a device: ens5…, or a lab veth). */
  readonly network: string;
  /** "172.16.32.10/22". */
  readonly address: string;
  /**
   * Present when the address and the routes of this interface come from DHCP (option 121, RFC 3442)
   * served by gateway `server` (its `dhcp-server` service reserves `address` for this node's hostname).
   * `routes` are what option 121 carries; a target that cannot use DHCP installs them statically.
   */
  readonly dhcp?: { readonly server: string; readonly routes: readonly RoutePlan[] };
}

/** The node's public side: a public IP and a default route out through it. */
export interface UplinkPlan {
  readonly publicIp: Placeholder;
}

/** A wg-quick `[Peer]` section. */
export interface WireGuardPeerPlan {
  /** Gateway name, written as a comment. */
  readonly name: string;
  readonly publicKey: Placeholder;
  /** Absent when the peer is behind NAT: it contacts us, and we answer where its packets come from. */
  readonly endpoint?: { readonly host: Value; readonly port: number };
  readonly allowedIps: readonly string[];
  /** Seconds; 0 = off (no `PersistentKeepalive` line). */
  readonly persistentKeepalive: number;
}

/**
 * A wg-quick configuration as data. `table: "off"`: wg-quick/wg-ts add no routes from AllowedIPs;
 * `routes` are installed by `PostUp` lines of the same file, so every (re)start of the tunnel, in
 * the lab (`wg-ts up`) and in the cloud (`wg-quick@wg0`), brings exactly these routes back, and
 * deleting the interface removes them.
 */
export interface WireGuardPlan {
  /** Device name: `wg0` in the cloud (one per machine), unique per machine in the lab (see lab). */
  readonly interfaceName: string;
  readonly addresses: readonly string[];
  readonly listenPort: number;
  readonly mtu: number;
  readonly table: "off";
  readonly privateKey: Placeholder;
  readonly peers: readonly WireGuardPeerPlan[];
  /** Routes that come and go with the tunnel (rendered as `PostUp = ip route replace …`). */
  readonly routes: readonly RoutePlan[];
}

/** Where a route sends traffic. */
export type RouteVia =
  /** Straight into the WireGuard interface (cryptokey routing picks the peer). */
  | { readonly kind: "wireguard" }
  /** A next hop on a directly connected private network. */
  | { readonly kind: "address"; readonly address: string }
  /** The public uplink's next hop (an `uplink-gateway` placeholder). */
  | { readonly kind: "uplink"; readonly gateway: Placeholder };

/** One IPv4 route. `to` is a CIDR, "default", or a placeholder for a /32 (a peer's public IP). */
export interface RoutePlan {
  readonly to: Value;
  readonly via: RouteVia;
  /** Why the route exists (comments, progress output). */
  readonly reason: string;
}

/** A long-running service or an on-demand command the node provides. */
export type ServicePlan =
  /** The WireGuard tunnel (cloud: wg-quick@wg0; lab: wg-ts up). */
  | { readonly kind: "wireguard"; readonly name: string; readonly interfaceName: string }
  /**
   * The tunnel monitor: pings `probe` every `intervalSeconds`; after `failuresBeforeRestart`
   * consecutive failures restarts the tunnel, logging to `logFile`. Script: plan file `script`.
   */
  | {
      readonly kind: "monitor";
      readonly name: string;
      readonly probe: string;
      readonly intervalSeconds: number;
      readonly failuresBeforeRestart: number;
      readonly script: string;
      readonly logFile: string;
    }
  /** A PostgreSQL server (the lab's stand-in for the managed RDB; Scaleway uses scaleway_rdb_instance). */
  | {
      readonly kind: "postgresql";
      readonly name: string;
      readonly listenAddress: string;
      readonly port: number;
      readonly user: string;
      readonly database: string;
      readonly password: Placeholder;
      /** pg_hba `host` lines are generated for these prefixes only (scram-sha-256). */
      readonly allowedFrom: readonly string[];
    }
  /**
   * DHCP on one private network (dnsmasq, DHCP only): the plan file `config` reserves each host's
   * address by hostname and pushes the gateway as router and, with option 121, the other sites'
   * networks via the gateway (seed 001 "Route propagation").
   */
  | {
      readonly kind: "dhcp-server";
      readonly name: string;
      readonly network: string;
      /** Address dnsmasq listens on (the gateway's address on `network`). */
      readonly listenAddress: string;
      /** Path of the dnsmasq configuration file (a plan file). */
      readonly config: string;
    };

/** A file to write on the node. */
export interface FilePlan {
  /** Absolute path on a cloud machine; the lab relocates it under its state dir. */
  readonly path: string;
  /** Octal permission bits; 0o600 (or 0o700 for scripts) whenever the content holds a secret. */
  readonly mode: number;
  readonly content: Template;
  readonly description: string;
}

/** Everything one machine needs. */
export interface NodePlan {
  readonly node: string;
  readonly kind: NodeKind;
  readonly hostname: string;
  readonly interfaces: readonly InterfacePlan[];
  readonly uplink?: UplinkPlan;
  readonly wireguard?: WireGuardPlan;
  /** sysctl key -> value, e.g. "net.ipv4.ip_forward": "1". */
  readonly sysctls: Readonly<Record<string, string>>;
  /** A complete `nft -f` ruleset (flushes and recreates its own tables only); absent = no rules. */
  readonly nftables?: string;
  /** Static routes installed at boot, independent of any tunnel (tunnel routes: `wireguard.routes`). */
  readonly routes: readonly RoutePlan[];
  readonly services: readonly ServicePlan[];
  readonly files: readonly FilePlan[];
  /** Debian packages the node needs (cloud-init `packages:`; the lab checks their commands). */
  readonly packages: readonly string[];
}

/** How a target wants target-specific names chosen while planning. */
export interface PlanOptions {
  /**
   * WireGuard device name for a gateway. The cloud uses `wg0`: each gateway is its own machine.
   * The lab needs machine-wide unique names because /var/run/wireguard/IFNAME.sock is shared by
   * every network namespace.
   */
  readonly wireguardInterfaceName: (gateway: { name: string; shortName: string }) => string;
  /** Shell command (run on the node) that restarts the tunnel; used by the monitor script. */
  readonly restartTunnelCommand: (gateway: { name: string; interfaceName: string }) => string;
}
