/**
 * Load detection for cookie mode (whitepaper §5.3 "Denial of Service Mitigation and Cookies";
 * wireguard-go device.IsUnderLoad): under load, handshake messages must carry a valid MAC2 or are
 * answered with a cookie reply, and are rate limited per source.
 *
 * A sans-I/O core has no handshake queue to measure, so it counts handshake messages per second
 * (UNDER_LOAD_HANDSHAKES_PER_SECOND); once over, it stays under load for UNDER_LOAD_AFTER_TIME.
 * Initial state: not under load, not forced. Time comes from the caller (`now`, ms).
 */
import { UNDER_LOAD_AFTER_TIME, UNDER_LOAD_HANDSHAKES_PER_SECOND } from "./constants.js";

export class LoadDetector {
  #forced = false;
  #underLoadUntil = Number.NEGATIVE_INFINITY;
  #handshakeWindowStart = Number.NEGATIVE_INFINITY;
  #handshakeCount = 0;

  /** Forces cookie mode on, or off (which returns to automatic detection). */
  force(on: boolean): void {
    this.#forced = on;
    if (!on) this.#underLoadUntil = Number.NEGATIVE_INFINITY;
  }

  /** Counts one received handshake message (initiation or response) at `now`. */
  countHandshake(now: number): void {
    if (now - this.#handshakeWindowStart >= 1000) {
      this.#handshakeWindowStart = now;
      this.#handshakeCount = 0;
    }
    if (++this.#handshakeCount >= UNDER_LOAD_HANDSHAKES_PER_SECOND) this.#underLoadUntil = now + UNDER_LOAD_AFTER_TIME;
  }

  /** True when forced, or when the handshake rate exceeded the limit within UNDER_LOAD_AFTER_TIME of `now`. */
  isUnderLoad(now: number): boolean {
    return this.#forced || now < this.#underLoadUntil;
  }
}
