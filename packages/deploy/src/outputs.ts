/**
 * The seed's Terraform outputs (names kept: public_ips, database_connection, database_password,
 * ssh_commands, wireguard_network, vpn_subnets, wireguard_status_commands), computed the same way
 * for every target from the topology plus the few values only the target knows.
 */
import type { Topology } from "./model/topology.js";

export interface DatabaseConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

export interface Outputs {
  /** Public IPv4 per instance name (gateways and the bastion). */
  readonly public_ips: Readonly<Record<string, string>>;
  /** Sensitive. */
  readonly database_connection?: DatabaseConnection;
  /** Sensitive. */
  readonly database_password?: string;
  /** How to get a shell on each machine. */
  readonly ssh_commands: Readonly<Record<string, string>>;
  readonly wireguard_network: {
    readonly cidr: string;
    readonly port: number;
    readonly mtu: number;
    readonly persistent_keepalive: number;
    /** Overlay address per gateway. */
    readonly gateways: Readonly<Record<string, string>>;
  };
  /** Private networks per VPC. */
  readonly vpn_subnets: Readonly<Record<string, readonly string[]>>;
  /** How to see each gateway's WireGuard state. */
  readonly wireguard_status_commands: Readonly<Record<string, string>>;
}

/** Output names whose values are secrets (Terraform `sensitive = true`). */
export const SENSITIVE_OUTPUTS = ["database_connection", "database_password", "remote_wireguard_config"] as const;

/** What only the target knows. */
export interface OutputValues {
  publicIp(node: string): string;
  databasePassword: string;
  /** Shell access command for a machine with private address `privateIp`. */
  sshCommand(node: string, privateIp: string): string;
  /** WireGuard status command for a gateway whose device is… decided by the target. */
  statusCommand(gateway: string, privateIp: string): string;
}

/** Builds the outputs of `topology` with the target's values. */
export function computeOutputs(topology: Topology, values: OutputValues): Outputs {
  const publicNodes = [topology.bastion.name, ...topology.gateways.map((g) => g.name)];
  const machines: [string, string][] = [
    ...topology.gateways.map((g): [string, string] => [g.name, g.attachments[0]?.address ?? ""]),
    ...topology.hosts.filter((h) => h.kind !== "database").map((h): [string, string] => [h.name, h.attachment.address]),
  ];
  const db = topology.database;
  const dbHost = db ? topology.hosts.find((h) => h.name === db.host) : undefined;
  return {
    public_ips: Object.fromEntries(publicNodes.map((n) => [n, values.publicIp(n)])),
    ...(db && dbHost
      ? {
          database_connection: {
            host: dbHost.attachment.address,
            port: db.port,
            user: db.user,
            password: values.databasePassword,
            database: db.database,
          },
          database_password: values.databasePassword,
        }
      : {}),
    ssh_commands: Object.fromEntries(machines.map(([n, ip]) => [n, values.sshCommand(n, ip)])),
    wireguard_network: {
      cidr: topology.overlay.cidr,
      port: topology.overlay.port,
      mtu: topology.overlay.mtu,
      persistent_keepalive: topology.overlay.persistentKeepalive,
      gateways: Object.fromEntries(topology.gateways.map((g) => [g.name, g.overlayIp])),
    },
    vpn_subnets: Object.fromEntries(topology.vpcs.map((v) => [v.name, v.privateNetworks.map((n) => n.cidr)])),
    wireguard_status_commands: Object.fromEntries(
      topology.gateways.map((g) => [g.name, values.statusCommand(g.name, g.attachments[0]?.address ?? "")]),
    ),
  };
}

/** Outputs with the sensitive values replaced by "(sensitive)", like `terraform output`. */
export function redactOutputs(outputs: Outputs): Record<string, unknown> {
  const redacted: Record<string, unknown> = { ...outputs };
  for (const name of SENSITIVE_OUTPUTS) if (name in redacted) redacted[name] = "(sensitive value)";
  return redacted;
}

/** `name = value` lines, nested objects as indented YAML-like blocks. */
export function formatOutputs(outputs: Record<string, unknown>): string {
  const lines: string[] = [];
  const write = (value: unknown, indent: string): void => {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      if (inner !== null && typeof inner === "object" && !Array.isArray(inner)) {
        lines.push(`${indent}${key}:`);
        write(inner, `${indent}  `);
      } else {
        lines.push(`${indent}${key}: ${Array.isArray(inner) ? inner.join(", ") : String(inner)}`);
      }
    }
  };
  write(outputs, "");
  return `${lines.join("\n")}\n`;
}
