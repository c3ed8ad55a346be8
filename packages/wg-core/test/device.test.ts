// Device configuration, cryptokey routing, under-load detection and redaction (docs/architecture.md).
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { type Action, Device, DeviceConfigError, PresharedKey, PrivateKey, addressBytes } from "../src/index.js";
import { CookieGenerator, INITIATION_SIZE } from "../src/testing.js";
import { UNDER_LOAD_AFTER_TIME, UNDER_LOAD_HANDSHAKES_PER_SECOND } from "../src/constants.js";
import { endpointBytes } from "../src/endpoint.js";
import { icmpEcho } from "./support/ip.mjs";
import { A_INNER, B_INNER, makePair, typeOf } from "./support/vnet.js";
import { seededRandom } from "./support/prng.js";

const random = seededRandom(77);
const newKey = () => PrivateKey.generate(random);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("device configuration", () => {
  it("adds, finds, lists, updates and removes peers", () => {
    const dev = new Device({ privateKey: newKey(), random });
    const k1 = newKey().publicKey();
    const k2 = newKey().publicKey();
    const p1 = dev.addPeer({ publicKey: k1, allowedIps: ["10.1.0.0/16"], endpoint: { address: "192.0.2.1", port: 1 } }, 0);
    const p2 = dev.addPeer({ publicKey: k2.bytes, allowedIps: ["10.1.2.0/24", "fd00::/64"], persistentKeepalive: 25 }, 0);
    expect(dev.peer(k1)).toBe(p1);
    expect(dev.peer(k2.bytes)).toBe(p2);
    expect(dev.peers()).toEqual([p1, p2]);
    expect(p2.allowedIps.sort()).toEqual(["10.1.2.0/24", "fd00::/64"]);
    expect(p2.persistentKeepalive).toBe(25);
    expect(p1.endpoint).toEqual({ address: "192.0.2.1", port: 1 });
    expect(p1.lastHandshakeAt).toBe(0);
    expect(() => dev.addPeer({ publicKey: k1 }, 0)).toThrow(DeviceConfigError);
    expect(() => dev.addPeer({ publicKey: newKey().publicKey(), allowedIps: ["10.0.0.0/99"] }, 0)).toThrow(DeviceConfigError);
    expect(dev.peers()).toHaveLength(2);

    dev.updatePeer(k1, { allowedIps: ["10.9.0.0/16"] }, 0);
    expect(p1.allowedIps.sort()).toEqual(["10.1.0.0/16", "10.9.0.0/16"]);
    dev.updatePeer(k1, { allowedIps: ["10.8.0.0/16"], replaceAllowedIps: true }, 0);
    expect(p1.allowedIps).toEqual(["10.8.0.0/16"]);
    dev.updatePeer(k1, { endpoint: { address: "2001:db8::1", port: 51820 }, persistentKeepalive: 0 }, 0);
    expect(p1.endpoint).toEqual({ address: "2001:db8::1", port: 51820 });
    const psk = PresharedKey.generate(random);
    dev.updatePeer(k1, { presharedKey: psk }, 0);
    expect(p1.presharedKey).toBe(psk);
    dev.updatePeer(k1, { presharedKey: null }, 0);
    expect(p1.presharedKey).toBeNull();
    expect(() => dev.updatePeer(k1, { allowedIps: ["nope"] }, 0)).toThrow(DeviceConfigError);
    expect(p1.allowedIps).toEqual(["10.8.0.0/16"]);
    expect(dev.updatePeer(newKey().publicKey(), {}, 0)).toBeUndefined();

    expect(dev.removePeer(k2)).toBe(true);
    expect(dev.removePeer(k2)).toBe(false);
    expect(dev.peers()).toEqual([p1]);
    const out: Action[] = [];
    dev.encapsulate(icmpEcho("10.0.0.1", "10.1.2.3"), 0, out);
    expect(out).toEqual([{ kind: "drop", reason: "no-route" }]);
  });

  it("refuses a peer with our own public key, and removes one when our key becomes its key", () => {
    const mine = newKey();
    const dev = new Device({ privateKey: mine, random });
    expect(() => dev.addPeer({ publicKey: mine.publicKey() }, 0)).toThrow(DeviceConfigError);
    const other = newKey();
    dev.addPeer({ publicKey: other.publicKey() }, 0);
    const keep = dev.addPeer({ publicKey: newKey().publicKey() }, 0);
    dev.setPrivateKey(other, 0);
    expect(dev.peers()).toEqual([keep]);
    expect(dev.publicKey!.equals(other.publicKey())).toBe(true);
  });

  it("wipes its own copy of a private key given as bytes once it is replaced or cleared, never the caller's", () => {
    const first = newKey();
    const dev = new Device({ privateKey: first.bytes, random });
    const copy = dev.privateKey!;
    expect(copy).not.toBe(first);
    dev.setPrivateKey(first.bytes, 0); // the same key again: the device keeps its copy, the new one is dropped
    expect(dev.privateKey).toBe(copy);
    expect(hex(copy.bytes)).toBe(hex(first.bytes));
    const second = newKey();
    dev.setPrivateKey(second, 0); // replaced: the device's copy is zeroed
    expect(hex(copy.bytes)).toBe("00".repeat(32));
    expect(() => copy.publicKey()).toThrow(/wipe/);
    expect(hex(first.bytes)).not.toBe("00".repeat(32)); // the caller's bytes are the caller's
    dev.setPrivateKey(null, 0); // a PrivateKey object stays its caller's
    expect(second.publicKey().bytes).toHaveLength(32);
    dev.setPrivateKey(first.bytes, 0);
    const again = dev.privateKey!;
    dev.setPrivateKey(null, 0); // cleared: zeroed
    expect(hex(again.bytes)).toBe("00".repeat(32));
  });

  it("routes outbound by longest prefix to the right peer", () => {
    const dev = new Device({ privateKey: newKey(), random });
    const wide = dev.addPeer({ publicKey: newKey().publicKey(), allowedIps: ["0.0.0.0/0"], endpoint: { address: "192.0.2.1", port: 1 } }, 0);
    const narrow = dev.addPeer({ publicKey: newKey().publicKey(), allowedIps: ["10.5.0.0/16"], endpoint: { address: "192.0.2.2", port: 2 } }, 0);
    const out: Action[] = [];
    dev.encapsulate(icmpEcho("10.0.0.1", "10.5.1.1"), 0, out);
    dev.encapsulate(icmpEcho("10.0.0.1", "8.8.8.8"), 0, out);
    // No sessions yet: each packet is staged and a handshake initiation goes to the routed peer.
    expect(out.map((a) => (a.kind === "toNetwork" ? [typeOf(a.datagram), a.peer] : a))).toEqual([
      [1, narrow],
      [1, wide],
    ]);
    expect(narrow.staged).toHaveLength(1);
    expect(wide.staged).toHaveLength(1);
  });

  it("drops inbound packets whose source is not in the sending peer's allowed IPs", () => {
    const { net, a, b } = makePair();
    net.send(a, icmpEcho(A_INNER, B_INNER));
    expect(b.delivered).toHaveLength(1);
    // A routes by destination only, so a spoofed source leaves A; B must refuse it.
    net.send(a, icmpEcho("10.0.0.99", B_INNER));
    expect(b.delivered).toHaveLength(1);
    expect(b.dropReasons()).toEqual(["source-not-allowed"]);
  });

  it("expires sessions when the private key changes, and works again after a new handshake", () => {
    const { net, a, b, bOnA } = makePair();
    net.send(a, icmpEcho(A_INNER, B_INNER));
    const newA = newKey();
    a.device.setPrivateKey(newA, net.now);
    expect(bOnA.hasSession(net.now)).toBe(false);
    b.device.removePeer(a.privateKey.publicKey());
    b.device.addPeer({ publicKey: newA.publicKey(), allowedIps: [`${A_INNER}/32`] }, net.now);
    net.send(a, icmpEcho(A_INNER, B_INNER, { seq: 2 }));
    expect(b.delivered).toHaveLength(2);
    a.device.setPrivateKey(null, net.now);
    const out: Action[] = [];
    a.device.encapsulate(icmpEcho(A_INNER, B_INNER), net.now, out);
    a.device.decapsulate(new Uint8Array(32), b.endpoint, net.now, out);
    expect(out).toEqual([
      { kind: "drop", reason: "no-private-key" },
      { kind: "drop", reason: "no-private-key" },
    ]);
  });

  it("tells the caller when the next timer is due, and tick does nothing before it", () => {
    const { net, a, bOnA } = makePair();
    expect(a.device.nextTickAt()).toBe(Infinity);
    net.filter = () => false;
    net.send(a, icmpEcho(A_INNER, B_INNER));
    const due = a.device.nextTickAt();
    expect(due).toBe(bOnA.timers.retransmitHandshakeAt);
    expect(due - net.now).toBeGreaterThanOrEqual(5000);
    const out: Action[] = [];
    a.device.tick(due - 1, out);
    expect(out).toEqual([]);
    a.device.tick(due, out);
    expect(out.map((x) => (x.kind === "toNetwork" ? typeOf(x.datagram) : x.kind))).toEqual([1]);
  });

  it("gives every session a distinct random local index", () => {
    const { net, a, bOnA } = makePair();
    const seen = new Set<number>();
    for (let i = 0; i < 10; i++) {
      net.send(a, icmpEcho(A_INNER, B_INNER));
      seen.add(bOnA.current!.localIndex);
      net.advance(121_000, 1000);
    }
    expect(seen.size).toBe(10);
  });
});

describe("under load", () => {
  it("detects a handshake flood, answers with cookies, rate-limits, and recovers", () => {
    const { net, a, b } = makePair();
    const bPub = b.privateKey.publicKey().bytes;
    const gen = new CookieGenerator(bPub);
    const rnd = seededRandom(5);
    const junk = () => {
      const m = new Uint8Array(INITIATION_SIZE);
      rnd(m);
      m.set([1, 0, 0, 0]);
      gen.addMacs(m, net.now); // a valid MAC1, as a flooding host can compute
      return m;
    };
    const attacker = { address: "198.51.100.7", port: 999 };
    expect(b.device.underLoad).toBe(false);
    const out: Action[] = [];
    for (let i = 0; i < UNDER_LOAD_HANDSHAKES_PER_SECOND; i++) b.device.decapsulate(junk(), attacker, net.now, out);
    expect(b.device.underLoad).toBe(true);
    const reasons = out.filter((x) => x.kind === "drop").map((x) => (x.kind === "drop" ? x.reason : ""));
    expect(reasons.at(-1)).toBe("cookie-required");
    expect(out.at(-2)).toMatchObject({ kind: "toNetwork", endpoint: attacker, peer: undefined });
    // The attacker consumes the cookie (it answers its last MAC1) and now passes MAC2: the rate
    // limiter stops it after a burst.
    const reply = out.at(-2)!;
    if (reply.kind !== "toNetwork") throw new Error("no cookie reply");
    expect(gen.consumeReply(reply.datagram, net.now)).toBe(true);
    out.length = 0;
    for (let i = 0; i < 10; i++) b.device.decapsulate(junk(), attacker, net.now, out);
    const r2 = out.map((x) => (x.kind === "drop" ? x.reason : x.kind));
    expect(r2.slice(0, 5)).toEqual(Array(5).fill("handshake-decrypt-failed")); // processed (then fails)
    expect(r2.slice(5)).toEqual(Array(5).fill("rate-limited"));
    // A legitimate peer still gets through by the cookie path (two-peers.test.ts), and once the
    // flood stops the device leaves cookie mode after UNDER_LOAD_AFTER_TIME.
    net.advance(UNDER_LOAD_AFTER_TIME + 100);
    net.send(a, icmpEcho(A_INNER, B_INNER));
    expect(b.device.underLoad).toBe(false);
    expect(b.delivered).toHaveLength(1);
  });
});

describe("secrets are never printed", () => {
  it("redacts keys in String(), JSON and util.inspect of devices, peers and keypairs", () => {
    const psk = new Uint8Array(32).fill(0xab);
    const { net, a, bOnA } = makePair({ psk });
    net.send(a, icmpEcho(A_INNER, B_INNER));
    const kp = bOnA.current!;
    const secrets = [a.privateKey.bytes, psk, kp.sendKey, kp.receiveKey];
    const texts = [
      String(a.device),
      JSON.stringify(a.device),
      inspect(a.device, { depth: 10 }),
      String(bOnA),
      JSON.stringify(bOnA),
      inspect(bOnA, { depth: 10 }),
      inspect(kp, { depth: 10 }),
      inspect(bOnA.handshake, { depth: 10 }),
      String(a.device.privateKey),
    ];
    for (const t of texts) {
      for (const s of secrets) {
        expect(t).not.toContain(hex(s));
        expect(t).not.toContain(Buffer.from(s).toString("base64"));
      }
      expect(t).not.toMatch(/\b171, 171, 171/); // psk bytes as a byte list
    }
    expect(JSON.stringify(bOnA)).toContain("<redacted>");
    expect(JSON.stringify(bOnA)).toContain(bOnA.publicKey.toBase64());
  });
});

describe("IPv6", () => {
  /** A minimal IPv6 packet (next header 59, "no next header") with `n` payload bytes. */
  const ipv6 = (src: string, dst: string, n: number) => {
    const p = new Uint8Array(40 + n);
    p[0] = 0x60;
    p[4] = n >>> 8;
    p[5] = n & 0xff;
    p[6] = 59;
    p[7] = 64;
    p.set(addressBytes(src)!, 8);
    p.set(addressBytes(dst)!, 24);
    return p;
  };

  it("routes and delivers IPv6 inner packets, checking the source like IPv4", () => {
    const { net, a, b } = makePair();
    a.device.updatePeer(b.privateKey.publicKey(), { allowedIps: ["fd00:b::/64"] }, net.now);
    b.device.updatePeer(a.privateKey.publicKey(), { allowedIps: ["fd00:a::1/128"] }, net.now);
    const p = ipv6("fd00:a::1", "fd00:b::7", 13);
    net.send(a, p);
    expect(b.delivered.map((d) => d.packet)).toEqual([p]); // 53 bytes, padding (to 64) removed
    net.send(a, ipv6("fd00:a::2", "fd00:b::7", 0));
    expect(b.dropReasons()).toEqual(["source-not-allowed"]);
    const out: Action[] = [];
    a.device.encapsulate(ipv6("fd00:a::1", "fd00:c::1", 0), net.now, out);
    expect(out).toEqual([{ kind: "drop", reason: "no-route" }]);
  });

  it("parses endpoint addresses for cookies and rate limiting, and refuses malformed ones", () => {
    expect(addressBytes("192.0.2.1")).toEqual(Uint8Array.of(192, 0, 2, 1));
    expect(addressBytes("::1")).toEqual(Uint8Array.of(...Array(15).fill(0), 1));
    expect(addressBytes("2001:db8::8:800:200c:417a")).toEqual(
      Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0x08, 0x08, 0, 0x20, 0x0c, 0x41, 0x7a),
    );
    expect(addressBytes("::ffff:192.0.2.1")).toEqual(Uint8Array.of(...Array(10).fill(0), 0xff, 0xff, 192, 0, 2, 1));
    expect(addressBytes("fe80::1%eth0")).toEqual(Uint8Array.of(0xfe, 0x80, ...Array(13).fill(0), 1));
    for (const bad of ["", "1.2.3", "1.2.3.256", "1::2::3", "12345::", "a:b:c:d:e:f:0:1:2", "host.example"]) {
      expect(addressBytes(bad)).toBeNull();
    }
    expect(endpointBytes({ address: "192.0.2.1", port: 0x1234 })).toEqual(Uint8Array.of(192, 0, 2, 1, 0x34, 0x12));
    expect(endpointBytes({ address: "nope", port: 1 })).toBeNull();
  });

  it("answers a handshake from a malformed source address under load with a drop, not a throw", () => {
    const { net, a, b } = makePair();
    b.device.underLoad = true;
    a.endpoint = { address: "not-an-ip", port: 1 };
    net.send(a, icmpEcho(A_INNER, B_INNER));
    expect(b.dropReasons()).toEqual(["invalid-endpoint"]);
  });
});
