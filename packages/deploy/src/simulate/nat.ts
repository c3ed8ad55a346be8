/**
 * A NAT box in front of a gateway (RFC 4787 endpoint-independent mapping, like Linux masquerade):
 * packets from the inside endpoint leave from (public address, mapped port); packets to that port
 * reach the inside while the mapping lives; a mapping unused for `idleTimeout` ms (outbound packets,
 * and inbound ones with `refreshInbound`, keep it alive), or rebound by an event, is forgotten, and
 * the next outbound packet gets a new port.
 *
 * Initial state: no mapping. Time is given (`now`, virtual ms); ports come from the underlay.
 */
import type { Endpoint } from "@wg-ts/core";
import type { NatOptions } from "./scenario.js";

export class NatBox {
  #port = 0;
  #lastUsed = -Infinity;
  #live = false;

  constructor(
    readonly inside: Endpoint,
    readonly publicAddress: string,
    readonly options: NatOptions,
  ) {}

  /** True while the mapping lives at `now`. */
  alive(now: number): boolean {
    return this.#live && now - this.#lastUsed < this.options.idleTimeout;
  }

  /** The current mapping (public address, port), or null when none lives at `now`. */
  mapping(now: number): Endpoint | null {
    return this.alive(now) ? { address: this.publicAddress, port: this.#port } : null;
  }

  /** A packet from the inside at `now`: the public source it leaves with (a new mapping, port `newPort()`, if none lives). */
  outbound(now: number, newPort: () => number): Endpoint {
    if (!this.alive(now)) {
      this.#port = newPort();
      this.#live = true;
    }
    this.#lastUsed = now;
    return { address: this.publicAddress, port: this.#port };
  }

  /** A packet to the public `port` at `now`: true if the mapping lets it in (and, with `refreshInbound`, it keeps the mapping alive). */
  admits(port: number, now: number): boolean {
    if (!this.alive(now) || this.#port !== port) return false;
    if (this.options.refreshInbound) this.#lastUsed = now;
    return true;
  }

  /** Forgets the mapping (an event: the NAT box rebooted, or its table was flushed). */
  rebind(): void {
    this.#live = false;
  }
}
