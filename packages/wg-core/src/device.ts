/**
 * The Device: one WireGuard interface, sans-I/O (docs/architecture.md; whitepaper §2 – §6;
 * wireguard-go device/{device,send,receive,timers}.go).
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
import type { Action, DropReason } from "./actions.js";
import { defaultTransportAead, type TransportAead } from "./aead.js";
import { AllowedIps, parseCidr } from "./allowed-ips.js";
import {
  COUNTER_LIMIT,
  KEEPALIVE_TIMEOUT,
  MAX_PEERS,
  QUEUE_STAGED_SIZE,
  REJECT_AFTER_TIME,
  REKEY_AFTER_TIME,
  REKEY_COUNTER_LIMIT,
  REKEY_TIMEOUT,
  REKEY_TIMEOUT_JITTER_MAX_MS,
  UNDER_LOAD_AFTER_TIME,
  UNDER_LOAD_HANDSHAKES_PER_SECOND,
} from "./constants.js";
import { CookieChecker } from "./cookie.js";
import { type Endpoint, endpointBytes, sameEndpoint } from "./endpoint.js";
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  type LocalIdentity,
  localIdentity,
  type SessionKeys,
} from "./handshake.js";
import { Keypair } from "./keypair.js";
import { encodeKey, PresharedKey, PrivateKey, PublicKey } from "./keys.js";
import {
  COOKIE_REPLY_SIZE,
  CookieReplyLayout,
  classifyMessage,
  INITIATION_SIZE,
  InitiationLayout,
  MAX_CONTENT_SIZE,
  RESPONSE_SIZE,
  ResponseLayout,
  readU32,
  TRANSPORT_MIN_SIZE,
} from "./messages.js";
import { Peer } from "./peer.js";
import { RateLimiter } from "./ratelimiter.js";
import { SessionTable } from "./session-table.js";
import { openBatch, sealBatch, sealedLength, TransportBatch } from "./transport.js";
import { dueTimers, nextDeadline, TIMER_BITS } from "./timers.js";

/** Fills `out` with cryptographically secure random bytes (daemon: crypto.randomFillSync). */
export type RandomSource = (out: Uint8Array) => void;

export interface DeviceOptions {
  /** Our static private key, or null for none yet. */
  privateKey: PrivateKey | Uint8Array | null;
  random: RandomSource;
  /** Transport ChaCha20-Poly1305 implementation (default: node:crypto). */
  aead?: TransportAead;
  /** The tunnel interface's MTU, which caps transport padding (default 0: unknown, no cap); see {@link Device.mtu}. */
  mtu?: number;
}

export interface PeerConfig {
  publicKey: PublicKey | Uint8Array;
  presharedKey?: PresharedKey | Uint8Array | null;
  endpoint?: Endpoint | null;
  /** CIDR strings, e.g. "10.0.0.2/32", "fd00::/64". */
  allowedIps?: readonly string[];
  /** Seconds, 0 = off. */
  persistentKeepalive?: number;
}

/** Changes for {@link Device.updatePeer} (UAPI `set=1`); absent fields are left unchanged. */
export interface PeerUpdate {
  presharedKey?: PresharedKey | Uint8Array | null;
  endpoint?: Endpoint | null;
  /** Allowed IPs to add (or, with `replaceAllowedIps`, the complete new list). */
  allowedIps?: readonly string[];
  /** UAPI `replace_allowed_ips=true`: remove all of the peer's allowed IPs first. */
  replaceAllowedIps?: boolean;
  /** Seconds, 0 = off. */
  persistentKeepalive?: number;
}

/** Thrown by configuration calls (addPeer, updatePeer) for invalid settings; never by the data path. */
export class DeviceConfigError extends Error {
  override name = "DeviceConfigError";
}

const EMPTY = new Uint8Array(0);

export class Device {
  #identity: LocalIdentity | null = null;
  #privateKey: PrivateKey | null = null;
  readonly #random: RandomSource;
  readonly #aead: TransportAead;
  readonly #peers = new Map<string, Peer>();
  /** Local index → keypair (transport) or peer (its handshake in flight). */
  readonly #index = new Map<number, Keypair<Peer> | Peer>();
  /** Peer → local index of its handshake in flight. */
  readonly #handshakeIndex = new Map<Peer, number>();
  readonly #routes = new AllowedIps<Peer>();
  #checker: CookieChecker | null = null;
  readonly #rateLimiter = new RateLimiter();
  #forcedUnderLoad = false;
  #underLoadUntil = Number.NEGATIVE_INFINITY;
  #handshakeWindowStart = Number.NEGATIVE_INFINITY;
  #handshakeCount = 0;
  #lastNow = Number.NEGATIVE_INFINITY;
  #mtu = 0;
  readonly #scratch = new Uint8Array(4);
  /** Every keypair's keys, counters and replay windows (shared memory: session-table.ts). */
  readonly #table = SessionTable.create();
  /** Slot → the keypair in it (check its generation). */
  readonly #slotKeypairs: (Keypair<Peer> | undefined)[] = [];
  /** Peer ids for the table (a slot records its peer's id) and the transport's allowed-IPs check. */
  readonly #peerIds = new Map<Peer, number>();
  readonly #peersById: (Peer | undefined)[] = [];
  readonly #freePeerIds: number[] = [];
  /** One-packet batch for the transport module (encapsulate/decapsulate handle one packet per call). */
  readonly #batch = new TransportBatch(1);
  readonly #release = (kp: Keypair<Peer>): void => {
    if (this.#index.get(kp.localIndex) === kp) this.#index.delete(kp.localIndex);
    if (this.#slotKeypairs[kp.slot] === kp) this.#slotKeypairs[kp.slot] = undefined;
    kp.wipe();
  };
  readonly #keypairsChanged = (peer: Peer): void => this.onKeypairsChanged?.(peer);

  /**
   * Called synchronously, inside whichever call caused it, after a peer's keypairs changed: a new
   * keypair installed or confirmed, sending expired (new private key), keys erased or the peer
   * removed. For an I/O layer that mirrors keypairs elsewhere (worker threads); must not call
   * back into the device.
   */
  onKeypairsChanged: ((peer: Peer) => void) | null = null;

  constructor(options: DeviceOptions) {
    this.#random = options.random;
    this.#aead = options.aead ?? defaultTransportAead;
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
   * recomputed and its current sessions expire (a new handshake follows on demand).
   */
  setPrivateKey(key: PrivateKey | Uint8Array | null, now: number): void {
    const pk = key === null ? null : key instanceof PrivateKey ? key : PrivateKey.fromBytes(key);
    if (pk !== null && this.#privateKey !== null && pk.publicKey().equals(this.#privateKey.publicKey())) return;
    this.#privateKey = pk;
    this.#identity = pk === null ? null : localIdentity(pk.bytes);
    if (this.#identity !== null) {
      const own = this.#identity.publicKey;
      if (this.#checker === null) this.#checker = new CookieChecker(own);
      else this.#checker.setPublicKey(own);
      for (const peer of [...this.#peers.values()]) if (peer.publicKey.equals(own)) this.removePeer(peer.publicKey);
    }
    for (const peer of this.#peers.values()) {
      peer.handshake.setLocal(this.#identity);
      this.#freeHandshakeIndex(peer);
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
    const publicKey = config.publicKey instanceof PublicKey ? config.publicKey : PublicKey.fromBytes(config.publicKey);
    const id = publicKey.toBase64();
    if (this.#peers.has(id)) throw new DeviceConfigError("peer already exists");
    if (this.#peers.size >= MAX_PEERS) throw new DeviceConfigError(`too many peers (maximum ${MAX_PEERS})`);
    if (this.#identity !== null && publicKey.equals(this.#identity.publicKey)) {
      throw new DeviceConfigError("peer public key equals the device's own public key");
    }
    const allowed = config.allowedIps ?? [];
    validateCidrs(allowed);
    if (config.persistentKeepalive !== undefined) validateKeepalive(config.persistentKeepalive);
    const peer = new Peer(publicKey, toPsk(config.presharedKey), config.endpoint ?? null, this.#routes, this.#release, this.#keypairsChanged);
    peer.handshake.setLocal(this.#identity);
    this.#peers.set(id, peer);
    const peerId = this.#freePeerIds.pop() ?? this.#peersById.length;
    this.#peerIds.set(peer, peerId);
    this.#peersById[peerId] = peer;
    for (const cidr of allowed) this.#routes.insert(cidr, peer);
    if (config.persistentKeepalive !== undefined) this.#setPersistentKeepalive(peer, config.persistentKeepalive, now);
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
    if (changes.replaceAllowedIps === true) this.#routes.removeValue(peer);
    if (changes.allowedIps !== undefined) for (const cidr of changes.allowedIps) this.#routes.insert(cidr, peer);
    if (changes.persistentKeepalive !== undefined) this.#setPersistentKeepalive(peer, changes.persistentKeepalive, now);
    return peer;
  }

  /** Removes a peer, erasing its sessions. @returns false if there was no such peer */
  removePeer(publicKey: PublicKey | Uint8Array): boolean {
    const peer = this.peer(publicKey);
    if (peer === undefined) return false;
    this.#freeHandshakeIndex(peer);
    peer.zeroKeys();
    peer.staged.length = 0;
    peer.timers.stop();
    this.#routes.removeValue(peer);
    this.#peers.delete(peer.publicKey.toBase64());
    const peerId = this.#peerIds.get(peer);
    if (peerId !== undefined) {
      this.#peerIds.delete(peer);
      this.#peersById[peerId] = undefined;
      this.#freePeerIds.push(peerId);
    }
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
    return this.#isUnderLoad(this.#lastNow);
  }
  set underLoad(v: boolean) {
    this.#forcedUnderLoad = v;
    if (!v) this.#underLoadUntil = Number.NEGATIVE_INFINITY;
  }

  /**
   * The tunnel interface's MTU in bytes, 0 when unknown (the default). Transport padding is capped
   * at it (padding.ts; wireguard-go reads `device.tun.mtu` per packet, the kernel the skb's MTU):
   * the I/O layer sets it when it learns the link's MTU and whenever that changes.
   * @throws DeviceConfigError unless an integer from 0 to 65535
   */
  get mtu(): number {
    return this.#mtu;
  }
  set mtu(v: number) {
    if (!Number.isInteger(v) || v < 0 || v > 65535) throw new DeviceConfigError("MTU must be an integer from 0 to 65535");
    this.#mtu = v;
  }

  /**
   * The shared session table holding every keypair's keys, send counters and replay windows
   * (session-table.ts). Other threads attach views from its `handles` and seal/open with
   * transport.ts; only the device writes it.
   */
  get sessionTable(): SessionTable {
    return this.#table;
  }

  /** The earliest time `tick` has work to do (Infinity when no timer is armed). */
  nextTickAt(): number {
    let t = Infinity;
    for (const peer of this.#peers.values()) t = Math.min(t, nextDeadline(peer.timers));
    return t;
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
  // Data path
  // -------------------------------------------------------------------------------------------

  /**
   * Tunnel → network: encrypts an inner IP packet for the peer routed by its destination
   * (whitepaper §2), or stages it and starts a handshake when no session exists.
   */
  encapsulate(packet: Uint8Array, now: number, out: Action[]): void {
    try {
      this.#lastNow = now;
      if (this.#identity === null) return drop(out, "no-private-key");
      if (packet.length > MAX_CONTENT_SIZE) return drop(out, "oversized");
      if (!isIpPacket(packet)) return drop(out, "invalid-inner-packet");
      const peer = this.#routes.lookup(packet, "dst");
      if (peer === undefined) return drop(out, "no-route");
      const kp = peer.current;
      if (peer.staged.length === 0 && kp !== null && kp.canSend(now)) {
        // Fast path: a session exists and nothing is waiting before this packet.
        this.#sendTransport(peer, kp, packet, now, out);
        this.#afterSend(peer, packet.length > 0, now);
        this.#keepKeyFreshSending(peer, now, out);
        return;
      }
      if (peer.staged.length >= QUEUE_STAGED_SIZE) {
        peer.staged.shift();
        drop(out, "staged-queue-full", peer);
      }
      peer.staged.push(packet.slice()); // the caller may reuse its buffer
      this.#sendStaged(peer, now, out);
    } catch {
      drop(out, "internal-error");
    }
  }

  /** Network → tunnel: processes one UDP datagram received from `from`. */
  decapsulate(datagram: Uint8Array, from: Endpoint, now: number, out: Action[]): void {
    try {
      this.#lastNow = now;
      if (this.#identity === null) return drop(out, "no-private-key");
      const cls = classifyMessage(datagram);
      switch (cls) {
        case 4:
          return this.#receiveTransport(datagram, from, now, out);
        case 1:
        case 2:
          return this.#receiveHandshake(cls, datagram, from, now, out, this.#identity);
        case 3:
          return this.#receiveCookieReply(datagram, now, out);
        default:
          return drop(out, cls);
      }
    } catch {
      drop(out, "internal-error");
    }
  }

  /** Runs the timers of every peer (whitepaper §6): retransmits, keepalives, rekeys, key erasure. */
  tick(now: number, out: Action[]): void {
    this.#lastNow = now;
    for (const peer of this.#peers.values()) {
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
    this.#afterSend(peer, true, now);
    this.#keepKeyFreshSending(peer, now, out);
  }

  /**
   * Bookkeeping for authenticated transport data another component opened for `peer` (replay
   * window checked, inner source allowed), no crypto here: adds `bytes` (datagram bytes) to
   * rxBytes and runs the receive timers and the initiator's rekey-on-receive check, as
   * decapsulate would. May emit a handshake initiation into `out`.
   */
  noteDataReceived(peer: Peer, bytes: number, now: number, out: Action[]): void {
    this.#lastNow = now;
    const t = peer.timers;
    this.#keepKeyFreshReceiving(peer, now, out);
    t.onAnyAuthenticatedPacketTraversal(now);
    t.onAnyAuthenticatedPacketReceived();
    peer.rxBytes += bytes;
    t.onDataReceived(now);
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
      const kp = this.#slotKeypairs[slot];
      if (kp === undefined || kp.generation !== generation || kp.isWiped) return false;
      return this.#authenticatedReceived(kp, from, bytes, data, now, out);
    } catch {
      drop(out, "internal-error");
      return false;
    }
  }

  /**
   * What follows an authenticated transport datagram, whichever thread opened it: roaming (§2.1),
   * key confirmation (§5.4.5), the initiator's rekey-on-receive check, receive timers, rxBytes.
   * @returns true when the peer's endpoint changed
   */
  #authenticatedReceived(kp: Keypair<Peer>, from: Endpoint | null, bytes: number, data: boolean, now: number, out: Action[]): boolean {
    const peer = kp.peer;
    const t = peer.timers;
    const roamed = from !== null && !sameEndpoint(peer.endpoint, from);
    if (roamed) peer.setEndpoint(from); // only authenticated packets move the endpoint
    if (peer.receivedWithKeypair(kp)) {
      // Key confirmation: the initiator used our `next` keypair.
      t.onHandshakeComplete();
      peer.lastHandshakeAt = now;
      this.#sendStaged(peer, now, out);
    }
    this.#keepKeyFreshReceiving(peer, now, out);
    t.onAnyAuthenticatedPacketTraversal(now);
    t.onAnyAuthenticatedPacketReceived();
    peer.rxBytes += bytes;
    if (data) t.onDataReceived(now);
    return roamed;
  }

  /**
   * The device's id of `peer` (−1 if it is not one of its peers): what its keypairs' slots record
   * (SessionTable.peer) and what transport.ts `openBatch` looks up in its `peers` argument. Ids are
   * small integers, reused after a peer is removed.
   */
  peerId(peer: Peer): number {
    return this.#peerIds.get(peer) ?? -1;
  }

  // -------------------------------------------------------------------------------------------
  // Sending
  // -------------------------------------------------------------------------------------------

  /** Encrypts one packet with `kp` (transport.ts, the same code as every thread's) and emits it (whitepaper §5.4.6). */
  #sendTransport(peer: Peer, kp: Keypair<Peer>, packet: Uint8Array, now: number, out: Action[]): void {
    const endpoint = peer.endpoint;
    if (endpoint === null) return drop(out, "no-endpoint", peer);
    const datagram = new Uint8Array(sealedLength(packet.length, this.#mtu));
    const b = this.#batch;
    b.count = 1;
    b.input[0] = packet;
    b.output[0] = datagram;
    b.slot[0] = kp.slot;
    b.generation[0] = kp.generation;
    sealBatch(this.#table, b, now, this.#aead, this.#mtu);
    b.input[0] = b.output[0] = EMPTY;
    const reason = b.drop[0];
    if (reason !== null && reason !== undefined) return drop(out, reason, peer);
    peer.txBytes += datagram.length;
    out.push({ kind: "toNetwork", datagram, endpoint, peer });
  }

  /** Timer bookkeeping after transport packets were sent (wireguard-go RoutineSequentialSender). */
  #afterSend(peer: Peer, dataSent: boolean, now: number): void {
    const t = peer.timers;
    t.onAnyAuthenticatedPacketTraversal(now);
    t.onAnyAuthenticatedPacketSent();
    // Draw jitter only when the timer is about to be armed (keeps randomness off the hot path).
    if (dataSent && t.newHandshakeAt === Infinity) t.onDataSent(now, this.#jitter());
  }

  /** Sends staged packets with the current keypair, or starts a handshake (SendStagedPackets). */
  #sendStaged(peer: Peer, now: number, out: Action[]): void {
    if (peer.staged.length === 0) return;
    const kp = peer.current;
    if (kp === null || !kp.canSend(now)) {
      this.#sendInitiation(peer, false, now, out);
      return;
    }
    let dataSent = false;
    let sent = false;
    while (peer.staged.length > 0) {
      if (kp.sendCounter >= COUNTER_LIMIT) {
        this.#sendInitiation(peer, false, now, out);
        break;
      }
      const packet = peer.staged.shift()!;
      this.#sendTransport(peer, kp, packet, now, out);
      sent = true;
      if (packet.length > 0) dataSent = true;
    }
    if (sent) this.#afterSend(peer, dataSent, now);
    this.#keepKeyFreshSending(peer, now, out);
  }

  /** Queues a keepalive (an empty packet) unless something is staged, then flushes (SendKeepalive). */
  #sendKeepalive(peer: Peer, now: number, out: Action[]): void {
    if (peer.staged.length === 0) peer.staged.push(EMPTY);
    this.#sendStaged(peer, now, out);
  }

  /** Rekey on send (whitepaper §6.2): after REKEY_AFTER_TIME as initiator, or too many messages. */
  #keepKeyFreshSending(peer: Peer, now: number, out: Action[]): void {
    const kp = peer.current;
    if (kp === null) return;
    if (kp.sendCounter > REKEY_COUNTER_LIMIT || (kp.isInitiator && now - kp.createdAt > REKEY_AFTER_TIME)) {
      this.#sendInitiation(peer, false, now, out);
    }
  }

  /** Rekey on receive (whitepaper §6.2): the initiator's session nears REJECT_AFTER_TIME. */
  #keepKeyFreshReceiving(peer: Peer, now: number, out: Action[]): void {
    const t = peer.timers;
    if (t.sentLastMinuteHandshake) return;
    const kp = peer.current;
    if (kp !== null && kp.isInitiator && now - kp.createdAt > REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) {
      t.sentLastMinuteHandshake = true;
      this.#sendInitiation(peer, false, now, out);
    }
  }

  /** Sends a handshake initiation, at most one per REKEY_TIMEOUT (SendHandshakeInitiation). */
  #sendInitiation(peer: Peer, isRetry: boolean, now: number, out: Action[]): void {
    const t = peer.timers;
    if (!isRetry) t.handshakeAttempts = 0;
    if (now - t.lastSentHandshakeAt < REKEY_TIMEOUT) return;
    const identity = this.#identity;
    if (identity === null) return;
    this.#freeHandshakeIndex(peer);
    const localIndex = this.#newIndex(peer);
    const msg = new Uint8Array(INITIATION_SIZE);
    const failure = createInitiation(identity, peer.handshake, localIndex, now, this.#random, msg);
    if (failure !== null) {
      this.#index.delete(localIndex);
      // Arm the timer anyway so a broken peer does not retry on every packet.
      t.onHandshakeInitiated(now, this.#jitter());
      return drop(out, failure, peer);
    }
    this.#handshakeIndex.set(peer, localIndex);
    peer.cookies.addMacs(msg, now);
    t.onAnyAuthenticatedPacketTraversal(now);
    t.onAnyAuthenticatedPacketSent();
    this.#emit(peer, msg, out);
    t.onHandshakeInitiated(now, this.#jitter());
  }

  /** Emits a handshake datagram to the peer's endpoint, counting it. */
  #emit(peer: Peer, datagram: Uint8Array, out: Action[]): void {
    const endpoint = peer.endpoint;
    if (endpoint === null) return drop(out, "no-endpoint", peer);
    peer.txBytes += datagram.length;
    out.push({ kind: "toNetwork", datagram, endpoint, peer });
  }

  // -------------------------------------------------------------------------------------------
  // Receiving
  // -------------------------------------------------------------------------------------------

  #receiveHandshake(type: 1 | 2, msg: Uint8Array, from: Endpoint, now: number, out: Action[], identity: LocalIdentity): void {
    this.#countHandshake(now);
    const checker = this.#checker!;
    // Every handshake message must carry a valid MAC1 (whitepaper §5.4.4).
    if (!checker.checkMac1(msg)) return drop(out, "bad-mac1");
    if (this.#isUnderLoad(now)) {
      const source = endpointBytes(from);
      if (source === null) return drop(out, "invalid-endpoint");
      // Under load, MAC2 must prove the sender owns its address; otherwise answer with a cookie.
      if (!checker.checkMac2(msg, source, now)) {
        const reply = new Uint8Array(COOKIE_REPLY_SIZE);
        const sender = readU32(msg, type === 1 ? InitiationLayout.sender : ResponseLayout.sender);
        checker.createReply(msg, sender, source, now, this.#random, reply);
        out.push({ kind: "toNetwork", datagram: reply, endpoint: { address: from.address, port: from.port }, peer: undefined });
        return drop(out, "cookie-required");
      }
      if (!this.#rateLimiter.allow(source.subarray(0, source.length - 2), now)) return drop(out, "rate-limited");
    }
    if (type === 1) {
      const result = consumeInitiation(identity, msg, now, (key) => this.peer(key));
      if (typeof result === "string") return drop(out, result);
      const peer = result;
      peer.setEndpoint(from);
      peer.rxBytes += msg.length;
      peer.timers.onAnyAuthenticatedPacketTraversal(now);
      peer.timers.onAnyAuthenticatedPacketReceived();
      this.#sendResponse(peer, now, out);
      return;
    }
    const entry = this.#index.get(readU32(msg, ResponseLayout.receiver));
    if (!(entry instanceof Peer)) return drop(out, "unexpected-response");
    const peer = entry;
    const keys = consumeResponse(identity, peer.handshake, msg);
    if (typeof keys === "string") return drop(out, keys, peer);
    peer.setEndpoint(from);
    peer.rxBytes += msg.length;
    const t = peer.timers;
    t.onAnyAuthenticatedPacketTraversal(now);
    t.onAnyAuthenticatedPacketReceived();
    this.#handshakeIndex.delete(peer); // the index now belongs to the keypair
    this.#beginSession(peer, keys, now);
    t.onHandshakeComplete();
    peer.lastHandshakeAt = now;
    // Confirm the session to the responder at once (with staged data if any).
    this.#sendKeepalive(peer, now, out);
  }

  /** Answers a consumed initiation and derives the responder's keypair (SendHandshakeResponse). */
  #sendResponse(peer: Peer, now: number, out: Action[]): void {
    // A response is a sent handshake: no initiation of ours within REKEY_TIMEOUT of it. Like
    // wireguard-go (device/send.go SendHandshakeResponse: `peer.handshake.lastSentHandshake =
    // time.Now()`, first thing) and the kernel (wg_packet_send_handshake_response); unlike an
    // initiation it arms no retransmit timer (timersHandshakeInitiated is for initiations only).
    peer.timers.lastSentHandshakeAt = now;
    this.#freeHandshakeIndex(peer);
    const localIndex = this.#newIndex(peer);
    const msg = new Uint8Array(RESPONSE_SIZE);
    const keys = createResponse(peer.handshake, localIndex, this.#random, msg);
    if (typeof keys === "string") {
      this.#index.delete(localIndex);
      return drop(out, keys, peer);
    }
    peer.cookies.addMacs(msg, now);
    this.#beginSession(peer, keys, now);
    const t = peer.timers;
    t.onAnyAuthenticatedPacketTraversal(now);
    t.onAnyAuthenticatedPacketSent();
    this.#emit(peer, msg, out);
  }

  #beginSession(peer: Peer, keys: SessionKeys, now: number): void {
    const peerId = this.#peerIds.get(peer) ?? -1;
    const kp = new Keypair(peer, keys.sendKey, keys.receiveKey, keys.localIndex, keys.remoteIndex, keys.isInitiator, now, this.#table, peerId);
    this.#index.set(kp.localIndex, kp);
    this.#slotKeypairs[kp.slot] = kp;
    peer.installKeypair(kp);
    peer.timers.onSessionDerived(now);
  }

  #receiveCookieReply(msg: Uint8Array, now: number, out: Action[]): void {
    const entry = this.#index.get(readU32(msg, CookieReplyLayout.receiver));
    if (entry === undefined) return drop(out, "unknown-index");
    const peer = entry instanceof Peer ? entry : entry.peer;
    if (!peer.cookies.consumeReply(msg, now)) return drop(out, "cookie-decrypt-failed", peer);
  }

  /** Opens one transport datagram with transport.ts (the same code as every thread's), then the peer's bookkeeping. */
  #receiveTransport(d: Uint8Array, from: Endpoint, now: number, out: Action[]): void {
    const b = this.#batch;
    const plain = new Uint8Array(d.length - TRANSPORT_MIN_SIZE);
    b.count = 1;
    b.input[0] = d;
    b.output[0] = plain;
    openBatch(this.#table, b, now, this.#aead, this.#routes, this.#peersById);
    b.input[0] = b.output[0] = EMPTY;
    const slot = b.slot[0]!;
    const kp = slot < 0 ? undefined : this.#slotKeypairs[slot];
    const reason = b.drop[0] ?? null;
    // Read every result now: #sendStaged below reuses the one-packet batch to seal.
    const length = b.length[0]!;
    const authenticated = b.authenticated[0] === 1;
    if (kp === undefined || kp.generation !== b.generation[0]) return drop(out, reason ?? "unknown-index");
    const peer = kp.peer;
    if (!authenticated) return drop(out, reason ?? "internal-error", peer);
    const keepalive = reason === null && length === 0;
    this.#authenticatedReceived(kp, from, d.length, !keepalive, now, out);
    if (keepalive) return;
    if (reason !== null) return drop(out, reason, peer); // invalid inner packet, source not allowed
    out.push({ kind: "toTunnel", packet: length === plain.length ? plain : plain.subarray(0, length), peer });
  }

  // -------------------------------------------------------------------------------------------
  // Timers
  // -------------------------------------------------------------------------------------------

  #tickPeer(peer: Peer, now: number, out: Action[]): void {
    const due = dueTimers(peer.timers, now);
    if (due === 0) return;
    for (const bit of TIMER_BITS) {
      if ((due & bit) === 0) continue;
      switch (peer.timers.fire(bit, now)) {
        case "retry":
          this.#sendInitiation(peer, true, now, out);
          break;
        case "initiate":
          this.#sendInitiation(peer, false, now, out);
          break;
        case "keepalive":
          this.#sendKeepalive(peer, now, out);
          break;
        case "give-up":
          for (let i = 0; i < peer.staged.length; i++) drop(out, "handshake-timeout", peer);
          peer.staged.length = 0;
          break;
        case "zero":
          // Key erasure after 3 × REJECT_AFTER_TIME without a new session (whitepaper §6.3).
          this.#freeHandshakeIndex(peer);
          peer.zeroKeys();
          for (let i = 0; i < peer.staged.length; i++) drop(out, "handshake-timeout", peer);
          peer.staged.length = 0;
          break;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------------------------

  /** A fresh random local index, unique in the index table, registered for `peer`'s handshake. */
  #newIndex(peer: Peer): number {
    for (;;) {
      this.#random(this.#scratch);
      const i = readU32(this.#scratch, 0);
      if (!this.#index.has(i)) {
        this.#index.set(i, peer);
        return i;
      }
    }
  }

  #freeHandshakeIndex(peer: Peer): void {
    const i = this.#handshakeIndex.get(peer);
    if (i === undefined) return;
    this.#handshakeIndex.delete(peer);
    if (this.#index.get(i) === peer) this.#index.delete(i);
  }

  /** Uniform jitter in [0, REKEY_TIMEOUT_JITTER_MAX_MS) ms. */
  #jitter(): number {
    this.#random(this.#scratch);
    return readU32(this.#scratch, 0) % REKEY_TIMEOUT_JITTER_MAX_MS;
  }

  #countHandshake(now: number): void {
    if (now - this.#handshakeWindowStart >= 1000) {
      this.#handshakeWindowStart = now;
      this.#handshakeCount = 0;
    }
    if (++this.#handshakeCount >= UNDER_LOAD_HANDSHAKES_PER_SECOND) this.#underLoadUntil = now + UNDER_LOAD_AFTER_TIME;
  }

  #isUnderLoad(now: number): boolean {
    return this.#forcedUnderLoad || now < this.#underLoadUntil;
  }

  #setPersistentKeepalive(peer: Peer, seconds: number, now: number): void {
    validateKeepalive(seconds);
    const t = peer.timers;
    const was = t.persistentKeepaliveInterval;
    t.persistentKeepaliveInterval = seconds * 1000;
    if (seconds === 0) t.persistentKeepaliveAt = Infinity;
    // Like wireguard-go: turning it on sends a keepalive at once (here: at the next tick).
    else if (was === 0) t.persistentKeepaliveAt = now;
  }
}

function drop(out: Action[], reason: DropReason, peer?: Peer): void {
  out.push(peer === undefined ? { kind: "drop", reason } : { kind: "drop", reason, peer });
}

function toPsk(k: PresharedKey | Uint8Array | null | undefined): PresharedKey | null {
  if (k === undefined || k === null) return null;
  return k instanceof PresharedKey ? k : PresharedKey.fromBytes(k);
}

function validateCidrs(cidrs: readonly string[]): void {
  for (const c of cidrs) {
    try {
      parseCidr(c);
    } catch (e) {
      throw new DeviceConfigError(e instanceof Error ? e.message : "invalid allowed IP");
    }
  }
}

function validateKeepalive(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 65535) {
    throw new DeviceConfigError("persistent keepalive must be an integer from 0 to 65535 seconds");
  }
}

/** True when `p` starts like an IPv4 or IPv6 packet with a complete fixed header. */
function isIpPacket(p: Uint8Array): boolean {
  if (p.length === 0) return false;
  const v = p[0]! >>> 4;
  return (v === 4 && p.length >= 20) || (v === 6 && p.length >= 40);
}
