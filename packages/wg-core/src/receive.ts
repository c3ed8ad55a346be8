/**
 * The receive path of a {@link Device} (wireguard-go device/receive.go): handshake messages with
 * their MAC1/MAC2 checks and cookie mode (whitepaper §5.3, §5.4.2 – §5.4.4), cookie replies
 * (§5.4.7), transport messages (§5.4.6), and what follows an authenticated one: roaming (§2.1),
 * key confirmation (§5.4.5), rekey-on-receive (§6.2) and the receive timers.
 *
 * Functions on the device's shared {@link DeviceState}; datagrams to send, inner packets to
 * deliver and drops are appended to the caller's `out`. Opening is transport.ts's, the same code
 * as every thread's.
 */
import { type Action, drop } from "./actions.js";
import { KEEPALIVE_TIMEOUT, REJECT_AFTER_TIME, REKEY_TIMEOUT } from "./constants.js";
import type { Device } from "./device.js";
import type { DeviceState } from "./device-state.js";
import { type Endpoint, endpointBytes, sameEndpoint } from "./endpoint.js";
import { consumeInitiation, consumeResponse, type LocalIdentity } from "./handshake.js";
import type { Keypair } from "./keypair.js";
import { COOKIE_REPLY_SIZE, CookieReplyLayout, InitiationLayout, readU32, ResponseLayout, TRANSPORT_MIN_SIZE } from "./messages.js";
import { Peer } from "./peer.js";
import { sendInitiation, sendKeepalive, sendResponse, sendStaged } from "./send.js";
import { openBatch } from "./transport.js";

/** An initiation (type 1) or response (type 2) from `from`. */
export function receiveHandshake(
  s: DeviceState,
  type: 1 | 2,
  msg: Uint8Array,
  from: Endpoint,
  now: number,
  out: Action[],
  identity: LocalIdentity,
): void {
  s.load.countHandshake(now);
  const checker = s.checker!;
  // Every handshake message must carry a valid MAC1 (whitepaper §5.4.4).
  if (!checker.checkMac1(msg)) return drop(out, "bad-mac1");
  if (s.load.isUnderLoad(now)) {
    const source = endpointBytes(from);
    if (source === null) return drop(out, "invalid-endpoint");
    // Under load, MAC2 must prove the sender owns its address; otherwise answer with a cookie.
    if (!checker.checkMac2(msg, source, now)) {
      const reply = new Uint8Array(COOKIE_REPLY_SIZE);
      const sender = readU32(msg, type === 1 ? InitiationLayout.sender : ResponseLayout.sender);
      checker.createReply(msg, sender, source, now, s.random, reply);
      out.push({ kind: "toNetwork", datagram: reply, endpoint: { address: from.address, port: from.port }, peer: undefined });
      return drop(out, "cookie-required");
    }
    if (!s.rateLimiter.allow(source.subarray(0, source.length - 2), now)) return drop(out, "rate-limited");
  }
  if (type === 1) {
    const result = consumeInitiation(identity, msg, now, s.findPeer);
    if (typeof result === "string") return drop(out, result);
    const peer = result;
    peer.setEndpoint(from);
    peer.rxBytes += msg.length;
    peer.timers.onAnyAuthenticatedPacketTraversal(now);
    peer.timers.onAnyAuthenticatedPacketReceived();
    sendResponse(s, identity, peer, now, out);
    return;
  }
  const entry = s.indices.lookup(readU32(msg, ResponseLayout.receiver));
  if (!(entry instanceof Peer)) return drop(out, "unexpected-response");
  const peer = entry;
  const keys = consumeResponse(identity, peer.handshake, msg);
  if (typeof keys === "string") return drop(out, keys, peer);
  peer.setEndpoint(from);
  peer.rxBytes += msg.length;
  const t = peer.timers;
  t.onAnyAuthenticatedPacketTraversal(now);
  t.onAnyAuthenticatedPacketReceived();
  s.indices.handshakeDone(peer); // the index now belongs to the keypair
  s.beginSession(peer, keys, now);
  t.onHandshakeComplete();
  peer.lastHandshakeAt = now;
  // Confirm the session to the responder at once (with staged data if any).
  sendKeepalive(s, peer, now, out);
}

/** A cookie reply (whitepaper §5.4.7) to a handshake message of ours: stored for the next MAC2. */
export function receiveCookieReply(s: DeviceState, msg: Uint8Array, now: number, out: Action[]): void {
  const entry = s.indices.lookup(readU32(msg, CookieReplyLayout.receiver));
  if (entry === undefined) return drop(out, "unknown-index");
  const peer = entry instanceof Peer ? entry : entry.peer;
  if (!peer.cookies.consumeReply(msg, now)) return drop(out, "cookie-decrypt-failed", peer);
}

/** Opens one transport datagram with transport.ts (the same code as every thread's), then the peer's bookkeeping. */
export function receiveTransport(s: DeviceState, d: Uint8Array, from: Endpoint, now: number, out: Action[]): void {
  const b = s.batch;
  const plain = new Uint8Array(d.length - TRANSPORT_MIN_SIZE);
  b.count = 1;
  b.setInput(0, d);
  b.setOutput(0, plain);
  openBatch(s.table, b, now, s.aead, s.routes, s.peerIds.byId);
  b.release();
  const slot = b.slot[0]!;
  const kp = slot < 0 ? undefined : s.slotKeypairs[slot];
  const reason = b.drop[0] ?? null;
  // Read every result now: sendStaged below reuses the one-packet batch to seal.
  const length = b.length[0]!;
  const authenticated = b.authenticated[0] === 1;
  if (kp === undefined || kp.generation !== b.generation[0]) return drop(out, reason ?? "unknown-index");
  const peer = kp.peer;
  if (!authenticated) return drop(out, reason ?? "internal-error", peer);
  const keepalive = reason === null && length === 0;
  authenticatedReceived(s, kp, from, d.length, !keepalive, now, out);
  if (keepalive) return;
  if (reason !== null) return drop(out, reason, peer); // invalid inner packet, source not allowed
  out.push({ kind: "toTunnel", packet: length === plain.length ? plain : plain.subarray(0, length), peer });
}

/**
 * What follows an authenticated transport datagram, whichever thread opened it: roaming (§2.1),
 * key confirmation (§5.4.5), the initiator's rekey-on-receive check, receive timers, rxBytes.
 * @returns true when the peer's endpoint changed
 */
export function authenticatedReceived(
  s: DeviceState,
  kp: Keypair<Peer>,
  from: Endpoint | null,
  bytes: number,
  data: boolean,
  now: number,
  out: Action[],
): boolean {
  const peer = kp.peer;
  const t = peer.timers;
  const roamed = from !== null && !sameEndpoint(peer.endpoint, from);
  if (roamed) peer.setEndpoint(from); // only authenticated packets move the endpoint
  if (peer.receivedWithKeypair(kp)) {
    // Key confirmation: the initiator used our `next` keypair.
    t.onHandshakeComplete();
    peer.lastHandshakeAt = now;
    sendStaged(s, peer, now, out);
  }
  keepKeyFreshReceiving(s, peer, now, out);
  t.onAnyAuthenticatedPacketTraversal(now);
  t.onAnyAuthenticatedPacketReceived();
  peer.rxBytes += bytes;
  if (data) t.onDataReceived(now);
  return roamed;
}

/** Rekey on receive (whitepaper §6.2): the initiator's session nears REJECT_AFTER_TIME. */
export function keepKeyFreshReceiving(s: DeviceState, peer: Peer, now: number, out: Action[]): void {
  const t = peer.timers;
  if (t.sentLastMinuteHandshake) return;
  const kp = peer.current;
  if (kp !== null && kp.isInitiator && now - kp.createdAt > REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) {
    t.sentLastMinuteHandshake = true;
    sendInitiation(s, peer, false, now, out);
  }
}
