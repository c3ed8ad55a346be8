// Noise_IKpsk2 handshake functions on their own (whitepaper §5.4.2 – §5.4.5).
import { createCipheriv, createHash, createHmac } from "node:crypto";
import { x25519 } from "@noble/curves/ed25519.js";
import { describe, expect, it } from "vitest";
import { PrivateKey } from "../src/index.js";
import { INITIATION_SIZE, RESPONSE_SIZE } from "../src/testing.js";
import { nodeChaChaPoly } from "../src/aead.js";
import { CONSTRUCTION, HANDSHAKE_INITIATION_RATE, IDENTIFIER } from "../src/constants.js";
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  INITIAL_CHAIN_KEY,
  localIdentity,
  PeerHandshake,
  type SessionKeys,
} from "../src/handshake.js";
import { tai64n } from "../src/tai64n.js";
import { seededRandom } from "./support/prng.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function setup(seed = 1, psk: [Uint8Array | null, Uint8Array | null] = [null, null]) {
  const random = seededRandom(seed);
  const iKey = PrivateKey.generate(random);
  const rKey = PrivateKey.generate(random);
  const initiator = localIdentity(iKey.bytes);
  const responder = localIdentity(rKey.bytes);
  const iPeer = { handshake: new PeerHandshake(responder.publicKey, psk[0]) }; // the responder, seen by the initiator
  const rPeer = { handshake: new PeerHandshake(initiator.publicKey, psk[1]) }; // the initiator, seen by the responder
  iPeer.handshake.setLocal(initiator);
  rPeer.handshake.setLocal(responder);
  const find = (k: Uint8Array) => (hex(k) === hex(initiator.publicKey) ? rPeer : undefined);
  return { random, iKey, rKey, initiator, responder, iPeer, rPeer, find };
}

describe("handshake", () => {
  it("starts from HASH(CONSTRUCTION) as published (60e26dae…)", () => {
    expect(hex(INITIAL_CHAIN_KEY).slice(0, 40)).toBe("60e26daef327efc02ec335e2a025d2d016eb4206");
  });

  it("an AEAD implementation that refuses to seal: a failure to drop, never a throw, no state left behind", () => {
    const s = setup(5);
    const refusing = { ...nodeChaChaPoly, name: "refusing", seal: () => -1 };
    const now = 1_700_000_000_000;
    const init = new Uint8Array(INITIATION_SIZE);
    const broken = { ...s.initiator, aead: refusing };
    expect(createInitiation(broken, s.iPeer.handshake, 1, now, s.random, init)).toBe("encrypt-failed");
    expect(s.iPeer.handshake.state.kind).toBe("zeroed");
    expect(createInitiation(s.initiator, s.iPeer.handshake, 1, now, s.random, init)).toBeNull();
    expect(consumeInitiation(s.responder, init, now, s.find)).toBe(s.rPeer);
    const resp = new Uint8Array(RESPONSE_SIZE);
    expect(createResponse({ ...s.responder, aead: refusing }, s.rPeer.handshake, 2, s.random, resp)).toBe("encrypt-failed");
    expect(s.rPeer.handshake.state.kind).toBe("zeroed");
  });

  it("derives mirrored transport keys on both sides and returns to zeroed", () => {
    const s = setup();
    const now = 1_700_000_000_000;
    const init = new Uint8Array(INITIATION_SIZE);
    expect(createInitiation(s.initiator, s.iPeer.handshake, 0x11223344, now, s.random, init)).toBeNull();
    expect(s.iPeer.handshake.state.kind).toBe("initiation-created");
    expect(init[0]).toBe(1);
    expect(consumeInitiation(s.responder, init, now, s.find)).toBe(s.rPeer);
    expect(s.rPeer.handshake.state.kind).toBe("initiation-consumed");
    const resp = new Uint8Array(RESPONSE_SIZE);
    const rKeys = createResponse(s.responder, s.rPeer.handshake, 0x55667788, s.random, resp) as SessionKeys;
    const iKeys = consumeResponse(s.initiator, s.iPeer.handshake, resp) as SessionKeys;
    expect(typeof iKeys).toBe("object");
    expect(hex(iKeys.sendKey)).toBe(hex(rKeys.receiveKey));
    expect(hex(iKeys.receiveKey)).toBe(hex(rKeys.sendKey));
    expect(hex(iKeys.sendKey)).not.toBe(hex(iKeys.receiveKey));
    expect(iKeys).toMatchObject({ localIndex: 0x11223344, remoteIndex: 0x55667788, isInitiator: true });
    expect(rKeys).toMatchObject({ localIndex: 0x55667788, remoteIndex: 0x11223344, isInitiator: false });
    expect(s.iPeer.handshake.state.kind).toBe("zeroed");
    expect(s.rPeer.handshake.state.kind).toBe("zeroed");
  });

  it("wipes the ephemeral private key when the handshake completes", () => {
    const s = setup(2);
    const init = new Uint8Array(INITIATION_SIZE);
    createInitiation(s.initiator, s.iPeer.handshake, 1, 0, s.random, init);
    const st = s.iPeer.handshake.state;
    if (st.kind !== "initiation-created") throw new Error("state");
    consumeInitiation(s.responder, init, 0, s.find);
    const resp = new Uint8Array(RESPONSE_SIZE);
    createResponse(s.responder, s.rPeer.handshake, 2, s.random, resp);
    consumeResponse(s.initiator, s.iPeer.handshake, resp);
    expect(st.ephemeralPrivate.every((x) => x === 0)).toBe(true);
    expect(st.chainKey.every((x) => x === 0)).toBe(true);
  });

  it("checks the state first: no response without an initiation, no stray responses", () => {
    const s = setup(3);
    const resp = new Uint8Array(RESPONSE_SIZE);
    expect(createResponse(s.responder, s.rPeer.handshake, 1, s.random, resp)).toBe("unexpected-response");
    expect(consumeResponse(s.initiator, s.iPeer.handshake, resp)).toBe("unexpected-response");
    const init = new Uint8Array(INITIATION_SIZE);
    createInitiation(s.initiator, s.iPeer.handshake, 7, 0, s.random, init);
    consumeInitiation(s.responder, init, 0, s.find);
    createResponse(s.responder, s.rPeer.handshake, 8, s.random, resp);
    resp[8] = resp[8]! ^ 1; // receiver index no longer ours
    expect(consumeResponse(s.initiator, s.iPeer.handshake, resp)).toBe("unexpected-response");
    expect(s.iPeer.handshake.state.kind).toBe("initiation-created");
    resp[8] = resp[8]! ^ 1;
    resp[50] = resp[50]! ^ 1; // corrupt msg.empty
    expect(consumeResponse(s.initiator, s.iPeer.handshake, resp)).toBe("handshake-decrypt-failed");
    expect(s.iPeer.handshake.state.kind).toBe("initiation-created"); // unchanged on failure
  });

  it("refuses initiations for another responder, from unknown peers, or with low-order ephemerals", () => {
    const s = setup(4);
    const other = setup(5);
    const init = new Uint8Array(INITIATION_SIZE);
    createInitiation(s.initiator, s.iPeer.handshake, 1, 0, s.random, init);
    expect(consumeInitiation(other.responder, init, 0, other.find)).toBe("handshake-decrypt-failed");
    expect(consumeInitiation(s.responder, init, 0, () => undefined)).toBe("unknown-peer");
    const bad = init.slice();
    bad.fill(0, 8, 40); // all-zero ephemeral: DH gives the zero point
    expect(consumeInitiation(s.responder, bad, 0, s.find)).toBe("invalid-public-key");
  });

  it("rejects an initiation whose TAI64N timestamp is not newer, and floods within the rate", () => {
    const s = setup(6);
    const t0 = 1_700_000_000_000;
    const first = new Uint8Array(INITIATION_SIZE);
    createInitiation(s.initiator, s.iPeer.handshake, 1, t0, s.random, first);
    expect(consumeInitiation(s.responder, first, t0, s.find)).toBe(s.rPeer);
    // The same message again, much later: its timestamp is not newer.
    expect(consumeInitiation(s.responder, first, t0 + 60_000, s.find)).toBe("replayed-initiation");
    // An older initiation created before: also refused.
    const older = new Uint8Array(INITIATION_SIZE);
    createInitiation(s.initiator, s.iPeer.handshake, 2, t0 - 1000, s.random, older);
    expect(consumeInitiation(s.responder, older, t0 + 60_000, s.find)).toBe("replayed-initiation");
    // A newer one arriving within HANDSHAKE_INITIATION_RATE of the last accepted: flood.
    const newer = new Uint8Array(INITIATION_SIZE);
    createInitiation(s.initiator, s.iPeer.handshake, 3, t0 + 50, s.random, newer);
    expect(consumeInitiation(s.responder, newer, t0 + HANDSHAKE_INITIATION_RATE, s.find)).toBe("initiation-flood");
    expect(consumeInitiation(s.responder, newer, t0 + HANDSHAKE_INITIATION_RATE + 1, s.find)).toBe(s.rPeer);
  });

  it("produces the bytes and keys of an independent Noise_IKpsk2 built on node:crypto and @noble/curves, with and without a PSK", () => {
    // Reference primitives (whitepaper §5.4), none of them from src/crypto.ts or src/blake2s.ts.
    const HASH = (...p: Uint8Array[]): Uint8Array => new Uint8Array(createHash("blake2s256").update(Buffer.concat(p)).digest());
    const HMAC = (k: Uint8Array, ...p: Uint8Array[]): Uint8Array => new Uint8Array(createHmac("blake2s256", k).update(Buffer.concat(p)).digest());
    const KDF = (n: number, k: Uint8Array, x: Uint8Array): Uint8Array[] => {
      const t0 = HMAC(k, x);
      const out = [HMAC(t0, Uint8Array.of(1))];
      for (let i = 2; i <= n; i++) out.push(HMAC(t0, out[i - 2]!, Uint8Array.of(i)));
      return out;
    };
    const AEAD = (k: Uint8Array, plain: Uint8Array, ad: Uint8Array): Uint8Array => {
      const c = createCipheriv("chacha20-poly1305", k, new Uint8Array(12), { authTagLength: 16 });
      c.setAAD(ad, { plaintextLength: plain.length });
      return new Uint8Array(Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]));
    };
    const clamp = (k: Uint8Array): Uint8Array => ((k[0]! &= 248), (k[31] = (k[31]! & 127) | 64), k);
    for (const [seed, psk] of [
      [11, null],
      [12, new Uint8Array(32).fill(0xa5)],
      [13, null],
    ] as const) {
      const s = setup(seed, [psk, psk]);
      const drawn: Uint8Array[] = []; // the ephemeral keys' random bytes, as handshake.ts draws them
      const random = (out: Uint8Array): void => {
        s.random(out);
        drawn.push(out.slice());
      };
      const now = 1_700_000_000_123 + seed;
      const init = new Uint8Array(INITIATION_SIZE);
      expect(createInitiation(s.initiator, s.iPeer.handshake, 7, now, random, init)).toBeNull();
      // Initiator (§5.4.2)
      const Si = s.initiator.publicKey, Sr = s.responder.publicKey;
      const ei = clamp(drawn[0]!.slice());
      const Ei = x25519.getPublicKey(ei);
      let C = HASH(new TextEncoder().encode(CONSTRUCTION));
      let H = HASH(C, new TextEncoder().encode(IDENTIFIER));
      H = HASH(H, Sr);
      [C] = KDF(1, C, Ei) as [Uint8Array];
      H = HASH(H, Ei);
      let k: Uint8Array;
      [C, k] = KDF(2, C, x25519.getSharedSecret(ei, Sr)) as [Uint8Array, Uint8Array];
      const encStatic = AEAD(k, Si, H);
      H = HASH(H, encStatic);
      [C, k] = KDF(2, C, x25519.getSharedSecret(s.iKey.bytes, Sr)) as [Uint8Array, Uint8Array];
      const encTimestamp = AEAD(k, tai64n(now), H);
      H = HASH(H, encTimestamp);
      expect(hex(init.subarray(8, 40))).toBe(hex(Ei));
      expect(hex(init.subarray(40, 88))).toBe(hex(encStatic));
      expect(hex(init.subarray(88, 116))).toBe(hex(encTimestamp));
      expect(consumeInitiation(s.responder, init, now, s.find)).toBe(s.rPeer);
      // Responder (§5.4.3)
      const resp = new Uint8Array(RESPONSE_SIZE);
      const rKeys = createResponse(s.responder, s.rPeer.handshake, 9, random, resp) as SessionKeys;
      const er = clamp(drawn[1]!.slice());
      const Er = x25519.getPublicKey(er);
      [C] = KDF(1, C, Er) as [Uint8Array];
      H = HASH(H, Er);
      [C] = KDF(1, C, x25519.getSharedSecret(er, Ei)) as [Uint8Array];
      [C] = KDF(1, C, x25519.getSharedSecret(er, Si)) as [Uint8Array];
      const [C4, tau, kr] = KDF(3, C, psk ?? new Uint8Array(32)) as [Uint8Array, Uint8Array, Uint8Array];
      H = HASH(H, tau);
      expect(hex(resp.subarray(12, 44))).toBe(hex(Er));
      expect(hex(resp.subarray(44, 60))).toBe(hex(AEAD(kr, new Uint8Array(0), H)));
      // Transport keys (§5.4.5): (Tsend_i = Trecv_r, Trecv_i = Tsend_r) := KDF2(C, ε)
      const [T1, T2] = KDF(2, C4, new Uint8Array(0)) as [Uint8Array, Uint8Array];
      expect([hex(rKeys.receiveKey), hex(rKeys.sendKey)]).toEqual([hex(T1), hex(T2)]);
      const iKeys = consumeResponse(s.initiator, s.iPeer.handshake, resp) as SessionKeys;
      expect([hex(iKeys.sendKey), hex(iKeys.receiveKey)]).toEqual([hex(T1), hex(T2)]);
      expect(drawn.length).toBe(2);
    }
  });

  it("fails the response when the preshared keys differ, and succeeds when they match", () => {
    const q = new Uint8Array(32).fill(3);
    for (const [pi, pr, ok] of [
      [q, q, true],
      [q, null, false],
      [null, q, false],
    ] as const) {
      const s = setup(7, [pi, pr]);
      const init = new Uint8Array(INITIATION_SIZE);
      createInitiation(s.initiator, s.iPeer.handshake, 1, 0, s.random, init);
      expect(consumeInitiation(s.responder, init, 0, s.find)).toBe(s.rPeer); // PSK is not in message 1
      const resp = new Uint8Array(RESPONSE_SIZE);
      createResponse(s.responder, s.rPeer.handshake, 2, s.random, resp);
      const r = consumeResponse(s.initiator, s.iPeer.handshake, resp);
      expect(typeof r === "object").toBe(ok);
      if (!ok) expect(r).toBe("handshake-decrypt-failed");
    }
  });
});
