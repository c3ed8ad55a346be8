/**
 * Preset scaleway-aws in one root module: the Scaleway provider builds seed 001's VPC (vpn-gw, the
 * test instance, the bastion), the AWS provider builds the AWS side of seed 004 (./site.ts),
 * and each gateway's peer is wired by Terraform references — the Endpoint of vpn-gw is
 * `aws_eip.aws_gw.public_ip`, that of aws-gw `scaleway_instance_ip.vpn_gw_ip.address`, the AWS
 * security group admits WireGuard from that address only — so one `tofu apply` builds both sides
 * and the tunnel. Keys: both gateways' in wireguard.secrets.json (one `wireguard_private_keys` map).
 */
import { TERRAFORM_REQUIRED_VERSION } from "../cloud/synthesis.js";
import { gatewaysIn, type Topology } from "../model/topology.js";
import type { NodePlan } from "../plan/types.js";
import type { ExportedAttributes, ResourceArgs, ScalewayCatalog } from "../scaleway/resources.js";
import { synthesizeScaleway } from "../scaleway/stack.js";
import { hclString, Stack, tfName, type Catalog } from "../terraform/document.js";
import { awsGatewayEntries, egressRoutesValue } from "./outputs.js";
import type { AwsCatalog, AwsDataArgs, AwsDataAttributes, AwsExportedAttributes, AwsResourceArgs } from "./resources.js";
import { addAwsSite } from "./site.js";
import type { AwsSynthesis } from "./stack.js";

/** Both providers' types. */
export interface ScalewayAwsCatalog extends Catalog {
  readonly resources: ResourceArgs & AwsResourceArgs;
  readonly attributes: ExportedAttributes & AwsExportedAttributes;
  readonly data: AwsDataArgs;
  readonly dataAttributes: AwsDataAttributes;
}

/** Builds the one main.tf.json of a topology whose VPCs are in Scaleway and AWS, all gateways ours (no external gateway: `remoteConfigs` is empty). */
export function synthesizeScalewayAws(topology: Topology, plans: ReadonlyMap<string, NodePlan>): AwsSynthesis {
  const others = gatewaysIn(topology, "external");
  if (others.length > 0) throw new Error(`scaleway-aws: every gateway must be ours; ${others.map((g) => g.name).join(", ")} is external (use --target aws)`);
  const stack = new Stack<ScalewayAwsCatalog>(
    `wg-deploy: topology ${topology.name} on Scaleway and AWS in one root module. Generated; do not edit. Secrets: -var-file=wireguard.secrets.json.`,
    TERRAFORM_REQUIRED_VERSION,
  );
  const scalewayIp = (name: string) => `scaleway_instance_ip.${tfName(`${name}-ip`)}.address`;
  const aws = addAwsSite(stack.view<AwsCatalog>(), topology, plans, {
    publicIp: (peer) => scalewayIp(peer.name),
    publicKey: (peer) => `var.wireguard_public_keys[${hclString(peer.name)}]`,
  });
  const name = aws.gateway.name;
  const scaleway = synthesizeScaleway(topology, plans, {
    combined: {
      stack: stack.view<ScalewayCatalog>(),
      peerPublicIp: (gateway) => {
        if (gateway !== name) throw new Error(`scaleway-aws: ${gateway} is neither in Scaleway nor the AWS gateway`);
        return aws.publicIp;
      },
      outputs: awsGatewayEntries(aws),
    },
  });
  stack.output("egress_routes", {
    description: "The AWS private route table's routes to the gateway's ENI (seed 004's egress_routes).",
    value: egressRoutesValue(aws),
  });
  return { document: stack.toJSON(), userData: new Map([...scaleway.userData, [name, aws.userData]]), remoteConfigs: new Map() };
}
