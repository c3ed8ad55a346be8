/**
 * `wg-deploy synth --target scaleway --out DIR`: writes everything Terraform/OpenTofu needs into DIR.
 *
 *     DIR/main.tf.json            the configuration (deterministic; no secrets; validated before writing)
 *     DIR/wireguard.secrets.json  WireGuard keys, mode 0600, reused across runs (./secrets.ts)
 *     DIR/wg-ts.tgz               the wg-ts npm tarball the gateways install (../artifact/pack.ts)
 *     DIR/node-runtime.tgz        Node.js 24 + npm for the gateways (../cloud/node-runtime.ts), reused across runs
 *     DIR/.gitignore              keeps state, secrets and the tarball out of git
 *
 * The directory is written by the step every Terraform target shares (../cloud/synth-dir.ts).
 */
import { type SynthOptions, type SynthResult, writeSynthDirectory } from "../cloud/synth-dir.js";
import type { Topology } from "../model/topology.js";
import { planTopology } from "../plan/plan.js";
import type { NodePlan, PlanOptions } from "../plan/types.js";
import { synthesizeScaleway, type ScalewayOptions, type ScalewaySynthesis } from "./stack.js";
import { validateDocument } from "../terraform/validate.js";

/** Cloud plan options: `wg0` on every gateway, restarted through the wg-ts systemd unit. */
export const SCALEWAY_PLAN_OPTIONS: PlanOptions = {
  wireguardInterfaceName: () => "wg0",
  restartTunnelCommand: ({ interfaceName }) => `systemctl restart wg-ts@${interfaceName}`,
};

export { MAIN_FILE } from "../cloud/synth-dir.js";

/** The node plans the Scaleway target renders (the lab plans the same topology with its own names). */
export function scalewayPlans(topology: Topology): Map<string, NodePlan> {
  return planTopology(topology, SCALEWAY_PLAN_OPTIONS);
}

/** Plans + synthesizes + validates; throws listing every problem if the document is invalid. */
export function synthesizeValidated(topology: Topology, options: ScalewayOptions = {}): ScalewaySynthesis {
  const synthesis = synthesizeScaleway(topology, scalewayPlans(topology), options);
  const problems = validateDocument(synthesis.document);
  if (problems.length > 0) throw new Error(`generated main.tf.json is invalid:\n  ${problems.join("\n  ")}`);
  return synthesis;
}

export type { SynthOptions, SynthResult } from "../cloud/synth-dir.js";

export interface ScalewaySynthOptions extends SynthOptions {
  /** Document options (e.g. one Public Gateway per VPC). */
  readonly scaleway?: ScalewayOptions;
}

/** Writes DIR (created if needed). */
export function synthToDirectory(topology: Topology, dir: string, options: ScalewaySynthOptions = {}): SynthResult {
  const synthesis = synthesizeValidated(topology, options.scaleway);
  return writeSynthDirectory(synthesis.document, topology.gateways.map((g) => g.name), dir, options);
}
