/**
 * TypeScript shapes of the Terraform resource types wg-deploy emits for Scaleway, transcribed from
 * the provider documentation (scaleway/terraform-provider-scaleway `templates/resources/<type>.md.tmpl`,
 * provider `scaleway/scaleway ~> 2.80`; hashicorp/terraform-provider-random `docs/resources/*.md`).
 *
 * Only the arguments wg-deploy uses are typed here; the full argument and attribute lists, with the
 * exact doc commit each was read from, are the JSON Schemas in `packages/deploy/schemas/`, which the
 * tests check the generated document against. In Terraform JSON a block is an object (single) or an
 * array of objects (repeatable); numbers and booleans may also be `${...}` expressions.
 */

import type { Catalog, Handle } from "../terraform/document.js";

/** A literal or a `${...}` expression string. */
type Num = number | string;
type Bool = boolean | string;

export interface ScalewayVpc {
  name: string;
  tags?: readonly string[];
  region?: string;
  enable_routing?: Bool;
}

export interface ScalewayVpcPrivateNetwork {
  name: string;
  vpc_id: string;
  ipv4_subnet: { subnet: string };
  tags?: readonly string[];
  region?: string;
}

export interface ScalewayVpcPublicGatewayIp {
  tags?: readonly string[];
  zone?: string;
}

export interface ScalewayVpcPublicGateway {
  type: string;
  name: string;
  ip_id?: string;
  bastion_enabled?: Bool;
  bastion_port?: Num;
  refresh_ssh_keys?: string;
  tags?: readonly string[];
  zone?: string;
}

export interface ScalewayVpcGatewayNetwork {
  gateway_id: string;
  private_network_id: string;
  /** Defaults to true in the provider: wg-deploy always sets false (the WireGuard gateways NAT). */
  enable_masquerade: Bool;
  ipam_config: { push_default_route: Bool; ipam_ip_id?: string };
  zone?: string;
}

export interface ScalewayVpcRoute {
  vpc_id: string;
  description: string;
  destination: string;
  /** An Instance private NIC (the WireGuard gateway's NIC in that VPC). */
  nexthop_resource_id: string;
  tags?: readonly string[];
  region?: string;
}

export interface ScalewayIpamIp {
  address: string;
  source: { private_network_id: string };
  tags?: readonly string[];
  region?: string;
}

export interface ScalewayInstanceIp {
  type?: "routed_ipv4" | "routed_ipv6";
  zone?: string;
}

export interface SecurityGroupRule {
  action: "accept" | "drop";
  protocol?: "TCP" | "UDP" | "ICMP" | "ANY";
  port?: Num;
  ip_range?: string;
}

export interface ScalewayInstanceSecurityGroup {
  name: string;
  description?: string;
  stateful?: Bool;
  inbound_default_policy: "accept" | "drop";
  outbound_default_policy: "accept" | "drop";
  inbound_rule: readonly SecurityGroupRule[];
  zone?: string;
}

export interface ScalewayInstanceServer {
  type: string;
  image: string;
  name: string;
  tags?: readonly string[];
  security_group_id?: string;
  ip_id?: string;
  root_volume?: { size_in_gb?: Num; volume_type?: "l_ssd" | "sbs_volume"; delete_on_termination?: Bool };
  /** Key `cloud-init` is read by cloud-init's Scaleway datasource. */
  user_data?: Readonly<Record<string, string>>;
  zone?: string;
}

export interface ScalewayInstancePrivateNic {
  server_id: string;
  private_network_id: string;
  ipam_ip_ids?: readonly string[];
  zone?: string;
}

export interface ScalewayRdbInstance {
  name: string;
  node_type: string;
  engine: string;
  is_ha_cluster?: Bool;
  disable_backup?: Bool;
  user_name?: string;
  password?: string;
  volume_type?: "lssd" | "sbs_5k" | "sbs_15k";
  volume_size_in_gb?: Num;
  encryption_at_rest?: Bool;
  /** No `load_balancer` member on purpose: it is what gives a Database Instance a public endpoint. */
  private_network: { pn_id: string; enable_ipam?: Bool; ip_net?: string };
  tags?: readonly string[];
  region?: string;
}

export interface ScalewayRdbDatabase {
  instance_id: string;
  name: string;
  region?: string;
}

export interface ScalewayRdbPrivilege {
  instance_id: string;
  user_name: string;
  database_name: string;
  permission: "readonly" | "readwrite" | "all" | "custom" | "none";
  region?: string;
}

export interface ScalewayIamSshKey {
  name: string;
  public_key: string;
}

export interface ScalewayObjectBucket {
  name: string;
  region?: string;
  force_destroy?: Bool;
  tags?: Readonly<Record<string, string>>;
}

export interface ScalewayObject {
  bucket: string;
  key: string;
  file: string;
  hash?: string;
  visibility?: "public-read" | "private";
  content_type?: string;
}

export interface RandomPassword {
  length: Num;
  special?: Bool;
  override_special?: string;
  min_lower?: Num;
  min_upper?: Num;
  min_numeric?: Num;
  min_special?: Num;
}

export interface RandomId {
  byte_length: Num;
  prefix?: string;
}

/** Resource type -> argument shape. */
export interface ResourceArgs {
  scaleway_vpc: ScalewayVpc;
  scaleway_vpc_private_network: ScalewayVpcPrivateNetwork;
  scaleway_vpc_public_gateway_ip: ScalewayVpcPublicGatewayIp;
  scaleway_vpc_public_gateway: ScalewayVpcPublicGateway;
  scaleway_vpc_gateway_network: ScalewayVpcGatewayNetwork;
  scaleway_vpc_route: ScalewayVpcRoute;
  scaleway_ipam_ip: ScalewayIpamIp;
  scaleway_instance_ip: ScalewayInstanceIp;
  scaleway_instance_security_group: ScalewayInstanceSecurityGroup;
  scaleway_instance_server: ScalewayInstanceServer;
  scaleway_instance_private_nic: ScalewayInstancePrivateNic;
  scaleway_rdb_instance: ScalewayRdbInstance;
  scaleway_rdb_database: ScalewayRdbDatabase;
  scaleway_rdb_privilege: ScalewayRdbPrivilege;
  scaleway_iam_ssh_key: ScalewayIamSshKey;
  scaleway_object_bucket: ScalewayObjectBucket;
  scaleway_object: ScalewayObject;
  random_password: RandomPassword;
  random_id: RandomId;
}

export type ResourceType = keyof ResourceArgs;

/** Attributes each type exports besides its arguments ("Attributes Reference"). */
export interface ExportedAttributes {
  scaleway_vpc: "id" | "is_default" | "organization_id";
  scaleway_vpc_private_network: "id" | "organization_id";
  scaleway_vpc_public_gateway_ip: "id" | "address";
  scaleway_vpc_public_gateway: "id" | "status";
  scaleway_vpc_gateway_network: "id" | "mac_address" | "private_ip";
  scaleway_vpc_route: "id";
  scaleway_ipam_ip: "id" | "address_cidr";
  scaleway_instance_ip: "id" | "address";
  scaleway_instance_security_group: "id";
  scaleway_instance_server: "id" | "public_ips" | "private_ips";
  scaleway_instance_private_nic: "id" | "mac_address" | "private_ips";
  scaleway_rdb_instance: "id" | "private_network" | "private_ip" | "certificate";
  scaleway_rdb_database: "id" | "owner";
  scaleway_rdb_privilege: "id";
  scaleway_iam_ssh_key: "id" | "fingerprint";
  scaleway_object_bucket: "id" | "endpoint";
  scaleway_object: "id";
  random_password: "id" | "result";
  random_id: "id" | "hex";
}

/** Names `resource.attr()` accepts for a type: its arguments and its exported attributes. */
export type ResourceAttribute<T extends ResourceType> = (keyof ResourceArgs[T] & string) | ExportedAttributes[T];

/** The Scaleway (and random) provider types as a {@link Catalog} for a typed {@link Stack}. */
export interface ScalewayCatalog extends Catalog {
  readonly resources: ResourceArgs;
  readonly attributes: ExportedAttributes;
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  readonly data: {};
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  readonly dataAttributes: {};
}

/** A handle on a Scaleway resource of type `T`. */
export type ScalewayHandle<T extends ResourceType> = Handle<ScalewayCatalog, T>;
