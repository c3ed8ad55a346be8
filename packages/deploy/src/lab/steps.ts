/**
 * The numbered steps of `up`, in order: prerequisites, state and secrets, the internet, NAT routers,
 * node namespaces, private networks, each node's wiring, nftables and tunnels, services, DHCP leases,
 * the handshakes, and last the record that the lab is up.
 *
 * `runSteps` prints each step with its host on stderr; when one fails it runs the rollback and throws
 * a `LabStepError` naming the step and host. lab.json says "building" until the last step.
 */
import type { LabContext } from "./context.js";
import { waitForHandshakes } from "./health.js";
import { namespaceOf, PUBLIC_CIDR, REMOTE_SERVER } from "./layout.js";
import { buildNatRouter } from "./nat.js";
import { applyNftables, buildInternet, buildPrivateNetworks, createNode, wireNode } from "./network.js";
import { checkPrerequisites } from "./prerequisites.js";
import { acquireDhcpLease, startDatabase, startDhcpServer, startMonitor } from "./services.js";
import { createSecrets, ensureStateDir, writeRecord, type LabRecord } from "./state.js";
import { startTunnel } from "./tunnels.js";

/** A failed step of `up`: which step, on which host. */
export class LabStepError extends Error {
  override name = "LabStepError";
  constructor(
    readonly step: string,
    readonly host: string,
    override readonly cause: unknown,
  ) {
    super(`step "${step}" failed on ${host}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export interface Step {
  readonly host: string;
  readonly title: string;
  readonly run: () => Promise<void>;
}

/** The ordered steps of `up`. */
export function labSteps(lab: LabContext): Step[] {
  const layout = lab.layout;
  const topology = lab.topology;
  const steps: Step[] = [
    { host: "this machine", title: "check prerequisites", run: () => checkPrerequisites(lab) },
    { host: "this machine", title: `state dir ${layout.stateDir} and secrets (keys, database password)`, run: async () => createState(lab) },
    { host: "internet", title: `namespace ${layout.internetNamespace}: ${PUBLIC_CIDR} bridge, remote server ${REMOTE_SERVER}`, run: () => buildInternet(lab) },
  ];
  for (const router of layout.natRouters.values()) {
    steps.push({ host: router.node, title: `namespace ${router.namespace}: masquerading router ${router.publicIp} in front of ${router.gateway} (${router.insideCidr})`, run: () => buildNatRouter(router, layout.internetNamespace) });
  }
  for (const plan of lab.plans.values()) {
    steps.push({ host: plan.node, title: `namespace ${namespaceOf(layout, plan.node)}, sysctls`, run: () => createNode(lab, plan) });
  }
  steps.push({ host: topology.bastion.name, title: "private network bridges (the VPC fabric) and bastion addresses", run: () => buildPrivateNetworks(lab) });
  for (const plan of lab.plans.values()) {
    steps.push({ host: plan.node, title: "links, addresses, routes, files", run: () => wireNode(lab, plan) });
  }
  for (const gateway of topology.gateways) {
    const plan = lab.plan(gateway.name);
    steps.push({ host: gateway.name, title: "nftables (filter, MSS clamping, NAT)", run: () => applyNftables(lab, plan) });
    steps.push({
      host: gateway.name,
      title: `start ${lab.implementationFor(gateway.name).name} (${plan.wireguard?.interfaceName ?? "?"})`,
      run: () => startTunnel(lab, gateway.name),
    });
  }
  for (const plan of lab.plans.values()) {
    for (const service of plan.services) {
      if (service.kind === "postgresql") {
        steps.push({ host: plan.node, title: `PostgreSQL on ${service.listenAddress}:${service.port}`, run: () => startDatabase(lab, plan.node, service) });
      }
      if (service.kind === "monitor") {
        steps.push({ host: plan.node, title: `${service.name} (probes ${service.probe})`, run: () => startMonitor(lab, plan.node, service.script) });
      }
      if (service.kind === "dhcp-server") {
        steps.push({ host: plan.node, title: `dnsmasq DHCP on ${service.network} (${service.listenAddress})`, run: () => startDhcpServer(lab, plan.node, service.network, service.config, service.listenAddress) });
      }
    }
  }
  for (const plan of lab.plans.values()) {
    for (const iface of plan.interfaces) {
      if (iface.dhcp === undefined) continue;
      const dhcp = iface.dhcp;
      steps.push({ host: plan.node, title: `dhclient on ${iface.network}: address and option 121 routes from ${dhcp.server}`, run: () => acquireDhcpLease(lab, plan, iface.network, iface.address, dhcp.routes) });
    }
  }
  steps.push({ host: "overlay", title: "wait for every WireGuard handshake", run: () => waitForHandshakes(lab) });
  steps.push({
    host: "this machine",
    title: "record the lab as up",
    run: async () => writeRecord(layout.stateDir, { ...labRecord(lab), status: "up" }),
  });
  return steps;
}

/**
 * Runs `steps` in order with numbered progress. On a failure: `rollback` (its own failure is only
 * reported), then a `LabStepError`.
 */
export async function runSteps(lab: LabContext, steps: readonly Step[], rollback: () => Promise<void>): Promise<void> {
  const started = Date.now();
  for (const [index, step] of steps.entries()) {
    lab.progress(`[${String(index + 1).padStart(2)}/${steps.length}] ${step.host}: ${step.title}`);
    try {
      await step.run();
    } catch (error) {
      const failure = new LabStepError(step.title, step.host, error);
      lab.progress(`step ${index + 1} failed on ${step.host}; rolling back`);
      try {
        await rollback();
      } catch (cleanupError) {
        lab.progress(`rollback incomplete: ${(cleanupError as Error).message}`);
      }
      throw failure;
    }
  }
  lab.progress(`lab up in ${((Date.now() - started) / 1000).toFixed(1)} s (topology ${lab.settings.topologyName}, WireGuard by ${lab.implementation.name})`);
}

/** lab.json of this lab while it is being built. */
function labRecord(lab: LabContext): LabRecord {
  return {
    topology: lab.settings.topologyName,
    wireguard: lab.implementation.name,
    status: "building",
    namespaces: [...lab.layout.namespaces.values()],
    startedAt: new Date().toISOString(),
  };
}

/** The state dir, lab.json ("building") and fresh secrets. */
function createState(lab: LabContext): void {
  ensureStateDir(lab.layout.stateDir);
  writeRecord(lab.layout.stateDir, labRecord(lab));
  lab.secrets = createSecrets(lab.layout.stateDir, lab.topology.gateways.map((g) => g.name));
}
