/**
 * The inputs of the AWS part of a root module: seed 004's variables with their names and validation
 * rules kept (project_name, environment, vpn_name, egress_routes) and `local.prefix`, which every
 * Name tag is built from; where the gateway goes (region, VPC tags, subnets, instance type, SSH);
 * and the values the node plans were synthesized with (WireGuard port and MTU, pinned).
 */
import { vpcNamed, type Gateway, type Topology } from "../model/topology.js";
import { remoteNetworks } from "../plan/plan.js";
import { expr, hclString, type Stack } from "../terraform/document.js";
import { pinnedVariable } from "../terraform/variables.js";
import type { AwsCatalog } from "./resources.js";

/** Default region (Paris, like the Scaleway presets' fr-par). */
export const DEFAULT_AWS_REGION = "eu-west-3";

/** The seed's rule for project_name/environment, and its error messages (seed 004, verbatim). */
export const SEED_NAME_RULES = {
  project_name: {
    condition: 'length(var.project_name) <= 12 && length(regexall("[^a-zA-Z0-9-]", var.project_name)) == 0',
    error_message: "The project tag must be no more than 12 characters, and only contain letters, numbers, and hyphens.",
  },
  environment: {
    condition: 'length(var.environment) <= 12 && length(regexall("[^a-zA-Z0-9-]", var.environment)) == 0',
    error_message: "The environment tag must be no more than 12 characters, and only contain letters, numbers, and hyphens.",
  },
  vpn_name: {
    condition: 'length(var.vpn_name) >= 3 && length(var.vpn_name) <= 20 && length(regexall("[^a-zA-Z0-9-]", var.vpn_name)) == 0',
    error_message: "The vpn_name tag must be 3 to 20 characters long, and only contain letters, numbers, and hyphens.",
  },
} as const;

/** What the declared inputs give the resources. */
export interface AwsInputs {
  /** `${local.prefix}`. */
  readonly prefix: string;
  /** `{ Name = "<prefix>-<suffix>" }`. */
  readonly nameTag: (suffix: string) => { Name: string };
  /** `{ Name = "<prefix>-<vpn_name>-<what>" }`. */
  readonly vpnTag: (what: string) => { Name: string };
  /** Expression of the (pinned) WireGuard port. */
  readonly wireguardPort: string;
}

/** Declares the inputs of `gateway`'s AWS site (the topology's one AWS gateway). */
export function declareAwsInputs(stack: Stack<AwsCatalog>, topology: Topology, gateway: Gateway): AwsInputs {
  // ---- the seed's inputs, names and rules kept
  const seedVariable = (name: keyof typeof SEED_NAME_RULES, description: string, defaultValue: string) =>
    stack.variable(name, { type: "string", description, default: defaultValue, validation: [{ condition: expr(SEED_NAME_RULES[name].condition), error_message: SEED_NAME_RULES[name].error_message }] });
  seedVariable("project_name", "Project name (seed 004): prefix of every Name tag.", "wg-ts");
  seedVariable("environment", "Environment name (seed 004): second part of the prefix.", "test");
  const external = gateway.peers.map((p) => topology.gateways.find((g) => g.name === p)).filter((g): g is Gateway => g !== undefined && vpcNamed(topology, g.vpc).cloud === "external");
  seedVariable("vpn_name", "Name of the VPN, e.g. the customer's (seed 004): part of the Name tags.", external[0]?.vpc ?? topology.name.slice(0, 20));
  const prefix = stack.local("prefix", "${var.project_name}-${var.environment}");
  const nameTag = (suffix: string) => ({ Name: `${prefix}-${suffix}` });
  const vpnTag = (what: string) => nameTag(`\${var.vpn_name}-${what}`);

  const remote = remoteNetworks(topology, gateway);
  const remoteList = `[${remote.map((c) => hclString(c)).join(", ")}]`;
  stack.variable("egress_routes", {
    type: "list(string)",
    description:
      `Networks the private route table sends to the WireGuard gateway (seed 004's name). Each must be one the gateway's tunnel carries: ${remote.join(", ")} ` +
      "(the node plans were synthesized with them: to add one, change the topology and re-run wg-deploy synth).",
    default: remote,
    validation: [
      {
        condition: expr(`length(var.egress_routes) > 0 && alltrue([for r in var.egress_routes : contains(${remoteList}, r)])`),
        error_message: `Each egress route must be one of ${remote.join(", ")}: the networks behind the WireGuard tunnel.`,
      },
    ],
  });
  stack.variable("aws_region", { type: "string", description: "AWS region.", default: DEFAULT_AWS_REGION });
  stack.variable("vpc_tags", {
    type: "map(string)",
    description: "Tags selecting our VPC (seed 004's note: 'filtrer sur des étiquettes'); empty = the region's default VPC.",
    default: {},
  });
  for (const [which, what] of [["public", "the gateway's public subnet (its Elastic IP)"], ["private", "the gateway's second ENI: a subnet of the private route table"]] as const) {
    stack.variable(`${which}_subnet_id`, {
      type: "string",
      description: `ID of ${what}; null = the subnet of our VPC tagged Name = "\${local.prefix}-${which}".`,
      default: null,
      nullable: true,
    });
  }
  stack.variable("instance_type", {
    type: "string",
    description: "EC2 type of the WireGuard gateway: a small x86_64 type (the wg-ts tarball is packed on x86_64).",
    default: gateway.instanceType,
    validation: [
      {
        condition: expr('!can(regex("^[a-z]+[0-9]+[a-z-]*g[a-z-]*[.]", var.instance_type))'),
        error_message: "instance_type must be an x86_64 type (not Graviton, e.g. t4g/m7g): the wg-ts tarball is packed on x86_64.",
      },
    ],
  });
  stack.variable("ssh_cidr_blocks", {
    type: "list(string)",
    description: "CIDRs allowed to SSH to the gateway (port 22); empty = no SSH.",
    default: [],
    validation: [{ condition: expr("alltrue([for c in var.ssh_cidr_blocks : can(cidrhost(c, 0))])"), error_message: "ssh_cidr_blocks must be IPv4 CIDRs, e.g. 203.0.113.7/32." }],
  });
  stack.variable("ssh_key_name", { type: "string", description: "Name of an EC2 key pair for the gateway (user admin); null = none.", default: null, nullable: true });
  const wireguardPort = pinnedVariable(stack, "wireguard_port", topology.overlay.port, "WireGuard UDP port");
  pinnedVariable(stack, "wireguard_mtu", topology.overlay.mtu, "MTU of the WireGuard interfaces");
  return { prefix, nameTag, vpnTag, wireguardPort };
}
