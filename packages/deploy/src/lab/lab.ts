/**
 * The local lab: applies the node plans to network namespaces on this machine.
 *
 * `up` runs numbered steps (./steps.ts; progress on stderr, each naming its host); when one fails it
 * says which step and host, tears down everything (same code as `down`) and rethrows. `down`
 * (./teardown.ts) is idempotent and also cleans a half-built lab left by a crash: it sweeps the lab's
 * namespaces (those of the layout and those recorded in lab.json), the processes inside, stale UAPI
 * sockets and the state files.
 *
 * This class is the lab's one entry point (the `lab` target uses it); each concept lives in its own
 * file: ./context.ts (settings, layout, plans, placeholders), ./network.ts, ./tunnels.ts,
 * ./services.ts, ./health.ts, ./status.ts.
 */
import { existsSync } from "node:fs";
import type { Gateway, Topology } from "../model/topology.js";
import type { NodePlan, PlanOptions, Resolver } from "../plan/types.js";
import { LabContext, type LabSettings } from "./context.js";
import { ensureUp, existingNamespaces, healthy, latestHandshakes, waitForHandshakes } from "./health.js";
import { labFilePath, namespaceOf, nodeDir, type LabLayout } from "./layout.js";
import { readLabOwner } from "./owner.js";
import { postgresPaths } from "./postgres.js";
import { runInteractive } from "./shell.js";
import { readRecord, type LabSecrets } from "./state.js";
import { labStatus } from "./status.js";
import { labSteps, runSteps } from "./steps.js";
import { tearDown } from "./teardown.js";
import { restartTunnel } from "./tunnels.js";
import type { TunnelImplementation } from "./wireguard.js";

export type { LabSettings } from "./context.js";
export { LabStepError } from "./steps.js";

export class Lab {
  readonly #lab: LabContext;

  constructor(settings: LabSettings) {
    this.#lab = new LabContext(settings);
  }

  get layout(): LabLayout {
    return this.#lab.layout;
  }

  get implementation(): TunnelImplementation {
    return this.#lab.implementation;
  }

  get plans(): Map<string, NodePlan> {
    return this.#lab.plans;
  }

  get topology(): Topology {
    return this.#lab.topology;
  }

  get secrets(): LabSecrets {
    return this.#lab.secrets;
  }

  planOptions(): PlanOptions {
    return this.#lab.planOptions();
  }

  implementationFor(gateway: string): TunnelImplementation {
    return this.#lab.implementationFor(gateway);
  }

  configPath(gateway: string, interfaceName: string): string {
    return this.#lab.configPath(gateway, interfaceName);
  }

  tunnelLog(gateway: string, interfaceName: string): string {
    return this.#lab.tunnelLog(gateway, interfaceName);
  }

  resolver(): Resolver {
    return this.#lab.resolver();
  }

  plan(node: string): NodePlan {
    return this.#lab.plan(node);
  }

  gateway(node: string): Gateway {
    return this.#lab.gateway(node);
  }

  /** Builds the lab; a no-op when the same lab is already up and healthy. */
  async up(): Promise<void> {
    const lab = this.#lab;
    const owner = await readLabOwner();
    if (owner !== undefined && (owner.topology !== lab.settings.topologyName || owner.stateDir !== lab.layout.stateDir)) {
      throw new Error(
        `another lab is up on this machine: topology ${owner.topology} (state dir ${owner.stateDir}); every lab uses the namespaces ` +
          `${lab.layout.internetNamespace}, … — run \`wg-deploy down\` (without --topology it takes down whichever lab is up) first`,
      );
    }
    const record = readRecord(lab.layout.stateDir);
    if (record?.status === "up") {
      if (record.topology !== lab.settings.topologyName) {
        throw new Error(`the lab is up with topology ${record.topology}; run \`wg-deploy down\` first`);
      }
      if (await healthy(lab)) {
        lab.progress(`lab already up (topology ${record.topology}, WireGuard by ${record.wireguard}); nothing to do`);
        return;
      }
      lab.progress("lab recorded as up but unhealthy: rebuilding");
    }
    if (record !== undefined || (await existingNamespaces(lab)).length > 0) {
      lab.progress("cleaning up what a previous run left behind");
      await this.down({ quiet: true });
    }
    await runSteps(lab, labSteps(lab), () => this.down({ quiet: true }));
  }

  /** Removes every namespace, process, socket and state file of the lab. Idempotent. */
  down(options: { quiet?: boolean } = {}): Promise<void> {
    return tearDown(this.#lab, options);
  }

  /** Restarts a gateway's tunnel (down, then up from the same file: PostUp brings its routes back). */
  restart(gateway: string): Promise<void> {
    return restartTunnel(this.#lab, gateway);
  }

  /** `wg show` of every gateway. */
  async status(): Promise<string> {
    ensureUp(this.#lab);
    return labStatus(this.#lab);
  }

  /** Runs a command on a node with its plan's commands (dbconnect, wg-stats.sh, …) on PATH. */
  async exec(node: string, argv: readonly string[]): Promise<number> {
    const lab = this.#lab;
    ensureUp(lab);
    const ns = namespaceOf(lab.layout, node);
    const bins = ["/usr/local/bin"].map((dir) => labFilePath(lab.layout, node, dir)).filter((dir) => existsSync(dir));
    const path = [...bins, process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"].join(":");
    return runInteractive(["ip", "netns", "exec", ns, "env", `PATH=${path}`, ...argv]);
  }

  /** True if every namespace exists, every tunnel answers UAPI and the database is ready. */
  healthy(): Promise<boolean> {
    return healthy(this.#lab);
  }

  /** The lab's namespaces that exist now (see ./health.ts). */
  existingNamespaces(): Promise<string[]> {
    return existingNamespaces(this.#lab);
  }

  /** Latest handshake (epoch seconds) per peer public key of a gateway's device; empty if it does not answer. */
  latestHandshakes(gateway: string): Promise<Map<string, number>> {
    return latestHandshakes(this.#lab, gateway);
  }

  /** Waits until every gateway of `gateways` (default: all) has a handshake with each of its peers. */
  waitForHandshakes(gateways?: readonly string[], since = 0): Promise<void> {
    return waitForHandshakes(this.#lab, gateways, since);
  }

  /** The node directory of the database's PostgreSQL files (for diagnostics). */
  postgresDir(node: string): string {
    return postgresPaths(nodeDir(this.#lab.layout, node)).root;
  }
}
