/**
 * Helpers shared by the Terraform targets' tests (scaleway*.test.ts, aws*.test.ts): reading a
 * generated document and the secrets synth wrote, running `wg-deploy` through its command table
 * with a controlled environment, and a stand-in `tofu` that records how it is called (no network,
 * no cloud).
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { main } from "../../src/cli.js";
import type { DeployIo } from "../../src/target.js";
import type { TerraformDocument } from "../../src/terraform/document.js";
import { SECRETS_FILE, type WireGuardSecrets } from "../../src/terraform/secrets.js";

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

/** The WireGuard keys synth wrote into `dir` (wireguard.secrets.json). */
export function readSecrets(dir: string): WireGuardSecrets {
  return JSON.parse(readFileSync(join(dir, SECRETS_FILE), "utf8")) as WireGuardSecrets;
}

/** The value of a `var.wireguard_private_keys["NAME"]` or `var.wireguard_public_keys["NAME"]` interpolation ("" for an unknown name); undefined for other expressions. */
export function keyInterpolation(secrets: WireGuardSecrets, expression: string): string | undefined {
  const m = /^var\.wireguard_(private|public)_keys\["([^"]+)"\]$/.exec(expression);
  if (!m) return undefined;
  const keys = m[1] === "private" ? secrets.wireguard_private_keys : secrets.wireguard_public_keys;
  return keys[m[2] as string] ?? "";
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

/**
 * A scratch dir (temporary, named `<prefix>…`) with an empty PATH dir, a stand-in wg-ts tarball and a
 * stand-in Node.js runtime tarball (the real one is ~48 MB from the npm registry; cloud/node-runtime.ts).
 */
export function cliScratch(prefix: string): { dir: string; emptyPath: string; artifact: string; runtime: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const emptyPath = join(dir, "empty-bin");
  mkdirSync(emptyPath);
  const artifact = join(dir, "prebuilt.tgz");
  writeFileSync(artifact, gzipSync("not really a tarball: the stand-in tofu never uploads it\n")); // gzip, as synth checks
  const runtime = join(dir, "node-runtime.tgz");
  mkdirSync(join(dir, "rt", "node-v24.0.0-linux-x64", "bin"), { recursive: true });
  writeFileSync(join(dir, "rt", "node-v24.0.0-linux-x64", "bin", "node"), "#!/bin/sh\necho v24.0.0\n", { mode: 0o755 });
  execFileSync("tar", ["-czf", runtime, "-C", join(dir, "rt"), "node-v24.0.0-linux-x64"]);
  return { dir, emptyPath, artifact, runtime };
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
