/**
 * What every Terraform target (scaleway, aws) does the same way around tofu/terraform: where its
 * directory is, the synth options taken from the command line, and `up`'s init + apply, `down`'s
 * destroy and `output`'s `output -json` in that directory, each refusing with one sentence when the
 * requirements are missing or nothing was synthesized there.
 */
import { existsSync, writeFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import type { Outputs } from "../outputs.js";
import type { Target, TargetContext } from "../target.js";
import { runTerraform, terraformOutputs } from "../terraform/run.js";
import { SECRETS_FILE } from "../terraform/secrets.js";
import { MAIN_FILE, type SynthOptions, type SynthResult } from "./synth-dir.js";

/** A target that can also write its configuration without deploying it. */
export interface SynthTarget extends Target {
  synth(context: TargetContext, outDir: string, artifact?: string): Promise<SynthResult>;
}

export function isSynthTarget(target: Target): target is SynthTarget {
  return typeof (target as Partial<SynthTarget>).synth === "function";
}

/** The binary, or an error `<target> <action>: <every problem>`. */
export function requireReady(target: string, action: string, requirements: { binary?: string; problems: readonly string[] }): string {
  const { binary, problems } = requirements;
  if (problems.length > 0 || binary === undefined) throw new Error(`${target} ${action}: ${problems.join("; ")}`);
  return binary;
}

/** The target's directory: `-o dir=DIR`, default `out/<target>/<topology>`, relative to the working directory. */
export function terraformWorkDir(context: TargetContext, target: string): string {
  const dir = context.options["dir"] ?? join("out", target, context.topologyName);
  return isAbsolute(dir) ? dir : resolve(context.io.cwd, dir);
}

/** Synth options from the command line: `--artifact`, `-o node_runtime=FILE` (both relative to the working directory); progress on stderr. */
export function synthOptions(context: TargetContext, artifact: string | undefined, target: string): SynthOptions {
  const nodeRuntime = context.options["node_runtime"];
  return {
    ...(artifact !== undefined ? { artifact: resolve(context.io.cwd, artifact) } : {}),
    ...(nodeRuntime !== undefined ? { nodeRuntime: resolve(context.io.cwd, nodeRuntime) } : {}),
    log: (line) => context.io.stderr(`${target}: ${line}\n`),
  };
}

/** Writes `terraform.tfvars.json` (not secret: auto-loaded by terraform and tofu), then `init` and `apply` with the secrets file. */
export async function initAndApply(context: TargetContext, binary: string, dir: string, target: string, tfvars: Readonly<Record<string, unknown>>): Promise<void> {
  writeFileSync(join(dir, "terraform.tfvars.json"), JSON.stringify(tfvars, null, 2) + "\n");
  await runTerraform(context.io, binary, ["init", "-input=false"], dir, false, target);
  await runTerraform(context.io, binary, ["apply", "-input=false", "-auto-approve", `-var-file=${SECRETS_FILE}`], dir, false, target);
}

/** `destroy` in `dir`; nothing (a note on stderr) when nothing was synthesized there. */
export async function destroyIn(context: TargetContext, binary: string, dir: string, target: string): Promise<void> {
  if (!existsSync(join(dir, MAIN_FILE))) {
    context.io.stderr(`${target}: nothing to destroy (${join(dir, MAIN_FILE)} does not exist)\n`);
    return;
  }
  await runTerraform(context.io, binary, ["destroy", "-input=false", "-auto-approve", `-var-file=${SECRETS_FILE}`], dir, false, target);
}

/** `output -json` of `dir`; an error when nothing was deployed from it. */
export async function outputsOf(context: TargetContext, binary: string, dir: string, target: string): Promise<Outputs> {
  if (!existsSync(join(dir, MAIN_FILE))) throw new Error(`${target}: nothing deployed from ${dir} (no ${MAIN_FILE}); run \`wg-deploy up --target ${target}\``);
  return (await terraformOutputs(context.io, binary, dir, target)) as unknown as Outputs;
}
