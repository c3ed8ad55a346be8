// Timer rules (wireguard-go device/timers.go) on PeerTimers and the pure dueTimers().
import { describe, expect, it } from "vitest";
import { KEEPALIVE_TIMEOUT, REJECT_AFTER_TIME, REKEY_TIMEOUT } from "../src/index.js";
import { MAX_TIMER_HANDSHAKES } from "../src/constants.js";
import {
  dueTimers,
  nextDeadline,
  PeerTimers,
  TIMER_NEW_HANDSHAKE,
  TIMER_PERSISTENT_KEEPALIVE,
  TIMER_RETRANSMIT_HANDSHAKE,
  TIMER_SEND_KEEPALIVE,
  TIMER_ZERO_KEY_MATERIAL,
} from "../src/timers.js";

describe("timers", () => {
  it("starts with nothing armed", () => {
    const t = new PeerTimers();
    expect(dueTimers(t, 1e15)).toBe(0);
    expect(nextDeadline(t)).toBe(Infinity);
  });

  it("fires the passive keepalive exactly KEEPALIVE_TIMEOUT after data was received, unless we sent", () => {
    const t = new PeerTimers();
    t.onDataReceived(1000);
    expect(dueTimers(t, 1000 + KEEPALIVE_TIMEOUT - 1)).toBe(0);
    expect(dueTimers(t, 1000 + KEEPALIVE_TIMEOUT)).toBe(TIMER_SEND_KEEPALIVE);
    t.onAnyAuthenticatedPacketSent();
    expect(dueTimers(t, 1e9)).toBe(0);
  });

  it("re-arms the keepalive when more data arrived while one was pending", () => {
    const t = new PeerTimers();
    t.onDataReceived(0);
    t.onDataReceived(500); // pending already: remember to send another
    expect(t.fire(TIMER_SEND_KEEPALIVE, KEEPALIVE_TIMEOUT)).toBe("keepalive");
    expect(t.sendKeepaliveAt).toBe(2 * KEEPALIVE_TIMEOUT);
    expect(t.fire(TIMER_SEND_KEEPALIVE, 2 * KEEPALIVE_TIMEOUT)).toBe("keepalive");
    expect(t.sendKeepaliveAt).toBe(Infinity);
  });

  it("starts a new handshake when data sent gets no answer within KEEPALIVE_TIMEOUT + REKEY_TIMEOUT", () => {
    const t = new PeerTimers();
    t.onDataSent(0, 100);
    t.onDataSent(3000, 200); // already armed: unchanged
    expect(t.newHandshakeAt).toBe(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + 100);
    expect(dueTimers(t, t.newHandshakeAt)).toBe(TIMER_NEW_HANDSHAKE);
    t.onAnyAuthenticatedPacketReceived();
    expect(dueTimers(t, 1e9)).toBe(0);
  });

  it("retransmits up to MAX_TIMER_HANDSHAKES + 1 times, then gives up and schedules key erasure", () => {
    const t = new PeerTimers();
    let now = 0;
    t.onHandshakeInitiated(now, 0);
    const results: string[] = [];
    for (;;) {
      now = t.retransmitHandshakeAt;
      expect(dueTimers(t, now) & TIMER_RETRANSMIT_HANDSHAKE).toBeTruthy();
      const r = t.fire(TIMER_RETRANSMIT_HANDSHAKE, now);
      results.push(r);
      if (r === "give-up") break;
      t.onHandshakeInitiated(now, 0);
    }
    expect(results.filter((r) => r === "retry")).toHaveLength(MAX_TIMER_HANDSHAKES + 1);
    expect(t.zeroKeyMaterialAt).toBe(now + 3 * REJECT_AFTER_TIME);
    t.onHandshakeComplete();
    expect(t.handshakeAttempts).toBe(0);
  });

  it("schedules key erasure and persistent keepalives", () => {
    const t = new PeerTimers();
    t.onSessionDerived(10);
    expect(dueTimers(t, 10 + 3 * REJECT_AFTER_TIME)).toBe(TIMER_ZERO_KEY_MATERIAL);
    const p = new PeerTimers();
    p.onAnyAuthenticatedPacketTraversal(0);
    expect(p.persistentKeepaliveAt).toBe(Infinity); // off
    p.persistentKeepaliveInterval = 25_000;
    p.onAnyAuthenticatedPacketTraversal(100);
    expect(dueTimers(p, 25_099)).toBe(0);
    expect(dueTimers(p, 25_100)).toBe(TIMER_PERSISTENT_KEEPALIVE);
    expect(nextDeadline(p)).toBe(25_100);
  });
});
