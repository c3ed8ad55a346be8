/**
 * The `aws` target of `wg-deploy` (seed 004 on WireGuard).
 *
 *     wg-deploy synth --target aws --topology aws-site-to-site --out DIR    main.tf.json + secrets + tarballs (offline)
 *     wg-deploy up    --target aws [-o dir=DIR] [-o gateway_ip_address=IP]  synth, then `tofu|terraform init` + `apply`
 *     wg-deploy down  --target aws [-o dir=DIR]                              `tofu|terraform destroy`
 *     wg-deploy output --target aws                                         `tofu|terraform output -json`
 *
 * `up`/`down`/`output` first check for AWS credentials where the provider looks for them
 * (AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, AWS_PROFILE, the shared credentials/config files, a web
 * identity token or a container credentials endpoint) and for a `tofu` or `terraform` on PATH: each
 * missing one is one clear sentence, and the command exits 1. Inputs of the configuration (the seed's
 * `gateway_ip_address`, `egress_routes`, …) go to `terraform.tfvars.json` from `-o name=value`.
 * A topology with Scaleway VPCs too (preset scaleway-aws) is one root module with both providers
 * (./scaleway-aws.ts): `up` then also needs the Scaleway credentials and `-o ssh_public_key=…`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { destroyIn, initAndApply, outputsOf, requireReady, type SynthTarget, synthOptions, terraformWorkDir } from "../cloud/terraform-target.js";
import type { TargetContext } from "../target.js";
import { missingBinaryMessage, terraformBinary } from "../terraform/run.js";
import { CREDENTIAL_VARIABLES } from "../scaleway/target.js";
import { gatewaysIn } from "../model/topology.js";
import { synthAwsToDirectory } from "./synth.js";

/** Where the AWS provider finds credentials that wg-deploy can see before running it. */
export function awsCredentialSource(env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (env["AWS_ACCESS_KEY_ID"] && env["AWS_SECRET_ACCESS_KEY"]) return "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY";
  if (env["AWS_PROFILE"]) return `profile ${env["AWS_PROFILE"]}`;
  if (env["AWS_WEB_IDENTITY_TOKEN_FILE"] && env["AWS_ROLE_ARN"]) return "web identity token";
  if (env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] || env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]) return "container credentials";
  const home = env["HOME"] ?? "/nonexistent";
  for (const file of [env["AWS_SHARED_CREDENTIALS_FILE"] ?? join(home, ".aws", "credentials"), env["AWS_CONFIG_FILE"] ?? join(home, ".aws", "config")]) {
    if (existsSync(file) && /^\s*\[(default|profile default)\]/m.test(readFileSync(file, "utf8"))) return `default profile in ${file}`;
  }
  return undefined;
}

/** Everything `up`/`down`/`output` need that is missing, one sentence each; empty = ready. */
export function awsMissingRequirements(env: Readonly<Record<string, string | undefined>>, alsoScaleway = false): { binary?: string; problems: string[] } {
  const problems: string[] = [];
  const scaleway = CREDENTIAL_VARIABLES.filter((name) => !env[name]);
  if (alsoScaleway && scaleway.length > 0) problems.push(`missing Scaleway credentials: ${scaleway.join(", ")} (the topology has a Scaleway VPC too)`);
  if (awsCredentialSource(env) === undefined) {
    problems.push(
      "no AWS credentials: export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or configure a default profile in ~/.aws/credentials (the AWS provider's usual sources)",
    );
  }
  const binary = terraformBinary(env);
  if (binary === undefined) problems.push(missingBinaryMessage("aws"));
  return { ...(binary !== undefined ? { binary } : {}), problems };
}

function ready(context: TargetContext, action: string): string {
  return requireReady("aws", action, awsMissingRequirements(context.io.env, gatewaysIn(context.topology, "scaleway").length > 0));
}

/** Options that are wg-deploy's own, not Terraform inputs. */
const OWN_OPTIONS = new Set(["dir", "artifact", "node_runtime"]);

/** `-o name=value` pairs that are Terraform inputs (lists as JSON: `-o 'egress_routes=["192.168.1.0/24"]'`). */
export function terraformInputs(options: Readonly<Record<string, string>>): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) {
    if (OWN_OPTIONS.has(name)) continue;
    inputs[name] = /^[[{]/.test(value) ? (JSON.parse(value) as unknown) : value;
  }
  return inputs;
}

/** The AWS target. */
export function awsTarget(): SynthTarget {
  return {
    name: "aws",
    description: "AWS: a WireGuard gateway EC2 instance in your VPC (seed 004 on WireGuard), Terraform JSON + cloud-init from the node plans",

    async synth(context, outDir, artifact) {
      return synthAwsToDirectory(context.topology, resolve(context.io.cwd, outDir), synthOptions(context, artifact, "aws"));
    },

    async up(context) {
      const binary = ready(context, "up");
      const dir = terraformWorkDir(context, "aws");
      await this.synth(context, dir, context.options["artifact"]);
      // The seed's inputs (gateway_ip_address, egress_routes, …).
      await initAndApply(context, binary, dir, "aws", terraformInputs(context.options));
      context.io.stderr("aws: deployed; `wg-deploy output --target aws remote_wireguard_config --show-secrets` prints the remote side's wg-quick file\n");
    },

    async down(context) {
      await destroyIn(context, ready(context, "down"), terraformWorkDir(context, "aws"), "aws");
    },

    async outputs(context) {
      return outputsOf(context, ready(context, "output"), terraformWorkDir(context, "aws"), "aws");
    },
  };
}
