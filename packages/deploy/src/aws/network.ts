/**
 * The AWS network the gateway joins, looked up rather than created (seed 004 owns it): our VPC
 * (the region's default one, or found by `vpc_tags`), the seed's private route table (tag Name
 * `<prefix>-private`) and the gateway's two subnets; and the seed's routes, every egress route of
 * that table sent to the gateway's private ENI (the seed sent them to its VPN gateway).
 */
import type { Stack } from "../terraform/document.js";
import type { AwsCatalog, AwsDataHandle, AwsHandle } from "./resources.js";

/** What {@link lookupAwsNetwork} found. */
export interface AwsNetwork {
  readonly vpc: AwsDataHandle<"aws_vpc">;
  readonly routeTable: AwsDataHandle<"aws_route_table">;
  readonly publicSubnet: AwsDataHandle<"aws_subnet">;
  readonly privateSubnet: AwsDataHandle<"aws_subnet">;
}

/** Data sources of our VPC, the private route table and the public/private subnets (`<which>_subnet_id`, else by tag). */
export function lookupAwsNetwork(stack: Stack<AwsCatalog>, prefix: string): AwsNetwork {
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
  return { vpc, routeTable, publicSubnet, privateSubnet };
}

/** seed 004's routes: every egress route of the private route table -> our ENI (the seed: -> the VGW). */
export function addEgressRoutes(stack: Stack<AwsCatalog>, routeTable: AwsDataHandle<"aws_route_table">, privateEni: AwsHandle<"aws_network_interface">): void {
  stack.resource("aws_route", "egress", {
    count: "${length(var.egress_routes)}",
    route_table_id: routeTable.attr("id"),
    destination_cidr_block: "${var.egress_routes[count.index]}",
    network_interface_id: privateEni.attr("id"),
  });
}
