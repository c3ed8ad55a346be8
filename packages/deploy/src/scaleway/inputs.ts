/**
 * The inputs of the Scaleway document, with the seed's names: the operator's SSH public key, the
 * zone and region, the values the node plans were synthesized with (WireGuard port and MTU,
 * pinned), and the WireGuard key maps of `wireguard.secrets.json` for every gateway.
 */
import type { Topology } from "../model/topology.js";
import type { Stack } from "../terraform/document.js";
import { pinnedVariable, wireguardKeyVariables } from "../terraform/variables.js";
import type { ScalewayCatalog } from "./resources.js";

/** Expressions of the declared inputs. */
export interface ScalewayInputs {
  readonly sshPublicKey: string;
  readonly zone: string;
  readonly region: string;
  readonly wireguardPort: string;
  readonly wireguardMtu: string;
}

/** Declares the inputs; the zone and region default to the topology's. */
export function declareScalewayInputs(stack: Stack<ScalewayCatalog>, topology: Topology): ScalewayInputs {
  const sshPublicKey = stack.variable("ssh_public_key", { type: "string", description: "SSH public key installed on the instances and the bastion." });
  const zone = stack.variable("zone", { type: "string", description: "Scaleway zone.", default: topology.inputs.zone });
  const region = stack.variable("region", { type: "string", description: "Scaleway region.", default: topology.inputs.region });
  const wireguardPort = pinnedVariable(stack, "wireguard_port", topology.overlay.port, "WireGuard UDP port");
  const wireguardMtu = pinnedVariable(stack, "wireguard_mtu", topology.overlay.mtu, "MTU of the WireGuard interfaces");
  wireguardKeyVariables(stack, topology.gateways.map((g) => g.name));
  return { sshPublicKey, zone, region, wireguardPort, wireguardMtu };
}
