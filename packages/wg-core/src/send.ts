/**
 * The send path of a {@link Device} (wireguard-go device/send.go): transport messages for inner
 * packets (whitepaper §5.4.6), packets staged while no session exists, keepalives, handshake
 * initiations and responses (§5.4.2, §5.4.3) and rekey-on-send (§6.2).
 *
 * Functions on the device's shared {@link DeviceState}; every datagram to send and every drop is
 * appended to the caller's `out`. Sealing is transport.ts's, the same code as every thread's.
 */
import { type Action, drop } from "./actions.js";
import { COUNTER_LIMIT, REKEY_AFTER_TIME, REKEY_COUNTER_LIMIT, REKEY_TIMEOUT } from "./constants.js";
import type { Device } from "./device.js";
import { type DeviceState, EMPTY } from "./device-state.js";
import { createInitiation, createResponse, type LocalIdentity } from "./handshake.js";
import type { Keypair } from "./keypair.js";
import { INITIATION_SIZE, RESPONSE_SIZE } from "./messages.js";
import type { Peer } from "./peer.js";
import { sealBatch, sealedLength } from "./transport.js";

/** Encrypts one packet with `kp` (transport.ts, the same code as every thread's) and emits it (whitepaper §5.4.6). */
export function sendTransport(s: DeviceState, peer: Peer, kp: Keypair<Peer>, packet: Uint8Array, now: number, out: Action[]): void {
  const endpoint = peer.endpoint;
  if (endpoint === null) return drop(out, "no-endpoint", peer);
  const datagram = new Uint8Array(sealedLength(packet.length, s.mtu));
  const b = s.batch;
  b.count = 1;
  b.setInput(0, packet);
  b.setOutput(0, datagram);
  b.slot[0] = kp.slot;
  b.generation[0] = kp.generation;
  sealBatch(s.table, b, now, s.aead, s.mtu);
  b.release();
  const reason = b.drop[0];
  if (reason !== null && reason !== undefined) return drop(out, reason, peer);
  peer.txBytes += datagram.length;
  out.push({ kind: "toNetwork", datagram, endpoint, peer });
}

/** Timer bookkeeping after transport packets were sent (wireguard-go RoutineSequentialSender). */
export function afterSend(s: DeviceState, peer: Peer, dataSent: boolean, now: number): void {
  const t = peer.timers;
  t.onAnyAuthenticatedPacketTraversal(now);
  t.onAnyAuthenticatedPacketSent();
  // Draw jitter only when the timer is about to be armed (keeps randomness off the hot path).
  if (dataSent && t.newHandshakeAt === Infinity) t.onDataSent(now, s.jitter());
}

/** Sends staged packets with the current keypair, or starts a handshake (SendStagedPackets). */
export function sendStaged(s: DeviceState, peer: Peer, now: number, out: Action[]): void {
  if (peer.staged.length === 0) return;
  const kp = peer.current;
  if (kp === null || !kp.canSend(now)) {
    sendInitiation(s, peer, false, now, out);
    return;
  }
  let dataSent = false;
  let sent = false;
  while (peer.staged.length > 0) {
    if (kp.sendCounter >= COUNTER_LIMIT) {
      sendInitiation(s, peer, false, now, out);
      break;
    }
    const packet = peer.staged.shift()!;
    sendTransport(s, peer, kp, packet, now, out);
    sent = true;
    if (packet.length > 0) dataSent = true;
  }
  if (sent) afterSend(s, peer, dataSent, now);
  keepKeyFreshSending(s, peer, now, out);
}

/**
 * Packets for `peer` wait in a queue outside the Device (a pipeline's StagedQueue on another
 * thread): starts a handshake as {@link sendStaged} would for them, unless the current keypair can
 * still send (the pipeline then sends them once it sees it).
 */
export function wantSession(s: DeviceState, peer: Peer, now: number, out: Action[]): void {
  const kp = peer.current;
  if (kp === null || !kp.canSend(now)) sendInitiation(s, peer, false, now, out); // canSend: age and counter limit
}

/** Queues a keepalive (an empty packet) unless something is staged, then flushes (SendKeepalive). */
export function sendKeepalive(s: DeviceState, peer: Peer, now: number, out: Action[]): void {
  if (peer.staged.length === 0) peer.staged.push(EMPTY, now);
  sendStaged(s, peer, now, out);
}

/** Rekey on send (whitepaper §6.2): after REKEY_AFTER_TIME as initiator, or too many messages. */
export function keepKeyFreshSending(s: DeviceState, peer: Peer, now: number, out: Action[]): void {
  const kp = peer.current;
  if (kp === null) return;
  if (kp.sendCounter > REKEY_COUNTER_LIMIT || (kp.isInitiator && now - kp.createdAt > REKEY_AFTER_TIME)) {
    sendInitiation(s, peer, false, now, out);
  }
}

/** Sends a handshake initiation, at most one per REKEY_TIMEOUT (SendHandshakeInitiation). */
export function sendInitiation(s: DeviceState, peer: Peer, isRetry: boolean, now: number, out: Action[]): void {
  const t = peer.timers;
  if (!isRetry) t.handshakeAttempts = 0;
  if (now - t.lastSentHandshakeAt < REKEY_TIMEOUT) return;
  const identity = s.identity;
  if (identity === null) return;
  s.indices.freeHandshake(peer);
  const localIndex = s.indices.newIndex(peer);
  const msg = new Uint8Array(INITIATION_SIZE);
  const failure = createInitiation(identity, peer.handshake, localIndex, now, s.random, msg);
  if (failure !== null) {
    s.indices.delete(localIndex);
    // Arm the timer anyway so a broken peer does not retry on every packet.
    t.onHandshakeInitiated(now, s.jitter());
    return drop(out, failure, peer);
  }
  s.indices.setHandshake(peer, localIndex);
  peer.cookies.addMacs(msg, now);
  t.onAnyAuthenticatedPacketTraversal(now);
  t.onAnyAuthenticatedPacketSent();
  emit(peer, msg, out);
  t.onHandshakeInitiated(now, s.jitter());
}

/** Answers a consumed initiation and derives the responder's keypair (SendHandshakeResponse). */
export function sendResponse(s: DeviceState, identity: LocalIdentity, peer: Peer, now: number, out: Action[]): void {
  // A response is a sent handshake: no initiation of ours within REKEY_TIMEOUT of it. Like
  // wireguard-go (device/send.go SendHandshakeResponse: `peer.handshake.lastSentHandshake =
  // time.Now()`, first thing) and the kernel (wg_packet_send_handshake_response); unlike an
  // initiation it arms no retransmit timer (timersHandshakeInitiated is for initiations only).
  peer.timers.lastSentHandshakeAt = now;
  s.indices.freeHandshake(peer);
  const localIndex = s.indices.newIndex(peer);
  const msg = new Uint8Array(RESPONSE_SIZE);
  const keys = createResponse(identity, peer.handshake, localIndex, s.random, msg);
  if (typeof keys === "string") {
    s.indices.delete(localIndex);
    return drop(out, keys, peer);
  }
  peer.cookies.addMacs(msg, now);
  s.beginSession(peer, keys, now);
  const t = peer.timers;
  t.onAnyAuthenticatedPacketTraversal(now);
  t.onAnyAuthenticatedPacketSent();
  emit(peer, msg, out);
}

/** Emits a handshake datagram to the peer's endpoint, counting it. */
function emit(peer: Peer, datagram: Uint8Array, out: Action[]): void {
  const endpoint = peer.endpoint;
  if (endpoint === null) return drop(out, "no-endpoint", peer);
  peer.txBytes += datagram.length;
  out.push({ kind: "toNetwork", datagram, endpoint, peer });
}
