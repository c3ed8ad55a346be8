/**
 * A tiny virtual network for in-memory WireGuard tests, all in virtual time: nodes are Devices
 * with a UDP endpoint; datagrams emitted by one are delivered to the node owning the destination
 * endpoint (optionally filtered: loss, capture, delay). Nothing touches a real socket or clock.
 */
import { seededRandom } from "./prng.js";
import { type Action, Device, type DropReason, type Endpoint, type Peer, PrivateKey, type TransportAead } from "../../src/index.js";

export interface Wire {
  from: VNode;
  to: Endpoint;
  source: Endpoint;
  datagram: Uint8Array;
  at: number;
}

export class VNode {
  readonly delivered: { packet: Uint8Array; peer: Peer; at: number }[] = [];
  readonly drops: { reason: DropReason; peer: Peer | undefined; at: number }[] = [];
  readonly sent: Wire[] = [];
  constructor(
    readonly name: string,
    readonly device: Device,
    public endpoint: Endpoint,
    readonly privateKey: PrivateKey,
  ) {}
  dropReasons(): DropReason[] {
    return this.drops.map((d) => d.reason);
  }
}

export const key = (ep: Endpoint): string => `${ep.address}:${ep.port}`;

export class VirtualNet {
  now = 1_700_000_000_000;
  readonly nodes: VNode[] = [];
  /** Return false to lose a datagram on the wire. */
  filter: (w: Wire) => boolean = () => true;
  /** Every datagram put on the wire (delivered or not). */
  readonly wire: Wire[] = [];
  readonly #out: Action[] = [];

  addNode(name: string, endpoint: Endpoint, seed: number, aead?: TransportAead): VNode {
    const random = seededRandom(seed);
    const privateKey = PrivateKey.generate(random);
    const device = new Device(aead ? { privateKey, random, aead } : { privateKey, random });
    const node = new VNode(name, device, endpoint, privateKey);
    this.nodes.push(node);
    return node;
  }

  /** Handles actions emitted by `node`, delivering datagrams until the network is quiet. */
  process(node: VNode, actions: Action[]): void {
    const queue: Wire[] = [];
    const collect = (n: VNode, acts: Action[]): void => {
      for (const a of acts) {
        if (a.kind === "toNetwork") {
          const w: Wire = { from: n, to: a.endpoint, source: n.endpoint, datagram: a.datagram, at: this.now };
          n.sent.push(w);
          this.wire.push(w);
          if (this.filter(w)) queue.push(w);
        } else if (a.kind === "toTunnel") n.delivered.push({ packet: a.packet, peer: a.peer, at: this.now });
        else n.drops.push({ reason: a.reason, peer: a.peer, at: this.now });
      }
    };
    collect(node, actions);
    let guard = 0;
    while (queue.length > 0) {
      if (++guard > 10_000) throw new Error("virtual network does not settle");
      const w = queue.shift()!;
      this.inject(w.datagram, w.source, w.to, (n, acts) => collect(n, acts));
    }
  }

  /** Delivers one datagram to the node at `to` as if it came from `source`. */
  inject(datagram: Uint8Array, source: Endpoint, to: Endpoint, onActions?: (n: VNode, a: Action[]) => void): void {
    const target = this.nodes.find((n) => key(n.endpoint) === key(to));
    if (target === undefined) return;
    const out: Action[] = [];
    target.device.decapsulate(datagram, source, this.now, out);
    if (onActions) onActions(target, out);
    else this.process(target, out);
  }

  /** Sends an inner packet from `node` into its tunnel. */
  send(node: VNode, packet: Uint8Array): void {
    const out = this.#out;
    out.length = 0;
    node.device.encapsulate(packet, this.now, out);
    this.process(node, out.splice(0));
  }

  tick(): void {
    for (const n of this.nodes) {
      const out: Action[] = [];
      n.device.tick(this.now, out);
      this.process(n, out);
    }
  }

  /** Advances virtual time by `ms` in steps of `step`, ticking every node at each step. */
  advance(ms: number, step = 100, each?: () => void): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + step);
      this.tick();
      each?.();
    }
  }
}

export interface PairOptions {
  psk?: Uint8Array;
  keepaliveA?: number;
  /** Configure B's endpoint on A (default true); A's on B (default true). */
  endpointOnA?: boolean;
  endpointOnB?: boolean;
  seed?: number;
  /** Transport AEAD of A and of B (default: the device default). */
  aeadA?: TransportAead;
  aeadB?: TransportAead;
}

export const A_INNER = "10.0.0.1";
export const B_INNER = "10.0.0.2";

/** Two nodes A (10.0.0.1) and B (10.0.0.2), each the other's only peer. */
export function makePair(o: PairOptions = {}) {
  const net = new VirtualNet();
  const seed = o.seed ?? 1;
  const a = net.addNode("A", { address: "192.0.2.1", port: 1001 }, seed * 2, o.aeadA);
  const b = net.addNode("B", { address: "192.0.2.2", port: 1002 }, seed * 2 + 1, o.aeadB);
  const bOnA = a.device.addPeer(
    {
      publicKey: b.privateKey.publicKey(),
      allowedIps: [`${B_INNER}/32`],
      ...(o.endpointOnA === false ? {} : { endpoint: b.endpoint }),
      ...(o.psk ? { presharedKey: o.psk } : {}),
      ...(o.keepaliveA ? { persistentKeepalive: o.keepaliveA } : {}),
    },
    net.now,
  );
  const aOnB = b.device.addPeer(
    {
      publicKey: a.privateKey.publicKey(),
      allowedIps: [`${A_INNER}/32`],
      ...(o.endpointOnB === false ? {} : { endpoint: a.endpoint }),
      ...(o.psk ? { presharedKey: o.psk } : {}),
    },
    net.now,
  );
  return { net, a, b, bOnA, aOnB };
}

/** Message type of a datagram (first byte). */
export const typeOf = (d: Uint8Array): number => d[0]!;
