// Two in-memory peers on a virtual network, in virtual time (whitepaper §5 handshake, §6 timers).
import { describe, expect, it } from "vitest";
import {
  KEEPALIVE_TIMEOUT,
  nobleTransportAead,
  nodeTransportAead,
  REJECT_AFTER_TIME,
  REKEY_AFTER_TIME,
  REKEY_TIMEOUT,
  REKEY_TIMEOUT_JITTER_MAX_MS,
} from "../src/index.js";
import { COUNTER_LIMIT, REKEY_COUNTER_LIMIT } from "../src/constants.js";
import { icmpEcho, parseIcmpEcho } from "./support/ip.mjs";
import { A_INNER, B_INNER, makePair, typeOf, type VNode, type Wire } from "./support/vnet.js";

const ping = (from: string, to: string, seq = 1) => icmpEcho(from, to, { id: 7, seq });
const transports = (n: VNode, since = 0) => n.sent.filter((w) => w.at >= since && typeOf(w.datagram) === 4);
const initiations = (n: VNode, since = 0) => n.sent.filter((w) => w.at >= since && typeOf(w.datagram) === 1);

describe("two peers in memory", () => {
  it("completes a handshake initiated by A and carries data both ways", () => {
    const { net, a, b, bOnA, aOnB } = makePair();
    net.send(a, ping(A_INNER, B_INNER, 1));
    // Initiation, response, then A's staged packet (which confirms the session for B).
    expect(a.sent.map((w) => typeOf(w.datagram))).toEqual([1, 4]);
    expect(b.sent.map((w) => typeOf(w.datagram))).toEqual([2]);
    expect(b.delivered).toHaveLength(1);
    expect(parseIcmpEcho(b.delivered[0]!.packet)).toMatchObject({ src: A_INNER, dst: B_INNER, seq: 1 });
    expect(b.delivered[0]!.peer).toBe(aOnB);
    net.send(b, ping(B_INNER, A_INNER, 2));
    expect(parseIcmpEcho(a.delivered[0]!.packet)).toMatchObject({ src: B_INNER, dst: A_INNER, seq: 2 });
    expect(a.drops).toEqual([]);
    expect(b.drops).toEqual([]);
    expect(bOnA.lastHandshakeAt).toBe(net.now);
    expect(aOnB.lastHandshakeAt).toBe(net.now);
    // Byte counters count every datagram, like wireguard-go: what one sent, the other received.
    const sum = (n: VNode) => n.sent.reduce((s, w) => s + w.datagram.length, 0);
    expect(bOnA.txBytes).toBe(sum(a));
    expect(aOnB.rxBytes).toBe(sum(a));
    expect(aOnB.txBytes).toBe(sum(b));
    expect(bOnA.rxBytes).toBe(sum(b));
  });

  it("completes a handshake initiated by B; B's data waits for confirmation then flows", () => {
    const { net, a, b } = makePair();
    net.send(b, ping(B_INNER, A_INNER, 1));
    expect(b.sent.map((w) => typeOf(w.datagram))).toEqual([1, 4]);
    expect(a.sent.map((w) => typeOf(w.datagram))).toEqual([2]);
    expect(a.delivered).toHaveLength(1);
    net.send(a, ping(A_INNER, B_INNER, 2));
    expect(b.delivered).toHaveLength(1);
    expect(initiations(a)).toHaveLength(0);
  });

  it("the packet that confirms the responder's session is delivered whole while B flushes its staged packets", () => {
    const { net, a, b } = makePair();
    // Hold A's first transport message (its staged ping, the key confirmation for B).
    const held: Wire[] = [];
    net.filter = (w) => !(w.from === a && typeOf(w.datagram) === 4 && held.push(w));
    const p1 = ping(A_INNER, B_INNER, 1);
    net.send(a, p1);
    expect(held).toHaveLength(1);
    // B has data before it is confirmed: staged (a responder may not send first, §5.4.5).
    const p2 = ping(B_INNER, A_INNER, 2);
    net.send(b, p2);
    expect(transports(b)).toHaveLength(0);
    net.filter = () => true;
    net.inject(held[0]!.datagram, held[0]!.source, held[0]!.to);
    // B delivers A's ping exactly (sealing its staged ping must not disturb it) and A gets B's.
    expect(b.delivered.map((d) => d.packet)).toEqual([p1]);
    expect(a.delivered.map((d) => d.packet)).toEqual([p2]);
  });

  it("pads transport payloads to 16 bytes and sends keepalives as empty payloads", () => {
    const { net, a, b } = makePair();
    const p = ping(A_INNER, B_INNER, 1); // 20 + 8 + 32 = 60 bytes → padded to 64
    net.send(a, p);
    expect(transports(a)[0]!.datagram.length).toBe(16 + 64 + 16);
    expect(b.delivered[0]!.packet).toEqual(p); // padding removed by the IPv4 length field
  });

  it("works with a preshared key and fails cleanly when the keys differ", () => {
    const psk = new Uint8Array(32).fill(7);
    const ok = makePair({ psk });
    ok.net.send(ok.a, ping(A_INNER, B_INNER));
    expect(ok.b.delivered).toHaveLength(1);

    const bad = makePair({ psk });
    bad.b.device.updatePeer(bad.a.privateKey.publicKey(), { presharedKey: new Uint8Array(32).fill(8) }, bad.net.now);
    bad.net.send(bad.a, ping(A_INNER, B_INNER));
    expect(bad.b.delivered).toHaveLength(0);
    expect(bad.a.dropReasons()).toEqual(["handshake-decrypt-failed"]);
  });

  it("rekeys after REKEY_AFTER_TIME of traffic and still accepts the previous keypair", () => {
    const { net, a, b, bOnA, aOnB } = makePair();
    net.send(a, ping(A_INNER, B_INNER, 0));
    const first = bOnA.current!;
    // Hold back one datagram sent with the first keypair just before the rekey.
    let held: Wire | undefined;
    let seq = 1;
    net.advance(REKEY_AFTER_TIME + 10_000, 100, () => {
      if (net.now % 1000 === 0) {
        if (held === undefined && net.now - first.createdAt >= REKEY_AFTER_TIME - 1000) {
          net.filter = (w) => {
            if (held === undefined && w.from === a && typeOf(w.datagram) === 4) {
              held = w;
              return false;
            }
            return true;
          };
        }
        net.send(a, ping(A_INNER, B_INNER, seq++ & 0xffff));
        net.filter = () => true;
      }
    });
    expect(initiations(a)).toHaveLength(2);
    const rekeyAt = initiations(a)[1]!.at;
    expect(rekeyAt - first.createdAt).toBeGreaterThan(REKEY_AFTER_TIME);
    expect(rekeyAt - first.createdAt).toBeLessThanOrEqual(REKEY_AFTER_TIME + 1000);
    expect(bOnA.current).not.toBe(first);
    expect(bOnA.previous).toBe(first);
    expect(aOnB.previous?.receiveKey).toEqual(first.sendKey);
    // The held datagram of the previous session still decrypts.
    const before = b.delivered.length;
    net.inject(held!.datagram, held!.source, held!.to);
    expect(b.delivered.length).toBe(before + 1);
    expect(b.drops).toEqual([]);
    expect(a.drops).toEqual([]);
    expect(b.delivered.length).toBe(seq);
  });

  it("stops using a session after REJECT_AFTER_TIME when no rekey succeeds", () => {
    const { net, a, b, bOnA } = makePair();
    net.send(a, ping(A_INNER, B_INNER));
    const kp = bOnA.current!;
    const old = transports(a)[0]!;
    // From now on handshakes are lost: no new session can be made.
    net.filter = (w) => typeOf(w.datagram) === 4;
    let lastTransportAt = 0;
    net.advance(REJECT_AFTER_TIME + 5000, 100, () => {
      if (net.now % 1000 === 0) net.send(a, ping(A_INNER, B_INNER));
    });
    for (const w of transports(a)) lastTransportAt = Math.max(lastTransportAt, w.at);
    expect(lastTransportAt - kp.createdAt).toBeLessThan(REJECT_AFTER_TIME);
    expect(lastTransportAt - kp.createdAt).toBeGreaterThanOrEqual(REJECT_AFTER_TIME - 1000);
    // B refuses even a fresh-looking datagram of that session once it is too old.
    b.drops.length = 0;
    const forged = old.datagram.slice();
    forged[8] = 0xfe; // a counter never used: only the age check can reject it before the AEAD
    net.inject(forged, old.source, old.to);
    expect(b.dropReasons()).toEqual(["expired-keypair"]);
  });

  it("erases keys 3 × REJECT_AFTER_TIME after the last session was derived", () => {
    const { net, a, bOnA, aOnB } = makePair();
    net.send(a, ping(A_INNER, B_INNER));
    const kp = bOnA.current!;
    const start = net.now;
    net.advance(3 * REJECT_AFTER_TIME - 1000, 500);
    expect(bOnA.current).toBe(kp);
    expect(kp.sendKey.some((x) => x !== 0)).toBe(true);
    net.advance(2000, 500);
    expect(net.now - start).toBeGreaterThan(3 * REJECT_AFTER_TIME);
    expect(bOnA.current).toBeNull();
    expect(aOnB.current).toBeNull();
    expect(kp.sendKey.every((x) => x === 0)).toBe(true);
    expect(kp.receiveKey.every((x) => x === 0)).toBe(true);
  });

  it("sends a passive keepalive KEEPALIVE_TIMEOUT after receiving data it did not answer", () => {
    const { net, a, b } = makePair();
    net.send(a, ping(A_INNER, B_INNER));
    const receivedAt = net.now;
    net.advance(KEEPALIVE_TIMEOUT + 2000, 50);
    const ka = transports(b);
    expect(ka).toHaveLength(1);
    expect(ka[0]!.datagram.length).toBe(32);
    expect(ka[0]!.at - receivedAt).toBeGreaterThanOrEqual(KEEPALIVE_TIMEOUT);
    expect(ka[0]!.at - receivedAt).toBeLessThanOrEqual(KEEPALIVE_TIMEOUT + 50);
    expect(a.delivered).toHaveLength(0); // keepalives are not delivered to the tunnel
  });

  it("sends persistent keepalives at the configured interval, starting a handshake first", () => {
    const { net, a } = makePair({ keepaliveA: 25 });
    net.advance(100_000, 100);
    const ka = transports(a).map((w) => w.at);
    expect(initiations(a)).toHaveLength(1);
    expect(ka.length).toBe(4);
    for (let i = 1; i < ka.length; i++) expect(ka[i]! - ka[i - 1]!).toBe(25_000);
  });

  it("retransmits the initiation every REKEY_TIMEOUT + jitter and gives up after REKEY_ATTEMPT_TIME", () => {
    const { net, a } = makePair();
    net.filter = () => false; // B is unreachable
    net.send(a, ping(A_INNER, B_INNER));
    const start = net.now;
    net.advance(150_000, 10);
    const times = initiations(a).map((w) => w.at);
    // wireguard-go: the first attempt plus MAX_TIMER_HANDSHAKES + 1 retries.
    expect(times).toHaveLength(20);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(REKEY_TIMEOUT);
      expect(g).toBeLessThanOrEqual(REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX_MS + 10);
    }
    expect(new Set(gaps).size).toBeGreaterThan(3); // jittered
    expect(times.at(-1)! - start).toBeGreaterThanOrEqual(90_000);
    expect(a.dropReasons()).toEqual(["handshake-timeout"]); // the staged ping
  });

  it("completes through the cookie path when the responder is under load", () => {
    const { net, a, b } = makePair();
    b.device.underLoad = true;
    net.send(a, ping(A_INNER, B_INNER));
    expect(b.sent.map((w) => typeOf(w.datagram))).toEqual([3]);
    expect(b.dropReasons()).toEqual(["cookie-required"]);
    const first = initiations(a)[0]!.datagram;
    expect(first.subarray(132).every((x) => x === 0)).toBe(true);
    net.advance(REKEY_TIMEOUT + 400, 50);
    const second = initiations(a)[1]!.datagram;
    expect(second.subarray(132).some((x) => x !== 0)).toBe(true); // MAC2 from the cookie
    expect(b.delivered).toHaveLength(1);
    expect(b.sent.map((w) => typeOf(w.datagram))).toEqual([3, 2]);
  });

  it("follows a roaming peer only on authenticated packets", () => {
    const { net, a, b, aOnB } = makePair();
    net.send(a, ping(A_INNER, B_INNER));
    expect(aOnB.endpoint).toEqual(a.endpoint);
    const old = transports(a)[0]!;
    // Unauthenticated traffic from elsewhere does not move the endpoint.
    const attacker = { address: "198.51.100.9", port: 4444 };
    net.inject(old.datagram, attacker, b.endpoint); // replayed
    const bad = old.datagram.slice();
    bad[bad.length - 1]! ^= 1;
    bad[8] = 0x55;
    net.inject(bad, attacker, b.endpoint); // forged
    expect(b.dropReasons()).toEqual(["replay", "decrypt-failed"]);
    expect(aOnB.endpoint).toEqual(a.endpoint);
    // A moves; its next authenticated packet updates B's view, and B answers to the new place.
    a.endpoint = { address: "203.0.113.5", port: 2002 };
    net.send(a, ping(A_INNER, B_INNER, 2));
    expect(aOnB.endpoint).toEqual({ address: "203.0.113.5", port: 2002 });
    net.send(b, ping(B_INNER, A_INNER, 3));
    expect(transports(b).at(-1)!.to).toEqual({ address: "203.0.113.5", port: 2002 });
    expect(a.delivered).toHaveLength(1);
  });

  it("rejects a replayed old initiation by its TAI64N timestamp", () => {
    const { net, a, b } = makePair();
    net.send(a, ping(A_INNER, B_INNER));
    const init = initiations(a)[0]!;
    net.advance(1000);
    b.drops.length = 0;
    net.inject(init.datagram, init.source, init.to);
    expect(b.dropReasons()).toEqual(["replayed-initiation"]);
    expect(b.sent.filter((w) => typeOf(w.datagram) === 2)).toHaveLength(1);
  });

  it("rekeys when the send counter passes the rekey limit and refuses to send at the reject limit", () => {
    const { net, a, bOnA } = makePair();
    net.send(a, ping(A_INNER, B_INNER));
    net.advance(REKEY_TIMEOUT + 1); // let initiations be sent again
    bOnA.current!.sendCounter = REKEY_COUNTER_LIMIT + 1;
    const before = initiations(a).length;
    net.send(a, ping(A_INNER, B_INNER)); // sent with the old keypair, then a rekey starts
    expect(initiations(a)).toHaveLength(before + 1);

    const fresh = makePair({ seed: 9 });
    fresh.net.send(fresh.a, ping(A_INNER, B_INNER));
    fresh.net.advance(REKEY_TIMEOUT + 1);
    fresh.net.filter = (w) => typeOf(w.datagram) === 4; // no new session possible
    const kp = fresh.bOnA.current!;
    kp.sendCounter = COUNTER_LIMIT;
    const sentBefore = transports(fresh.a).length;
    fresh.net.send(fresh.a, ping(A_INNER, B_INNER));
    expect(transports(fresh.a)).toHaveLength(sentBefore);
    expect(initiations(fresh.a)).toHaveLength(2);
    expect(fresh.bOnA.staged).toHaveLength(1);
  });

  it("starts a new handshake when sent data gets no answer for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT", () => {
    const { net, a, b } = makePair();
    net.send(a, ping(A_INNER, B_INNER));
    net.advance(20_000, 100); // B's passive keepalive answered; everything quiet
    const before = initiations(a).length;
    net.filter = (w) => w.from !== b; // B goes silent
    const sentAt = net.now;
    net.send(a, ping(A_INNER, B_INNER, 2));
    net.advance(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + 500, 10);
    const fresh = initiations(a, sentAt);
    expect(initiations(a)).toHaveLength(before + 1);
    expect(fresh[0]!.at - sentAt).toBeGreaterThanOrEqual(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT);
    expect(fresh[0]!.at - sentAt).toBeLessThanOrEqual(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX_MS + 10);
  });

  it("recovers from simultaneous initiations by both sides", () => {
    const { net, a, b } = makePair();
    const held: Wire[] = [];
    net.filter = (w) => (held.push(w), false);
    net.send(a, ping(A_INNER, B_INNER, 1));
    net.send(b, ping(B_INNER, A_INNER, 2));
    expect(held.map((w) => typeOf(w.datagram))).toEqual([1, 1]);
    net.filter = () => true;
    for (const w of held) net.inject(w.datagram, w.source, w.to);
    net.advance(30_000, 10);
    expect(a.delivered.map((d) => parseIcmpEcho(d.packet)?.seq)).toEqual([2]);
    expect(b.delivered.map((d) => parseIcmpEcho(d.packet)?.seq)).toEqual([1]);
    net.send(a, ping(A_INNER, B_INNER, 3));
    net.send(b, ping(B_INNER, A_INNER, 4));
    expect(b.delivered).toHaveLength(2);
    expect(a.delivered).toHaveLength(2);
  });

  it.each([
    ["noble", "node:crypto"],
    ["node:crypto", "noble"],
    ["noble", "noble"],
  ] as const)("interoperates with transport AEAD %s on A and %s on B", (ia, ib) => {
    const pick = (n: string) => (n === "noble" ? nobleTransportAead : nodeTransportAead);
    const { net, a, b } = makePair({ aeadA: pick(ia), aeadB: pick(ib) });
    for (let seq = 1; seq <= 3; seq++) {
      net.send(a, ping(A_INNER, B_INNER, seq));
      net.send(b, ping(B_INNER, A_INNER, seq));
    }
    expect(b.delivered.map((d) => parseIcmpEcho(d.packet)?.seq)).toEqual([1, 2, 3]);
    expect(a.delivered.map((d) => parseIcmpEcho(d.packet)?.seq)).toEqual([1, 2, 3]);
  });
});

// The responder records its response as a sent handshake (wireguard-go device/send.go
// SendHandshakeResponse: `peer.handshake.lastSentHandshake = time.Now()`, no retransmit timer armed;
// kernel wg_packet_send_handshake_response: `atomic64_set(&peer->last_sent_handshake, ...)`), so the
// REKEY_TIMEOUT limit on initiations counts from it.
describe("the responder's response counts as a sent handshake", () => {
  const seqs = (n: VNode) => n.delivered.map((d) => parseIcmpEcho(d.packet)?.seq);

  it("crossing traffic: the responder's data waits for confirmation; one handshake, one session per side", () => {
    const { net, a, b, bOnA, aOnB } = makePair();
    const held: Wire[] = [];
    net.filter = (w) => (held.push(w), false);
    net.send(a, ping(A_INNER, B_INNER, 1)); // A initiates
    const init = held.shift()!;
    expect(typeOf(init.datagram)).toBe(1);
    net.inject(init.datagram, init.source, init.to); // B answers (the response is held)
    expect(held.map((w) => typeOf(w.datagram))).toEqual([2]);
    const answeredAt = net.now;
    net.now += 1;
    net.send(b, ping(B_INNER, A_INNER, 2)); // B has data 1 ms after answering
    expect(initiations(b)).toHaveLength(0); // it waits for A's confirmation: no initiation of its own
    expect(held.map((w) => typeOf(w.datagram))).toEqual([2]);
    net.filter = () => true;
    for (const w of held.splice(0)) net.inject(w.datagram, w.source, w.to);
    net.advance(3 * REKEY_TIMEOUT, 10);
    expect(seqs(b)).toEqual([1]);
    expect(seqs(a)).toEqual([2]);
    expect(initiations(a)).toHaveLength(1);
    expect(initiations(b)).toHaveLength(0);
    // Exactly one session on each side, the same one: nothing was replaced.
    expect(bOnA.current).not.toBeNull();
    expect(bOnA.previous).toBeNull();
    expect(aOnB.previous).toBeNull();
    expect(aOnB.next).toBeNull();
    expect(aOnB.current!.localIndex).toBe(bOnA.current!.remoteIndex);
    expect(aOnB.current!.remoteIndex).toBe(bOnA.current!.localIndex);
    expect(aOnB.timers.lastSentHandshakeAt).toBe(answeredAt);
  });

  it("a responder's own pending retransmission does not fire right after its response", () => {
    const { net, a, b, aOnB } = makePair();
    net.filter = (w) => w.from !== b; // B's initiation is lost
    net.send(b, ping(B_INNER, A_INNER, 1));
    expect(initiations(b)).toHaveLength(1);
    const firstAt = net.now;
    expect(aOnB.timers.retransmitHandshakeAt - firstAt).toBeGreaterThanOrEqual(REKEY_TIMEOUT);
    net.advance(REKEY_TIMEOUT - 200, 10); // 200 ms before B's retransmission is due
    expect(initiations(b)).toHaveLength(1);
    // A initiates now; B answers; A's confirmation (its transport messages) does not reach B yet.
    net.filter = (w) => !(w.from === a && typeOf(w.datagram) === 4);
    net.send(a, ping(A_INNER, B_INNER, 2));
    const answeredAt = net.now;
    expect(b.sent.filter((w) => typeOf(w.datagram) === 2)).toHaveLength(1);
    // B's retransmit timer (due at firstAt + REKEY_TIMEOUT + jitter) fires 200..534 ms after its
    // response: like wireguard-go it finds a handshake sent less than REKEY_TIMEOUT ago and sends nothing.
    net.advance(REKEY_TIMEOUT_JITTER_MAX_MS + 500, 10);
    expect(aOnB.timers.retransmitHandshakeAt).toBe(Infinity); // it fired
    expect(initiations(b, answeredAt)).toHaveLength(0);
    expect(initiations(b)).toHaveLength(1);
    // The session A confirmed carries B's data as soon as A's next packet gets through.
    net.filter = () => true;
    net.send(a, ping(A_INNER, B_INNER, 3));
    expect(seqs(b)).toEqual([3]); // 2 went with the lost confirmation
    expect(seqs(a)).toEqual([1]);
    expect(initiations(b)).toHaveLength(1);
    expect(initiations(a)).toHaveLength(1);
  });
});
