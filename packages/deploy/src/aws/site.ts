/**
 * The AWS side of a root module: the topology's one gateway in an AWS VPC, with everything around
 * it — the inputs (./inputs.ts), the provider, the VPC lookups (./network.ts), the security group
 * (./security-group.ts), the artifact bucket (./artifacts.ts), the instance with its ENIs and
 * Elastic IP (./instance.ts) and the egress routes. The gateway's peers elsewhere are reached
 * through {@link PeerExpressions}: the customer's variables (./customer.ts), or another provider's
 * resources in the same root module (./scaleway-aws.ts).
 */
import { gatewaysIn, vpcNamed, type Gateway, type Topology } from "../model/topology.js";
import type { NodePlan } from "../plan/types.js";
import { type Stack, tfName } from "../terraform/document.js";
import { addArtifactBucket } from "./artifacts.js";
import { declareAwsInputs } from "./inputs.js";
import { addGatewayInstance } from "./instance.js";
import { addEgressRoutes, lookupAwsNetwork } from "./network.js";
import type { AwsCatalog, AwsDataHandle, AwsHandle } from "./resources.js";
import { addGatewaySecurityGroup } from "./security-group.js";

/** Provider constraints: the docs the schemas were transcribed from are of the 6.x line (per-resource `region`). */
export const AWS_PROVIDERS = { aws: { source: "hashicorp/aws", version: "~> 6.0" } } as const;

/**
 * How the AWS part refers to a gateway that is not in AWS: the seed's variables for the customer's
 * (`external`) gateway; Terraform references for a gateway another provider builds in the same root
 * module (preset scaleway-aws).
 */
export interface PeerExpressions {
  /** Expression of the peer's public IPv4 address. */
  publicIp(peer: Gateway): string;
  /** Expression of the peer's WireGuard public key. */
  publicKey(peer: Gateway): string;
  /** Expression of the peer's private key, for the wg-quick file output (external peers only). */
  privateKey?(peer: Gateway): string;
}

/** What {@link addAwsSite} declared, for outputs and other providers of the same root module. */
export interface AwsSite {
  readonly gateway: Gateway;
  readonly eip: AwsHandle<"aws_eip">;
  readonly instance: AwsHandle<"aws_instance">;
  readonly privateEni: AwsHandle<"aws_network_interface">;
  readonly vpc: AwsDataHandle<"aws_vpc">;
  readonly routeTable: AwsDataHandle<"aws_route_table">;
  readonly userData: string;
  /** Expression of the gateway's public IPv4 (the Elastic IP). */
  readonly publicIp: string;
}

/**
 * Declares the seed's inputs (project_name, environment, vpn_name, egress_routes, …), the VPC and
 * route table lookups, and the WireGuard gateway of the topology's AWS VPC with everything around it.
 */
export function addAwsSite(
  stack: Stack<AwsCatalog>,
  topology: Topology,
  plans: ReadonlyMap<string, NodePlan>,
  peers: PeerExpressions,
): AwsSite {
  const gateways = gatewaysIn(topology, "aws");
  const gateway = gateways[0];
  if (gateway === undefined || gateways.length !== 1) throw new Error(`aws: topology ${topology.name} needs exactly one gateway in an AWS VPC (has ${gateways.length})`);
  const vpcModel = vpcNamed(topology, gateway.vpc);
  if (vpcModel.cidr === undefined) throw new Error(`aws: VPC ${vpcModel.name} needs its cidr (placement) to be checked against the VPC found`);
  const attachment = gateway.attachments[0];
  if (attachment === undefined || gateway.attachments.length !== 1) throw new Error(`aws: gateway ${gateway.name} needs exactly one private subnet (has ${gateway.attachments.length})`);
  const plan = plans.get(gateway.name);
  if (!plan?.wireguard) throw new Error(`aws: no WireGuard node plan for ${gateway.name}`);

  const inputs = declareAwsInputs(stack, topology, gateway);
  stack.provider("aws", AWS_PROVIDERS.aws, { region: "${var.aws_region}" });
  // ---- our VPC and the seed's private route table
  const network = lookupAwsNetwork(stack, inputs.prefix);
  // ---- security group: WireGuard from the peers only, SSH from ssh_cidr_blocks, everything from the VPC
  const securityGroup = addGatewaySecurityGroup(stack, topology, gateway, network.vpc, inputs, (peer) => peers.publicIp(peer));
  // ---- the wg-ts tarball and the Node.js runtime, readable only from the gateway's Elastic IP
  const eip = stack.resource("aws_eip", tfName(gateway.name), { tags: inputs.vpnTag("wireguard") });
  const artifacts = addArtifactBucket(stack, inputs, eip);
  // ---- the gateway: private ENI (the route table's next hop), instance, Elastic IP
  const { instance, privateEni, userData } = addGatewayInstance(stack, {
    topology,
    gateway,
    attachment,
    vpcModel: { name: vpcModel.name, cidr: vpcModel.cidr },
    plan,
    inputs,
    network,
    securityGroup,
    eip,
    artifacts,
    peers,
  });
  addEgressRoutes(stack, network.routeTable, privateEni);

  return { gateway, eip, instance, privateEni, vpc: network.vpc, routeTable: network.routeTable, userData, publicIp: eip.ref("public_ip") };
}
