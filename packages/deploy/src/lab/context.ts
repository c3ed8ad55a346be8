/**
 * What every part of the lab works from: its settings, the namespace layout, the node plans (with
 * lab device names) and how their placeholders resolve to the lab's keys, addresses and paths.
 *
 * Built from the settings alone (no system call); the secrets are read from the state dir on first
 * use, or set by the step that creates them.
 */
import { GATEWAY_PATHS, planTopology } from "../plan/plan.js";
import type { NodePlan, PlanOptions, Resolver } from "../plan/types.js";
import type { Gateway, Topology } from "../model/topology.js";
import type { DeployIo } from "../target.js";
import { INTERNET_ROUTER, labFilePath, labLayout, labWireguardInterface, type LabLayout } from "./layout.js";
import { readSecrets, type LabSecrets } from "./state.js";
import { shellQuote, tunnelImplementation, type TunnelImplementation } from "./wireguard.js";

export interface LabSettings {
  readonly topologyName: string;
  readonly topology: Topology;
  readonly io: DeployIo;
  readonly stateDir: string;
  /** "wg-ts" (default) or "wireguard-go". */
  readonly wireguard: string;
}

export class LabContext {
  readonly settings: LabSettings;
  readonly layout: LabLayout;
  readonly implementation: TunnelImplementation;
  readonly plans: Map<string, NodePlan>;
  #secrets: LabSecrets | undefined;

  constructor(settings: LabSettings) {
    this.settings = settings;
    if (/\s/.test(settings.stateDir)) throw new Error(`the lab state dir must not contain whitespace: "${settings.stateDir}"`);
    this.layout = labLayout(settings.topology, settings.stateDir);
    this.implementation = tunnelImplementation(settings.wireguard, settings.io.env);
    this.plans = planTopology(settings.topology, this.planOptions());
  }

  get topology(): Topology {
    return this.settings.topology;
  }

  /** One line of progress on stderr. */
  progress(line: string): void {
    this.settings.io.stderr(`${line}\n`);
  }

  /** Lab plan options: unique WireGuard device names; the monitor restarts with the lab's implementation. */
  planOptions(): PlanOptions {
    return {
      wireguardInterfaceName: labWireguardInterface,
      restartTunnelCommand: ({ name, interfaceName }) => {
        const config = this.configPath(name, interfaceName);
        const implementation = this.implementationFor(name);
        const env = Object.entries(implementation.env).map(([k, v]) => `${k}=${shellQuote(v)} `).join("");
        const quote = (argv: string[]) => argv.map(shellQuote).join(" ");
        return `${env}${quote(implementation.downCommand(config))}; ${env}${quote(implementation.upCommand(config))}`;
      },
    };
  }

  /**
   * What runs `gateway`'s tunnel: the lab's implementation, except on a gateway of an `external` VPC
   * (seed 004's customer), which runs the wg-quick file it is given with Debian's wg-quick +
   * wireguard-go, as the customer would.
   */
  implementationFor(gateway: string): TunnelImplementation {
    const vpc = this.settings.topology.gateways.find((g) => g.name === gateway)?.vpc;
    const external = this.settings.topology.vpcs.find((v) => v.name === vpc)?.cloud === "external";
    return external ? tunnelImplementation("wireguard-go", this.settings.io.env) : this.implementation;
  }

  /** Lab path of a gateway's wg-quick file. */
  configPath(gateway: string, interfaceName: string): string {
    return labFilePath(this.layout, gateway, GATEWAY_PATHS.wireguardConfig(interfaceName));
  }

  /** Log of a gateway's tunnel (`wireguard-<if>.log`, like the cloud's /var/log/wireguard-*.log). */
  tunnelLog(gateway: string, interfaceName: string): string {
    return labFilePath(this.layout, gateway, `/var/log/wireguard-${interfaceName}.log`);
  }

  get secrets(): LabSecrets {
    this.#secrets ??= readSecrets(this.layout.stateDir);
    return this.#secrets;
  }

  /** The secrets just created for this lab (see ./steps.ts). */
  set secrets(secrets: LabSecrets) {
    this.#secrets = secrets;
  }

  /** Resolves plan placeholders with the lab's keys, addresses and paths. */
  resolver(): Resolver {
    return (placeholder) => {
      switch (placeholder.kind) {
        case "wireguard-private-key":
        case "wireguard-public-key": {
          const pair = this.secrets.keys[placeholder.node];
          if (!pair) throw new Error(`no WireGuard key for ${placeholder.node} in the lab key store`);
          return placeholder.kind === "wireguard-private-key" ? pair.privateKey : pair.publicKey;
        }
        case "public-ip": {
          const ip = this.layout.publicIps.get(placeholder.node);
          if (!ip) throw new Error(`${placeholder.node} has no public IP in the lab`);
          return ip;
        }
        case "database-password":
          return this.secrets.databasePassword;
        case "database-address": {
          const host = this.topology.hosts.find((h) => h.name === this.topology.database?.host);
          if (!host) throw new Error(`topology ${this.topology.name} has no database`);
          return host.attachment.address;
        }
        case "uplink-gateway":
          return this.layout.natRouters.get(placeholder.node)?.insideAddress ?? INTERNET_ROUTER;
        case "file-path":
          return labFilePath(this.layout, placeholder.node, placeholder.path);
      }
    };
  }

  plan(node: string): NodePlan {
    const plan = this.plans.get(node);
    if (!plan) throw new Error(`no machine named "${node}" in topology ${this.topology.name}`);
    return plan;
  }

  gateway(node: string): Gateway {
    const gateway = this.topology.gateways.find((g) => g.name === node);
    if (!gateway) throw new Error(`"${node}" is not a gateway (gateways: ${this.topology.gateways.map((g) => g.name).join(", ")})`);
    return gateway;
  }
}
