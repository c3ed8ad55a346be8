/**
 * TypeScript shapes of the AWS resource types and data sources wg-deploy emits, transcribed from the
 * provider documentation (hashicorp/terraform-provider-aws `website/docs/r/<type>.html.markdown` and
 * `website/docs/d/<type>.html.markdown`, provider `hashicorp/aws ~> 6.0`).
 *
 * Only the arguments wg-deploy uses are typed here; the full argument and attribute lists, with the
 * exact doc commit each was read from, are the JSON Schemas in `packages/deploy/schemas/aws/`
 * (data sources in `schemas/aws/data-sources/`), which the tests check the generated document against.
 */
import type { Catalog, Handle, DataHandle } from "../terraform/document.js";

type Num = number | string;
type Bool = boolean | string;
type Tags = Readonly<Record<string, string>> | string;

/** A `filter { name, values }` block of an EC2 data source. */
export interface Filter {
  name: string;
  values: readonly string[] | string;
}

export interface AwsVpcData {
  default?: Bool | string;
  id?: string;
  tags?: Tags;
  filter?: readonly Filter[];
}

export interface AwsRouteTableData {
  vpc_id?: string;
  filter?: readonly Filter[];
}

export interface AwsSubnetData {
  id?: string;
  vpc_id?: string;
  tags?: Tags;
  filter?: readonly Filter[];
}

export interface AwsAmiData {
  owners: readonly string[];
  most_recent?: Bool;
  filter?: readonly Filter[];
}

export interface AwsInstance {
  ami: string;
  instance_type: string;
  subnet_id: string;
  vpc_security_group_ids: readonly string[] | string;
  associate_public_ip_address?: Bool;
  source_dest_check: Bool;
  key_name?: string;
  user_data?: string;
  user_data_base64?: string;
  user_data_replace_on_change?: Bool;
  metadata_options?: { http_tokens?: string; http_endpoint?: string };
  root_block_device?: { volume_size?: Num; volume_type?: string; encrypted?: Bool };
  tags?: Tags;
}

export interface AwsEip {
  instance?: string;
  network_interface?: string;
  tags?: Tags;
}

export interface AwsEipAssociation {
  allocation_id: string;
  network_interface_id: string;
}

export interface AwsSecurityGroup {
  name: string;
  description: string;
  vpc_id: string;
  tags?: Tags;
}

export interface AwsVpcSecurityGroupRule {
  security_group_id: string;
  ip_protocol: string;
  cidr_ipv4?: string;
  from_port?: Num;
  to_port?: Num;
  description?: string;
  tags?: Tags;
}

export interface AwsNetworkInterface {
  subnet_id: string;
  private_ips?: readonly string[];
  security_groups?: readonly string[];
  source_dest_check?: Bool;
  description?: string;
  tags?: Tags;
}

export interface AwsNetworkInterfaceAttachment {
  instance_id: string;
  network_interface_id: string;
  device_index: Num;
}

export interface AwsRoute {
  route_table_id: string;
  destination_cidr_block: string;
  network_interface_id: string;
}

export interface AwsS3Bucket {
  bucket_prefix?: string;
  force_destroy?: Bool;
  tags?: Tags;
}

export interface AwsS3BucketPublicAccessBlock {
  bucket: string;
  block_public_acls: Bool;
  block_public_policy: Bool;
  ignore_public_acls: Bool;
  restrict_public_buckets: Bool;
}

export interface AwsS3BucketPolicy {
  bucket: string;
  policy: string;
}

export interface AwsS3Object {
  bucket: string;
  key: string;
  source: string;
  etag?: string;
  content_type?: string;
  tags?: Tags;
}

/** Resource type -> argument shape. */
export interface AwsResourceArgs {
  aws_instance: AwsInstance;
  aws_eip: AwsEip;
  aws_eip_association: AwsEipAssociation;
  aws_security_group: AwsSecurityGroup;
  aws_vpc_security_group_ingress_rule: AwsVpcSecurityGroupRule;
  aws_vpc_security_group_egress_rule: AwsVpcSecurityGroupRule;
  aws_network_interface: AwsNetworkInterface;
  aws_network_interface_attachment: AwsNetworkInterfaceAttachment;
  aws_route: AwsRoute;
  aws_s3_bucket: AwsS3Bucket;
  aws_s3_bucket_public_access_block: AwsS3BucketPublicAccessBlock;
  aws_s3_bucket_policy: AwsS3BucketPolicy;
  aws_s3_object: AwsS3Object;
}

/** Attributes each resource type exports besides its arguments ("Attribute Reference"). */
export interface AwsExportedAttributes {
  aws_instance: "id" | "arn" | "primary_network_interface_id" | "private_ip" | "public_ip";
  aws_eip: "id" | "public_ip" | "allocation_id";
  aws_eip_association: "id" | "association_id";
  aws_security_group: "id" | "arn";
  aws_vpc_security_group_ingress_rule: "id" | "security_group_rule_id";
  aws_vpc_security_group_egress_rule: "id" | "security_group_rule_id";
  aws_network_interface: "id" | "mac_address" | "arn";
  aws_network_interface_attachment: "id" | "attachment_id" | "status";
  aws_route: "id" | "state";
  aws_s3_bucket: "id" | "arn" | "bucket_regional_domain_name";
  aws_s3_bucket_public_access_block: "id";
  aws_s3_bucket_policy: "id";
  aws_s3_object: "id" | "version_id";
}

/** Data source type -> argument shape. */
export interface AwsDataArgs {
  aws_vpc: AwsVpcData;
  aws_route_table: AwsRouteTableData;
  aws_subnet: AwsSubnetData;
  aws_ami: AwsAmiData;
}

/** Attributes each data source exports besides its arguments. */
export interface AwsDataAttributes {
  aws_vpc: "id" | "cidr_block" | "arn";
  aws_route_table: "id" | "route_table_id";
  aws_subnet: "id" | "cidr_block" | "availability_zone";
  aws_ami: "id" | "architecture" | "name";
}

/** The AWS provider's types as a {@link Catalog} for a typed Stack. */
export interface AwsCatalog extends Catalog {
  readonly resources: AwsResourceArgs;
  readonly attributes: AwsExportedAttributes;
  readonly data: AwsDataArgs;
  readonly dataAttributes: AwsDataAttributes;
}

export type AwsHandle<T extends keyof AwsResourceArgs & string> = Handle<AwsCatalog, T>;
export type AwsDataHandle<T extends keyof AwsDataArgs & string> = DataHandle<AwsCatalog, T>;
