/**
 * Preset scaleway-aws in one root module: the Scaleway provider builds seed 001's VPC (vpn-gw, the
 * test instance, the bastion), the AWS provider builds the AWS side of seed 004 (../aws/stack.ts),
 * and each gateway's peer is wired by Terraform references — the Endpoint of vpn-gw is
 * `aws_eip.aws_gw.public_ip`, that of aws-gw `scaleway_instance_ip.vpn_gw_ip.address`, the AWS
 * security group admits WireGuard from that address only — so one `tofu apply` builds both sides
 * and the tunnel. Keys: both gateways' in wireguard.secrets.json (one `wireguard_private_keys` map).
 */
import { gatewaysIn, type Topology } from "../model/topology.js";
import type { NodePlan } from "../plan/types.js";
import type { ExportedAttributes, ResourceArgs, ScalewayCatalog } from "../scaleway/resources.js";
import { REQUIRED_VERSION, synthesizeScaleway } from "../scaleway/stack.js";
import { expr, hclString, Stack, tfName, type Catalog, type TerraformDocument } from "../terraform/document.js";
import type { AwsCatalog, AwsDataArgs, AwsDataAttributes, AwsExportedAttributes, AwsResourceArgs } from "./resources.js";
import { addAwsSite, AWS_SSH_USER } from "./stack.js";

/** Both providers' types. */
export interface ScalewayAwsCatalog extends Catalog {
  readonly resources: ResourceArgs & AwsResourceArgs;
  readonly attributes: ExportedAttributes & AwsExportedAttributes;
  readonly data: AwsDataArgs;
  readonly dataAttributes: AwsDataAttributes;
}

export interface ScalewayAwsSynthesis {
  readonly document: TerraformDocument;
  /** Instance name -> its cloud-init (Scaleway Instances and the EC2 gateway). */
  readonly userData: ReadonlyMap<string, string>;
  /** No external gateway: always empty (same shape as AwsSynthesis). */
  readonly remoteConfigs: ReadonlyMap<string, string>;
}

/** Builds the one main.tf.json of a topology whose VPCs are in Scaleway and AWS, all gateways ours. */
export function synthesizeScalewayAws(topology: Topology, plans: ReadonlyMap<string, NodePlan>): ScalewayAwsSynthesis {
  const others = gatewaysIn(topology, "external");
  if (others.length > 0) throw new Error(`scaleway-aws: every gateway must be ours; ${others.map((g) => g.name).join(", ")} is external (use --target aws)`);
  const stack = new Stack<ScalewayAwsCatalog>(
    `wg-deploy: topology ${topology.name} on Scaleway and AWS in one root module. Generated; do not edit. Secrets: -var-file=wireguard.secrets.json.`,
    REQUIRED_VERSION,
  );
  const scalewayIp = (name: string) => `scaleway_instance_ip.${tfName(`${name}-ip`)}.address`;
  const aws = addAwsSite(stack.view<AwsCatalog>(), topology, plans, {
    publicIp: (peer) => scalewayIp(peer.name),
    publicKey: (peer) => `var.wireguard_public_keys[${hclString(peer.name)}]`,
  });
  const name = aws.gateway.name;
  const eip = expr(aws.publicIp);
  const scaleway = synthesizeScaleway(topology, plans, {
    combined: {
      stack: stack.view<ScalewayCatalog>(),
      peerPublicIp: (gateway) => {
        if (gateway !== name) throw new Error(`scaleway-aws: ${gateway} is neither in Scaleway nor the AWS gateway`);
        return aws.publicIp;
      },
      outputs: {
        public_ips: { [name]: eip },
        ssh_commands: { [name]: `ssh ${AWS_SSH_USER}@${eip}` },
        wireguard_status_commands: { [name]: `ssh ${AWS_SSH_USER}@${eip} 'sudo wg show wg0; systemctl status --no-pager wg-ts@wg0; sudo /usr/local/bin/wg-stats.sh'` },
      },
    },
  });
  stack.output("egress_routes", {
    description: "The AWS private route table's routes to the gateway's ENI (seed 004's egress_routes).",
    value: { route_table_id: aws.routeTable.attr("id"), network_interface_id: aws.privateEni.attr("id"), destinations: "${var.egress_routes}" },
  });
  return { document: stack.toJSON(), userData: new Map([...scaleway.userData, [name, aws.userData]]), remoteConfigs: new Map() };
}
