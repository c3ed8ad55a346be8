/**
 * A peer: the remote end of one cryptokey route (whitepaper §2, §5.4, §6).
 *
 * It holds what UAPI `get=1` reports (public key, preshared key, endpoint, allowed IPs, persistent
 * keepalive, last handshake time, byte counters) and the session state the device drives: the
 * handshake (handshake.ts), the cookie generator (cookie.ts), the timers (timers.ts), up to three
 * keypairs and the packets staged while no session exists.
 *
 * Keypairs follow wireguard-go device/keypair.go + noise-protocol.go BeginSymmetricSession:
 *  - `current` sends; `previous` still receives (packets in flight across a rekey);
 *  - a responder's new keypair waits in `next` until the initiator's first transport packet
 *    arrives with it (key confirmation, whitepaper §5.4.5), which promotes it to `current`.
 * Initial state: no keypairs, no endpoint unless configured, lastHandshakeAt 0, counters 0.
 * Byte counters count like wireguard-go: tx = every datagram sent to this peer (handshake and
 * transport), rx = handshake messages accepted from it + authenticated transport datagrams.
 */
import { inspect } from "node:util";
import type { AllowedIps } from "./allowed-ips.js";
import { CookieGenerator } from "./cookie.js";
import { type Endpoint, sameEndpoint } from "./endpoint.js";
import { PeerHandshake } from "./handshake.js";
import type { Keypair } from "./keypair.js";
import type { PresharedKey, PublicKey } from "./keys.js";
import { PeerTimers } from "./timers.js";
import { StagedQueue } from "./staged.js";

export class Peer {
  /** Remote static public key. */
  readonly publicKey: PublicKey;
  /** Epoch ms of the last completed handshake (0 = never). */
  lastHandshakeAt = 0;
  /** Bytes received from this peer (handshakes + transport datagrams), like wireguard-go. */
  rxBytes = 0;
  /** Bytes sent to this peer (every datagram), like wireguard-go. */
  txBytes = 0;

  /** @internal handshake state and inputs */
  readonly handshake: PeerHandshake;
  /** @internal MAC1/MAC2 stamping and the cookie last received from this peer */
  readonly cookies: CookieGenerator;
  /** @internal protocol timers */
  readonly timers = new PeerTimers();
  /** @internal keypairs (see the module comment) */
  previous: Keypair<Peer> | null = null;
  current: Keypair<Peer> | null = null;
  next: Keypair<Peer> | null = null;
  /** @internal packets waiting for a session (oldest first) */
  readonly staged = new StagedQueue();

  #presharedKey: PresharedKey | null;
  #endpoint: Endpoint | null;
  readonly #routes: AllowedIps<Peer>;
  readonly #release: (kp: Keypair<Peer>) => void;
  readonly #changed: (peer: Peer) => void;

  /** @internal created by Device.addPeer; `changed` runs after previous/current/next change */
  constructor(
    publicKey: PublicKey,
    presharedKey: PresharedKey | null,
    endpoint: Endpoint | null,
    routes: AllowedIps<Peer>,
    release: (kp: Keypair<Peer>) => void,
    changed: (peer: Peer) => void = () => {},
  ) {
    this.publicKey = publicKey;
    this.#presharedKey = presharedKey;
    this.#endpoint = endpoint === null ? null : { address: endpoint.address, port: endpoint.port };
    this.#routes = routes;
    this.#release = release;
    this.#changed = changed;
    this.handshake = new PeerHandshake(publicKey.bytes, presharedKey?.bytes ?? null);
    this.cookies = new CookieGenerator(publicKey.bytes);
  }

  /** The preshared key Q, or null when none is configured. */
  get presharedKey(): PresharedKey | null {
    return this.#presharedKey;
  }

  /** @internal use Device.updatePeer */
  setPresharedKey(psk: PresharedKey | null): void {
    this.#presharedKey = psk;
    this.handshake.presharedKey = psk === null ? new Uint8Array(32) : psk.bytes;
  }

  /** Where datagrams to this peer go: configured, or the source of its last authenticated packet. */
  get endpoint(): Endpoint | null {
    return this.#endpoint;
  }

  /** @internal roaming (whitepaper §2.1): only called for authenticated packets. No allocation if unchanged. */
  setEndpoint(ep: Endpoint | null): void {
    if (ep === null) this.#endpoint = null;
    else if (!sameEndpoint(this.#endpoint, ep)) this.#endpoint = { address: ep.address, port: ep.port };
  }

  /** The allowed IPs routed to this peer, as CIDR strings. */
  get allowedIps(): string[] {
    return this.#routes.entries(this);
  }

  /** Persistent keepalive interval in seconds (0 = off). */
  get persistentKeepalive(): number {
    return this.timers.persistentKeepaliveInterval / 1000;
  }

  /** True while a keypair can send (a session is established). */
  hasSession(now: number): boolean {
    return this.current !== null && this.current.canSend(now);
  }

  /**
   * Installs freshly derived keys (wireguard-go BeginSymmetricSession): an initiator's keypair
   * becomes current at once (the response confirmed it); a responder's waits in `next`.
   */
  installKeypair(kp: Keypair<Peer>): void {
    if (kp.isInitiator) {
      if (this.next !== null) {
        this.release(this.previous);
        this.previous = this.next;
        this.next = null;
        this.release(this.current);
      } else {
        this.release(this.previous);
        this.previous = this.current;
      }
      this.current = kp;
    } else {
      this.release(this.next);
      this.next = kp;
      this.release(this.previous);
      this.previous = null;
    }
    this.#changed(this);
  }

  /**
   * A transport packet authenticated with `kp` arrived (wireguard-go ReceivedWithKeypair): if `kp`
   * is `next`, it is confirmed and rotated in. Returns true when that happened (handshake complete).
   */
  receivedWithKeypair(kp: Keypair<Peer>): boolean {
    if (this.next !== kp) return false;
    this.release(this.previous);
    this.previous = this.current;
    this.current = kp;
    this.next = null;
    this.#changed(this);
    return true;
  }

  /** Makes current and next keypairs unusable for sending (wireguard-go ExpireCurrentKeypairs). */
  expireCurrentKeypairs(): void {
    this.handshake.clear();
    this.timers.lastSentHandshakeAt = Number.NEGATIVE_INFINITY;
    this.current?.expireSending();
    this.next?.expireSending();
    this.#changed(this);
  }

  /** Erases every keypair and the handshake (wireguard-go ZeroAndFlushAll, minus the flush). */
  zeroKeys(): void {
    this.release(this.previous);
    this.release(this.current);
    this.release(this.next);
    this.previous = this.current = this.next = null;
    this.handshake.clear();
    this.#changed(this);
  }

  private release(kp: Keypair<Peer> | null): void {
    if (kp !== null) this.#release(kp);
  }

  /** Redacted summary: never prints key material beyond the public key. */
  toString(): string {
    return `Peer(${this.publicKey.toBase64()})`;
  }
  /** What JSON/inspect show: the UAPI view, with the preshared key redacted. */
  toJSON(): Record<string, unknown> {
    return {
      publicKey: this.publicKey.toBase64(),
      presharedKey: this.#presharedKey === null ? null : "<redacted>",
      endpoint: this.#endpoint,
      allowedIps: this.allowedIps,
      persistentKeepalive: this.persistentKeepalive,
      lastHandshakeAt: this.lastHandshakeAt,
      rxBytes: this.rxBytes,
      txBytes: this.txBytes,
    };
  }
  [inspect.custom](): string {
    return `Peer ${inspect(this.toJSON())}`;
  }
}
