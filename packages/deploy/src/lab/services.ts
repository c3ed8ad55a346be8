/**
 * The plans' services started on their nodes in the lab: the database's PostgreSQL (./postgres.ts),
 * a gateway's dnsmasq and a host's dhclient (./dhcp.ts), and the tunnel monitor script.
 *
 * Each runs inside its node's namespace with its files under the node's lab directory; `down`
 * stops them all (PostgreSQL cleanly, the rest with their namespace).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DNSMASQ_PATHS } from "../plan/dnsmasq.js";
import type { NodePlan, RoutePlan } from "../plan/types.js";
import type { LabContext } from "./context.js";
import { acquireLease, startDnsmasq } from "./dhcp.js";
import { labFilePath, namespaceOf, nodeDir } from "./layout.js";
import { postgresBinDir, postgresReady, startPostgres, type PostgresqlService } from "./postgres.js";
import { spawnDetached } from "./shell.js";

export async function startDatabase(lab: LabContext, node: string, service: PostgresqlService): Promise<void> {
  const bin = postgresBinDir(lab.settings.io.env);
  if (bin === undefined) throw new Error("PostgreSQL server binaries not found");
  const ns = namespaceOf(lab.layout, node);
  await startPostgres(ns, nodeDir(lab.layout, node), service, lab.secrets.databasePassword, bin);
  if (!(await postgresReady(ns, bin, service.listenAddress, service.port))) throw new Error(`PostgreSQL does not answer on ${service.listenAddress}:${service.port}`);
}

/** The gateway's dnsmasq with its plan's configuration file. */
export async function startDhcpServer(lab: LabContext, node: string, network: string, config: string, listenAddress: string): Promise<void> {
  const paths = [config, DNSMASQ_PATHS.leases(network), DNSMASQ_PATHS.log].map((p) => labFilePath(lab.layout, node, p));
  for (const path of paths.slice(1)) mkdirSync(join(path, ".."), { recursive: true, mode: 0o711 });
  await startDnsmasq(namespaceOf(lab.layout, node), paths[0] ?? "", join(nodeDir(lab.layout, node), `dnsmasq-${network}.pid`), listenAddress);
}

/** The host's dhclient on `network`: the lease must give the planned address and the option 121 routes. */
export async function acquireDhcpLease(lab: LabContext, plan: NodePlan, network: string, address: string, routes: readonly RoutePlan[]): Promise<void> {
  const attachment = lab.layout.attachments.find((a) => a.node === plan.node && a.network === network);
  if (!attachment) throw new Error(`no lab attachment for ${plan.node} on ${network}`);
  await acquireLease(attachment.namespace, attachment.device, plan.hostname, nodeDir(lab.layout, plan.node), { address, routes });
}

/** The monitor script, detached, with the lab's implementation's environment (it restarts tunnels). */
export async function startMonitor(lab: LabContext, node: string, script: string): Promise<void> {
  const path = labFilePath(lab.layout, node, script);
  spawnDetached(["ip", "netns", "exec", namespaceOf(lab.layout, node), "sh", path], lab.implementation.env);
}
