/**
 * The outputs of the Scaleway document, with the seed's names: public IPs (instances and bastions),
 * SSH and diagnosis commands through the bastion, the overlay, the private networks by VPC, and the
 * database connection and password (sensitive). In a combined root module the other provider's
 * gateway adds its entries to the public IP and command maps.
 */
import { vpnSubnets, wireguardStatusCommand } from "../cloud/outputs.js";
import { expr } from "../terraform/document.js";
import { BASTION_USER, type Bastion } from "./bastion.js";
import type { ScalewayContext } from "./context.js";
import type { ScalewayDatabase } from "./database.js";
import { type InstanceAddress, type ScalewayInstance, SSH_USER } from "./instances.js";
import type { ScalewayHandle } from "./resources.js";
import type { ScalewayOptions } from "./stack.js";

/** What the outputs read. */
export interface OutputInputs {
  readonly instances: readonly ScalewayInstance[];
  readonly instanceIps: ReadonlyMap<string, readonly InstanceAddress[]>;
  readonly publicIps: ReadonlyMap<string, ScalewayHandle<"scaleway_instance_ip">>;
  readonly bastions: readonly Bastion[];
  readonly vpcOfNetwork: ReadonlyMap<string, string>;
  readonly wireguardPort: string;
  readonly wireguardMtu: string;
  readonly database: ScalewayDatabase;
  readonly combined: ScalewayOptions["combined"];
}

/** Declares the outputs. */
export function addScalewayOutputs(ctx: ScalewayContext, inputs: OutputInputs): void {
  const { stack, topology } = ctx;
  const { instances, instanceIps, publicIps, bastions, vpcOfNetwork, wireguardPort, wireguardMtu, combined } = inputs;
  const { password, db, dbHost, rdb } = inputs.database;
  /** The bastion that reaches `vpc` (the shared one, or that VPC's own). */
  const bastionFor = (vpc: string | undefined) => bastions.find((b) => b.vpc === vpc) ?? (bastions[0] as (typeof bastions)[number]);
  const instanceVpc = (name: string) => vpcOfNetwork.get(instanceIps.get(name)?.[0]?.network ?? "");
  const sshJumpFor = (name: string) => `ssh -J ${BASTION_USER}@${bastionFor(instanceVpc(name)).publicIp.attr("address")}:${topology.bastion.sshPort}`;
  const primaryAddress = (name: string) => instanceIps.get(name)?.[0]?.address ?? "";
  stack.output("public_ips", {
    description: "Public IPv4 of every instance that has one, and of the Public Gateway (bastion).",
    value: {
      ...Object.fromEntries([...publicIps].map(([name, ip]) => [name, ip.attr("address")])),
      ...Object.fromEntries(bastions.map((b) => [b.name, b.publicIp.attr("address")])),
      ...combined?.outputs.public_ips,
    },
  });
  stack.output("ssh_commands", {
    description: "SSH to each instance through the Public Gateway bastion.",
    value: { ...Object.fromEntries(instances.map((i) => [i.name, `${sshJumpFor(i.name)} ${SSH_USER}@${primaryAddress(i.name)}`])), ...combined?.outputs.ssh_commands },
  });
  stack.output("wireguard_status_commands", {
    description: "Diagnosis commands for each WireGuard gateway (wg show through the UAPI socket of wg-ts, and wg-stats).",
    value: {
      ...Object.fromEntries(
        ctx.gateways.map((g) => [g.name, `${sshJumpFor(g.name)} ${SSH_USER}@${primaryAddress(g.name)} '${wireguardStatusCommand(false)}'`]),
      ),
      ...combined?.outputs.wireguard_status_commands,
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
    value: vpnSubnets(topology),
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
}
