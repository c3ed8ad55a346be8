/**
 * The WireGuard gateway's EC2 instance: Debian 12 (Debian's own AMI) on the public subnet, its
 * Elastic IP associated with its primary ENI, a second ENI in the private subnet (the egress
 * routes' next hop, source/destination check off), and the node plan rendered as cloud-init
 * user-data (./cloud-init.ts) with every placeholder a Terraform expression.
 */
import type { Cidr, Gateway, NetworkAttachment, Topology } from "../model/topology.js";
import type { NodePlan, Placeholder } from "../plan/types.js";
import { expr, hclString, type Stack, tfName } from "../terraform/document.js";
import type { AwsArtifactObject } from "./artifacts.js";
import { renderAwsCloudInit } from "./cloud-init.js";
import type { AwsInputs } from "./inputs.js";
import type { AwsNetwork } from "./network.js";
import type { AwsCatalog, AwsHandle } from "./resources.js";
import type { PeerExpressions } from "./site.js";

/** Debian's AWS account (https://wiki.debian.org/Cloud/AmazonEC2Image) and the bookworm AMI names. */
export const DEBIAN_AMI = { owner: "136693071363", name: "debian-12-amd64-*" } as const;

/** Login user of Debian's AMIs. */
export const AWS_SSH_USER = "admin";

/** What the instance needs that the rest of the site declared. */
export interface AwsInstanceInputs {
  readonly topology: Topology;
  readonly gateway: Gateway;
  /** The gateway's one private subnet. */
  readonly attachment: NetworkAttachment;
  /** The gateway's VPC in the topology (its cidr is checked against the VPC found). */
  readonly vpcModel: { readonly name: string; readonly cidr: Cidr };
  readonly plan: NodePlan;
  readonly inputs: AwsInputs;
  readonly network: AwsNetwork;
  readonly securityGroup: AwsHandle<"aws_security_group">;
  readonly eip: AwsHandle<"aws_eip">;
  readonly artifacts: { readonly artifact: AwsArtifactObject; readonly runtime: AwsArtifactObject; readonly policy: AwsHandle<"aws_s3_bucket_policy"> };
  readonly peers: PeerExpressions;
}

/** Declares the gateway's private ENI, instance, ENI attachment and Elastic IP association; returns them with the user-data. */
export function addGatewayInstance(
  stack: Stack<AwsCatalog>,
  site: AwsInstanceInputs,
): { readonly instance: AwsHandle<"aws_instance">; readonly privateEni: AwsHandle<"aws_network_interface">; readonly userData: string } {
  const { topology, gateway, attachment, vpcModel, plan, peers, eip } = site;
  const { vpnTag } = site.inputs;
  const { vpc, publicSubnet, privateSubnet } = site.network;
  const { artifact, runtime, policy } = site.artifacts;
  const sg = site.securityGroup;
  const gw = tfName(gateway.name);
  const ami = stack.data("aws_ami", "debian", {
    owners: [DEBIAN_AMI.owner],
    most_recent: true,
    filter: [
      { name: "name", values: [DEBIAN_AMI.name] },
      { name: "architecture", values: ["x86_64"] },
      { name: "virtualization-type", values: ["hvm"] },
    ],
  });

  // ---- the gateway: private ENI (the route table's next hop), instance, Elastic IP
  const privateEni = stack.resource("aws_network_interface", `${gw}_private`, {
    subnet_id: privateSubnet.attr("id"),
    private_ips: [attachment.address],
    security_groups: [sg.attr("id")],
    // It forwards: packets to and from the remote networks are neither from nor for it.
    source_dest_check: false,
    description: `wg-deploy: ${gateway.name} on ${attachment.network} (next hop of the egress routes)`,
    tags: vpnTag("wireguard-private"),
    lifecycle: {
      precondition: [
        {
          condition: expr(`${privateSubnet.ref("cidr_block")} == ${hclString(attachment.cidr)}`),
          error_message: `The private subnet must be ${attachment.cidr} (network ${attachment.network} of the topology, which the node plans were synthesized with).`,
        },
      ],
    },
  });
  const expression = (placeholder: Placeholder): string => {
    const peer = topology.gateways.find((g) => "node" in placeholder && g.name === placeholder.node);
    switch (placeholder.kind) {
      case "wireguard-private-key":
        if (placeholder.node === gateway.name) return `var.wireguard_private_keys[${hclString(placeholder.node)}]`;
        if (peer && peers.privateKey) return peers.privateKey(peer);
        throw new Error(`aws: no private key for ${placeholder.node}`);
      case "wireguard-public-key":
        if (placeholder.node === gateway.name) return `var.wireguard_public_keys[${hclString(placeholder.node)}]`;
        if (!peer) throw new Error(`aws: unknown gateway ${placeholder.node}`);
        return peers.publicKey(peer);
      case "public-ip":
        if (placeholder.node === gateway.name) return eip.ref("public_ip");
        if (!peer) throw new Error(`aws: ${placeholder.node} has no public IP`);
        return peers.publicIp(peer);
      case "database-password":
      case "database-address":
        throw new Error(`aws: topology ${topology.name}: no managed database on AWS`);
      case "uplink-gateway":
      case "file-path":
        throw new Error(`aws: placeholder ${placeholder.kind} is resolved by the cloud-init renderer`);
    }
  };
  const userData = renderAwsCloudInit({
    plan,
    expression,
    macAddress: () => privateEni.ref("mac_address"),
    artifact: { url: artifact.url, sha256: artifact.sha256 },
    nodeRuntime: { url: runtime.url, sha256: runtime.sha256 },
  });
  const instance = stack.resource("aws_instance", gw, {
    ami: ami.attr("id"),
    instance_type: "${var.instance_type}",
    subnet_id: publicSubnet.attr("id"),
    vpc_security_group_ids: [sg.attr("id")],
    // The Elastic IP is its public address.
    associate_public_ip_address: false,
    source_dest_check: false,
    key_name: "${var.ssh_key_name}",
    user_data: userData,
    user_data_replace_on_change: true,
    metadata_options: { http_tokens: "required" },
    root_block_device: { volume_size: 8, volume_type: "gp3", encrypted: true },
    tags: vpnTag("wireguard"),
    lifecycle: {
      precondition: [
        {
          condition: expr(`${vpc.ref("cidr_block")} == ${hclString(vpcModel.cidr)}`),
          error_message: `Our VPC must be ${vpcModel.cidr} (VPC ${vpcModel.name} of the topology; a default VPC is 172.31.0.0/16): the gateway's firewall was synthesized with it.`,
        },
      ],
    },
    // It downloads both tarballs at first boot, from its Elastic IP.
    depends_on: [artifact.handle.address, runtime.handle.address, policy.address],
  });
  stack.resource("aws_network_interface_attachment", `${gw}_private`, {
    instance_id: instance.attr("id"),
    network_interface_id: privateEni.attr("id"),
    device_index: 1,
  });
  // The EIP exists before the instance (the bucket policy names it); associated with its primary ENI
  // (two ENIs: an instance_id alone is refused, provider docs of aws_eip_association).
  stack.resource("aws_eip_association", gw, { allocation_id: eip.attr("allocation_id"), network_interface_id: instance.attr("primary_network_interface_id") });
  return { instance, privateEni, userData };
}
