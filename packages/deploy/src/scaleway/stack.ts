/**
 * Topology + node plans -> the Scaleway Terraform document (`main.tf.json`).
 *
 * Resources (provider scaleway/scaleway ~> 2.80, hashicorp/random ~> 3.6):
 * - one `scaleway_vpc` per VPC and one `scaleway_vpc_private_network` per private network;
 * - one `scaleway_ipam_ip` per fixed private address of the model (gateways, client, bastion), so
 *   the addresses are booked before anything else joins the network (depends_on);
 * - the bastion: `scaleway_vpc_public_gateway_ip` + `scaleway_vpc_public_gateway` (bastion on the
 *   model's SSH port) + one `scaleway_vpc_gateway_network` per attachment, with
 *   `ipam_config { push_default_route = false }` and `enable_masquerade = false` (the WireGuard
 *   gateways do the NAT, never the Public Gateway);
 * - one `scaleway_instance_security_group` per model security group (public traffic only: the
 *   gateways enforce the same policy on private traffic with the plan's nftables ruleset);
 * - per instance: `scaleway_instance_ip` if its plan has an uplink, `scaleway_instance_server` with
 *   the plan rendered as cloud-init, one `scaleway_instance_private_nic` per interface with its
 *   booked IPAM IP;
 * - the database: `scaleway_rdb_instance` with a private-network endpoint whose address IPAM picks
 *   (`enable_ipam`; the clients' files and the `database_connection` output read it back) and
 *   NO `load_balancer` block (= no public endpoint), `scaleway_rdb_database`, `scaleway_rdb_privilege`,
 *   the password from `random_password`;
 * - the wg-ts tarball and the Node.js runtime (../cloud/node-runtime.ts) in public-read
 *   `scaleway_object`s of one bucket, downloaded by the gateways at first boot;
 * - the seed's inputs and outputs (names kept).
 *
 * Private keys never appear: they come from the sensitive variable `wireguard_private_keys`
 * (file `wireguard.secrets.json`, see ./secrets.ts).
 */
import { vpcNamed, type Database, type Gateway, type Host, type Topology } from "../model/topology.js";
import type { NodePlan, Placeholder } from "../plan/types.js";
import { NODE_RUNTIME_FILE } from "../cloud/node-runtime.js";
import { ARTIFACT_FILE } from "../cloud/synth-dir.js";
import { renderCloudInit } from "./cloud-init.js";
import { expr, hclString, Stack, tfName, type TerraformDocument } from "../terraform/document.js";
import { pinnedVariable, wireguardKeyVariables } from "../terraform/variables.js";
import type { ScalewayCatalog, ScalewayHandle } from "./resources.js";

/** Provider constraints: the Scaleway docs the schemas were transcribed from are of the 2.8x line. */
export const PROVIDERS = {
  scaleway: { source: "scaleway/scaleway", version: "~> 2.80" },
  random: { source: "hashicorp/random", version: "~> 3.6" },
} as const;

/** terraform >= 1.5 and OpenTofu (which reports 1.6+) both accept this. */
export const REQUIRED_VERSION = ">= 1.5.0";

/** Instance image (Debian 12: the distribution the tests, and the boot test, run). */
export const INSTANCE_IMAGE = "debian_bookworm";

/** File name of the wg-ts tarball next to main.tf.json (../cloud/synth-dir.ts). */
export { ARTIFACT_FILE };

/**
 * How many Public Gateways (bastions): `shared` = one attached to the private networks of every VPC
 * (the seed's design; the docs neither allow nor forbid a gateway across VPCs), `per-vpc` = one per
 * VPC, attached to that VPC's networks only (README "One Public Gateway or one per VPC").
 */
export const PUBLIC_GATEWAY_MODES = ["shared", "per-vpc"] as const;
export type PublicGatewayMode = (typeof PUBLIC_GATEWAY_MODES)[number];

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

/** Login user on Scaleway's Debian images, and the bastion's user. */
export const SSH_USER = "root";
export const BASTION_USER = "bastion";

export { tfName };

/** The generated document plus what tests and tooling want to look at. */
export interface ScalewaySynthesis {
  readonly document: TerraformDocument;
  /** Node name -> its cloud-init (a Terraform template string), for nodes that are Instances. */
  readonly userData: ReadonlyMap<string, string>;
}

/** Builds main.tf.json for `topology` from its node `plans` (planTopology with SCALEWAY_PLAN_OPTIONS). */
export function synthesizeScaleway(topology: Topology, plans: ReadonlyMap<string, NodePlan>, options: ScalewayOptions = {}): ScalewaySynthesis {
  const stack =
    options.combined?.stack ??
    new Stack<ScalewayCatalog>(`wg-deploy: topology ${topology.name} on Scaleway. Generated; do not edit. Secrets: -var-file=wireguard.secrets.json.`, REQUIRED_VERSION);
  // Only what lives in Scaleway VPCs (all of it, except in a combined root module).
  const inScaleway = (vpc: string) => vpcNamed(topology, vpc).cloud === "scaleway";
  const scalewayGateways = topology.gateways.filter((g) => inScaleway(g.vpc));
  const planOf = (node: string): NodePlan => {
    const plan = plans.get(node);
    if (!plan) throw new Error(`scaleway: no node plan for ${node}`);
    return plan;
  };

  // ---- inputs (the seed's names) and secrets
  const sshPublicKey = stack.variable("ssh_public_key", { type: "string", description: "SSH public key installed on the instances and the bastion." });
  const zone = stack.variable("zone", { type: "string", description: "Scaleway zone.", default: topology.inputs.zone });
  const region = stack.variable("region", { type: "string", description: "Scaleway region.", default: topology.inputs.region });
  const wireguardPort = pinnedVariable(stack, "wireguard_port", topology.overlay.port, "WireGuard UDP port");
  const wireguardMtu = pinnedVariable(stack, "wireguard_mtu", topology.overlay.mtu, "MTU of the WireGuard interfaces");
  wireguardKeyVariables(stack, topology.gateways.map((g) => g.name));

  stack.provider("scaleway", PROVIDERS.scaleway, { zone: zone, region: region });
  stack.provider("random", PROVIDERS.random);

  const common = { zone };
  const tags = (...extra: string[]) => ["wg-ts", `topology-${topology.name}`, ...extra];

  // ---- networks
  const vpcs = new Map<string, ScalewayHandle<"scaleway_vpc">>();
  const networks = new Map<string, ScalewayHandle<"scaleway_vpc_private_network">>();
  for (const vpc of topology.vpcs.filter((v) => inScaleway(v.name))) {
    // Routing on: the custom routes below (remote networks behind the WireGuard gateway) need it.
    const handle = stack.resource("scaleway_vpc", tfName(vpc.name), { name: vpc.name, enable_routing: true, region, tags: tags() });
    vpcs.set(vpc.name, handle);
    for (const pn of vpc.privateNetworks) {
      networks.set(
        pn.name,
        stack.resource("scaleway_vpc_private_network", tfName(pn.name), {
          name: pn.name,
          vpc_id: handle.attr("id"),
          ipv4_subnet: { subnet: pn.cidr },
          region,
          tags: tags(`vpc-${vpc.name}`),
        }),
      );
    }
  }
  const network = (name: string) => {
    const handle = networks.get(name);
    if (!handle) throw new Error(`scaleway: unknown private network ${name}`);
    return handle;
  };

  // ---- fixed private addresses, booked first
  const ipamByNetwork = new Map<string, ScalewayHandle<"scaleway_ipam_ip">[]>();
  const book = (owner: string, networkName: string, address: string): ScalewayHandle<"scaleway_ipam_ip"> => {
    const handle = stack.resource("scaleway_ipam_ip", tfName(`${owner}-${networkName}`), {
      address,
      source: { private_network_id: network(networkName).attr("id") },
      region,
      tags: tags(owner),
    });
    ipamByNetwork.set(networkName, [...(ipamByNetwork.get(networkName) ?? []), handle]);
    return handle;
  };
  const bastionIps = topology.bastion.attachments.map((a) => ({ attachment: a, ip: book(topology.bastion.name, a.network, a.address) }));
  const instances: { name: string; kind: "gateway" | "client"; node: Gateway | Host; instanceType: string; securityGroup: string }[] = [
    ...scalewayGateways.map((g) => ({ name: g.name, kind: "gateway" as const, node: g, instanceType: g.instanceType, securityGroup: g.securityGroup })),
    ...topology.hosts
      .filter((h) => h.kind === "client" && inScaleway(h.vpc))
      .map((h) => {
        if (h.instanceType === undefined || h.securityGroup === undefined) throw new Error(`scaleway: client ${h.name} needs instanceType and securityGroup`);
        return { name: h.name, kind: "client" as const, node: h, instanceType: h.instanceType, securityGroup: h.securityGroup };
      }),
  ];
  const instanceIps = new Map<string, { network: string; address: string; ip: ScalewayHandle<"scaleway_ipam_ip"> }[]>();
  for (const instance of instances) {
    const plan = planOf(instance.name);
    instanceIps.set(
      instance.name,
      plan.interfaces.map((i) => {
        const address = i.address.split("/")[0] ?? i.address;
        return { network: i.network, address, ip: book(instance.name, i.network, address) };
      }),
    );
  }
  const bookedIn = (networkName: string) => (ipamByNetwork.get(networkName) ?? []).map((h) => h.address);

  // ---- bastion (Public Gateway): SSH only, no default route, no NAT; one, or one per VPC
  const vpcOfNetwork = new Map(topology.vpcs.flatMap((v) => v.privateNetworks.map((pn) => [pn.name, v.name] as const)));
  const perVpc = (options.publicGateways ?? "shared") === "per-vpc";
  const bastionGroups = perVpc
    ? topology.vpcs
        .filter((v) => inScaleway(v.name))
        .map((v) => ({ name: `${topology.bastion.name}-${v.name}`, vpc: v.name as string | undefined, ips: bastionIps.filter((b) => vpcOfNetwork.get(b.attachment.network) === v.name) }))
        .filter((g) => g.ips.length > 0)
    : [{ name: topology.bastion.name, vpc: undefined as string | undefined, ips: bastionIps }];
  const sshKey = stack.resource("scaleway_iam_ssh_key", "operator", { name: `wg-ts-${topology.name}-operator`, public_key: sshPublicKey });
  const bastions = bastionGroups.map((group) => {
    const publicIp = stack.resource("scaleway_vpc_public_gateway_ip", tfName(`${group.name}-ip`), { ...common, tags: tags("bastion") });
    const gateway = stack.resource("scaleway_vpc_public_gateway", tfName(group.name), {
      name: group.name,
      type: topology.bastion.type,
      ip_id: publicIp.attr("id"),
      bastion_enabled: true,
      bastion_port: topology.bastion.sshPort,
      // The bastion copies the project's SSH keys when this value changes.
      refresh_ssh_keys: expr(`sha256(${sshKey.ref("public_key")})`),
      ...common,
      tags: tags("bastion"),
    });
    for (const { attachment, ip } of group.ips) {
      stack.resource("scaleway_vpc_gateway_network", tfName(`${topology.bastion.name}-${attachment.network}`), {
        gateway_id: gateway.attr("id"),
        private_network_id: network(attachment.network).attr("id"),
        enable_masquerade: false,
        ipam_config: { push_default_route: topology.bastion.pushDefaultRoute, ipam_ip_id: ip.attr("id") },
        ...common,
        depends_on: bookedIn(attachment.network),
      });
    }
    return { ...group, publicIp };
  });
  const bastionPublicIp = (bastions[0] as (typeof bastions)[number]).publicIp;
  /** The bastion that reaches `vpc` (the shared one, or that VPC's own). */
  const bastionFor = (vpc: string | undefined) => bastions.find((b) => b.vpc === vpc) ?? (bastions[0] as (typeof bastions)[number]);

  // ---- security groups (public traffic)
  const securityGroups = new Map<string, ScalewayHandle<"scaleway_instance_security_group">>();
  const usedGroups = new Set(instances.map((i) => i.securityGroup));
  for (const sg of topology.securityGroups.filter((g) => usedGroups.has(g.name))) {
    securityGroups.set(
      sg.name,
      stack.resource("scaleway_instance_security_group", tfName(sg.name), {
        name: sg.name,
        description: "wg-deploy: applies to public traffic only; private traffic is filtered by the gateways' nftables",
        stateful: true,
        inbound_default_policy: "drop",
        outbound_default_policy: "accept",
        inbound_rule: sg.inbound.map((rule) => ({
          action: "accept" as const,
          protocol: rule.protocol === "tcp" ? ("TCP" as const) : rule.protocol === "udp" ? ("UDP" as const) : ("ANY" as const),
          ...(rule.port !== undefined ? { port: rule.port === topology.overlay.port ? wireguardPort : rule.port } : {}),
          ...(rule.from.kind === "cidr" ? { ip_range: rule.from.cidr } : {}),
        })),
        ...common,
      }),
    );
  }

  // ---- database (managed PostgreSQL, private endpoint only)
  const password = stack.resource("random_password", "database", {
    length: 24,
    special: true,
    // Characters safe in pgpass, shell, YAML block scalars and URLs; Scaleway wants one of each class.
    override_special: "-_.+",
    min_lower: 2,
    min_upper: 2,
    min_numeric: 2,
    min_special: 2,
  });
  const db = topology.database;
  const dbHost = db ? topology.hosts.find((h) => h.name === db.host) : undefined;
  const rdb = db && dbHost ? databaseResources(stack, db, network(dbHost.attachment.network).attr("id"), password, region, tags(), bookedIn(dbHost.attachment.network)) : undefined;

  // ---- the wg-ts build the gateways install (../artifact/pack.ts)
  const bucketSuffix = stack.resource("random_id", "artifacts", { byte_length: 4 });
  const bucket = stack.resource("scaleway_object_bucket", "artifacts", {
    name: `wg-ts-${topology.name}-${bucketSuffix.attr("hex")}`,
    region,
    force_destroy: true,
  });
  const artifactPath = `\${path.module}/${ARTIFACT_FILE}`;
  const artifactObject = stack.resource("scaleway_object", "wg_ts", {
    bucket: bucket.attr("id"),
    key: ARTIFACT_FILE,
    file: `${artifactPath}`,
    hash: expr(`filemd5("${artifactPath}")`),
    visibility: "public-read",
    content_type: "application/gzip",
  });
  const artifact = { url: `"\${${bucket.ref("endpoint")}}/${ARTIFACT_FILE}"`, sha256: `filesha256("${artifactPath}")` };
  // Node.js 24 + npm for wg-ts (../cloud/node-runtime.ts): from this bucket, not a third-party repository.
  const runtimePath = `\${path.module}/${NODE_RUNTIME_FILE}`;
  const runtimeObject = stack.resource("scaleway_object", "node_runtime", {
    bucket: bucket.attr("id"),
    key: NODE_RUNTIME_FILE,
    file: `${runtimePath}`,
    hash: expr(`filemd5("${runtimePath}")`),
    visibility: "public-read",
    content_type: "application/gzip",
  });
  const nodeRuntime = { url: `"\${${bucket.ref("endpoint")}}/${NODE_RUNTIME_FILE}"`, sha256: `filesha256("${runtimePath}")` };

  // ---- instances
  const publicIps = new Map<string, ScalewayHandle<"scaleway_instance_ip">>();
  for (const instance of instances) if (planOf(instance.name).uplink) publicIps.set(instance.name, stack.resource("scaleway_instance_ip", tfName(`${instance.name}-ip`), { ...common }));
  const expression = (placeholder: Placeholder): string => {
    switch (placeholder.kind) {
      case "wireguard-private-key":
        return `var.wireguard_private_keys[${hclString(placeholder.node)}]`;
      case "wireguard-public-key":
        return `var.wireguard_public_keys[${hclString(placeholder.node)}]`;
      case "public-ip": {
        if (placeholder.node === topology.bastion.name) return bastionPublicIp.ref("address");
        const ip = publicIps.get(placeholder.node);
        if (!ip && options.combined && !scalewayGateways.some((g) => g.name === placeholder.node)) return options.combined.peerPublicIp(placeholder.node);
        if (!ip) throw new Error(`scaleway: ${placeholder.node} has no public IP`);
        return ip.ref("address");
      }
      case "database-password":
        return password.ref("result");
      case "database-address":
        if (!rdb) throw new Error(`scaleway: topology ${topology.name} has no database`);
        return rdb.ref("private_network", ".0.ip");
      case "uplink-gateway":
      case "file-path":
        throw new Error(`scaleway: placeholder ${placeholder.kind} is resolved by the cloud-init renderer`);
    }
  };
  const userData = new Map<string, string>();
  const servers = new Map<string, ScalewayHandle<"scaleway_instance_server">>();
  const nics = new Map<string, ScalewayHandle<"scaleway_instance_private_nic">>();
  for (const instance of instances) {
    const plan = planOf(instance.name);
    const cloudInit = renderCloudInit({
      plan,
      expression,
      networkUuid: (name) => `element(split("/", ${network(name).ref("id")}), 1)`,
      sshPublicKey: "var.ssh_public_key",
      ...(plan.wireguard ? { artifact, nodeRuntime } : {}),
    });
    userData.set(instance.name, cloudInit);
    const securityGroup = securityGroups.get(instance.securityGroup);
    if (!securityGroup) throw new Error(`scaleway: unknown security group ${instance.securityGroup}`);
    const publicIp = publicIps.get(instance.name);
    const server = stack.resource("scaleway_instance_server", tfName(instance.name), {
      name: instance.name,
      type: instance.instanceType,
      image: INSTANCE_IMAGE,
      security_group_id: securityGroup.attr("id"),
      ...(publicIp ? { ip_id: publicIp.attr("id") } : {}),
      user_data: { "cloud-init": cloudInit },
      ...common,
      tags: tags(instance.kind),
      // The gateways download the tarball and the runtime at first boot.
      ...(plan.wireguard ? { depends_on: [artifactObject.address, runtimeObject.address] } : {}),
    });
    servers.set(instance.name, server);
    for (const { network: networkName, ip } of instanceIps.get(instance.name) ?? []) {
      const nic = stack.resource("scaleway_instance_private_nic", tfName(`${instance.name}-${networkName}`), {
        server_id: server.attr("id"),
        private_network_id: network(networkName).attr("id"),
        ipam_ip_ids: [ip.attr("id")],
        ...common,
        depends_on: bookedIn(networkName),
      });
      nics.set(`${instance.name}/${networkName}`, nic);
    }
  }

  // ---- VPC routes: the other sites' networks and the overlay are behind the VPC's WireGuard gateway
  // (topology.md: the database must be able to answer spoke-02; this declares the path to the VPC
  // dataplane in addition to the spoke-01 masquerade of the plan).
  for (const gateway of scalewayGateways) {
    const first = gateway.attachments[0];
    const nic = first ? nics.get(`${gateway.name}/${first.network}`) : undefined;
    const vpc = vpcs.get(gateway.vpc);
    if (!nic || !vpc) throw new Error(`scaleway: gateway ${gateway.name} has no NIC in VPC ${gateway.vpc}`);
    const remote = [...topology.gateways.filter((o) => o.name !== gateway.name).flatMap((o) => o.attachments.map((a) => a.cidr)), topology.overlay.cidr];
    for (const destination of remote) {
      stack.resource("scaleway_vpc_route", tfName(`${gateway.vpc}-to-${destination}`), {
        vpc_id: vpc.attr("id"),
        description: `${destination} via ${gateway.name} (WireGuard)`,
        destination,
        nexthop_resource_id: nic.attr("id"),
        region,
        tags: tags(),
      });
    }
  }

  // ---- outputs (the seed's names)
  const instanceVpc = (name: string) => vpcOfNetwork.get(instanceIps.get(name)?.[0]?.network ?? "");
  const sshJumpFor = (name: string) => `ssh -J ${BASTION_USER}@${bastionFor(instanceVpc(name)).publicIp.attr("address")}:${topology.bastion.sshPort}`;
  const primaryAddress = (name: string) => instanceIps.get(name)?.[0]?.address ?? "";
  stack.output("public_ips", {
    description: "Public IPv4 of every instance that has one, and of the Public Gateway (bastion).",
    value: {
      ...Object.fromEntries([...publicIps].map(([name, ip]) => [name, ip.attr("address")])),
      ...Object.fromEntries(bastions.map((b) => [b.name, b.publicIp.attr("address")])),
      ...options.combined?.outputs.public_ips,
    },
  });
  stack.output("ssh_commands", {
    description: "SSH to each instance through the Public Gateway bastion.",
    value: { ...Object.fromEntries(instances.map((i) => [i.name, `${sshJumpFor(i.name)} ${SSH_USER}@${primaryAddress(i.name)}`])), ...options.combined?.outputs.ssh_commands },
  });
  stack.output("wireguard_status_commands", {
    description: "Diagnosis commands for each WireGuard gateway (wg show through the UAPI socket of wg-ts, and wg-stats).",
    value: {
      ...Object.fromEntries(
        scalewayGateways.map((g) => [g.name, `${sshJumpFor(g.name)} ${SSH_USER}@${primaryAddress(g.name)} 'wg show wg0; systemctl status --no-pager wg-ts@wg0; /usr/local/bin/wg-stats.sh'`]),
      ),
      ...options.combined?.outputs.wireguard_status_commands,
    },
  });
  stack.output("wireguard_network", {
    description: "The WireGuard overlay.",
    value: {
      cidr: topology.overlay.cidr,
      port: wireguardPort,
      mtu: wireguardMtu,
      persistent_keepalive: topology.overlay.persistentKeepalive,
      gateways: Object.fromEntries(topology.gateways.map((g) => [g.name, g.overlayIp])),
      public_keys: expr("var.wireguard_public_keys"),
    },
  });
  stack.output("vpn_subnets", {
    description: "Private networks reachable through the VPN, by VPC.",
    value: Object.fromEntries(topology.vpcs.map((v) => [v.name, v.privateNetworks.map((pn) => pn.cidr)])),
  });
  if (db && dbHost) {
    stack.output("database_connection", {
      description: "PostgreSQL connection (private endpoint, reachable through the VPN only).",
      sensitive: true,
      value: {
        host: rdb?.attr("private_network", ".0.ip") ?? dbHost.attachment.address,
        port: db.port,
        user: db.user,
        password: password.attr("result"),
        database: db.database,
      },
    });
  }
  stack.output("database_password", { description: "Password of the database user.", sensitive: true, value: password.attr("result") });

  return { document: stack.toJSON(), userData };
}

function databaseResources(
  stack: Stack<ScalewayCatalog>,
  db: Database,
  networkId: string,
  password: ScalewayHandle<"random_password">,
  region: string,
  tags: string[],
  dependsOn: string[],
): ScalewayHandle<"scaleway_rdb_instance"> {
  const rdb = stack.resource("scaleway_rdb_instance", tfName(db.host), {
    name: db.host,
    node_type: db.nodeType,
    engine: db.engine,
    is_ha_cluster: false,
    disable_backup: false,
    user_name: db.user,
    password: password.attr("result"),
    encryption_at_rest: true,
    // IPAM picks the address (provider docs: a fixed `ip_net` is "static" mode, not registered in
    // IPAM and DNS, and may be unreachable from the VPC). The clients read it back through the
    // `database-address` placeholder. Created after the network's reservations (`depends_on`), so
    // IPAM cannot hand it an address the model booked for a machine.
    private_network: { pn_id: networkId, enable_ipam: true },
    region,
    tags,
    depends_on: dependsOn,
  });
  const database = stack.resource("scaleway_rdb_database", tfName(`${db.host}-${db.database}`), { instance_id: rdb.attr("id"), name: db.database, region });
  stack.resource("scaleway_rdb_privilege", tfName(`${db.host}-${db.user}`), {
    instance_id: rdb.attr("id"),
    user_name: db.user,
    database_name: database.attr("name"),
    permission: "all",
    region,
  });
  return rdb;
}
