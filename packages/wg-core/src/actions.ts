/**
 * What the core asks its caller to do (docs/architecture.md, "The wg-core contract"): the
 * caller-owned `out: Action[]` array receives one action per datagram to send, inner packet to
 * deliver, or input dropped. Drops carry a {@link DropReason} so the daemon can count them by
 * reason; nothing is ever thrown for bad input.
 */
import type { Endpoint } from "./endpoint.js";
import type { Peer } from "./peer.js";

/** Why an input (datagram or inner packet) was not processed. */
export type DropReason =
  // device state
  | "no-private-key" // the device has no private key (interface down)
  // datagram framing (messages.ts)
  | "truncated" // shorter than its message type requires
  | "invalid-size" // handshake/cookie message longer than its fixed size
  | "oversized" // larger than a UDP payload / transport content can be
  | "unknown-type" // type field is not 1..4 with zero reserved bytes
  // handshake messages (cookie.ts, handshake.ts)
  | "bad-mac1" // MAC1 does not verify: not for us
  | "cookie-required" // under load without a valid MAC2: a cookie reply was sent instead
  | "rate-limited" // under load and over the per-source handshake rate
  | "invalid-endpoint" // source address is not a valid IP literal
  | "handshake-decrypt-failed" // an AEAD in an initiation/response does not verify
  | "unknown-peer" // initiation from a static key that is not a configured peer
  | "replayed-initiation" // TAI64N timestamp not newer than the last accepted one
  | "initiation-flood" // initiation within HANDSHAKE_INITIATION_RATE of the previous one
  | "unexpected-response" // response to no initiation of ours in flight
  | "invalid-public-key" // a DH produced the all-zero point (low-order key)
  | "cookie-decrypt-failed" // cookie reply not for our last MAC1, or forged
  // transport messages
  | "unknown-index" // receiver index names no session
  | "expired-keypair" // the session is older than REJECT_AFTER_TIME or erased
  | "counter-limit" // counter ≥ the reject limit
  | "decrypt-failed" // Poly1305 tag does not verify
  | "replay" // counter already seen or behind the replay window
  | "invalid-inner-packet" // decrypted payload is not a well-formed IPv4/IPv6 packet
  | "source-not-allowed" // inner source address not in the sending peer's allowed IPs
  // outbound (encapsulate / timers)
  | "no-route" // no peer's allowed IPs contain the destination
  | "no-endpoint" // the peer has no endpoint yet
  | "staged-queue-full" // too many packets waiting for a handshake: the oldest is dropped
  | "handshake-timeout" // staged packet discarded after REKEY_ATTEMPT_TIME without a session
  | "encrypt-failed" // the AEAD refused its arguments (should not happen)
  | "internal-error"; // an unexpected exception was caught (a bug; reported, never thrown)

/** One thing for the caller to do. */
export type Action =
  /** Send `datagram` to `endpoint` (`peer` is undefined for cookie replies: sent before identifying the peer). */
  | { kind: "toNetwork"; datagram: Uint8Array; endpoint: Endpoint; peer: Peer | undefined }
  /** Deliver an inner IP packet (padding removed) from `peer` to the tunnel. */
  | { kind: "toTunnel"; packet: Uint8Array; peer: Peer }
  /** Count a drop. */
  | { kind: "drop"; reason: DropReason; peer?: Peer };

/** Appends a drop of `reason` (for `peer`, when known) to `out`. */
export function drop(out: Action[], reason: DropReason, peer?: Peer): void {
  out.push(peer === undefined ? { kind: "drop", reason } : { kind: "drop", reason, peer });
}
