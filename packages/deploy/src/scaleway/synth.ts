/**
 * `wg-deploy synth --target scaleway --out DIR`: writes everything Terraform/OpenTofu needs into DIR.
 *
 *     DIR/main.tf.json            the configuration (deterministic; no secrets; validated before writing)
 *     DIR/wireguard.secrets.json  WireGuard keys, mode 0600, reused across runs (../terraform/secrets.ts)
 *     DIR/wg-ts.tgz               the wg-ts npm tarball the gateways install (../artifact/pack.ts)
 *     DIR/node-runtime.tgz        Node.js 24 + npm for the gateways (../cloud/node-runtime.ts), reused across runs
 *     DIR/.gitignore              keeps state, secrets and the tarball out of git
 *
 * The directory is written by the step every Terraform target shares (../cloud/synth-dir.ts).
 */
import { type SynthOptions, type SynthResult, writeSynthDirectory } from "../cloud/synth-dir.js";
import type { Topology } from "../model/topology.js";
import { cloudPlans } from "../cloud/plans.js";
import { validated } from "../cloud/synthesis.js";
import { synthesizeScaleway, type ScalewayOptions, type ScalewaySynthesis } from "./stack.js";

/** Plans + synthesizes + validates; throws listing every problem if the document is invalid. */
export function synthesizeValidated(topology: Topology, options: ScalewayOptions = {}): ScalewaySynthesis {
  return validated(synthesizeScaleway(topology, cloudPlans(topology), options));
}

export interface ScalewaySynthOptions extends SynthOptions {
  /** Document options (e.g. one Public Gateway per VPC). */
  readonly scaleway?: ScalewayOptions;
}

/** Writes DIR (created if needed). */
export function synthToDirectory(topology: Topology, dir: string, options: ScalewaySynthOptions = {}): SynthResult {
  const synthesis = synthesizeValidated(topology, options.scaleway);
  return writeSynthDirectory(synthesis.document, topology.gateways.map((g) => g.name), dir, options);
}
