/**
 * What a {@link Device}'s send and receive paths share (wireguard-go's Device struct,
 * device/device.go): our identity, the cryptokey routing, index, session and peer-id tables, the
 * cookie checker, load detection and rate limiting, the MTU, randomness and the transport AEAD.
 *
 * Internal to wg-core: a Device owns one in a private field and hands it to send.ts and
 * receive.ts; only the Device's configuration calls change identity, checker and MTU. Initial
 * state: no identity, empty tables, not under load, MTU 0 (unknown).
 */
import type { TransportAead } from "./aead.js";
import { AllowedIps } from "./allowed-ips.js";
import { REKEY_TIMEOUT_JITTER_MAX_MS } from "./constants.js";
import type { CookieChecker } from "./cookie.js";
import type { Device } from "./device.js";
import type { RandomSource } from "./device-config.js";
import type { LocalIdentity, SessionKeys } from "./handshake.js";
import { IndexTable } from "./index-table.js";
import { Keypair } from "./keypair.js";
import { readU32 } from "./messages.js";
import type { Peer } from "./peer.js";
import { PeerIds } from "./peer-ids.js";
import { RateLimiter } from "./ratelimiter.js";
import { SessionTable } from "./session-table.js";
import { TransportBatch } from "./transport.js";
import { LoadDetector } from "./under-load.js";

/** The empty packet: a keepalive's payload, and what the one-packet batch holds between calls. */
export const EMPTY = new Uint8Array(0);

export class DeviceState {
  /** Our static identity, or null when the device has no private key. */
  identity: LocalIdentity | null = null;
  /** MAC1/MAC2 checks and cookie replies for our public key (created with the first private key). */
  checker: CookieChecker | null = null;
  /** The tunnel MTU, 0 when unknown ({@link Device.mtu}). */
  mtu = 0;
  readonly random: RandomSource;
  readonly aead: TransportAead;
  /** The configured peer with this static public key ({@link Device.peer}). */
  readonly findPeer: (publicKey: Uint8Array) => Peer | undefined;
  /** Cryptokey routing (whitepaper §2): allowed IPs → peer. */
  readonly routes = new AllowedIps<Peer>();
  /** Local index → keypair or handshaking peer. */
  readonly indices: IndexTable;
  /** Cookie mode (whitepaper §5.3). */
  readonly load = new LoadDetector();
  readonly rateLimiter = new RateLimiter();
  /** Every keypair's keys, counters and replay windows (shared memory: session-table.ts). */
  readonly table = SessionTable.create();
  /** Slot → the keypair in it (check its generation). */
  readonly slotKeypairs: (Keypair<Peer> | undefined)[] = [];
  /** Peer ids for the table (a slot records its peer's id) and the transport's allowed-IPs check. */
  readonly peerIds = new PeerIds();
  /** One-packet batch for the transport module (encapsulate/decapsulate handle one packet per call). */
  readonly batch = new TransportBatch(1);
  readonly #scratch = new Uint8Array(4);

  /** Forgets a keypair its peer let go of (index and slot entries), then wipes it. */
  readonly release = (kp: Keypair<Peer>): void => {
    this.indices.releaseKeypair(kp);
    if (this.slotKeypairs[kp.slot] === kp) this.slotKeypairs[kp.slot] = undefined;
    kp.wipe();
  };

  constructor(random: RandomSource, aead: TransportAead, findPeer: (publicKey: Uint8Array) => Peer | undefined) {
    this.random = random;
    this.aead = aead;
    this.findPeer = findPeer;
    this.indices = new IndexTable(random);
  }

  /** Uniform jitter in [0, REKEY_TIMEOUT_JITTER_MAX_MS) ms. */
  jitter(): number {
    this.random(this.#scratch);
    return readU32(this.#scratch, 0) % REKEY_TIMEOUT_JITTER_MAX_MS;
  }

  /**
   * Installs the keypair a completed handshake derived (whitepaper §5.4.5; wireguard-go
   * BeginSymmetricSession): in the session table, the index table and the peer.
   */
  beginSession(peer: Peer, keys: SessionKeys, now: number): void {
    const peerId = this.peerIds.id(peer);
    const kp = new Keypair(peer, keys.sendKey, keys.receiveKey, keys.localIndex, keys.remoteIndex, keys.isInitiator, now, this.table, peerId);
    this.indices.setKeypair(kp);
    this.slotKeypairs[kp.slot] = kp;
    peer.installKeypair(kp);
    peer.timers.onSessionDerived(now);
  }
}
