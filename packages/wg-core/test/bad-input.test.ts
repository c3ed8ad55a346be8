// Hostile and malformed input: every datagram yields exactly one specific drop, nothing throws
// (docs/architecture.md: "Nothing thrown escapes encapsulate/decapsulate/tick for any input bytes").
import { describe, expect, it } from "vitest";
import { type Action, type DropReason } from "../src/index.js";
import { CookieGenerator } from "../src/testing.js";
import { MAX_SEGMENT_SIZE } from "../src/constants.js";
import { parseMessage } from "../src/messages.js";
import { icmpEcho } from "./support/ip.mjs";
import { A_INNER, B_INNER, makePair, typeOf } from "./support/vnet.js";
import { seededRandom } from "./support/prng.js";

/** An established pair, plus a captured valid initiation and transport datagram from A to B. */
function established(seed = 3) {
  const pair = makePair({ seed });
  const { net, a, b } = pair;
  net.send(a, icmpEcho(A_INNER, B_INNER));
  net.send(b, icmpEcho(B_INNER, A_INNER));
  const initiation = a.sent.find((w) => typeOf(w.datagram) === 1)!.datagram;
  const transport = a.sent.find((w) => typeOf(w.datagram) === 4 && w.datagram.length > 32)!.datagram;
  const bPub = b.privateKey.publicKey().bytes;
  return { ...pair, initiation, transport, bPub };
}

type Ctx = ReturnType<typeof established>;

/**
 * Feeds one datagram to B; expects exactly one action, a drop, and returns its reason. (Under load
 * the drop "cookie-required" is preceded by the cookie reply sent back to the source.)
 */
function feed(ctx: Ctx, d: Uint8Array, from = ctx.a.endpoint): DropReason {
  const out: Action[] = [];
  ctx.b.device.decapsulate(d, from, ctx.net.now, out); // a throw fails the test
  const last = out.at(-1);
  const first = out[0];
  const cookieReply =
    out.length === 2 &&
    first?.kind === "toNetwork" &&
    first.peer === undefined &&
    first.datagram[0] === 3 &&
    first.endpoint.address === from.address &&
    first.endpoint.port === from.port;
  if (last?.kind !== "drop" || !(out.length === 1 || (cookieReply && last.reason === "cookie-required"))) {
    throw new Error(`expected one drop for a ${d.length}-byte datagram, got ${JSON.stringify(out.map((a) => a.kind))}`);
  }
  return last.reason;
}

const withType = (len: number, type: number, fill = 0): Uint8Array => {
  const d = new Uint8Array(len).fill(fill);
  if (len > 0) d[0] = type;
  if (len > 1) d.fill(0, 1, Math.min(4, len));
  return d;
};

describe("bad input", () => {
  it("names each malformed datagram with a specific reason", () => {
    const ctx = established();
    const { initiation, transport } = ctx;
    // truncated
    for (let n = 0; n < 4; n++) expect(feed(ctx, new Uint8Array(n))).toBe("truncated");
    expect(feed(ctx, initiation.subarray(0, 147))).toBe("truncated");
    expect(feed(ctx, withType(91, 2))).toBe("truncated");
    expect(feed(ctx, withType(63, 3))).toBe("truncated");
    expect(feed(ctx, transport.subarray(0, 31))).toBe("truncated");
    // oversized / wrong fixed size
    const big = new Uint8Array(149);
    big.set(initiation);
    expect(feed(ctx, big)).toBe("invalid-size");
    expect(feed(ctx, withType(93, 2))).toBe("invalid-size");
    expect(feed(ctx, withType(65, 3))).toBe("invalid-size");
    expect(feed(ctx, withType(MAX_SEGMENT_SIZE + 1, 4))).toBe("oversized");
    // wrong type, including non-zero reserved bytes
    for (const t of [0, 5, 6, 100, 255]) expect(feed(ctx, withType(148, t))).toBe("unknown-type");
    const reserved = transport.slice();
    reserved[2] = 1;
    expect(feed(ctx, reserved)).toBe("unknown-type");
    // bad MAC1
    const badMac = initiation.slice();
    badMac[120]! ^= 1;
    expect(feed(ctx, badMac)).toBe("bad-mac1");
    expect(feed(ctx, withType(92, 2))).toBe("bad-mac1");
    // replayed transport
    expect(feed(ctx, transport)).toBe("replay");
    // unknown index
    const unknown = transport.slice();
    unknown[4]! ^= 0xff;
    expect(feed(ctx, unknown)).toBe("unknown-index");
    expect(feed(ctx, withType(64, 3))).toBe("unknown-index");
    // wrong key: a datagram from another session, re-addressed to a live index of B
    const other = established(5);
    const foreign = other.transport.slice();
    foreign.set(transport.subarray(4, 8), 4);
    expect(feed(ctx, foreign)).toBe("decrypt-failed");
    // tampered transport (fresh counter, flipped tag)
    const tampered = transport.slice();
    tampered[9] = 0x77;
    expect(feed(ctx, tampered)).toBe("decrypt-failed");
    // counter beyond 2^53
    const huge = transport.slice();
    huge[15] = 0xff;
    expect(feed(ctx, huge)).toBe("counter-limit");
    // an initiation from a stranger: MAC1 right, static key unknown to B
    const stranger = makePair({ seed: 8 });
    stranger.net.filter = () => false;
    const s = stranger.a;
    const init2 = (() => {
      const { net } = stranger;
      // Make A (a stranger to ctx.b) initiate to ctx.b's key by re-keying its peer entry.
      s.device.removePeer(stranger.b.privateKey.publicKey());
      s.device.addPeer({ publicKey: ctx.bPub, allowedIps: [`${B_INNER}/32`], endpoint: ctx.b.endpoint }, net.now);
      net.send(s, icmpEcho(A_INNER, B_INNER));
      return s.sent.find((w) => typeOf(w.datagram) === 1)!.datagram;
    })();
    expect(feed(ctx, init2, { address: "198.51.100.1", port: 1 })).toBe("unknown-peer");
    // a response nobody asked for, with a valid MAC1
    const resp = withType(92, 2);
    new CookieGenerator(ctx.bPub).addMacs(resp, ctx.net.now);
    expect(feed(ctx, resp)).toBe("unexpected-response");
    // garbage with a valid MAC1 reaches the handshake and fails authentication there
    const fake = withType(148, 1, 0x5a);
    new CookieGenerator(ctx.bPub).addMacs(fake, ctx.net.now);
    expect(feed(ctx, fake)).toBe("handshake-decrypt-failed");
  });

  it("drops random garbage of every length 0..200 and every type byte 0..255 with a specific reason", () => {
    const ctx = established();
    const rnd = seededRandom(1234);
    const counts = new Map<DropReason, number>();
    for (let len = 0; len <= 200; len++) {
      for (let type = 0; type < 256; type++) {
        const d = new Uint8Array(len);
        rnd(d);
        if (len > 0) d[0] = type;
        // Half the time zero the reserved bytes, so types 1..4 reach their parsers.
        if ((type + len) % 2 === 0) d.fill(0, 1, Math.min(len, 4));
        const reason = feed(ctx, d);
        const reserved = len >= 4 && (d[1] !== 0 || d[2] !== 0 || d[3] !== 0);
        let expected: DropReason[];
        if (len < 4) expected = ["truncated"];
        else if (reserved || type < 1 || type > 4) expected = ["unknown-type"];
        else if (type === 1) expected = len < 148 ? ["truncated"] : ["invalid-size"];
        else if (type === 2) expected = len < 92 ? ["truncated"] : len === 92 ? ["bad-mac1"] : ["invalid-size"];
        else if (type === 3) expected = len < 64 ? ["truncated"] : len === 64 ? ["unknown-index"] : ["invalid-size"];
        else expected = len < 32 ? ["truncated"] : ["unknown-index"];
        if (!expected.includes(reason)) expect.fail(`length ${len} type ${type}: ${reason}, expected ${expected.join("|")}`);
        counts.set(reason, (counts.get(reason) ?? 0) + 1);
      }
    }
    expect(counts.get("internal-error")).toBeUndefined();
    expect([...counts.keys()].sort()).toEqual(["bad-mac1", "invalid-size", "truncated", "unknown-index", "unknown-type"]);
  });

  it("survives thousands of mutated valid messages and random inner packets", () => {
    const ctx = established();
    const rnd = seededRandom(99);
    const byte = new Uint8Array(4);
    const r = (n: number) => {
      rnd(byte);
      return (byte[0]! | (byte[1]! << 8) | (byte[2]! << 16)) % n;
    };
    const gen = new CookieGenerator(ctx.bPub);
    const allowed = new Set<DropReason>([
      "truncated",
      "invalid-size",
      "unknown-type",
      "bad-mac1",
      "unknown-index",
      "decrypt-failed",
      "replay",
      "counter-limit",
      "handshake-decrypt-failed",
      "invalid-public-key",
      "replayed-initiation",
      "initiation-flood",
      "unexpected-response",
      "cookie-decrypt-failed",
      "cookie-required", // so many valid MAC1s per second put B under load
      "rate-limited",
    ]);
    const seen = new Map<DropReason, number>();
    const templates = [ctx.initiation, ctx.transport];
    for (let i = 0; i < 4000; i++) {
      const base = templates[i % 2]!;
      let d = base.slice();
      const flips = 1 + r(4);
      for (let f = 0; f < flips; f++) d[r(d.length)]! ^= 1 << r(8);
      if (i % 7 === 0) d = d.subarray(0, r(d.length + 1));
      if (i % 11 === 0 && d.length === 148 && d[0] === 1) gen.addMacs(d, ctx.net.now); // reach the handshake
      ctx.net.now += 1;
      const reason = feed(ctx, d);
      if (!allowed.has(reason)) expect.fail(`mutation ${i}: unexpected reason ${reason}`);
      seen.set(reason, (seen.get(reason) ?? 0) + 1);
    }
    expect(seen.get("handshake-decrypt-failed")).toBeGreaterThan(0);
    expect(seen.get("decrypt-failed")).toBeGreaterThan(0);
    expect(ctx.b.delivered).toHaveLength(1); // only the legitimate first packet ever reached the tunnel

    // Outbound: random inner "packets" of any shape never throw.
    const out: Action[] = [];
    for (let i = 0; i < 2000; i++) {
      const p = new Uint8Array(r(1500));
      rnd(p);
      if (i % 3 === 0 && p.length > 0) p[0] = 0x45;
      out.length = 0;
      expect(() => ctx.a.device.encapsulate(p, ctx.net.now, out)).not.toThrow();
      expect(out.length).toBeGreaterThanOrEqual(1);
      for (const act of out) {
        if (act.kind === "drop") expect(["invalid-inner-packet", "no-route"]).toContain(act.reason);
        else expect(act.kind).toBe("toNetwork");
      }
    }
    expect(() => ctx.a.device.tick(ctx.net.now, out)).not.toThrow();
  });

  it("drops a decrypted payload that is not a well-formed IP packet", () => {
    const { net, a, b, bOnA } = makePair({ seed: 4 });
    net.send(a, icmpEcho(A_INNER, B_INNER));
    // Send a packet whose IPv4 total length claims more than was sent: A pads and encrypts it,
    // B must refuse it after decryption.
    const p = icmpEcho(A_INNER, B_INNER);
    p[2] = 0x05; // total length 0x05xx > actual
    net.send(a, p);
    expect(b.dropReasons()).toEqual(["invalid-inner-packet"]);
    expect(bOnA.current).not.toBeNull();
  });

  it("parses well-formed messages into their fields and reports malformed ones", () => {
    const ctx = established(6);
    const init = parseMessage(ctx.initiation);
    if (typeof init === "string" || init.type !== 1) throw new Error("not an initiation");
    expect(init.ephemeral).toHaveLength(32);
    expect(init.encryptedStatic).toHaveLength(48);
    expect(init.encryptedTimestamp).toHaveLength(28);
    expect(init.mac1.some((x) => x !== 0)).toBe(true);
    expect(init.mac2.every((x) => x === 0)).toBe(true);
    const resp = parseMessage(ctx.b.sent.find((w) => typeOf(w.datagram) === 2)!.datagram);
    if (typeof resp === "string" || resp.type !== 2) throw new Error("not a response");
    expect(resp.receiver).toBe(init.sender);
    const tr = parseMessage(ctx.transport);
    if (typeof tr === "string" || tr.type !== 4) throw new Error("not transport");
    expect(tr.counter).toBe(0);
    expect(tr.encryptedPacket.length % 16).toBe(0);
    expect(tr.receiver).toBe(resp.sender);
    expect(parseMessage(new Uint8Array(3))).toBe("truncated");
    expect(parseMessage(withType(150, 1))).toBe("invalid-size");
    expect(parseMessage(withType(40, 9))).toBe("unknown-type");
  });
});
