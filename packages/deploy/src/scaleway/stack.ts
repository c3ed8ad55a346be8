/**
 * Topology + node plans -> the Scaleway Terraform document (`main.tf.json`).
 *
 * Resources (provider scaleway/scaleway ~> 2.80, hashicorp/random ~> 3.6):
 * - one `scaleway_vpc` per VPC and one `scaleway_vpc_private_network` per private network, and the
 *   VPC routes to the WireGuard gateways (./network.ts);
 * - one `scaleway_ipam_ip` per fixed private address of the model (gateways, client, bastion), so
 *   the addresses are booked before anything else joins the network (depends_on; ./ipam.ts);
 * - the bastion: `scaleway_vpc_public_gateway_ip` + `scaleway_vpc_public_gateway` (bastion on the
 *   model's SSH port) + one `scaleway_vpc_gateway_network` per attachment, with
 *   `ipam_config { push_default_route = false }` and `enable_masquerade = false` (the WireGuard
 *   gateways do the NAT, never the Public Gateway; ./bastion.ts);
 * - one `scaleway_instance_security_group` per model security group (public traffic only: the
 *   gateways enforce the same policy on private traffic with the plan's nftables ruleset;
 *   ./security-groups.ts);
 * - per instance: `scaleway_instance_ip` if its plan has an uplink, `scaleway_instance_server` with
 *   the plan rendered as cloud-init, one `scaleway_instance_private_nic` per interface with its
 *   booked IPAM IP (./instances.ts);
 * - the database: `scaleway_rdb_instance` with a private-network endpoint whose address IPAM picks
 *   (`enable_ipam`; the clients' files and the `database_connection` output read it back) and
 *   NO `load_balancer` block (= no public endpoint), `scaleway_rdb_database`, `scaleway_rdb_privilege`,
 *   the password from `random_password` (./database.ts);
 * - the wg-ts tarball and the Node.js runtime (../cloud/node-runtime.ts) in public-read
 *   `scaleway_object`s of one bucket, downloaded by the gateways at first boot (./artifacts.ts);
 * - the seed's inputs (./inputs.ts) and outputs (./outputs.ts), names kept.
 *
 * Private keys never appear: they come from the sensitive variable `wireguard_private_keys`
 * (file `wireguard.secrets.json`, see ../terraform/secrets.ts).
 */
import type { CloudSynthesis } from "../cloud/synthesis.js";
import { TERRAFORM_REQUIRED_VERSION } from "../cloud/synthesis.js";
import type { Topology } from "../model/topology.js";
import type { NodePlan } from "../plan/types.js";
import { Stack } from "../terraform/document.js";
import { addArtifactBucket } from "./artifacts.js";
import { addBastions, bookBastionAddresses, type PublicGatewayMode } from "./bastion.js";
import { scalewayContext } from "./context.js";
import { addDatabase } from "./database.js";
import { declareScalewayInputs } from "./inputs.js";
import { addInstances, bookInstanceAddresses, scalewayInstances } from "./instances.js";
import { IpamBookings } from "./ipam.js";
import { addNetworks, addVpcRoutes } from "./network.js";
import { addScalewayOutputs } from "./outputs.js";
import type { ScalewayCatalog } from "./resources.js";
import { addSecurityGroups } from "./security-groups.js";

/** Provider constraints: the Scaleway docs the schemas were transcribed from are of the 2.8x line. */
export const PROVIDERS = {
  scaleway: { source: "scaleway/scaleway", version: "~> 2.80" },
  random: { source: "hashicorp/random", version: "~> 3.6" },
} as const;

/** Target options of the Scaleway document (`wg-deploy synth|up -o public_gateways=per-vpc`). */
export interface ScalewayOptions {
  readonly publicGateways?: PublicGatewayMode;
  /**
   * Another provider's part of the same root module (preset scaleway-aws): the document is built
   * into `stack`, gateways outside Scaleway VPCs are reached at `peerPublicIp(name)` (a Terraform
   * expression), and `outputs` adds their entries to the seed's output maps.
   */
  readonly combined?: {
    readonly stack: Stack<ScalewayCatalog>;
    peerPublicIp(gateway: string): string;
    readonly outputs: { readonly public_ips: Readonly<Record<string, string>>; readonly ssh_commands: Readonly<Record<string, string>>; readonly wireguard_status_commands: Readonly<Record<string, string>> };
  };
}

/** The generated document plus what tests and tooling want to look at (`userData`: nodes that are Instances). */
export type ScalewaySynthesis = CloudSynthesis;

/** Builds main.tf.json for `topology` from its node `plans` (../cloud/plans.ts). */
export function synthesizeScaleway(topology: Topology, plans: ReadonlyMap<string, NodePlan>, options: ScalewayOptions = {}): ScalewaySynthesis {
  if (options.combined === undefined) refuseOtherClouds(topology);
  const stack =
    options.combined?.stack ??
    new Stack<ScalewayCatalog>(`wg-deploy: topology ${topology.name} on Scaleway. Generated; do not edit. Secrets: -var-file=wireguard.secrets.json.`, TERRAFORM_REQUIRED_VERSION);

  // ---- inputs (the seed's names) and secrets
  const inputs = declareScalewayInputs(stack, topology);
  stack.provider("scaleway", PROVIDERS.scaleway, { zone: inputs.zone, region: inputs.region });
  stack.provider("random", PROVIDERS.random);
  const ctx = scalewayContext(stack, topology, plans, inputs.zone, inputs.region);

  // ---- networks; fixed private addresses, booked first
  const networks = addNetworks(ctx);
  const ipam = new IpamBookings(ctx, networks);
  const bastionIps = bookBastionAddresses(ctx, ipam);
  const instances = scalewayInstances(ctx);
  const instanceIps = bookInstanceAddresses(ctx, instances, ipam);

  // ---- bastion (Public Gateway): SSH only, no default route, no NAT; one, or one per VPC
  const vpcOfNetwork = new Map(topology.vpcs.flatMap((v) => v.privateNetworks.map((pn) => [pn.name, v.name] as const)));
  const bastions = addBastions(ctx, { bastionIps, mode: options.publicGateways ?? "shared", sshPublicKey: inputs.sshPublicKey, networks, ipam, vpcOfNetwork });

  // ---- security groups (public traffic), database, the wg-ts build the gateways install, instances, VPC routes
  const securityGroups = addSecurityGroups(ctx, new Set(instances.map((i) => i.securityGroup)), inputs.wireguardPort);
  const database = addDatabase(ctx, networks, ipam);
  const artifacts = addArtifactBucket(ctx);
  const { publicIps, userData, nics } = addInstances(ctx, {
    instances,
    instanceIps,
    networks,
    ipam,
    securityGroups,
    bastionPublicIp: (bastions[0] as (typeof bastions)[number]).publicIp,
    database,
    artifacts,
    combined: options.combined,
  });
  addVpcRoutes(ctx, networks, nics);

  addScalewayOutputs(ctx, {
    instances,
    instanceIps,
    publicIps,
    bastions,
    vpcOfNetwork,
    wireguardPort: inputs.wireguardPort,
    wireguardMtu: inputs.wireguardMtu,
    database,
    combined: options.combined,
  });

  return { document: stack.toJSON(), userData };
}

/**
 * The Scaleway target alone renders topologies whose VPCs are in Scaleway (and external sites): one
 * with an AWS VPC is the AWS target's (one root module with both providers), one with no Scaleway
 * VPC has nothing to build here.
 */
function refuseOtherClouds(topology: Topology): void {
  const vpcs = topology.vpcs.map((v) => `${v.name} (${v.cloud})`).join(", ");
  if (topology.vpcs.some((v) => v.cloud === "aws"))
    throw new Error(`scaleway: topology ${topology.name} has a VPC in AWS (VPCs: ${vpcs}): synthesize it with --target aws, which writes both providers into one root module`);
  if (!topology.vpcs.some((v) => v.cloud === "scaleway")) throw new Error(`scaleway: topology ${topology.name} has no VPC in Scaleway (VPCs: ${vpcs})`);
}
