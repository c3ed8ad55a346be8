/**
 * `down`: removes every namespace, process, socket and state file of the lab. Idempotent, and it
 * also cleans a half-built lab left by a crash: it sweeps the lab's namespaces (those of the layout
 * and those recorded in lab.json), the processes inside, stale UAPI sockets and the state files —
 * never anything of another lab or of anyone else.
 */
import { existsSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { LabContext } from "./context.js";
import { existingNamespaces } from "./health.js";
import { labWireguardInterface, namespaceOf, nodeDir } from "./layout.js";
import { deleteNamespace, stopNamespaceProcesses } from "./namespaces.js";
import { readLabOwner } from "./owner.js";
import { postgresBinDir, stopPostgres } from "./postgres.js";
import { removeStaleSocket, stopTunnel } from "./tunnels.js";

/** Removes every namespace, process, socket and state file of the lab. Idempotent. */
export async function tearDown(lab: LabContext, options: { quiet?: boolean } = {}): Promise<void> {
  const say = (line: string) => {
    if (!options.quiet) lab.progress(line);
  };
  const owner = await readLabOwner();
  if (owner !== undefined && (owner.topology !== lab.settings.topologyName || owner.stateDir !== lab.layout.stateDir)) {
    // Its namespaces share names with ours (wgts-internet, …): removing "ours" would break it.
    throw new Error(
      `the lab running here is topology ${owner.topology} (state dir ${owner.stateDir}), not ${lab.settings.topologyName} (${lab.layout.stateDir}); ` +
        `\`wg-deploy down\` without --topology removes it`,
    );
  }
  const existing = await existingNamespaces(lab);
  if (existing.length > 0) {
    for (const gateway of lab.topology.gateways) {
      if (existing.includes(namespaceOf(lab.layout, gateway.name))) {
        say(`${gateway.name}: stopping ${lab.implementationFor(gateway.name).name}`);
        await stopTunnel(lab, gateway.name).catch(() => undefined);
      }
    }
    const bin = postgresBinDir(lab.settings.io.env);
    for (const plan of lab.plans.values()) {
      if (plan.services.some((s) => s.kind === "postgresql") && existing.includes(namespaceOf(lab.layout, plan.node))) {
        say(`${plan.node}: stopping PostgreSQL`);
        await stopPostgres(namespaceOf(lab.layout, plan.node), nodeDir(lab.layout, plan.node), bin);
      }
    }
    for (const ns of existing) {
      const stopped = await stopNamespaceProcesses(ns);
      if (stopped > 0) say(`${ns}: stopped ${stopped} process(es)`);
    }
    for (const ns of existing) {
      say(`deleting namespace ${ns}`);
      await deleteNamespace(ns);
    }
  }
  for (const gateway of lab.topology.gateways) await removeStaleSocket(labWireguardInterface(gateway));
  removeStateDir(lab.layout.stateDir);
  say(existing.length > 0 ? "lab removed" : "nothing to remove");
}

/** Removes what the lab writes into its state dir, then the dir if empty (never anything else). */
function removeStateDir(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of ["nodes", "lab.json", "secrets.json"]) rmSync(join(dir, entry), { recursive: true, force: true });
  try {
    rmdirSync(dir);
  } catch {
    // not empty: someone else's files; leave them
  }
}
