/**
 * Per-peer protocol timers as timestamps (whitepaper §6.2 – §6.5; wireguard-go device/timers.go).
 *
 * Each timer is the `now` (ms) at which it fires, or Infinity when not armed. Initial state: all
 * disarmed, no handshake attempts. Protocol events arm and disarm timers through hooks named by the
 * event (`onDataSent`, `onHandshakeComplete`, …) with exactly wireguard-go's rules; {@link dueTimers}
 * is the one pure function that says which timers have fired at `now`; the device then calls
 * {@link PeerTimers.fire} for each and performs the action. Nothing here reads a clock or draws
 * randomness: jitter (0..333 ms) is passed in by the device.
 *
 *  - retransmit handshake: REKEY_TIMEOUT + jitter after an initiation; give up after
 *    MAX_TIMER_HANDSHAKES retries (≈ REKEY_ATTEMPT_TIME), then zero keys after 3 × REJECT_AFTER_TIME
 *  - send keepalive (passive): KEEPALIVE_TIMEOUT after data was received and nothing was sent since
 *  - new handshake: KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter after data was sent and nothing
 *    authenticated was received since
 *  - zero key material: 3 × REJECT_AFTER_TIME after the last session was derived
 *  - persistent keepalive: the configured interval after any authenticated packet in either direction
 */
import { KEEPALIVE_TIMEOUT, MAX_TIMER_HANDSHAKES, REJECT_AFTER_TIME, REKEY_TIMEOUT } from "./constants.js";

export const TIMER_RETRANSMIT_HANDSHAKE = 1;
export const TIMER_SEND_KEEPALIVE = 2;
export const TIMER_NEW_HANDSHAKE = 4;
export const TIMER_ZERO_KEY_MATERIAL = 8;
export const TIMER_PERSISTENT_KEEPALIVE = 16;
/** One of the TIMER_* bits. */
export type TimerBit = 1 | 2 | 4 | 8 | 16;
export const TIMER_BITS: readonly TimerBit[] = [1, 2, 4, 8, 16];

export class PeerTimers {
  retransmitHandshakeAt = Infinity;
  sendKeepaliveAt = Infinity;
  newHandshakeAt = Infinity;
  zeroKeyMaterialAt = Infinity;
  persistentKeepaliveAt = Infinity;
  /** Retransmissions of the current handshake attempt. */
  handshakeAttempts = 0;
  /** Data arrived while a passive keepalive was already pending: send another one after it. */
  needAnotherKeepalive = false;
  /** A "last minute" rekey on receive was already triggered for the current session. */
  sentLastMinuteHandshake = false;
  /** `now` of the last initiation sent (initiations are at most one per REKEY_TIMEOUT). */
  lastSentHandshakeAt = Number.NEGATIVE_INFINITY;
  /** Persistent keepalive interval in ms, 0 = off. */
  persistentKeepaliveInterval = 0;

  /** Data (non-keepalive) was sent: expect an answer, else rekey (timersDataSent). */
  onDataSent(now: number, jitter: number): void {
    if (this.newHandshakeAt === Infinity) this.newHandshakeAt = now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter;
  }

  /** Data (non-keepalive) was received: answer with a keepalive unless we send first (timersDataReceived). */
  onDataReceived(now: number): void {
    if (this.sendKeepaliveAt === Infinity) this.sendKeepaliveAt = now + KEEPALIVE_TIMEOUT;
    else this.needAnotherKeepalive = true;
  }

  /** Any authenticated packet (data, keepalive, handshake) was sent (timersAnyAuthenticatedPacketSent). */
  onAnyAuthenticatedPacketSent(): void {
    this.sendKeepaliveAt = Infinity;
  }

  /** Any authenticated packet was received (timersAnyAuthenticatedPacketReceived). */
  onAnyAuthenticatedPacketReceived(): void {
    this.newHandshakeAt = Infinity;
  }

  /** Any authenticated packet went either way (timersAnyAuthenticatedPacketTraversal). */
  onAnyAuthenticatedPacketTraversal(now: number): void {
    if (this.persistentKeepaliveInterval > 0) this.persistentKeepaliveAt = now + this.persistentKeepaliveInterval;
  }

  /** An initiation was sent (timersHandshakeInitiated). */
  onHandshakeInitiated(now: number, jitter: number): void {
    this.lastSentHandshakeAt = now;
    this.retransmitHandshakeAt = now + REKEY_TIMEOUT + jitter;
  }

  /** A handshake completed: a session was confirmed (timersHandshakeComplete). */
  onHandshakeComplete(): void {
    this.retransmitHandshakeAt = Infinity;
    this.handshakeAttempts = 0;
    this.sentLastMinuteHandshake = false;
  }

  /** New transport keys were derived (timersSessionDerived). */
  onSessionDerived(now: number): void {
    this.zeroKeyMaterialAt = now + 3 * REJECT_AFTER_TIME;
  }

  /** Disarms everything (peer removed or device key cleared). */
  stop(): void {
    this.retransmitHandshakeAt = Infinity;
    this.sendKeepaliveAt = Infinity;
    this.newHandshakeAt = Infinity;
    this.zeroKeyMaterialAt = Infinity;
    this.persistentKeepaliveAt = Infinity;
    this.handshakeAttempts = 0;
    this.needAnotherKeepalive = false;
  }

  /**
   * Disarms a fired timer and applies its own bookkeeping. Returns what the device must do:
   *  - retransmit: "retry" (send a new initiation) or "give-up" (flush staged packets)
   *  - send keepalive: "keepalive" (and re-arms itself if another one is needed)
   *  - new handshake: "initiate"; zero key material: "zero"; persistent keepalive: "keepalive"
   */
  fire(bit: TimerBit, now: number): "retry" | "give-up" | "keepalive" | "initiate" | "zero" {
    switch (bit) {
      case TIMER_RETRANSMIT_HANDSHAKE:
        this.retransmitHandshakeAt = Infinity;
        if (this.handshakeAttempts > MAX_TIMER_HANDSHAKES) {
          // Give up (RekeyAttemptTime reached): stop keepalives, erase keys later.
          this.sendKeepaliveAt = Infinity;
          if (this.zeroKeyMaterialAt === Infinity) this.zeroKeyMaterialAt = now + 3 * REJECT_AFTER_TIME;
          return "give-up";
        }
        this.handshakeAttempts++;
        return "retry";
      case TIMER_SEND_KEEPALIVE:
        this.sendKeepaliveAt = Infinity;
        if (this.needAnotherKeepalive) {
          this.needAnotherKeepalive = false;
          this.sendKeepaliveAt = now + KEEPALIVE_TIMEOUT;
        }
        return "keepalive";
      case TIMER_NEW_HANDSHAKE:
        this.newHandshakeAt = Infinity;
        return "initiate";
      case TIMER_ZERO_KEY_MATERIAL:
        this.zeroKeyMaterialAt = Infinity;
        return "zero";
      case TIMER_PERSISTENT_KEEPALIVE:
        this.persistentKeepaliveAt = Infinity;
        return "keepalive";
    }
  }
}

/** The one pure timer evaluation: a bitmask of the TIMER_* timers due at `now`. */
export function dueTimers(t: Readonly<PeerTimers>, now: number): number {
  let due = 0;
  if (t.retransmitHandshakeAt <= now) due |= TIMER_RETRANSMIT_HANDSHAKE;
  if (t.sendKeepaliveAt <= now) due |= TIMER_SEND_KEEPALIVE;
  if (t.newHandshakeAt <= now) due |= TIMER_NEW_HANDSHAKE;
  if (t.zeroKeyMaterialAt <= now) due |= TIMER_ZERO_KEY_MATERIAL;
  if (t.persistentKeepaliveAt <= now && t.persistentKeepaliveInterval > 0) due |= TIMER_PERSISTENT_KEEPALIVE;
  return due;
}

/** The earliest armed timer (Infinity when none): when the caller should next call `tick`. */
export function nextDeadline(t: Readonly<PeerTimers>): number {
  return Math.min(t.retransmitHandshakeAt, t.sendKeepaliveAt, t.newHandshakeAt, t.zeroKeyMaterialAt, t.persistentKeepaliveAt);
}
