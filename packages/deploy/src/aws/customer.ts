/**
 * Seed 004's customer: the one gateway of the topology that is not ours (`external`). The AWS part
 * takes its public address as the seed's `gateway_ip_address` and its WireGuard public key as a
 * variable (null = the key pair wg-deploy generated for it), and hands it back its wg-quick file —
 * its node plan's, with our Elastic IP and the keys — as a sensitive output.
 */
import { UPLINK_GATEWAY_COMMAND } from "../cloud/cloud-init.js";
import type { Gateway } from "../model/topology.js";
import { GATEWAY_PATHS } from "../plan/plan.js";
import { renderTemplate } from "../plan/render.js";
import type { NodePlan } from "../plan/types.js";
import { expr, hclString, type Stack } from "../terraform/document.js";
import { Holes } from "../terraform/holes.js";
import { WIREGUARD_KEY_REGEX } from "../terraform/variables.js";
import type { AwsCatalog } from "./resources.js";
import type { AwsSite, PeerExpressions } from "./site.js";

/** How the AWS site refers to the customer's gateway (the variables and locals {@link declareCustomerInputs} declares). */
export const CUSTOMER_PEER: PeerExpressions = {
  publicIp: () => "var.gateway_ip_address",
  publicKey: () => "local.remote_wireguard_public_key",
  privateKey: () => "local.remote_wireguard_private_key",
};

/** `gateway_ip_address` and `remote_wireguard_public_key` for `customer`, and the locals the site and its file use. */
export function declareCustomerInputs(stack: Stack<AwsCatalog>, customer: Gateway): void {
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

/** The wg-quick file of each external gateway: its node plan's, with our Elastic IP and keys (a Terraform template string). */
export function customerConfigs(site: AwsSite, external: readonly Gateway[], plans: ReadonlyMap<string, NodePlan>): Map<string, string> {
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
          return UPLINK_GATEWAY_COMMAND;
        default:
          throw new Error(`aws: placeholder ${p.kind} in ${peer.name}'s wg-quick file`);
      }
    });
    remoteConfigs.set(peer.name, holes.fill(text));
  }
  return remoteConfigs;
}
