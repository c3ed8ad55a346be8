/**
 * The Device: one WireGuard interface, sans-I/O (docs/architecture.md; whitepaper §2 – §6;
 * wireguard-go device/{device,send,receive,timers}.go). This file is its configuration and the
 * dispatch of its inputs; the send path is send.ts, the receive path receive.ts, the state they
 * share device-state.ts (index table: index-table.ts, cookie-mode load detection: under-load.ts,
 * inner IP headers: inner-ip.ts), its configuration inputs device-config.ts.
 *
 * Bytes and `now` (epoch ms) go in through {@link Device.encapsulate} (tunnel → network),
 * {@link Device.decapsulate} (network → tunnel) and {@link Device.tick} (timers); actions come out
 * in a caller-owned array. Randomness comes from the constructor's `random`.
 *
 * Initial state: the given private key (or none: every input is then dropped "no-private-key"),
 * no peers, empty index table, not under load. Guarantees:
 *  - cryptokey routing: outbound packets go to the peer whose allowed IPs hold the destination;
 *    inbound packets are delivered only if their source is in the sending peer's allowed IPs;
 *  - every session has a random 32-bit local index, unique in the index table; its keys, send
 *    counter and replay window live in the shared session table ({@link Device.sessionTable},
 *    session-table.ts), and transport messages are sealed and opened by transport.ts — the one
 *    implementation of the transport rules, which other threads run on views of the same table;
 *  - nothing is thrown for any input bytes: bad input yields a `drop` action with a reason;
 *  - per packet, the data path allocates only the output buffer, the action object and subarray
 *    views (no arrays, closures or extra copies; no BigInt for the shared send counter), the AEAD
 *    backend's own allocations aside (node:crypto creates a cipher object and result buffers per packet).
 */
import { inspect } from "node:util";
import { type Action, drop } from "./actions.js";
import { defaultTransportAead } from "./aead.js";
import { MAX_PEERS } from "./constants.js";
import { CookieChecker } from "./cookie.js";
import { nodeX25519, type X25519Backend } from "./crypto.js";
import {
  DeviceConfigError,
  type DeviceOptions,
  type PeerConfig,
  type PeerUpdate,
  toPsk,
  validateCidrs,
  validateKeepalive,
} from "./device-config.js";
import { DeviceState } from "./device-state.js";
import type { Endpoint } from "./endpoint.js";
import { localIdentity } from "./handshake.js";
import { isIpPacket } from "./inner-ip.js";
import type { Keypair } from "./keypair.js";
import { encodeKey, PrivateKey, PublicKey } from "./keys.js";
import { classifyMessage, MAX_CONTENT_SIZE } from "./messages.js";
import { Peer } from "./peer.js";
import { authenticatedReceived, keepKeyFreshReceiving, receiveCookieReply, receiveHandshake, receiveTransport } from "./receive.js";
import { afterSend, keepKeyFreshSending, sendInitiation, sendKeepalive, sendStaged, sendTransport, wantSession } from "./send.js";
import type { SessionTable } from "./session-table.js";
import { dueTimers, TIMER_BITS, TimerQueue } from "./timers.js";

export class Device {
  #privateKey: PrivateKey | null = null;
  /** {@link #privateKey} was made here from bytes (not the caller's object): wiped when replaced or cleared. */
  #ownsPrivateKey = false;
  readonly #peers = new Map<string, Peer>();
  /** What the send and receive paths share: identity, tables, MTU, randomness, AEAD. */
  readonly #s: DeviceState;
  readonly #x25519: X25519Backend;
  /** The peers by earliest timer deadline: what nextTickAt and tick read instead of every peer. */
  readonly #timers = new TimerQueue<Peer>();
  #lastNow = Number.NEGATIVE_INFINITY;
  readonly #keypairsChanged = (peer: Peer): void => this.onKeypairsChanged?.(peer);

  /**
   * Called synchronously, inside whichever call caused it, after a peer's keypairs changed: a new
   * keypair installed or confirmed, sending expired (new private key), keys erased or the peer
   * removed. For an I/O layer that mirrors keypairs elsewhere (worker threads); must not call
   * back into the device.
   */
  onKeypairsChanged: ((peer: Peer) => void) | null = null;

  /**
   * Called synchronously, inside whichever call caused it, when a peer's timer deadline changed for
   * the first time since the last {@link nextTickAt} or {@link tick}: the earliest deadline may have
   * moved, so a host that sleeps until `nextTickAt()` should look again (after the current call:
   * must not call back into the device).
   */
  get onTimersChanged(): (() => void) | null {
    return this.#timers.onChange;
  }
  set onTimersChanged(f: (() => void) | null) {
    this.#timers.onChange = f;
  }

  constructor(options: DeviceOptions) {
    this.#x25519 = options.x25519 ?? nodeX25519;
    this.#s = new DeviceState(options.random, options.aead ?? defaultTransportAead, (key) => this.peer(key));
    if (options.mtu !== undefined) this.mtu = options.mtu;
    this.setPrivateKey(options.privateKey, 0);
  }

  // -------------------------------------------------------------------------------------------
  // Configuration
  // -------------------------------------------------------------------------------------------

  /** Our static public key, or null when no private key is set. */
  get publicKey(): PublicKey | null {
    return this.#privateKey?.publicKey() ?? null;
  }

  /** Our static private key (redacted when printed), or null. */
  get privateKey(): PrivateKey | null {
    return this.#privateKey;
  }

  /**
   * Sets or clears our static key (UAPI `private_key=`). Like wireguard-go SetPrivateKey: a peer
   * whose public key equals our new public key is removed; every other peer's DH(Spriv, Spub) is
   * recomputed and its current sessions expire (a new handshake follows on demand). A key given as
   * bytes is copied, and that copy is wiped once it is replaced or cleared (a {@link PrivateKey}
   * object stays its caller's).
   */
  setPrivateKey(key: PrivateKey | Uint8Array | null, now: number): void {
    const owned = key !== null && !(key instanceof PrivateKey);
    const pk = key === null ? null : key instanceof PrivateKey ? key : PrivateKey.fromBytes(key);
    if (pk !== null && this.#privateKey !== null && pk.publicKey().equals(this.#privateKey.publicKey())) {
      if (owned) pk.wipe();
      return;
    }
    const s = this.#s;
    if (this.#ownsPrivateKey) this.#privateKey?.wipe();
    this.#privateKey = pk;
    this.#ownsPrivateKey = owned;
    s.identity = pk === null ? null : localIdentity(pk.bytes, s.aead.chaChaPoly, this.#x25519);
    if (s.identity !== null) {
      const own = s.identity.publicKey;
      if (s.checker === null) s.checker = new CookieChecker(own);
      else s.checker.setPublicKey(own);
      for (const peer of [...this.#peers.values()]) if (peer.publicKey.equals(own)) this.removePeer(peer.publicKey);
    }
    for (const peer of this.#peers.values()) {
      peer.handshake.setLocal(s.identity);
      s.indices.freeHandshake(peer);
      peer.expireCurrentKeypairs();
    }
    void now;
  }

  /**
   * Adds a peer (UAPI `public_key=` of an unknown key).
   * @throws DeviceConfigError if the key is already a peer, equals our own public key, the
   *         device has MAX_PEERS peers, or an allowed IP is not a CIDR
   */
  addPeer(config: PeerConfig, now: number): Peer {
    const s = this.#s;
    const publicKey = config.publicKey instanceof PublicKey ? config.publicKey : PublicKey.fromBytes(config.publicKey);
    const id = publicKey.toBase64();
    if (this.#peers.has(id)) throw new DeviceConfigError("peer already exists");
    if (this.#peers.size >= MAX_PEERS) throw new DeviceConfigError(`too many peers (maximum ${MAX_PEERS})`);
    if (s.identity !== null && publicKey.equals(s.identity.publicKey)) {
      throw new DeviceConfigError("peer public key equals the device's own public key");
    }
    const allowed = config.allowedIps ?? [];
    validateCidrs(allowed);
    if (config.persistentKeepalive !== undefined) validateKeepalive(config.persistentKeepalive);
    const peer = new Peer(publicKey, toPsk(config.presharedKey), config.endpoint ?? null, s.routes, s.release, this.#keypairsChanged);
    peer.handshake.setLocal(s.identity);
    this.#peers.set(id, peer);
    this.#timers.add(peer.timers, peer);
    s.peerIds.add(peer);
    for (const cidr of allowed) s.routes.insert(cidr, peer);
    if (config.persistentKeepalive !== undefined) setPersistentKeepalive(peer, config.persistentKeepalive, now);
    return peer;
  }

  /**
   * Changes a peer (UAPI `set=1` lines after `public_key=`).
   * @returns the peer, or undefined if there is no such peer
   * @throws DeviceConfigError for an invalid allowed IP or keepalive (nothing is changed then)
   */
  updatePeer(publicKey: PublicKey | Uint8Array, changes: PeerUpdate, now: number): Peer | undefined {
    const peer = this.peer(publicKey);
    if (peer === undefined) return undefined;
    if (changes.allowedIps !== undefined) validateCidrs(changes.allowedIps);
    if (changes.persistentKeepalive !== undefined) validateKeepalive(changes.persistentKeepalive);
    if (changes.presharedKey !== undefined) {
      peer.setPresharedKey(toPsk(changes.presharedKey));
    }
    if (changes.endpoint !== undefined) peer.setEndpoint(changes.endpoint);
    const routes = this.#s.routes;
    if (changes.replaceAllowedIps === true) routes.removeValue(peer);
    if (changes.allowedIps !== undefined) for (const cidr of changes.allowedIps) routes.insert(cidr, peer);
    if (changes.persistentKeepalive !== undefined) setPersistentKeepalive(peer, changes.persistentKeepalive, now);
    return peer;
  }

  /** Removes a peer, erasing its sessions. @returns false if there was no such peer */
  removePeer(publicKey: PublicKey | Uint8Array): boolean {
    const peer = this.peer(publicKey);
    if (peer === undefined) return false;
    const s = this.#s;
    s.indices.freeHandshake(peer);
    peer.zeroKeys();
    peer.staged.clear();
    peer.timers.stop();
    this.#timers.remove(peer.timers);
    s.routes.removeValue(peer);
    this.#peers.delete(peer.publicKey.toBase64());
    s.peerIds.remove(peer);
    return true;
  }

  /** The peer with this public key, if configured. */
  peer(publicKey: PublicKey | Uint8Array): Peer | undefined {
    if (publicKey instanceof PublicKey) return this.#peers.get(publicKey.toBase64());
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return undefined;
    return this.#peers.get(encodeKey(publicKey));
  }

  /** All peers, in the order they were added. */
  peers(): Peer[] {
    return [...this.#peers.values()];
  }

  /**
   * Cookie mode (whitepaper §5.3). Reading gives true when forced or when the handshake rate seen
   * recently exceeded UNDER_LOAD_HANDSHAKES_PER_SECOND; setting forces it on or off (off returns
   * to automatic detection).
   */
  get underLoad(): boolean {
    return this.#s.load.isUnderLoad(this.#lastNow);
  }
  set underLoad(v: boolean) {
    this.#s.load.force(v);
  }

  /**
   * The tunnel interface's MTU in bytes, 0 when unknown (the default). Transport padding is capped
   * at it (padding.ts; wireguard-go reads `device.tun.mtu` per packet, the kernel the skb's MTU):
   * the I/O layer sets it when it learns the link's MTU and whenever that changes.
   * @throws DeviceConfigError unless an integer from 0 to 65535
   */
  get mtu(): number {
    return this.#s.mtu;
  }
  set mtu(v: number) {
    if (!Number.isInteger(v) || v < 0 || v > 65535) throw new DeviceConfigError("MTU must be an integer from 0 to 65535");
    this.#s.mtu = v;
  }

  /**
   * The shared session table holding every keypair's keys, send counters and replay windows
   * (session-table.ts). Other threads attach views from its `handles` and seal/open with
   * transport.ts; only the device writes it.
   */
  get sessionTable(): SessionTable {
    return this.#s.table;
  }

  /** The earliest time `tick` has work to do (Infinity when no timer is armed). */
  nextTickAt(): number {
    return this.#timers.next();
  }

  /** Never prints the private key. */
  toString(): string {
    return `Device(${this.publicKey?.toBase64() ?? "no key"}, ${this.#peers.size} peers)`;
  }
  toJSON(): Record<string, unknown> {
    return { publicKey: this.publicKey?.toBase64() ?? null, privateKey: this.#privateKey === null ? null : "<redacted>", peers: this.peers() };
  }
  [inspect.custom](): string {
    return `Device ${inspect(this.toJSON(), { depth: 4 })}`;
  }

  // -------------------------------------------------------------------------------------------
  // Data path: dispatch to send.ts / receive.ts
  // -------------------------------------------------------------------------------------------

  /**
   * Tunnel → network: encrypts an inner IP packet for the peer routed by its destination
   * (whitepaper §2), or stages it and starts a handshake when no session exists.
   */
  encapsulate(packet: Uint8Array, now: number, out: Action[]): void {
    try {
      this.#lastNow = now;
      const s = this.#s;
      if (s.identity === null) return drop(out, "no-private-key");
      if (packet.length > MAX_CONTENT_SIZE) return drop(out, "oversized");
      if (!isIpPacket(packet)) return drop(out, "invalid-inner-packet");
      const peer = s.routes.lookup(packet, "dst");
      if (peer === undefined) return drop(out, "no-route");
      const kp = peer.current;
      if (peer.staged.length === 0 && kp !== null && kp.canSend(now)) {
        // Fast path: a session exists and nothing is waiting before this packet.
        sendTransport(s, peer, kp, packet, now, out);
        afterSend(s, peer, packet.length > 0, now);
        keepKeyFreshSending(s, peer, now, out);
        return;
      }
      if (peer.staged.push(packet.slice(), now) > 0) drop(out, "staged-queue-full", peer); // the caller may reuse its buffer
      sendStaged(s, peer, now, out);
    } catch {
      drop(out, "internal-error");
    }
  }

  /** Network → tunnel: processes one UDP datagram received from `from`. */
  decapsulate(datagram: Uint8Array, from: Endpoint, now: number, out: Action[]): void {
    try {
      this.#lastNow = now;
      const s = this.#s;
      if (s.identity === null) return drop(out, "no-private-key");
      const cls = classifyMessage(datagram);
      switch (cls) {
        case 4:
          return receiveTransport(s, datagram, from, now, out);
        case 1:
        case 2:
          return receiveHandshake(s, cls, datagram, from, now, out, s.identity);
        case 3:
          return receiveCookieReply(s, datagram, now, out);
        default:
          return drop(out, cls);
      }
    } catch {
      drop(out, "internal-error");
    }
  }

  /**
   * Runs the due timers of every peer (whitepaper §6): retransmits, keepalives, rekeys, key
   * erasure; peers in the order they were added. Visits only the peers with a timer due.
   */
  tick(now: number, out: Action[]): void {
    this.#lastNow = now;
    const due: Peer[] = [];
    this.#timers.due(now, due);
    for (const peer of due) {
      try {
        this.#tickPeer(peer, now, out);
      } catch {
        drop(out, "internal-error", peer);
      }
    }
  }

  /**
   * Bookkeeping for transport data another component sealed and sent to `peer` with its current
   * keypair (counters from {@link Keypair.reserveSendCounters}), no crypto here: adds `bytes`
   * (datagram bytes) to txBytes and runs the send timers and rekey-on-send checks, exactly as if
   * encapsulate had sent them. May emit a handshake initiation into `out`.
   */
  noteDataSent(peer: Peer, bytes: number, now: number, out: Action[]): void {
    this.#lastNow = now;
    peer.txBytes += bytes;
    afterSend(this.#s, peer, true, now);
    keepKeyFreshSending(this.#s, peer, now, out);
  }

  /**
   * Bookkeeping for authenticated transport datagrams another component opened for `peer` (replay
   * window checked), no crypto here: adds `bytes` (datagram bytes) to rxBytes and runs the receive
   * timers and the initiator's rekey-on-receive check, as decapsulate would — the data-received
   * timer only when `data` (some carried an inner packet, not only keepalives; wireguard-go
   * RoutineSequentialReceiver). May emit a handshake initiation into `out`.
   */
  noteDataReceived(peer: Peer, bytes: number, now: number, out: Action[], data = true): void {
    this.#lastNow = now;
    const t = peer.timers;
    keepKeyFreshReceiving(this.#s, peer, now, out);
    t.onAnyAuthenticatedPacketTraversal(now);
    t.onAnyAuthenticatedPacketReceived();
    peer.rxBytes += bytes;
    if (data) t.onDataReceived(now);
  }

  /**
   * Bookkeeping for transport datagrams another thread opened with transport.ts `openBatch` on this
   * device's {@link sessionTable} (authenticated and recorded in the slot's window there; this call
   * decrypts nothing and checks no window): what {@link decapsulate} does after authentication —
   * key confirmation (a datagram opened with the peer's `next` keypair, whitepaper §5.4.5), roaming
   * to `from` (§2.1; null: keep the endpoint), the receive timers and the initiator's
   * rekey-on-receive check, `bytes` (datagram bytes) added to rxBytes. `data`: some carried an inner
   * packet (not only keepalives). Nothing happens when the slot no longer holds keypair `generation`.
   * May emit packets staged for the peer and a handshake initiation into `out`.
   * @returns true when the peer's endpoint changed (the caller republishes it at once: other threads send to it)
   */
  noteReceived(slot: number, generation: number, from: Endpoint | null, bytes: number, data: boolean, now: number, out: Action[]): boolean {
    try {
      this.#lastNow = now;
      const kp = this.#s.slotKeypairs[slot];
      if (kp === undefined || kp.generation !== generation || kp.isWiped) return false;
      return authenticatedReceived(this.#s, kp, from, bytes, data, now, out);
    } catch {
      drop(out, "internal-error");
      return false;
    }
  }

  /**
   * The device's id of `peer` (−1 if it is not one of its peers): what its keypairs' slots record
   * (SessionTable.peer) and what transport.ts `openBatch` looks up in its `peers` argument. Ids are
   * small integers, reused after a peer is removed.
   */
  peerId(peer: Peer): number {
    return this.#s.peerIds.id(peer);
  }

  /**
   * Packets for the peer with id `peerId` ({@link peerId}) wait in a pipeline's own StagedQueue on
   * another thread (no usable send keypair in the session table there): starts a handshake as
   * encapsulate does for a staged packet — unless the current keypair can send — at most one
   * initiation per REKEY_TIMEOUT (whitepaper §6.2). Unknown ids are ignored. May emit a handshake
   * initiation into `out`.
   */
  wantSession(peerId: number, now: number, out: Action[]): void {
    try {
      this.#lastNow = now;
      const peer = this.#s.peerIds.byId[peerId];
      if (peer !== undefined && this.#s.identity !== null) wantSession(this.#s, peer, now, out);
    } catch {
      drop(out, "internal-error");
    }
  }

  // -------------------------------------------------------------------------------------------
  // Timers (whitepaper §6; wireguard-go device/timers.go): dispatch of the due timers
  // -------------------------------------------------------------------------------------------

  #tickPeer(peer: Peer, now: number, out: Action[]): void {
    const due = dueTimers(peer.timers, now);
    if (due === 0) return;
    const s = this.#s;
    for (const bit of TIMER_BITS) {
      if ((due & bit) === 0) continue;
      switch (peer.timers.fire(bit, now)) {
        case "retry":
          sendInitiation(s, peer, true, now, out);
          break;
        case "initiate":
          sendInitiation(s, peer, false, now, out);
          break;
        case "keepalive":
          sendKeepalive(s, peer, now, out);
          break;
        case "give-up":
          for (let i = peer.staged.clear(); i > 0; i--) drop(out, "handshake-timeout", peer);
          break;
        case "zero":
          // Key erasure after 3 × REJECT_AFTER_TIME without a new session (whitepaper §6.3).
          s.indices.freeHandshake(peer);
          peer.zeroKeys();
          for (let i = peer.staged.clear(); i > 0; i--) drop(out, "handshake-timeout", peer);
          break;
      }
    }
  }
}

/** UAPI `persistent_keepalive_interval=` (seconds, 0 = off). */
function setPersistentKeepalive(peer: Peer, seconds: number, now: number): void {
  validateKeepalive(seconds);
  const t = peer.timers;
  const was = t.persistentKeepaliveInterval;
  t.persistentKeepaliveInterval = seconds * 1000;
  if (seconds === 0) t.persistentKeepaliveAt = Infinity;
  // Like wireguard-go: turning it on sends a keepalive at once (here: at the next tick).
  else if (was === 0) t.persistentKeepaliveAt = now;
}
