/**
 * `wg-deploy synth --target aws --out DIR`: main.tf.json (validated against the provider-doc schemas
 * before it is written), wireguard.secrets.json (0600), wg-ts.tgz, node-runtime.tgz, .gitignore —
 * the directory step every Terraform target shares (../cloud/synth-dir.ts).
 */
import { writeSynthDirectory, type SynthOptions, type SynthResult } from "../cloud/synth-dir.js";
import { gatewaysIn, type Topology } from "../model/topology.js";
import { cloudPlans } from "../cloud/plans.js";
import { validated } from "../cloud/synthesis.js";
import { synthesizeScalewayAws } from "./scaleway-aws.js";
import { synthesizeAws, type AwsSynthesis } from "./stack.js";

/**
 * Plans + synthesizes + validates; throws listing every problem if the document is invalid. A
 * topology with Scaleway VPCs too (preset scaleway-aws) becomes one root module with both providers.
 */
export function synthesizeAwsValidated(topology: Topology): AwsSynthesis {
  return validated(gatewaysIn(topology, "scaleway").length > 0 ? synthesizeScalewayAws(topology, cloudPlans(topology)) : synthesizeAws(topology, cloudPlans(topology)));
}

/** Writes DIR (created if needed); keys for every gateway of the topology (the customer's too: see customer.ts). */
export function synthAwsToDirectory(topology: Topology, dir: string, options: SynthOptions = {}): SynthResult {
  const synthesis = synthesizeAwsValidated(topology);
  return writeSynthDirectory(synthesis.document, topology.gateways.map((g) => g.name), dir, options);
}
