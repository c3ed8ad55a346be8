/**
 * What every Terraform target's synthesis yields: the document (`main.tf.json`) and each instance's
 * cloud-init; the Terraform version every generated document needs; the check every document
 * passes before it is written.
 */
import type { TerraformDocument } from "../terraform/document.js";
import { validateDocument } from "../terraform/validate.js";

/**
 * terraform >= 1.5 and OpenTofu (which reports 1.6+) both accept this: `lifecycle.precondition`
 * needs >= 1.2, the rest >= 1.5.
 */
export const TERRAFORM_REQUIRED_VERSION = ">= 1.5.0";

/** The generated document plus what tests and tooling want to look at. */
export interface CloudSynthesis {
  readonly document: TerraformDocument;
  /** Instance name -> its cloud-init (a Terraform template string). */
  readonly userData: ReadonlyMap<string, string>;
}

/** `synthesis`, once its document passes the provider-doc schemas and reference checks; else an error listing every problem. */
export function validated<T extends CloudSynthesis>(synthesis: T): T {
  const problems = validateDocument(synthesis.document);
  if (problems.length > 0) throw new Error(`generated main.tf.json is invalid:\n  ${problems.join("\n  ")}`);
  return synthesis;
}
