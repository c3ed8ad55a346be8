/**
 * The `lab` target: the topology built from network namespaces on this machine (root needed).
 * Settings: state dir WG_DEPLOY_LAB_DIR (default /run/wg-ts-lab); WireGuard implementation
 * `-o wireguard=wg-ts|wireguard-go` or WG_DEPLOY_WIREGUARD (default wg-ts).
 */
import { computeOutputs } from "../outputs.js";
import type { Target, TargetContext } from "../target.js";
import { renderDiagram } from "./diagram.js";
import { Lab } from "./lab.js";
import { readLabOwner } from "./owner.js";
import { labStateDir, readRecord } from "./state.js";

export const DEFAULT_WIREGUARD = "wg-ts";

/**
 * The lab for a command: the implementation recorded by `up` wins over the default. Without a chosen
 * topology, commands other than `up` act on the lab that is running (its topology and state dir, see
 * ./owner.ts), so `wg-deploy down` takes down whichever preset is up.
 */
async function labFor(context: TargetContext, command: "up" | "other" = "other"): Promise<Lab> {
  let stateDir = labStateDir(context.io.env);
  const owner = command === "up" || context.topologyChosen !== false ? undefined : await readLabOwner();
  if (owner !== undefined && context.topologyNamed !== undefined && (owner.topology !== context.topologyName || owner.stateDir !== stateDir)) {
    context.io.stderr(`the lab running here is topology ${owner.topology} (state dir ${owner.stateDir}): acting on it\n`);
    context = { ...context, topologyName: owner.topology, topology: context.topologyNamed(owner.topology) };
    stateDir = owner.stateDir;
  }
  let recorded: string | undefined;
  try {
    recorded = readRecord(stateDir)?.wireguard;
  } catch {
    recorded = undefined; // corrupt lab.json: `down` still works, other commands report it
  }
  const wireguard = context.options["wireguard"] ?? context.io.env["WG_DEPLOY_WIREGUARD"] ?? recorded ?? DEFAULT_WIREGUARD;
  return new Lab({ topologyName: context.topologyName, topology: context.topology, io: context.io, stateDir, wireguard });
}

export function labTarget(): Target {
  return {
    name: "lab",
    description: "network namespaces on this machine (root); WireGuard by wg-ts (-o wireguard=wireguard-go for the reference)",
    up: async (context) => (await labFor(context, "up")).up(),
    down: async (context) => (await labFor(context)).down(),
    outputs: async (context) => {
      const lab = await labFor(context);
      if (readRecord(lab.layout.stateDir)?.status !== "up") throw new Error("the lab is not up; run `wg-deploy up`");
      return computeOutputs(lab.topology, {
        publicIp: (node) => lab.layout.publicIps.get(node) ?? "",
        databasePassword: lab.secrets.databasePassword,
        // The lab has no sshd: the equivalent of `ssh -J <bastion>:61000 root@<ip>` is a shell in the namespace.
        sshCommand: (node) => `wg-deploy exec ${node} -- bash`,
        statusCommand: (gateway) => `wg-deploy exec ${gateway} -- wg show ${lab.plan(gateway).wireguard?.interfaceName ?? ""}`,
      });
    },
    status: async (context) => (await labFor(context)).status(),
    exec: async (context, node, argv) => (await labFor(context)).exec(node, argv),
    restart: async (context, node) => (await labFor(context)).restart(node),
    diagram: async (context) => {
      const lab = await labFor(context);
      if (readRecord(lab.layout.stateDir)?.status !== "up") throw new Error("the lab is not up; run `wg-deploy up`");
      const now = Date.now() / 1000;
      const handshakes = new Map<string, Map<string, number>>();
      for (const g of lab.topology.gateways) handshakes.set(g.name, await lab.latestHandshakes(g.name));
      return renderDiagram({
        topology: lab.topology,
        layout: lab.layout,
        interfaces: new Map(lab.topology.gateways.map((g) => [g.name, lab.plan(g.name).wireguard?.interfaceName ?? "?"])),
        implementation: lab.implementation.name,
        handshakeAge: (a, b) => {
          const when = handshakes.get(a)?.get(lab.secrets.keys[b]?.publicKey ?? "") ?? 0;
          return when > 0 ? Math.max(0, Math.round(now - when)) : undefined;
        },
      });
    },
  };
}
