/**
 * The simulated underlay: UDP sockets of the gateways, the paths between them (latency, jitter, loss,
 * duplication, reordering, MTU, partitions) and NAT boxes in front of gateways behind NAT.
 *
 * Initial state: no sockets, no partitions. Guarantees: a datagram is delivered at most once per copy,
 * never before `latency` ms, in FIFO order per direction unless chosen for reordering; every datagram
 * is reported to `observe` exactly once with its fate (copies of a duplicate once more). All
 * randomness comes from the given {@link Prng}; all time from the {@link EventQueue}. NAT boxes
 * (./nat.ts) get their ports from here, numbered from 40000 in the order mappings are made.
 */
import type { Endpoint } from "@wg-ts/core";
import { NatBox } from "./nat.js";
import type { Prng } from "./prng.js";
import type { EventQueue } from "./queue.js";
import type { LinkConditions, NatOptions } from "./scenario.js";

/** UDP + IPv4 header bytes around a datagram (what the path MTU applies to). */
export const UDP_IPV4_OVERHEAD = 28;

export type Fate = "sent" | "loss" | "partition" | "mtu" | "unreachable" | "nat-no-mapping";

export interface UnderlayHooks {
  /** Conditions of the path between gateways a and b. */
  conditions(a: number, b: number): LinkConditions;
  /** Hands a datagram to gateway `to`'s socket, as sent from `from` (after NAT). */
  deliver(to: number, datagram: Uint8Array, source: Endpoint, from: number): void;
  /** Every datagram put on the wire by gateway `from`, toward gateway `to` (-1: nobody there). */
  observe(from: number, to: number, datagram: Uint8Array, fate: Fate): void;
}

export class Underlay {
  /** address -> port -> gateway, for sockets reachable from the internet. */
  readonly #sockets = new Map<string, Map<number, number>>();
  /** Gateway -> its directly reachable socket. */
  readonly #endpoints = new Map<number, Endpoint>();
  /** Public address -> gateway whose NAT box holds it. */
  readonly #natByAddress = new Map<string, number>();
  readonly #nats = new Map<number, NatBox>();
  /** Partitioned pairs -> number of partitions in force. */
  readonly #partitions = new Map<number, number>();
  /** Directed pair -> arrival time of the last FIFO datagram. */
  readonly #lastArrival = new Map<number, number>();
  #nextNatPort = 40_000;

  constructor(
    readonly gateways: number,
    readonly queue: EventQueue,
    readonly prng: Prng,
    readonly nat: NatOptions,
    readonly hooks: UnderlayHooks,
  ) {}

  /** Gateway `g` listens on `endpoint`, reachable directly (replaces its previous socket: a move). */
  bind(g: number, endpoint: Endpoint): void {
    const old = this.#endpoints.get(g);
    if (old !== undefined) this.#sockets.get(old.address)?.delete(old.port);
    let ports = this.#sockets.get(endpoint.address);
    if (ports === undefined) this.#sockets.set(endpoint.address, (ports = new Map()));
    ports.set(endpoint.port, g);
    this.#endpoints.set(g, endpoint);
  }

  /** Gateway `g` sits behind a NAT box with `publicAddress`; its own socket is `inside`. */
  addNat(g: number, inside: Endpoint, publicAddress: string): void {
    this.#nats.set(g, new NatBox(inside, publicAddress, this.nat));
    this.#natByAddress.set(publicAddress, g);
  }

  /** The NAT box in front of `g` forgets its mapping. */
  rebind(g: number): void {
    const nat = this.#nats.get(g);
    if (nat === undefined) throw new Error(`gateway ${g} is not behind NAT`);
    nat.rebind();
  }

  /** The (public address, port) the NAT box currently maps `g` to, if any. */
  natMapping(g: number): Endpoint | null {
    return this.#nats.get(g)?.mapping(this.queue.now) ?? null;
  }

  partition(a: number, b: number, duration: number): void {
    const k = pair(a, b, this.gateways);
    this.#partitions.set(k, (this.#partitions.get(k) ?? 0) + 1);
    this.queue.at(this.queue.now + duration, () => {
      const n = (this.#partitions.get(k) ?? 1) - 1;
      if (n === 0) this.#partitions.delete(k);
      else this.#partitions.set(k, n);
    });
  }

  isPartitioned(a: number, b: number): boolean {
    return this.#partitions.has(pair(a, b, this.gateways));
  }

  /** Gateway `from` sends `datagram` from its socket to `to`. */
  send(from: number, datagram: Uint8Array, to: Endpoint): void {
    const now = this.queue.now;
    // Leaving through a NAT box: the source becomes its public side.
    const source = this.#nats.get(from)?.outbound(now, () => this.#nextNatPort++) ?? this.#publicEndpointOf(from);
    const target = this.#owner(to);
    if (target < 0) return this.hooks.observe(from, -1, datagram, "unreachable");
    if (source === null) return this.hooks.observe(from, target, datagram, "unreachable");
    const c = this.hooks.conditions(from, target);
    if (this.isPartitioned(from, target)) return this.hooks.observe(from, target, datagram, "partition");
    if (datagram.length + UDP_IPV4_OVERHEAD > c.mtu) return this.hooks.observe(from, target, datagram, "mtu");
    if (this.prng.chance(c.loss)) return this.hooks.observe(from, target, datagram, "loss");
    this.hooks.observe(from, target, datagram, "sent");
    const copies = this.prng.chance(c.duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      if (i > 0) this.hooks.observe(from, target, datagram, "sent");
      const at = this.#arrival(from, target, c, now);
      const src = source;
      this.queue.at(at, () => this.#arrive(from, target, datagram, src, to));
    }
  }

  #arrival(from: number, to: number, c: LinkConditions, now: number): number {
    let at = now + c.latency + (c.jitter > 0 ? this.prng.next() * c.jitter : 0);
    if (this.prng.chance(c.reorder)) return at + c.jitter + 1 + this.prng.next() * 49;
    const d = from * this.gateways + to;
    const last = this.#lastArrival.get(d) ?? -Infinity;
    if (at < last) at = last;
    this.#lastArrival.set(d, at);
    return at;
  }

  #arrive(from: number, target: number, datagram: Uint8Array, source: Endpoint, to: Endpoint): void {
    const nat = this.#nats.get(target);
    if (nat !== undefined && to.address === nat.publicAddress) {
      // Entering through the NAT box: only the live mapping's port gets in.
      if (!nat.admits(to.port, this.queue.now)) return this.hooks.observe(from, target, datagram, "nat-no-mapping");
    } else if (this.#socket(to) !== target) {
      return this.hooks.observe(from, target, datagram, "unreachable");
    }
    this.hooks.deliver(target, datagram, source, from);
  }

  /** Which gateway an endpoint reaches (-1: none). A NAT box's address counts as its gateway's. */
  #owner(to: Endpoint): number {
    return this.#socket(to) ?? this.#natByAddress.get(to.address) ?? -1;
  }

  #socket(to: Endpoint): number | undefined {
    return this.#sockets.get(to.address)?.get(to.port);
  }

  #publicEndpointOf(g: number): Endpoint | null {
    return this.#endpoints.get(g) ?? null;
  }
}

/** Unordered pair index of gateways a and b. */
export function pair(a: number, b: number, n: number): number {
  return a < b ? a * n + b : b * n + a;
}
