/**
 * Peer ids: small integers naming a device's peers in the shared session table (a slot records its
 * peer's id, session-table.ts) and in transport.ts `openBatch`'s allowed-IPs check, which other
 * threads run without Peer objects.
 *
 * Initial state: no ids. Guarantees: a peer's id is fixed while it is a peer; a new peer gets the
 * id freed most recently by a removed peer, else the next unused one; `byId` maps ids back.
 */
import type { Peer } from "./peer.js";

export class PeerIds {
  readonly #ids = new Map<Peer, number>();
  /** Id → peer (undefined for a free id): what `openBatch` receives as its `peers` argument. */
  readonly byId: (Peer | undefined)[] = [];
  readonly #free: number[] = [];

  /** Gives `peer` an id. */
  add(peer: Peer): void {
    const peerId = this.#free.pop() ?? this.byId.length;
    this.#ids.set(peer, peerId);
    this.byId[peerId] = peer;
  }

  /** Frees `peer`'s id, if it has one. */
  remove(peer: Peer): void {
    const peerId = this.#ids.get(peer);
    if (peerId !== undefined) {
      this.#ids.delete(peer);
      this.byId[peerId] = undefined;
      this.#free.push(peerId);
    }
  }

  /** `peer`'s id, or −1 if it has none. */
  id(peer: Peer): number {
    return this.#ids.get(peer) ?? -1;
  }
}
