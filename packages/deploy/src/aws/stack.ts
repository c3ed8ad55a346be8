/**
 * Topology + node plans -> the AWS Terraform document (`main.tf.json`): seed 004's network on
 * WireGuard. Seed 004 connects its VPC to a customer with AWS's managed VPN (IPsec only):
 *
 *     seed 004 (IPsec)                                   wg-deploy --target aws (WireGuard)
 *     data "aws_vpc" "default"                           data "aws_vpc" "default" (or by tag: vpc_tags)
 *     data "aws_route_table" "private" (tag Name)        data "aws_route_table" "private" (same tag)
 *     aws_vpn_gateway "main"                             aws_instance (Debian 12, wg-ts) + aws_eip
 *                                                        + aws_network_interface in the private subnet
 *     aws_customer_gateway "main" (gateway_ip_address)   variables gateway_ip_address + the remote's
 *                                                        WireGuard public key; output: its wg-quick file
 *     aws_vpn_connection "main" (static_routes_only)     the WireGuard tunnel (the node plans' wg0.conf)
 *     aws_route (egress_routes -> VGW)                   aws_route (egress_routes -> our ENI)
 *     aws_vpn_connection_route (egress_routes)           the gateway's AllowedIPs + PostUp routes
 *     (security: AWS-managed)                            aws_security_group + rules, nftables
 *
 * Variables keep the seed's names and validation rules (project_name, environment, vpn_name,
 * gateway_ip_address, egress_routes) and `local.prefix`; every Name tag is built from it.
 * Private keys never appear: they come from the sensitive variable `wireguard_private_keys`
 * (`wireguard.secrets.json`, ../terraform/secrets.ts).
 */
import { gatewaysIn, vpcNamed, type Gateway, type Topology } from "../model/topology.js";
import { remoteNetworks } from "../plan/plan.js";
import { renderTemplate } from "../plan/render.js";
import type { NodePlan, Placeholder } from "../plan/types.js";
import { NODE_RUNTIME_FILE } from "../cloud/node-runtime.js";
import { expr, hclString, Stack, tfName, type TerraformDocument } from "../terraform/document.js";
import { Holes } from "../terraform/holes.js";
import { pinnedVariable, WIREGUARD_KEY_REGEX, wireguardKeyVariables } from "../terraform/variables.js";
import { GATEWAY_PATHS } from "../plan/plan.js";
import { renderAwsCloudInit } from "./cloud-init.js";
import type { AwsCatalog, AwsDataHandle, AwsHandle } from "./resources.js";

/** Provider constraints: the docs the schemas were transcribed from are of the 6.x line (per-resource `region`). */
export const AWS_PROVIDERS = { aws: { source: "hashicorp/aws", version: "~> 6.0" } } as const;

/** terraform >= 1.5 and OpenTofu: `lifecycle.precondition` needs >= 1.2, the rest >= 1.5. */
export const AWS_REQUIRED_VERSION = ">= 1.5.0";

/** Debian's AWS account (https://wiki.debian.org/Cloud/AmazonEC2Image) and the bookworm AMI names. */
export const DEBIAN_AMI = { owner: "136693071363", name: "debian-12-amd64-*" } as const;

/** Default region (Paris, like the Scaleway presets' fr-par). */
export const DEFAULT_AWS_REGION = "eu-west-3";

/** Login user of Debian's AMIs. */
export const AWS_SSH_USER = "admin";

/** File names next to main.tf.json. */
export const AWS_ARTIFACT_FILE = "wg-ts.tgz";

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


/** The generated document plus what tests and tooling want to look at. */
export interface AwsSynthesis {
  readonly document: TerraformDocument;
  /** Gateway name -> its cloud-init (a Terraform template string). */
  readonly userData: ReadonlyMap<string, string>;
  /** External gateway name -> the wg-quick file it needs (a Terraform template string; holds its private key). */
  readonly remoteConfigs: ReadonlyMap<string, string>;
}

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
  const gw = tfName(gateway.name);

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
  const egressRoutes = stack.variable("egress_routes", {
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

  stack.provider("aws", AWS_PROVIDERS.aws, { region: "${var.aws_region}" });

  // ---- our VPC and the seed's private route table
  const vpc = stack.data("aws_vpc", "default", {
    default: "${length(var.vpc_tags) == 0 ? true : null}",
    tags: "${length(var.vpc_tags) == 0 ? null : var.vpc_tags}",
  });
  const routeTable = stack.data("aws_route_table", "private", {
    vpc_id: vpc.attr("id"),
    filter: [{ name: "tag:Name", values: [`${prefix}-private`] }],
  });
  const subnet = (which: "public" | "private") =>
    stack.data("aws_subnet", which, {
      id: `\${var.${which}_subnet_id}`,
      vpc_id: vpc.attr("id"),
      tags: `\${var.${which}_subnet_id == null ? { Name = "\${local.prefix}-${which}" } : null}`,
    });
  const publicSubnet = subnet("public");
  const privateSubnet = subnet("private");
  const ami = stack.data("aws_ami", "debian", {
    owners: [DEBIAN_AMI.owner],
    most_recent: true,
    filter: [
      { name: "name", values: [DEBIAN_AMI.name] },
      { name: "architecture", values: ["x86_64"] },
      { name: "virtualization-type", values: ["hvm"] },
    ],
  });

  // ---- security group: WireGuard from the peers only, SSH from ssh_cidr_blocks, everything from the VPC
  const sg = stack.resource("aws_security_group", `${gw}`, {
    name: `${prefix}-\${var.vpn_name}-wireguard`,
    description: `wg-deploy: WireGuard gateway ${gateway.name} (UDP ${topology.overlay.port} from its peers, SSH from ssh_cidr_blocks, all from the VPC)`,
    vpc_id: vpc.attr("id"),
    tags: vpnTag("wireguard"),
  });
  const peerGateways = gateway.peers.map((name) => {
    const peer = topology.gateways.find((g) => g.name === name);
    if (!peer) throw new Error(`aws: unknown peer ${name}`);
    return peer;
  });
  for (const peer of peerGateways) {
    if (peer.behindNat) throw new Error(`aws: peer ${peer.name} is behind NAT: the security group cannot name its address`);
    stack.resource("aws_vpc_security_group_ingress_rule", `${gw}_wireguard_from_${tfName(peer.name)}`, {
      security_group_id: sg.attr("id"),
      description: `WireGuard from ${peer.name}`,
      ip_protocol: "udp",
      from_port: wireguardPort,
      to_port: wireguardPort,
      cidr_ipv4: `\${${peers.publicIp(peer)}}/32`,
      tags: vpnTag(`wireguard-from-${peer.name}`),
    });
  }
  stack.resource("aws_vpc_security_group_ingress_rule", `${gw}_ssh`, {
    count: "${length(var.ssh_cidr_blocks)}",
    security_group_id: sg.attr("id"),
    description: "SSH (ssh_cidr_blocks)",
    ip_protocol: "tcp",
    from_port: 22,
    to_port: 22,
    cidr_ipv4: "${var.ssh_cidr_blocks[count.index]}",
    tags: vpnTag("ssh"),
  });
  stack.resource("aws_vpc_security_group_ingress_rule", `${gw}_vpc`, {
    security_group_id: sg.attr("id"),
    description: "everything from the VPC (its hosts' traffic to the remote networks, the replies)",
    ip_protocol: "-1",
    cidr_ipv4: vpc.attr("cidr_block"),
    tags: vpnTag("vpc"),
  });
  stack.resource("aws_vpc_security_group_egress_rule", `${gw}_all`, {
    security_group_id: sg.attr("id"),
    description: "everything out (apt, the artifact bucket, the tunnel, forwarded traffic)",
    ip_protocol: "-1",
    cidr_ipv4: "0.0.0.0/0",
    tags: vpnTag("egress"),
  });

  // ---- the wg-ts tarball and the Node.js runtime, readable only from the gateway's Elastic IP
  const bucket = stack.resource("aws_s3_bucket", "artifacts", { bucket_prefix: '${lower("wg-ts-${local.prefix}-")}', force_destroy: true, tags: nameTag("wg-ts-artifacts") });
  const publicAccess = stack.resource("aws_s3_bucket_public_access_block", "artifacts", {
    bucket: bucket.attr("id"),
    block_public_acls: true,
    block_public_policy: true,
    ignore_public_acls: true,
    restrict_public_buckets: true,
  });
  const eip = stack.resource("aws_eip", gw, { tags: vpnTag("wireguard") });
  const objects = [AWS_ARTIFACT_FILE, NODE_RUNTIME_FILE].map((file) => {
    const path = `\${path.module}/${file}`;
    const handle = stack.resource("aws_s3_object", tfName(file.replace(/\.tgz$/, "")), {
      bucket: bucket.attr("id"),
      key: file,
      source: path,
      etag: expr(`filemd5("${path}")`),
      content_type: "application/gzip",
      tags: nameTag(file),
    });
    return { file, path, handle, url: `"https://\${${bucket.ref("bucket_regional_domain_name")}}/${file}"`, sha256: `filesha256("${path}")` };
  });
  const policy = stack.resource("aws_s3_bucket_policy", "artifacts", {
    bucket: bucket.attr("id"),
    // Non-public for Block Public Access: a fixed aws:SourceIp (AWS "The meaning of public").
    policy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "GatewayReadsItsArtifacts",
          Effect: "Allow",
          Principal: "*",
          Action: "s3:GetObject",
          Resource: objects.map((o) => `${bucket.attr("arn")}/${o.file}`),
          Condition: { IpAddress: { "aws:SourceIp": `${eip.attr("public_ip")}/32` } },
        },
      ],
    }),
    depends_on: [publicAccess.address],
  });
  const [artifact, runtime] = objects;
  if (!artifact || !runtime) throw new Error("aws: artifacts");

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

  // ---- seed 004's routes: every egress route of the private route table -> our ENI (the seed: -> the VGW)
  stack.resource("aws_route", "egress", {
    count: "${length(var.egress_routes)}",
    route_table_id: routeTable.attr("id"),
    destination_cidr_block: "${var.egress_routes[count.index]}",
    network_interface_id: privateEni.attr("id"),
  });
  void egressRoutes;

  return { gateway, eip, instance, privateEni, vpc, routeTable, userData, publicIp: eip.ref("public_ip") };
}

/**
 * Builds main.tf.json for a topology with one AWS gateway whose peers are external (seed 004's
 * customer): the seed's variables for the customer gateway (`gateway_ip_address`, its WireGuard
 * public key), and its wg-quick file as a sensitive output.
 */
export function synthesizeAws(topology: Topology, plans: ReadonlyMap<string, NodePlan>): AwsSynthesis {
  const stack = new Stack<AwsCatalog>(
    `wg-deploy: topology ${topology.name} on AWS (seed 004 on WireGuard). Generated; do not edit. Secrets: -var-file=wireguard.secrets.json.`,
    AWS_REQUIRED_VERSION,
  );
  const ours = gatewaysIn(topology, "aws");
  const external = gatewaysIn(topology, "external");
  const others = topology.gateways.filter((g) => !ours.includes(g) && !external.includes(g));
  if (others.length > 0) throw new Error(`aws: gateways ${others.map((g) => g.name).join(", ")} are neither in AWS nor external (a Scaleway VPC needs both providers: preset scaleway-aws)`);
  if (external.length > 1) throw new Error(`aws: seed 004 has one customer gateway (gateway_ip_address); topology ${topology.name} has ${external.length}`);
  wireguardKeyVariables(stack, ours.map((g) => g.name));

  const customer = external[0];
  if (customer !== undefined) {
    stack.variable("gateway_ip_address", {
      type: "string",
      description: `Public IPv4 address of the customer's WireGuard gateway ${customer.name} (seed 004's name: the customer gateway's address).`,
      validation: [{ condition: expr('can(regex("^[0-9]{1,3}([.][0-9]{1,3}){3}$", var.gateway_ip_address)) && can(cidrhost("${var.gateway_ip_address}/32", 0))'), error_message: "gateway_ip_address must be an IPv4 address, e.g. 198.51.100.7." }],
    });
    stack.variable("remote_wireguard_public_key", {
      type: "string",
      description: `WireGuard public key (wg pubkey) of ${customer.name}; null = the key pair wg-deploy generated for it in wireguard.secrets.json (then the remote_wireguard_config output holds its private key).`,
      default: null,
      nullable: true,
      validation: [{ condition: expr(`var.remote_wireguard_public_key == null ? true : can(regex("${WIREGUARD_KEY_REGEX}", var.remote_wireguard_public_key))`), error_message: "remote_wireguard_public_key must be a 44-character base64 WireGuard key." }],
    });
    const name = hclString(customer.name);
    stack.local("remote_wireguard_public_key", `\${coalesce(var.remote_wireguard_public_key, lookup(var.wireguard_public_keys, ${name}, ""))}`);
    stack.local(
      "remote_wireguard_private_key",
      `\${var.remote_wireguard_public_key == null ? lookup(var.wireguard_private_keys, ${name}, "") : "(the private key of \${var.remote_wireguard_public_key}: it never leaves ${customer.name})"}`,
    );
  }
  const site = addAwsSite(stack, topology, plans, {
    publicIp: () => "var.gateway_ip_address",
    publicKey: () => "local.remote_wireguard_public_key",
    privateKey: () => "local.remote_wireguard_private_key",
  });

  // ---- the customer's wg-quick file: its node plan's, with our Elastic IP and keys
  const remoteConfigs = new Map<string, string>();
  for (const peer of external) {
    const plan = plans.get(peer.name);
    const file = plan?.files.find((f) => f.path === GATEWAY_PATHS.wireguardConfig(plan.wireguard?.interfaceName ?? ""));
    if (!plan || !file) throw new Error(`aws: no wg-quick file in the plan of ${peer.name}`);
    const holes = new Holes();
    const text = renderTemplate(file.content, (p) => {
      switch (p.kind) {
        case "wireguard-private-key":
          return holes.token("local.remote_wireguard_private_key");
        case "wireguard-public-key":
          return holes.token(p.node === site.gateway.name ? `var.wireguard_public_keys[${hclString(p.node)}]` : "local.remote_wireguard_public_key");
        case "public-ip":
          if (p.node !== site.gateway.name) throw new Error(`aws: ${peer.name}'s file names ${p.node}`);
          return holes.token(site.publicIp);
        case "uplink-gateway":
          return "$(ip -4 route show default | awk '{print $3; exit}')";
        default:
          throw new Error(`aws: placeholder ${p.kind} in ${peer.name}'s wg-quick file`);
      }
    });
    remoteConfigs.set(peer.name, holes.fill(text));
  }

  // ---- outputs
  const g = site.gateway;
  const eipAddress = expr(site.publicIp);
  stack.output("public_ips", { description: "Public IPv4 (Elastic IP) of the WireGuard gateway.", value: { [g.name]: eipAddress } });
  stack.output("wireguard_public_key", { description: `WireGuard public key of ${g.name} (give it to the remote side).`, value: expr(`var.wireguard_public_keys[${hclString(g.name)}]`) });
  for (const [peer, config] of remoteConfigs) {
    stack.output("remote_wireguard_config", {
      description: `The wg-quick file ${peer} needs (/etc/wireguard/${plans.get(peer)?.wireguard?.interfaceName ?? "wg0"}.conf): sensitive, it holds ${peer}'s private key when wg-deploy generated it.`,
      sensitive: true,
      value: config,
    });
  }
  stack.output("ssh_commands", {
    description: "SSH to the gateway (needs ssh_key_name and your address in ssh_cidr_blocks).",
    value: { [g.name]: `ssh ${AWS_SSH_USER}@${eipAddress}` },
  });
  stack.output("wireguard_status_commands", {
    description: "Diagnosis commands for the WireGuard gateway (wg show through wg-ts's UAPI socket, the unit, wg-stats).",
    value: { [g.name]: `ssh ${AWS_SSH_USER}@${eipAddress} 'sudo wg show wg0; systemctl status --no-pager wg-ts@wg0; sudo /usr/local/bin/wg-stats.sh'` },
  });
  stack.output("wireguard_network", {
    description: "The WireGuard overlay.",
    value: {
      cidr: topology.overlay.cidr,
      port: topology.overlay.port,
      mtu: topology.overlay.mtu,
      gateways: Object.fromEntries(topology.gateways.map((x) => [x.name, x.overlayIp])),
    },
  });
  stack.output("vpn_subnets", {
    description: "Private networks on each side of the tunnel.",
    value: Object.fromEntries(topology.vpcs.map((v) => [v.name, v.privateNetworks.map((pn) => pn.cidr)])),
  });
  stack.output("egress_routes", {
    description: "The private route table's routes to the gateway's ENI (seed 004's egress_routes).",
    value: { route_table_id: site.routeTable.attr("id"), network_interface_id: site.privateEni.attr("id"), destinations: "${var.egress_routes}" },
  });

  return { document: stack.toJSON(), userData: new Map([[g.name, site.userData]]), remoteConfigs };
}
