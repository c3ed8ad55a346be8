/**
 * The main thread's side of the peer records (shared.ts): what wg-core's Device says about each peer
 * — its current send keypair as (slot, generation) of the session table, its endpoint, every peer's
 * allowed IPs — published for the pipelines, and the pipelines' traffic reported back to the Device.
 */
import { parseCidr, type Action, type Device, type Peer } from "@wg-ts/core";
import type { PeerPublishing, Route } from "./shared.js";

/** What is published for one peer in its record, and its traffic counters as last reported to the core. */
interface Published {
  /** The core's peer id (the record's index). */
  id: number;
  sendSlot: number;
  sendGeneration: number;
  endpoint: string;
  lastTx: number;
  lastRx: number;
  lastRxAuthenticated: number;
  lastRxPackets: number;
}

/**
 * Publishes, per peer, the current send keypair as (slot, generation) of the Device's session
 * table, the endpoint and every peer's allowed IPs, and reports the workers' traffic to the core.
 * Copies no key, counter or window: those are the table's. Work is per event, not per peer: a
 * keypair change publishes its peer ({@link changed}, {@link flush}); traffic is reported for the
 * peers the workers marked active (activity.ts, {@link account}); only a configuration change or a
 * hand-over looks at every peer ({@link sync}).
 */
export class Publisher {
  readonly #pub = new Map<Peer, Published>();
  /** Published peers by id. */
  readonly #byId: (Peer | undefined)[] = [];
  /** Peers whose keypairs changed since the last {@link flush}. */
  readonly #changed = new Set<Peer>();
  #routes = "";
  #routesDirty = true;
  #peerCount = -1;
  readonly #out: Action[] = [];

  /** Peers published to the workers. */
  get published(): number {
    return this.#pub.size;
  }

  /** Some published peer has a session to send on (without one, every packet is the core's anyway). */
  get hasSession(): boolean {
    for (const pub of this.#pub.values()) if (pub.sendSlot >= 0) return true;
    return false;
  }

  /** The next sync republishes the routes (after a configuration change). */
  routesChanged(): void {
    this.#routesDirty = true;
  }

  constructor(
    readonly plane: PeerPublishing,
    readonly device: Device,
    readonly now: () => number,
    readonly log: (line: string) => void,
    /** Sends what the core emits from the bookkeeping calls (a handshake initiation). */
    readonly emit: (out: Action[]) => void,
  ) {}

  /**
   * Every peer: traffic reported, records (re)published, removed peers emptied, routes if they
   * changed; and the device's MTU and public key.
   */
  sync(): void {
    const now = this.now();
    // Our public key: the rx pipeline checks MAC1 with it before the core sees a handshake.
    this.plane.setPublicKey(this.device.publicKey?.bytes ?? null);
    this.account();
    const peers = this.device.peers();
    if (peers.length !== this.#peerCount) {
      this.#peerCount = peers.length;
      this.#routesDirty = true;
      this.log(`fast path: ${peers.length} peer${peers.length === 1 ? "" : "s"} in the workers`);
    }
    const keep = new Set(peers);
    for (const [peer, pub] of this.#pub) {
      if (keep.has(peer)) continue;
      // Removed: empty its record (its keypairs are erased in the table already).
      this.#pub.delete(peer);
      if (this.#byId[pub.id] === peer) this.#byId[pub.id] = undefined;
      this.plane.clearPeer(pub.id);
      this.#routesDirty = true;
    }
    for (const peer of peers) this.#publish(peer, now);
    this.#changed.clear();
    if (!this.#routesDirty) return;
    this.#routesDirty = false;
    const routes: Route[] = [];
    for (const [peer, pub] of this.#pub) {
      for (const c of peer.allowedIps) routes.push({ peer: pub.id, ...parseCidr(c) });
    }
    const routesKey = routes.map((r) => `${r.peer}:${r.family}:${r.bits}:${r.bytes.join(".")}`).join(",");
    if (routesKey !== this.#routes) {
      this.plane.update(() => this.plane.setRoutes(routes));
      this.#routes = routesKey;
    }
  }

  /** `peer`'s keypairs changed (wg-core Device.onKeypairsChanged, inside the core's call): published at the next {@link flush}. */
  changed(peer: Peer): void {
    this.#changed.add(peer);
  }

  /** Publishes the peers whose keypairs changed: before anything the core emitted leaves. */
  flush(): void {
    if (this.#changed.size === 0) return;
    const now = this.now();
    for (const peer of this.#changed) if (this.device.peerId(peer) >= 0) this.#publish(peer, now);
    this.#changed.clear();
  }

  /** Republishes peer `id` (its endpoint moved: roaming). */
  publishId(id: number): void {
    const peer = this.#byId[id];
    if (peer !== undefined) this.#publish(peer, this.now());
  }

  /**
   * Reports the workers' traffic to the core for the peers they marked active since the last call
   * (every peer when an activity ring overflowed).
   */
  account(): void {
    const now = this.now();
    // The core's MTU (the Engine keeps it equal to the link's, which `wg-ts up` and wg-quick set
    // after the start) caps the pipelines' padding too.
    this.plane.setLinkMtu(this.device.mtu);
    const overflow = this.plane.drainActivity((id) => {
      const peer = this.#byId[id];
      const pub = peer === undefined ? undefined : this.#pub.get(peer);
      if (pub !== undefined) this.#account(peer!, pub, now);
    });
    if (overflow) for (const [peer, pub] of this.#pub) this.#account(peer, pub, now);
  }

  /** Writes `peer`'s record if its send keypair or endpoint changed. */
  #publish(peer: Peer, now: number): void {
    const id = this.device.peerId(peer);
    if (id < 0) return;
    let pub = this.#pub.get(peer);
    if (pub === undefined || pub.id !== id) {
      const st = this.plane.peerStats(id);
      pub = {
        id, sendSlot: -2, sendGeneration: 0, endpoint: "", lastTx: st.txBytes,
        lastRx: st.rxBytes, lastRxAuthenticated: st.rxAuthenticated, lastRxPackets: st.rxPackets,
      };
      this.#pub.set(peer, pub);
      this.#byId[id] = peer;
    }
    const ep = peer.endpoint;
    const cur = peer.current;
    const send = cur !== null && cur.canSend(now) ? cur : null;
    const sendSlot = send === null ? -1 : send.slot;
    const sendGeneration = send === null ? 0 : send.generation;
    const endpoint = ep ? `${ep.address}:${ep.port}` : "";
    if (sendSlot === pub.sendSlot && sendGeneration === pub.sendGeneration && endpoint === pub.endpoint) return;
    this.plane.setPeer(id, send === null ? null : { slot: sendSlot, generation: sendGeneration }, ep ? { address: ep.address, port: ep.port } : null);
    pub.sendSlot = sendSlot;
    pub.sendGeneration = sendGeneration;
    pub.endpoint = endpoint;
  }

  /**
   * Reports the workers' traffic for `peer` since the last call to the core (byte counters and
   * timers; datagram bytes): noteDataSent, and
   * noteDataReceived for every authenticated datagram — its data timer only if one carried data.
   * When both moved, in the order of the last datagram each way: the timers are wireguard-go's, run
   * per packet there (data received arms the passive keepalive, a send after it disarms it).
   */
  #account(peer: Peer, pub: Published, now: number): void {
    const s = this.plane.peerStats(pub.id);
    const tx = s.txBytes;
    const rx = s.rxBytes;
    const out = this.#out;
    out.length = 0;
    const sent = tx > pub.lastTx;
    const received = s.rxAuthenticated > pub.lastRxAuthenticated;
    const sentLast = sent && received && ((s.txAt - s.rxAt) | 0) > 0;
    if (sent && !sentLast) this.device.noteDataSent(peer, tx - pub.lastTx, now, out);
    if (received) this.device.noteDataReceived(peer, rx - pub.lastRx, now, out, s.rxPackets > pub.lastRxPackets);
    if (sentLast) this.device.noteDataSent(peer, tx - pub.lastTx, now, out);
    pub.lastTx = tx;
    pub.lastRx = rx;
    pub.lastRxAuthenticated = s.rxAuthenticated;
    pub.lastRxPackets = s.rxPackets;
    if (out.length > 0) this.emit(out);
  }
}
