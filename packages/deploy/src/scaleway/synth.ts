/**
 * `wg-deploy synth --target scaleway --out DIR`: writes everything Terraform/OpenTofu needs into DIR.
 *
 *     DIR/main.tf.json            the configuration (deterministic; no secrets; validated before writing)
 *     DIR/wireguard.secrets.json  WireGuard keys, mode 0600, reused across runs (./secrets.ts)
 *     DIR/wg-ts.tgz               the wg-ts npm tarball the gateways install (../artifact/pack.ts)
 *     DIR/.gitignore              keeps state, secrets and the tarball out of git
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Artifact, packWgTs, sha256Hex } from "../artifact/pack.js";
import type { Topology } from "../model/topology.js";
import { planTopology } from "../plan/plan.js";
import type { NodePlan, PlanOptions } from "../plan/types.js";
import { ensureSecretsFile, SECRETS_FILE } from "./secrets.js";
import { ARTIFACT_FILE, synthesizeScaleway, type ScalewaySynthesis } from "./stack.js";
import { formatDocument } from "./terraform.js";
import { validateDocument } from "./validate.js";

/** Cloud plan options: `wg0` on every gateway, restarted through the wg-ts systemd unit. */
export const SCALEWAY_PLAN_OPTIONS: PlanOptions = {
  wireguardInterfaceName: () => "wg0",
  restartTunnelCommand: ({ interfaceName }) => `systemctl restart wg-ts@${interfaceName}`,
};

export const MAIN_FILE = "main.tf.json";

/** The node plans the Scaleway target renders (the lab plans the same topology with its own names). */
export function scalewayPlans(topology: Topology): Map<string, NodePlan> {
  return planTopology(topology, SCALEWAY_PLAN_OPTIONS);
}

/** Plans + synthesizes + validates; throws listing every problem if the document is invalid. */
export function synthesizeValidated(topology: Topology): ScalewaySynthesis {
  const synthesis = synthesizeScaleway(topology, scalewayPlans(topology));
  const problems = validateDocument(synthesis.document);
  if (problems.length > 0) throw new Error(`generated main.tf.json is invalid:\n  ${problems.join("\n  ")}`);
  return synthesis;
}

export interface SynthOptions {
  /** Use this tarball instead of packing the workspace (e.g. a CI build). */
  readonly artifact?: string;
  /** Progress messages. */
  readonly log?: (line: string) => void;
}

export interface SynthResult {
  readonly dir: string;
  readonly mainFile: string;
  readonly secretsFile: string;
  readonly artifact: Artifact;
}

const GITIGNORE = ["# written by wg-deploy synth", "*", ""].join("\n");

/** Writes DIR (created if needed). */
export function synthToDirectory(topology: Topology, dir: string, options: SynthOptions = {}): SynthResult {
  const log = options.log ?? (() => {});
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const synthesis = synthesizeValidated(topology);
  const mainFile = join(out, MAIN_FILE);
  writeFileSync(mainFile, formatDocument(synthesis.document));
  log(`wrote ${mainFile}`);
  const secretsFile = join(out, SECRETS_FILE);
  ensureSecretsFile(secretsFile, topology.gateways.map((g) => g.name));
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
  if (!existsSync(join(out, ".gitignore"))) writeFileSync(join(out, ".gitignore"), GITIGNORE);
  return { dir: out, mainFile, secretsFile, artifact };
}
