/**
 * Running tofu/terraform for every Terraform target: which binary (OpenTofu preferred), and one
 * subcommand in the synthesized directory with its output streamed to the user.
 */
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import type { DeployIo } from "../target.js";

/** Binaries tried in order. */
export const TERRAFORM_BINARIES = ["tofu", "terraform"] as const;

/** The first of `names` that is an executable file in `path` (a PATH string), or undefined. */
export function findExecutable(names: readonly string[], path: string | undefined): string | undefined {
  for (const name of names) {
    for (const dir of (path ?? "").split(delimiter).filter((d) => d !== "")) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** WG_DEPLOY_TERRAFORM, else `tofu` or `terraform` on PATH. */
export function terraformBinary(env: Readonly<Record<string, string | undefined>>): string | undefined {
  return env["WG_DEPLOY_TERRAFORM"] ?? findExecutable(TERRAFORM_BINARIES, env["PATH"]);
}

/** The sentence for a missing binary, naming the offline alternative. */
export function missingBinaryMessage(target: string): string {
  return `neither \`tofu\` nor \`terraform\` is on PATH (install OpenTofu >= 1.6 or Terraform >= 1.5); \`wg-deploy synth --target ${target} --out DIR\` still writes the configuration`;
}

/** Runs the binary in `dir`, streaming its output to `io.stderr` (prefixed by `target`); rejects on a non-zero exit. */
export function runTerraform(io: DeployIo, binary: string, args: string[], dir: string, capture = false, target = "scaleway"): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    io.stderr(`${target}: ${binary} ${args.join(" ")}\n`);
    const child = spawn(binary, args, { cwd: dir, env: { ...io.env, TF_IN_AUTOMATION: "1" } as NodeJS.ProcessEnv });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (capture ? (stdout += chunk.toString()) : io.stderr(chunk.toString())));
    child.stderr.on("data", (chunk: Buffer) => io.stderr(chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolvePromise(stdout) : reject(new Error(`${binary} ${args[0]} failed with status ${code}`))));
  });
}

/** `output -json` in `dir`, as name -> value (secrets included: callers redact). */
export async function terraformOutputs(io: DeployIo, binary: string, dir: string, target: string): Promise<Record<string, unknown>> {
  const json = await runTerraform(io, binary, ["output", "-json"], dir, true, target);
  const raw = JSON.parse(json) as Record<string, { value: unknown }>;
  return Object.fromEntries(Object.entries(raw).map(([name, { value }]) => [name, value]));
}
