/**
 * Output values every Terraform target computes the same way: the private networks by VPC, and
 * the command that shows a cloud gateway's tunnel (wg show through wg-ts's UAPI socket, the
 * wg-ts unit, wg-stats).
 */
import type { Topology } from "../model/topology.js";
import { CLOUD_WIREGUARD_INTERFACE } from "./plans.js";

/** VPC name -> the CIDRs of its private networks (output `vpn_subnets`). */
export function vpnSubnets(topology: Topology): Record<string, string[]> {
  return Object.fromEntries(topology.vpcs.map((v) => [v.name, v.privateNetworks.map((pn) => pn.cidr)]));
}

/** The shell line that diagnoses a cloud gateway's tunnel; `sudo` where the login user is not root. */
export function wireguardStatusCommand(sudo: boolean): string {
  const as = sudo ? "sudo " : "";
  const wg = CLOUD_WIREGUARD_INTERFACE;
  return `${as}wg show ${wg}; systemctl status --no-pager wg-ts@${wg}; ${as}/usr/local/bin/wg-stats.sh`;
}
