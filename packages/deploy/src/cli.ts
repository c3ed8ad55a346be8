/**
 * `wg-deploy`: the command table. Targets (`--target lab|scaleway`) and topologies
 * (`--topology hub-spoke|…`) are registries: adding one is one `register` line in
 * `registerEverything` below; extra command groups are one `addCommand` line in `buildProgram`.
 *
 *     wg-deploy up|down            [--target T] [--topology P] [-o key=value …]
 *     wg-deploy output [NAME] [--json] [--show-secrets]
 *     wg-deploy status | diagram | restart HOST | exec HOST -- COMMAND…
 *     wg-deploy plan [NODE] [--json]      the node plans (placeholders unresolved)
 *     wg-deploy targets | topologies
 *     wg-deploy pack [--out DIR]          DIR/wg-ts-<version>.tgz: npm install -g FILE, offline
 *     wg-deploy simulate [--topology P] [--hours H] [--seed S] [--loss P] …   the network in virtual time
 *
 * `main` never touches `process` except through the `DeployIo` it is given (default: the real one).
 */
import { Command, CommanderError, Option } from "commander";
import { packCommand } from "./artifact/command.js";
import { awsTarget } from "./aws/target.js";
import { labTarget } from "./lab/target.js";
import { meshCommand } from "./mesh/command.js";
import { hubSpokeTopology } from "./model/reference.js";
import { formatOutputs, redactOutputs } from "./outputs.js";
import { describePlaceholder, renderTemplate } from "./plan/render.js";
import { planTopology } from "./plan/plan.js";
import { createRegistries, type Registry } from "./registry.js";
import { scalewayTarget, synthCommand } from "./scaleway/target.js";
import { simulateCommand } from "./simulate/command.js";
import { AWS_PRESETS, MESH_PRESETS } from "./topologies/index.js";
import type { DeployIo, Target, TargetContext, TopologyPreset } from "./target.js";

export const DEFAULT_TARGET = "lab";
export const DEFAULT_TOPOLOGY = "hub-spoke";

interface Registries {
  targets: Registry<Target>;
  topologies: Registry<TopologyPreset>;
}

/** Every target and topology preset `wg-deploy` knows: one line each. */
function registerEverything({ targets, topologies }: Registries): void {
  targets.register(labTarget());
  targets.register(scalewayTarget());
  targets.register(awsTarget());
  topologies.register({ name: "hub-spoke", description: "seed 000: Scaleway hub and two spokes (docs/topology.md)", build: hubSpokeTopology });
  for (const preset of [...MESH_PRESETS, ...AWS_PRESETS]) topologies.register(preset);
}

interface TargetOptions {
  target?: string;
  topology?: string;
  option?: string[];
}

/** Adds `--target`, `--topology` and `-o key=value` to a command. */
function withTargetOptions(command: Command, io: DeployIo): Command {
  return command
    .addOption(new Option("-t, --target <name>", "where to deploy").default(io.env["WG_DEPLOY_TARGET"] ?? DEFAULT_TARGET))
    // No commander default: "not given" must stay visible (the lab then acts on the topology it runs).
    .addOption(new Option("-p, --topology <name>", `which topology preset (default: WG_DEPLOY_TOPOLOGY or ${DEFAULT_TOPOLOGY}; lab commands other than up: the one running)`))
    .addOption(new Option("-o, --option <key=value>", "target-specific setting (repeatable)").argParser(collect).default([]));
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function parseKeyValues(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new Error(`--option "${pair}": expected key=value`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** Builds the commander program over `registries`, writing through `io`. */
export function buildProgram(io: DeployIo, registries: Registries): Command {
  const resolveTarget = (options: TargetOptions): { target: Target; context: TargetContext } => {
    const target = registries.targets.get(options.target ?? DEFAULT_TARGET);
    const chosen = options.topology ?? io.env["WG_DEPLOY_TOPOLOGY"];
    const preset = registries.topologies.get(chosen ?? DEFAULT_TOPOLOGY);
    return {
      target,
      context: {
        io,
        topologyName: preset.name,
        topology: preset.build(),
        topologyChosen: chosen !== undefined,
        topologyNamed: (name) => registries.topologies.get(name).build(),
        options: parseKeyValues(options.option ?? []),
      },
    };
  };
  const unsupported = (target: Target, what: string): never => {
    throw new Error(`target ${target.name} does not support "${what}"`);
  };

  const program = new Command("wg-deploy")
    .description("Deploy the WireGuard hub-and-spoke network: local namespace lab or Scaleway")
    .enablePositionalOptions()
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .exitOverride();

  withTargetOptions(program.command("up").description("build the network (idempotent; rolls back on failure)"), io).action(
    async (options: TargetOptions) => {
      const { target, context } = resolveTarget(options);
      await target.up(context);
    },
  );
  withTargetOptions(program.command("down").description("remove everything `up` made (idempotent)"), io).action(
    async (options: TargetOptions) => {
      const { target, context } = resolveTarget(options);
      await target.down(context);
    },
  );
  withTargetOptions(
    program
      .command("output")
      .argument("[name]", "one output only")
      .description("print the outputs (secrets only with --json or --show-secrets)")
      .option("--json", "JSON, secrets included (like `terraform output -json`)")
      .option("--show-secrets", "print sensitive values in the text form too"),
    io,
  ).action(async (name: string | undefined, options: TargetOptions & { json?: boolean; showSecrets?: boolean }) => {
    const { target, context } = resolveTarget(options);
    const outputs = await target.outputs(context);
    const shown: Record<string, unknown> = options.json || options.showSecrets ? { ...outputs } : redactOutputs(outputs);
    let selected: Record<string, unknown> = shown;
    if (name !== undefined) {
      if (!(name in shown)) throw new Error(`no output named "${name}" (known: ${Object.keys(shown).join(", ")})`);
      selected = { [name]: shown[name] };
    }
    if (options.json) io.stdout(`${JSON.stringify(name !== undefined ? selected[name] : selected, null, 2)}\n`);
    else io.stdout(formatOutputs(selected));
  });
  withTargetOptions(program.command("status").description("each gateway's peers, handshakes and transfer"), io).action(
    async (options: TargetOptions) => {
      const { target, context } = resolveTarget(options);
      io.stdout(await (target.status ?? unsupported(target, "status")).call(target, context));
    },
  );
  withTargetOptions(program.command("diagram").description("text diagram of the deployed topology"), io).action(
    async (options: TargetOptions) => {
      const { target, context } = resolveTarget(options);
      io.stdout(await (target.diagram ?? unsupported(target, "diagram")).call(target, context));
    },
  );
  withTargetOptions(program.command("restart").argument("<host>", "gateway name").description("restart a gateway's tunnel"), io).action(
    async (host: string, options: TargetOptions) => {
      const { target, context } = resolveTarget(options);
      await (target.restart ?? unsupported(target, "restart")).call(target, context, host);
    },
  );
  withTargetOptions(
    program
      .command("exec")
      .argument("<host>", "node name")
      .argument("<command...>", "command and arguments (after --)")
      .description("run a command on a node, e.g. `wg-deploy exec postgres-client -- dbconnect -c 'select 1'`")
      .passThroughOptions(),
    io,
  ).action(async (host: string, command: string[], options: TargetOptions) => {
    const { target, context } = resolveTarget(options);
    const argv = command[0] === "--" ? command.slice(1) : command;
    if (argv.length === 0) throw new Error("exec: no command given (wg-deploy exec HOST -- COMMAND…)");
    const status = await (target.exec ?? unsupported(target, "exec")).call(target, context, host, argv);
    if (status !== 0) throw new ExitStatus(status);
  });
  program
    .command("plan")
    .argument("[node]", "one node only")
    .option("-p, --topology <name>", "which topology preset", io.env["WG_DEPLOY_TOPOLOGY"] ?? DEFAULT_TOPOLOGY)
    .option("--json", "the NodePlan objects as JSON")
    .description("print the node plans with placeholders unresolved (<kind:node>)")
    .action((node: string | undefined, options: { topology: string; json?: boolean }) => {
      const plans = [...planTopology(registries.topologies.get(options.topology).build()).values()].filter(
        (p) => node === undefined || p.node === node,
      );
      if (node !== undefined && plans.length === 0) throw new Error(`no node named "${node}"`);
      if (options.json) {
        io.stdout(`${JSON.stringify(plans, null, 2)}\n`);
        return;
      }
      for (const plan of plans) {
        io.stdout(`## ${plan.node} (${plan.kind})\n`);
        for (const i of plan.interfaces) io.stdout(`interface ${i.network} ${i.address}\n`);
        for (const [k, v] of Object.entries(plan.sysctls)) io.stdout(`sysctl ${k}=${v}\n`);
        for (const r of plan.routes) io.stdout(`route ${typeof r.to === "string" ? r.to : describePlaceholder(r.to)} (${r.reason})\n`);
        for (const f of plan.files) {
          io.stdout(`--- ${f.path} (${f.mode.toString(8)}: ${f.description})\n${renderTemplate(f.content, describePlaceholder)}`);
        }
        if (plan.nftables) io.stdout(`--- nftables\n${plan.nftables}`);
        io.stdout("\n");
      }
    });
  program
    .command("targets")
    .description("list deployment targets")
    .action(() => io.stdout(registries.targets.entries().map((t) => `${t.name}\t${t.description}\n`).join("")));
  program
    .command("topologies")
    .description("list topology presets")
    .action(() => io.stdout(registries.topologies.entries().map((t) => `${t.name}\t${t.description}\n`).join("")));

  // Extra command groups: one line each, e.g. program.addCommand(meshCommand());
  program.addCommand(meshCommand(io));
  program.addCommand(synthCommand(io, registries));
  program.addCommand(packCommand(io));
  program.addCommand(simulateCommand(io, registries));

  return program;
}

/** A non-zero exit status to return without printing an error (from `exec`). */
class ExitStatus extends Error {
  constructor(readonly status: number) {
    super(`exit status ${status}`);
  }
}

function processIo(): DeployIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
  };
}

/**
 * pnpm keeps a literal `--` when forwarding script arguments (`pnpm run deploy -- --target x`
 * runs `wg-deploy up -- --target x`): drop a standalone `--` right after the subcommand.
 */
export function normalizeArgv(args: readonly string[]): string[] {
  const out = [...args];
  if (out[1] === "--" && out[0] !== undefined && !out[0].startsWith("-")) out.splice(1, 1);
  return out;
}

/** Entry point. `argv` is `process.argv` (node, script, args…). Returns the exit status. */
export async function main(argv: string[], io: DeployIo = processIo()): Promise<number> {
  const registries = createRegistries();
  registerEverything(registries);
  const program = buildProgram(io, registries);
  try {
    await program.parseAsync(normalizeArgv(argv.slice(2)), { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof ExitStatus) return error.status;
    if (error instanceof CommanderError) return error.exitCode;
    io.stderr(`wg-deploy: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
