/**
 * `wg-deploy synth --out DIR` for every Terraform target: writes what Terraform/OpenTofu needs.
 *
 *     DIR/main.tf.json            the configuration (deterministic; no secrets; validated before writing)
 *     DIR/wireguard.secrets.json  WireGuard keys, mode 0600, reused across runs (../terraform/secrets.ts)
 *     DIR/wg-ts.tgz               the wg-ts npm tarball the gateways install (../artifact/pack.ts)
 *     DIR/node-runtime.tgz        the Node.js runtime the gateways install (./node-runtime.ts)
 *     DIR/.gitignore              keeps state, secrets and the tarballs out of git
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Artifact, packWgTs, sha256Hex } from "../artifact/pack.js";
import { formatDocument, type TerraformDocument } from "../terraform/document.js";
import { ensureSecretsFile, SECRETS_FILE } from "../terraform/secrets.js";
import { buildNodeRuntime, NODE_RUNTIME_FILE, readNodeRuntime } from "./node-runtime.js";

export const MAIN_FILE = "main.tf.json";

/** File name of the wg-ts tarball next to main.tf.json. */
export const ARTIFACT_FILE = "wg-ts.tgz";

export interface SynthOptions {
  /** Use this tarball instead of packing the workspace (e.g. a CI build). */
  readonly artifact?: string;
  /**
   * Use this Node.js runtime tarball (one ../cloud/node-runtime.ts built). Without it, DIR's existing
   * node-runtime.tgz is kept, else one is built from the npm registry.
   */
  readonly nodeRuntime?: string;
  /** Progress messages. */
  readonly log?: (line: string) => void;
}

export interface SynthResult {
  readonly dir: string;
  readonly mainFile: string;
  readonly secretsFile: string;
  readonly artifact: Artifact;
  readonly nodeRuntime: Artifact;
}

const GITIGNORE = ["# written by wg-deploy synth", "*", ""].join("\n");

/** Writes `document` and everything it needs into DIR (created if needed); keys for `gateways`. */
export function writeSynthDirectory(document: TerraformDocument, gateways: readonly string[], dir: string, options: SynthOptions = {}): SynthResult {
  const log = options.log ?? (() => {});
  if (options.artifact !== undefined) checkGzip(options.artifact, "--artifact", "wg-ts.tgz from `wg-deploy pack`");
  if (options.nodeRuntime !== undefined) checkGzip(options.nodeRuntime, "--node-runtime", "node-runtime.tgz");
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const mainFile = join(out, MAIN_FILE);
  writeFileSync(mainFile, formatDocument(document));
  log(`wrote ${mainFile}`);
  const secretsFile = join(out, SECRETS_FILE);
  ensureSecretsFile(secretsFile, gateways);
  log(`wrote ${secretsFile} (0600; pass it with -var-file)`);
  const artifactFile = join(out, ARTIFACT_FILE);
  let artifact: Artifact;
  if (options.artifact !== undefined) {
    if (resolve(options.artifact) !== artifactFile) copyFileSync(options.artifact, artifactFile);
    const bytes = readFileSync(artifactFile);
    artifact = { path: artifactFile, sha256: sha256Hex(bytes), bytes: bytes.length };
  } else {
    artifact = packWgTs(artifactFile);
  }
  log(`wrote ${artifactFile} (${artifact.bytes} bytes, sha256 ${artifact.sha256})`);
  const runtimeFile = join(out, NODE_RUNTIME_FILE);
  if (options.nodeRuntime !== undefined && resolve(options.nodeRuntime) !== runtimeFile) copyFileSync(options.nodeRuntime, runtimeFile);
  const present = existsSync(runtimeFile);
  const nodeRuntime = present ? readNodeRuntime(runtimeFile) : buildNodeRuntime(runtimeFile, { log });
  log(`${present ? "using" : "built"} ${runtimeFile} (${nodeRuntime.bytes} bytes, sha256 ${nodeRuntime.sha256})`);
  if (!existsSync(join(out, ".gitignore"))) writeFileSync(join(out, ".gitignore"), GITIGNORE);
  return { dir: out, mainFile, secretsFile, artifact, nodeRuntime };
}

/** A given tarball must be one (gzip magic 1f 8b): anything else is refused before DIR is written. */
function checkGzip(file: string, option: string, what: string): void {
  let head: Buffer;
  try {
    head = readFileSync(file).subarray(0, 2);
  } catch (e) {
    throw new Error(`${option} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (head.length < 2 || head[0] !== 0x1f || head[1] !== 0x8b) throw new Error(`${option} ${file}: not a gzip tarball (expected the ${what})`);
}
