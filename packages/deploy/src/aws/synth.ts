/**
 * `wg-deploy synth --target aws --out DIR`: main.tf.json (validated against the provider-doc schemas
 * before it is written), wireguard.secrets.json (0600), wg-ts.tgz, node-runtime.tgz, .gitignore —
 * the directory step every Terraform target shares (../cloud/synth-dir.ts).
 */
import { writeSynthDirectory, type SynthOptions, type SynthResult } from "../cloud/synth-dir.js";
import { gatewaysIn, type Topology } from "../model/topology.js";
import { planTopology } from "../plan/plan.js";
import type { NodePlan } from "../plan/types.js";
import { SCALEWAY_PLAN_OPTIONS } from "../scaleway/synth.js";
import { validateDocument } from "../terraform/validate.js";
import { synthesizeScalewayAws, type ScalewayAwsSynthesis } from "./scaleway-aws.js";
import { synthesizeAws, type AwsSynthesis } from "./stack.js";

/** The node plans the AWS target renders: the cloud's (`wg0`, restarted through wg-ts@wg0). */
export function awsPlans(topology: Topology): Map<string, NodePlan> {
  return planTopology(topology, SCALEWAY_PLAN_OPTIONS);
}

/**
 * Plans + synthesizes + validates; throws listing every problem if the document is invalid. A
 * topology with Scaleway VPCs too (preset scaleway-aws) becomes one root module with both providers.
 */
export function synthesizeAwsValidated(topology: Topology): AwsSynthesis | ScalewayAwsSynthesis {
  const synthesis = gatewaysIn(topology, "scaleway").length > 0 ? synthesizeScalewayAws(topology, awsPlans(topology)) : synthesizeAws(topology, awsPlans(topology));
  const problems = validateDocument(synthesis.document);
  if (problems.length > 0) throw new Error(`generated main.tf.json is invalid:\n  ${problems.join("\n  ")}`);
  return synthesis;
}

/** Writes DIR (created if needed); keys for every gateway of the topology (the customer's too: see stack.ts). */
export function synthAwsToDirectory(topology: Topology, dir: string, options: SynthOptions = {}): SynthResult {
  const synthesis = synthesizeAwsValidated(topology);
  return writeSynthDirectory(synthesis.document, topology.gateways.map((g) => g.name), dir, options);
}
