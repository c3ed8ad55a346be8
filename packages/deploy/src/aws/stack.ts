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
 *
 * Where each part is: the AWS site (./site.ts: inputs, network lookups, security group, artifact
 * bucket, instance), the customer (./customer.ts), the outputs (./outputs.ts).
 */
import type { CloudSynthesis } from "../cloud/synthesis.js";
import { TERRAFORM_REQUIRED_VERSION } from "../cloud/synthesis.js";
import { gatewaysIn, type Topology } from "../model/topology.js";
import type { NodePlan } from "../plan/types.js";
import { Stack } from "../terraform/document.js";
import { wireguardKeyVariables } from "../terraform/variables.js";
import { CUSTOMER_PEER, customerConfigs, declareCustomerInputs } from "./customer.js";
import { addAwsOutputs } from "./outputs.js";
import type { AwsCatalog } from "./resources.js";
import { addAwsSite } from "./site.js";

/** The generated document plus what tests and tooling want to look at. */
export interface AwsSynthesis extends CloudSynthesis {
  /** External gateway name -> the wg-quick file it needs (a Terraform template string; holds its private key). */
  readonly remoteConfigs: ReadonlyMap<string, string>;
}

/**
 * Builds main.tf.json for a topology with one AWS gateway whose peers are external (seed 004's
 * customer): the seed's variables for the customer gateway (`gateway_ip_address`, its WireGuard
 * public key), and its wg-quick file as a sensitive output.
 */
export function synthesizeAws(topology: Topology, plans: ReadonlyMap<string, NodePlan>): AwsSynthesis {
  const stack = new Stack<AwsCatalog>(
    `wg-deploy: topology ${topology.name} on AWS (seed 004 on WireGuard). Generated; do not edit. Secrets: -var-file=wireguard.secrets.json.`,
    TERRAFORM_REQUIRED_VERSION,
  );
  const ours = gatewaysIn(topology, "aws");
  const external = gatewaysIn(topology, "external");
  const others = topology.gateways.filter((g) => !ours.includes(g) && !external.includes(g));
  if (others.length > 0) throw new Error(`aws: gateways ${others.map((g) => g.name).join(", ")} are neither in AWS nor external (a Scaleway VPC needs both providers: preset scaleway-aws)`);
  if (external.length > 1) throw new Error(`aws: seed 004 has one customer gateway (gateway_ip_address); topology ${topology.name} has ${external.length}`);
  wireguardKeyVariables(stack, ours.map((g) => g.name));

  const customer = external[0];
  if (customer !== undefined) declareCustomerInputs(stack, customer);
  const site = addAwsSite(stack, topology, plans, CUSTOMER_PEER);
  // ---- the customer's wg-quick file: its node plan's, with our Elastic IP and keys
  const remoteConfigs = customerConfigs(site, external, plans);
  addAwsOutputs(stack, topology, plans, site, remoteConfigs);

  return { document: stack.toJSON(), userData: new Map([[site.gateway.name, site.userData]]), remoteConfigs };
}
