/**
 * The model's fixed private addresses (gateways, clients, bastion), each booked as a
 * `scaleway_ipam_ip` before anything else joins its network: whatever IPAM hands out afterwards
 * (e.g. the database's address) depends on every booking of the network (`bookedIn`), so it
 * cannot take an address the model gave a machine.
 */
import { tfName } from "../terraform/document.js";
import type { ScalewayContext } from "./context.js";
import type { ScalewayNetworks } from "./network.js";
import type { ScalewayHandle } from "./resources.js";

export class IpamBookings {
  readonly #ctx: ScalewayContext;
  readonly #networks: ScalewayNetworks;
  readonly #byNetwork = new Map<string, ScalewayHandle<"scaleway_ipam_ip">[]>();

  constructor(ctx: ScalewayContext, networks: ScalewayNetworks) {
    this.#ctx = ctx;
    this.#networks = networks;
  }

  /** Books `address` on private network `networkName` for `owner`. */
  book(owner: string, networkName: string, address: string): ScalewayHandle<"scaleway_ipam_ip"> {
    const handle = this.#ctx.stack.resource("scaleway_ipam_ip", tfName(`${owner}-${networkName}`), {
      address,
      source: { private_network_id: this.#networks.network(networkName).attr("id") },
      region: this.#ctx.region,
      tags: this.#ctx.tags(owner),
    });
    this.#byNetwork.set(networkName, [...(this.#byNetwork.get(networkName) ?? []), handle]);
    return handle;
  }

  /** Addresses of the bookings on `networkName` so far (for `depends_on`). */
  bookedIn(networkName: string): string[] {
    return (this.#byNetwork.get(networkName) ?? []).map((h) => h.address);
  }
}
