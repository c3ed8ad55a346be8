/**
 * Helpers shared by the Terraform targets' tests (scaleway*.test.ts, aws*.test.ts): reading a
 * generated document, running `wg-deploy` through its command table with a controlled environment,
 * and a stand-in `tofu` that records how it is called (no network, no cloud).
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { main } from "../../src/cli.js";
import type { DeployIo } from "../../src/target.js";
import type { TerraformDocument } from "../../src/terraform/document.js";

export type Body = Record<string, unknown>;

/** Typed lookups into a generated main.tf.json. */
export function documentAccess(doc: TerraformDocument): {
  resources: (type: string) => [string, Body][];
  body: (type: string, name: string) => Body;
  clone: () => TerraformDocument;
} {
  return {
    resources: (type) => Object.entries((doc.resource[type] ?? {}) as Record<string, Body>),
    body: (type, name) => {
      const found = doc.resource[type]?.[name] as Body | undefined;
      if (!found) throw new Error(`no ${type}.${name}`);
      return found;
    },
    clone: () => JSON.parse(JSON.stringify(doc)) as TerraformDocument,
  };
}

export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** `wg-deploy ARGS` through `main`, with `env` as the whole environment and `cwd` as the current directory. */
export async function runCli(args: string[], env: Record<string, string>, cwd: string): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const io: DeployIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, cwd };
  const status = await main(["node", "wg-deploy", ...args], io);
  return { status, stdout, stderr };
}

/** A `tofu` in DIR/fake-bin that appends "$PWD: $*" to DIR/tofu.log and succeeds; `output` prints `outputJson`. */
export function fakeTofu(dir: string, outputJson: string): { bin: string; log: string } {
  const bin = join(dir, "fake-bin");
  mkdirSync(bin);
  const log = join(dir, "tofu.log");
  writeFileSync(join(bin, "tofu"), `#!/bin/sh\necho "$PWD: $*" >> '${log}'\nif [ "$1" = output ]; then echo '${outputJson}'; fi\nexit 0\n`);
  chmodSync(join(bin, "tofu"), 0o755);
  return { bin, log };
}
