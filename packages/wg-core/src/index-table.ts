/**
 * The receiver-index table (whitepaper §5.4.2 – §5.4.6; wireguard-go device/indextable.go): the
 * random 32-bit local indices we hand out as "sender" in our handshake messages, which peers then
 * put in the "receiver" field of their responses, cookie replies and transport messages.
 *
 * An index names a peer while its handshake is in flight, then the keypair the handshake derived.
 * Initial state: empty. Guarantees: every index handed out is random and unique in the table; a
 * peer has at most one handshake index at a time; an index is only removed by whoever still owns it.
 */
import type { RandomSource } from "./device-config.js";
import type { Keypair } from "./keypair.js";
import { readU32 } from "./messages.js";
import type { Peer } from "./peer.js";

export class IndexTable {
  readonly #random: RandomSource;
  readonly #scratch = new Uint8Array(4);
  /** Local index → keypair (transport) or peer (its handshake in flight). */
  readonly #index = new Map<number, Keypair<Peer> | Peer>();
  /** Peer → local index of its handshake in flight. */
  readonly #handshakeIndex = new Map<Peer, number>();

  constructor(random: RandomSource) {
    this.#random = random;
  }

  /** The keypair or handshaking peer a received "receiver" index names, if any. */
  lookup(index: number): Keypair<Peer> | Peer | undefined {
    return this.#index.get(index);
  }

  /** A fresh random local index, unique in the index table, registered for `peer`'s handshake. */
  newIndex(peer: Peer): number {
    for (;;) {
      this.#random(this.#scratch);
      const i = readU32(this.#scratch, 0);
      if (!this.#index.has(i)) {
        this.#index.set(i, peer);
        return i;
      }
    }
  }

  /** Removes `index` (a handshake message could not be created with it). */
  delete(index: number): void {
    this.#index.delete(index);
  }

  /** Records `index` as `peer`'s initiation in flight (freed by {@link freeHandshake}). */
  setHandshake(peer: Peer, index: number): void {
    this.#handshakeIndex.set(peer, index);
  }

  /** `peer`'s handshake completed: its index now belongs to the keypair (see {@link setKeypair}). */
  handshakeDone(peer: Peer): void {
    this.#handshakeIndex.delete(peer);
  }

  /** Frees `peer`'s handshake index in flight, if any (a new handshake, new private key, removal). */
  freeHandshake(peer: Peer): void {
    const i = this.#handshakeIndex.get(peer);
    if (i === undefined) return;
    this.#handshakeIndex.delete(peer);
    if (this.#index.get(i) === peer) this.#index.delete(i);
  }

  /** Points the keypair's local index at it (the session begins). */
  setKeypair(kp: Keypair<Peer>): void {
    this.#index.set(kp.localIndex, kp);
  }

  /** Removes the keypair's local index if it still names this keypair. */
  releaseKeypair(kp: Keypair<Peer>): void {
    if (this.#index.get(kp.localIndex) === kp) this.#index.delete(kp.localIndex);
  }
}
