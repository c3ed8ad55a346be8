/**
 * Published known-answer vectors (test-vectors/, sources in test-vectors/README.md) run against
 * our crypto.ts functions and against both ChaCha20-Poly1305 backends behind the TransportAeads.
 * The replay-window cases of wireguard-go live in replay.test.ts.
 */
import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { x25519 } from "@noble/curves/ed25519.js";
import { blake2s } from "@noble/hashes/blake2.js";
import { hmac as nobleHmac } from "@noble/hashes/hmac.js";
import { describe, expect, it } from "vitest";
import {
  type ChaChaPolyBackend,
  nobleChaChaPoly,
  nobleTransportAead,
  nodeChaChaPoly,
  nodeTransportAead,
  type TransportAead,
} from "../src/aead.js";
import { aeadOpen, aeadSeal, dh, DhPrivateKey, DhPublicKey, hash, HmacKey, hmac, kdf, mac, nodeX25519, publicKeyOf, xaeadOpen, xaeadSeal } from "../src/crypto.js";
import { x25519Contract } from "./support/x25519-contract.js";
import { blake2s as ownBlake2s, blake2s256, hmacBlake2s, hmacKeySchedule, hmacWithSchedule } from "../src/blake2s.js";

function load<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../../test-vectors/${name}`, import.meta.url), "utf8")) as T;
}
const h = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

const backends: ChaChaPolyBackend[] = [nobleChaChaPoly, nodeChaChaPoly];
const transports: TransportAead[] = [nobleTransportAead, nodeTransportAead];

/** Seals with `b` and returns ciphertext ‖ tag as hex (or "failed"). */
function sealHex(b: ChaChaPolyBackend, key: string, nonce: string, aad: string, msg: string): string {
  const out = new Uint8Array(msg.length / 2 + 16);
  return b.seal(h(key), h(nonce), h(aad), h(msg), out, 0) === out.length ? hex(out) : "failed";
}
/** Opens with `b` and returns the plaintext as hex, or null on failure. */
function openHex(b: ChaChaPolyBackend, key: string, nonce: string, aad: string, sealed: string): string | null {
  const out = new Uint8Array(Math.max(0, sealed.length / 2 - 16));
  const n = b.open(h(key), h(nonce), h(aad), h(sealed), out, 0);
  return n < 0 ? null : hex(out.subarray(0, n));
}

// ---------------------------------------------------------------------------------------------
// ChaCha20-Poly1305
// ---------------------------------------------------------------------------------------------

interface AeadKat {
  name: string;
  key: string;
  nonce: string;
  aad: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
}
const rfc8439 = load<{ tests: AeadKat[] }>("rfc8439-chacha20-poly1305.json");

interface WycheproofAead {
  tcId: number;
  comment: string;
  flags: string[];
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: "valid" | "invalid" | "acceptable";
}
interface WycheproofFile<T> {
  subsetTcIds: number[];
  wycheproof: { testGroups: { tests: T[] }[] };
}
const wycheproofTests = <T>(f: WycheproofFile<T>): T[] => f.wycheproof.testGroups.flatMap((g) => g.tests);
const wyChaCha = wycheproofTests(load<WycheproofFile<WycheproofAead>>("wycheproof-chacha20-poly1305.json"));
const wyXChaCha = wycheproofTests(load<WycheproofFile<WycheproofAead>>("wycheproof-xchacha20-poly1305.json"));

/**
 * A ModifiedTag case says which bit it flipped and what the right tag is; check that the published
 * tag is exactly that flip, and that sealing produces the right tag (guards our transcription).
 */
function checkModifiedTag(t: WycheproofAead, seal: () => string): void {
  const m = /^Flipped bit (\d+) in tag expected tag:([0-9a-f]{32})$/.exec(t.comment);
  expect(m, `tcId ${t.tcId} comment`).not.toBeNull();
  const bit = Number(m![1]);
  const expected = h(m![2]!);
  const published = h(t.tag);
  const diff = expected.map((x, i) => x ^ published[i]!);
  const flipped = new Uint8Array(16);
  flipped[bit >> 3] = 1 << (bit & 7);
  expect(hex(diff), `tcId ${t.tcId} flips exactly bit ${bit}`).toBe(hex(flipped));
  expect(seal()).toBe(t.ct + m![2]);
}

describe.each(backends)("ChaCha20-Poly1305 backend $name", (b) => {
  it.each(rfc8439.tests)("$name: seals and opens as published", (t) => {
    expect(sealHex(b, t.key, t.nonce, t.aad, t.plaintext)).toBe(t.ciphertext + t.tag);
    expect(openHex(b, t.key, t.nonce, t.aad, t.ciphertext + t.tag)).toBe(t.plaintext);
  });

  it.each(rfc8439.tests)("$name: any flipped bit is rejected", (t) => {
    const sealed = h(t.ciphertext + t.tag);
    for (let i = 0; i < sealed.length; i += 7) {
      const forged = Uint8Array.from(sealed);
      forged[i]! ^= 1 << (i & 7);
      expect(openHex(b, t.key, t.nonce, t.aad, hex(forged))).toBeNull();
    }
    const aad = h(t.aad);
    aad[0]! ^= 1;
    expect(openHex(b, t.key, t.nonce, hex(aad), t.ciphertext + t.tag)).toBeNull();
  });

  it(`Wycheproof chacha20_poly1305_test.json: ${wyChaCha.length} cases`, () => {
    for (const t of wyChaCha) {
      const opened = openHex(b, t.key, t.iv, t.aad, t.ct + t.tag);
      if (t.result === "valid") {
        expect(opened, `tcId ${t.tcId}`).toBe(t.msg);
        expect(sealHex(b, t.key, t.iv, t.aad, t.msg), `tcId ${t.tcId}`).toBe(t.ct + t.tag);
      } else {
        expect(opened, `tcId ${t.tcId} must be rejected`).toBeNull();
        if (t.flags.includes("ModifiedTag")) checkModifiedTag(t, () => sealHex(b, t.key, t.iv, t.aad, t.msg));
      }
    }
    expect(wyChaCha.some((t) => t.result === "invalid")).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// XChaCha20-Poly1305 (cookie replies, whitepaper §5.4.7)
// ---------------------------------------------------------------------------------------------

describe("XChaCha20-Poly1305 (crypto.ts xaeadSeal / xaeadOpen)", () => {
  const draft = load<{ tests: AeadKat[] }>("draft-irtf-cfrg-xchacha-a3.json");

  it.each(draft.tests)("$name", (t) => {
    expect(hex(xaeadSeal(h(t.key), h(t.nonce), h(t.plaintext), h(t.aad)))).toBe(t.ciphertext + t.tag);
    expect(hex(xaeadOpen(h(t.key), h(t.nonce), h(t.ciphertext + t.tag), h(t.aad))!)).toBe(t.plaintext);
    const forged = h(t.ciphertext + t.tag);
    forged[forged.length - 1]! ^= 0x80;
    expect(xaeadOpen(h(t.key), h(t.nonce), forged, h(t.aad))).toBeNull();
  });

  it(`Wycheproof xchacha20_poly1305_test.json: ${wyXChaCha.length} cases`, () => {
    for (const t of wyXChaCha) {
      const opened = xaeadOpen(h(t.key), h(t.iv), h(t.ct + t.tag), h(t.aad));
      if (t.result === "valid") {
        expect(opened && hex(opened), `tcId ${t.tcId}`).toBe(t.msg);
        expect(hex(xaeadSeal(h(t.key), h(t.iv), h(t.msg), h(t.aad))), `tcId ${t.tcId}`).toBe(t.ct + t.tag);
      } else {
        expect(opened, `tcId ${t.tcId} must be rejected`).toBeNull();
        if (t.flags.includes("ModifiedTag")) {
          checkModifiedTag(t, () => hex(xaeadSeal(h(t.key), h(t.iv), h(t.msg), h(t.aad))));
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// X25519
// ---------------------------------------------------------------------------------------------

/** X25519 through @noble/curves, a second implementation for the same vectors (crypto.ts uses OpenSSL). */
const nobleX25519 = (privateKey: Uint8Array, publicKey: Uint8Array): string => hex(x25519.getSharedSecret(privateKey, publicKey));

describe("X25519 (crypto.ts dh / publicKeyOf)", () => {
  const rfc7748 = load<{
    scalarmult: { name: string; scalar: string; u: string; output: string }[];
    iterated: { start: string; after: { iterations: number; k: string }[] };
    diffieHellman: Record<"alicePrivate" | "alicePublic" | "bobPrivate" | "bobPublic" | "shared", string>;
  }>("rfc7748-x25519.json");

  it.each(rfc7748.scalarmult)("$name", (t) => {
    expect(hex(dh(h(t.scalar), h(t.u))!)).toBe(t.output);
    expect(nobleX25519(h(t.scalar), h(t.u)), "@noble/curves agrees").toBe(t.output);
  });

  it("RFC 7748 6.1 Diffie-Hellman", () => {
    const v = rfc7748.diffieHellman;
    expect(hex(publicKeyOf(h(v.alicePrivate)))).toBe(v.alicePublic);
    expect(hex(publicKeyOf(h(v.bobPrivate)))).toBe(v.bobPublic);
    expect(hex(dh(h(v.alicePrivate), h(v.bobPublic))!)).toBe(v.shared);
    expect(hex(dh(h(v.bobPrivate), h(v.alicePublic))!)).toBe(v.shared);
  });

  const wy = wycheproofTests(
    load<WycheproofFile<{ tcId: number; flags: string[]; public: string; private: string; shared: string; result: string }>>(
      "wycheproof-x25519.json",
    ),
  );
  it(`Wycheproof x25519_test.json: ${wy.length} cases (all-zero shared secrets are refused, as WireGuard requires)`, () => {
    let refused = 0;
    for (const t of wy) {
      const shared = dh(h(t.private), h(t.public));
      if (t.flags.includes("ZeroSharedSecret")) {
        expect(/^0+$/.test(t.shared), `tcId ${t.tcId}`).toBe(true);
        expect(shared, `tcId ${t.tcId} must be refused`).toBeNull();
        refused++;
      } else {
        expect(shared && hex(shared), `tcId ${t.tcId}`).toBe(t.shared);
        expect(nobleX25519(h(t.private), h(t.public)), `tcId ${t.tcId}: @noble/curves agrees`).toBe(t.shared);
      }
    }
    expect(refused).toBeGreaterThan(0);
  });

  it("Wycheproof through DhPrivateKey / DhPublicKey (keys loaded once, public key read back from OpenSSL)", () => {
    for (const t of wy) {
      const priv = new DhPrivateKey(h(t.private));
      expect(hex(priv.publicKey), `tcId ${t.tcId} public key`).toBe(hex(x25519.getPublicKey(h(t.private))));
      const pub = new DhPublicKey(h(t.public));
      const shared = priv.dh(pub);
      expect(shared && hex(shared), `tcId ${t.tcId}`).toBe(t.flags.includes("ZeroSharedSecret") ? null : t.shared);
      expect(priv.dh(pub) && hex(priv.dh(pub)!), `tcId ${t.tcId}, the same DhPublicKey again`).toBe(shared && hex(shared));
    }
  });
});

describe("X25519Backend contract: nodeX25519 (node:crypto)", () => x25519Contract(nodeX25519));

// ---------------------------------------------------------------------------------------------
// BLAKE2s and HMAC-BLAKE2s
// ---------------------------------------------------------------------------------------------

describe("BLAKE2s", () => {
  const kat = load<{ tests: { in: string; key: string; out: string }[] }>("blake2-kat-blake2s.json");

  it(`BLAKE2 reference KAT: ${kat.tests.length} entries (unkeyed through crypto.ts hash)`, () => {
    for (const t of kat.tests) {
      const input = h(t.in);
      // The published inputs are the byte sequence 00 01 02 …; keys are 00 01 … 1f.
      expect(input.every((x, i) => x === i)).toBe(true);
      const got = t.key === "" ? hash(input) : blake2s(input, { key: h(t.key) });
      expect(hex(got), `in ${input.length} bytes, key ${t.key.length / 2} bytes`).toBe(t.out);
      if (t.key === "") expect(hex(blake2s(input)), "@noble/hashes agrees").toBe(t.out);
      else expect(hex(ownBlake2s([input], 32, h(t.key))), `blake2s.ts keyed, in ${input.length} bytes`).toBe(t.out);
    }
  });

  it("crypto.ts hash() of several parts equals the hash of their concatenation", () => {
    const t = kat.tests.find((x) => x.in.length / 2 === 65 && x.key === "")!;
    const all = h(t.in);
    expect(hex(hash(all.subarray(0, 1), all.subarray(1, 64), all.subarray(64)))).toBe(t.out);
  });

  const kernel = load<{ blake2s: { i: number; out: string }[]; hmac: { out: string }[] }>("linux-blake2s-selftest.json");
  // The kernel generator's inputs (see the file's "generator" field).
  const fib = new Uint8Array(32);
  fib[0] = fib[1] = 1;
  for (let i = 2; i < 32; i++) fib[i] = (fib[i - 2]! + fib[i - 1]!) & 0xff;
  const counting = Uint8Array.from({ length: 256 }, (_, i) => i);

  it(`Linux blake2s_testvecs: ${kernel.blake2s.length} entries (key lengths 0-32, output lengths 1-32)`, () => {
    let viaMac = 0;
    for (const { i, out } of kernel.blake2s) {
      const outLen = 1 + (i % 32);
      const keyLen = (13 * i) % 33;
      const key = fib.subarray(32 - keyLen);
      const input = counting.subarray(0, i);
      const got = blake2s(input, keyLen === 0 ? { dkLen: outLen } : { dkLen: outLen, key });
      expect(hex(got), `vector ${i}`).toBe(out);
      expect(hex(ownBlake2s([input], outLen, keyLen === 0 ? undefined : key)), `blake2s.ts, vector ${i}`).toBe(out);
      if (outLen === 16 && keyLen > 0) {
        expect(hex(mac(key, input)), `crypto.ts mac(), vector ${i}`).toBe(out);
        viaMac++;
      }
    }
    expect(viaMac).toBeGreaterThan(0);
  });

  it("wireguard-go kdf_test.go through crypto.ts kdf() (KDF1, KDF2, KDF3)", () => {
    const v = load<{ tests: { key: string; input: string; t0: string; t1: string; t2: string }[] }>("wireguard-go-kdf.json");
    for (const t of v.tests) {
      const want = [t.t0, t.t1, t.t2];
      for (const n of [1, 2, 3] as const) expect(kdf(n, h(t.key), h(t.input)).map(hex), `KDF${n}`).toEqual(want.slice(0, n));
    }
  });

  it("Linux blake2s_hmac_testvecs through crypto.ts hmac()", () => {
    expect(hex(hmac(fib, counting))).toBe(kernel.hmac[0]!.out); // 32-byte key, as WireGuard uses
    expect(hex(hmac(counting, fib))).toBe(kernel.hmac[1]!.out); // key longer than a block: hashed first
    expect(hex(nobleHmac(blake2s, fib, counting)), "@noble/hashes agrees").toBe(kernel.hmac[0]!.out);
    expect(hex(nobleHmac(blake2s, counting, fib)), "@noble/hashes agrees").toBe(kernel.hmac[1]!.out);
  });

  it("blake2s.ts against node:crypto: every split of inputs across block boundaries, HMAC keys of 0-100 bytes", () => {
    const data = Uint8Array.from({ length: 200 }, (_, i) => (i * 7 + 3) & 0xff);
    for (const n of [0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 200]) {
      const input = data.subarray(0, n);
      const want = createHash("blake2s256").update(input).digest("hex");
      for (let cut = 0; cut <= n; cut += n > 64 ? 13 : 1) {
        expect(hex(ownBlake2s([input.subarray(0, cut), input.subarray(cut)])), `${n} bytes cut at ${cut}`).toBe(want);
      }
      for (const keyLen of [0, 1, 16, 32, 64, 65, 100]) {
        const key = data.subarray(100, 100 + keyLen);
        expect(hex(hmacBlake2s(key, input)), `HMAC key ${keyLen}, ${n} bytes`).toBe(createHmac("blake2s256", key).update(input).digest("hex"));
      }
    }
  });

  /** Deterministic pseudo-random bytes (xorshift32), so that a failure reproduces. */
  const prng = (seed: number): ((n: number) => Uint8Array) => {
    let x = seed | 0 || 1;
    return (n) =>
      Uint8Array.from({ length: n }, () => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return x & 0xff;
      });
  };
  /** KDFn from the whitepaper §5.4 on node:crypto's HMAC-BLAKE2s, independent of blake2s.ts. */
  const referenceKdf = (n: number, key: Uint8Array, input: Uint8Array): string[] => {
    const mac = (k: Uint8Array, ...m: Uint8Array[]): Uint8Array => {
      const x = createHmac("blake2s256", k);
      for (const p of m) x.update(p);
      return new Uint8Array(x.digest());
    };
    const t0 = mac(key, input);
    const out = [mac(t0, Uint8Array.of(1))];
    for (let i = 2; i <= n; i++) out.push(mac(t0, out[i - 2]!, Uint8Array.of(i)));
    return out.map(hex);
  };

  it("HMAC from a precomputed key schedule against node:crypto: random keys of 0-100 bytes, messages of 1-200 bytes in two parts", () => {
    const rnd = prng(0x5eed);
    const schedule = new Int32Array(16);
    for (let iter = 0; iter < 400; iter++) {
      const key = rnd(iter % 4 === 0 ? rnd(1)[0]! % 101 : 32);
      const msg = rnd(1 + (rnd(1)[0]! * 7 + iter) % 200);
      const cut = rnd(1)[0]! % (msg.length + 1);
      const want = createHmac("blake2s256", key).update(msg).digest("hex");
      const fresh = hmacKeySchedule(key);
      expect(hmacKeySchedule(key, schedule), "written into the given array").toBe(schedule);
      expect(Array.from(schedule)).toEqual(Array.from(fresh));
      // The same schedule serves several messages (as τ0's does in KDF2/KDF3).
      for (let use = 0; use < 3; use++) {
        expect(hex(hmacWithSchedule(schedule, msg.subarray(0, cut), msg.subarray(cut))), `key ${key.length}, ${msg.length} bytes cut at ${cut}`).toBe(want);
      }
      expect(hex(hmacWithSchedule(schedule, msg))).toBe(want);
      expect(hex(hmacBlake2s(key, msg))).toBe(want);
      expect(hex(new HmacKey(key).hmac(msg))).toBe(want);
    }
    expect(() => hmacWithSchedule(schedule, new Uint8Array(0))).toThrow(RangeError);
    expect(() => hmacWithSchedule(schedule, new Uint8Array(0), new Uint8Array(0))).toThrow(RangeError);
    // HMAC(K, ε) cannot come from the schedule; HmacKey falls back to the one-shot HMAC.
    const key = rnd(32);
    expect(hex(new HmacKey(key).hmac(new Uint8Array(0)))).toBe(createHmac("blake2s256", key).digest("hex"));
  });

  it("kdf() against KDFn on node:crypto's HMAC: random keys and inputs (empty included), with and without a precomputed HmacKey", () => {
    const rnd = prng(0xc0ffee);
    for (let iter = 0; iter < 300; iter++) {
      const key = rnd(32);
      const input = rnd([0, 1, 16, 32, 33, 63, 64, 65, 100, 200][iter % 10]!);
      const hmacKey = new HmacKey(key);
      for (const n of [1, 2, 3] as const) {
        const want = referenceKdf(n, key, input);
        expect(kdf(n, key, input).map(hex), `KDF${n}, ${input.length}-byte input`).toEqual(want);
        expect(kdf(n, hmacKey, input).map(hex), `KDF${n} from an HmacKey, ${input.length}-byte input`).toEqual(want);
      }
    }
  });

  it("hash() and blake2s256() of zero, one and two parts against node:crypto", () => {
    const rnd = prng(0xb1a2e);
    const ref = (...p: Uint8Array[]): string => createHash("blake2s256").update(Buffer.concat(p)).digest("hex");
    expect(hex(hash())).toBe(ref());
    for (let iter = 0; iter < 200; iter++) {
      const a = rnd(iter % 131);
      const b = rnd((iter * 7) % 97);
      expect(hex(hash(a)), `${a.length} bytes`).toBe(ref(a));
      expect(hex(hash(a, b)), `${a.length} + ${b.length} bytes`).toBe(ref(a, b));
      expect(hex(blake2s256(a, b))).toBe(ref(a, b));
      expect(hex(blake2s256(a))).toBe(ref(a));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s: HASH, HMAC, HKDF (kdf), DH and AEAD composed as WireGuard does
// ---------------------------------------------------------------------------------------------

interface NoiseVector {
  name: string;
  init_prologue: string;
  init_psk: string;
  init_static: string;
  init_ephemeral: string;
  init_remote_static: string;
  resp_static: string;
  resp_ephemeral: string;
  messages: { payload: string; ciphertext: string }[];
}

describe("Noise IKpsk2 vector (cacophony) through crypto.ts", () => {
  const [v] = load<{ vectors: NoiseVector[] }>("cacophony-noise-ikpsk2.json").vectors;
  if (v === undefined) throw new Error("no vector");
  const EMPTY = new Uint8Array(0);

  /** The symmetric state of the Noise spec §5.2, built on crypto.ts (the whitepaper's §5.4 functions). */
  function run(aead: ChaChaPolyBackend = nodeChaChaPoly): { messages: string[]; k1: Uint8Array; k2: Uint8Array } {
    const name = new TextEncoder().encode(v!.name);
    let h32: Uint8Array = hash(name); // protocol name longer than 32 bytes: h = HASH(name)
    let ck: Uint8Array = h32; // Ci := HASH(CONSTRUCTION)
    let k: Uint8Array = EMPTY;
    const mixHash = (data: Uint8Array): void => void (h32 = hash(h32, data));
    const mixKey = (ikm: Uint8Array): void => void ([ck, k] = kdf(2, ck, ikm) as [Uint8Array, Uint8Array]);
    const encryptAndHash = (pt: Uint8Array): Uint8Array => {
      const c = aeadSeal(aead, k, 0, pt, h32)!; // every key here is used once: counter 0
      mixHash(c);
      return c;
    };
    const iS = h(v!.init_static);
    const iE = h(v!.init_ephemeral);
    const rS = h(v!.resp_static);
    const rE = h(v!.resp_ephemeral);
    const rSpub = h(v!.init_remote_static);
    expect(hex(publicKeyOf(rS))).toBe(v!.init_remote_static);

    mixHash(h(v!.init_prologue)); // Hi := HASH(Ci ‖ IDENTIFIER) — the prologue plays the identifier
    mixHash(rSpub); // <- s (pre-message)

    // -> e, es, s, ss  (the initiation, whitepaper §5.4.2)
    const iEpub = publicKeyOf(iE);
    mixHash(iEpub);
    [ck] = kdf(1, ck, iEpub) as [Uint8Array]; // psk handshakes also MixKey(e): C := KDF1(C, Epub)
    mixKey(dh(iE, rSpub)!); // es
    const encStatic = encryptAndHash(publicKeyOf(iS)); // s
    mixKey(dh(iS, rSpub)!); // ss
    const msg1 = [iEpub, encStatic, encryptAndHash(h(v!.messages[0]!.payload))];

    // <- e, ee, se, psk  (the response, §5.4.3, computed on the responder's side)
    const rEpub = publicKeyOf(rE);
    mixHash(rEpub);
    [ck] = kdf(1, ck, rEpub) as [Uint8Array];
    mixKey(dh(rE, iEpub)!); // ee
    mixKey(dh(rE, publicKeyOf(iS))!); // se
    const [ck2, tau, k3] = kdf(3, ck, h(v!.init_psk)) as [Uint8Array, Uint8Array, Uint8Array]; // psk
    ck = ck2;
    mixHash(tau);
    k = k3;
    const msg2 = [rEpub, encryptAndHash(h(v!.messages[1]!.payload))];

    // Split(): (T_send, T_recv) := KDF2(C, ε)  (§5.4.5)
    const [k1, k2] = kdf(2, ck, EMPTY) as [Uint8Array, Uint8Array];
    const transport = v!.messages.slice(2).map((m, i) =>
      hex(aeadSeal(aead, i % 2 === 0 ? k1 : k2, Math.floor(i / 2), h(m.payload), EMPTY)!),
    );
    return { messages: [hex(Buffer.concat(msg1)), hex(Buffer.concat(msg2)), ...transport], k1, k2 };
  }

  it.each(backends)(`${v.name}: all ${v.messages.length} messages match (AEAD $name)`, (aead) => {
    const { messages } = run(aead);
    expect(messages).toEqual(v.messages.map((m) => m.ciphertext));
  });

  it.each(transports)("transport messages open and seal through TransportAead $name", (aead) => {
    const { k1, k2 } = run();
    v.messages.slice(2).forEach((m, i) => {
      const key = i % 2 === 0 ? k1 : k2;
      const counter = Math.floor(i / 2);
      const sealed = new Uint8Array(m.ciphertext.length / 2);
      expect(aead.seal(key, counter, h(m.payload), sealed, 0)).toBe(sealed.length);
      expect(hex(sealed)).toBe(m.ciphertext);
      const opened = new Uint8Array(sealed.length - 16);
      expect(aead.open(key, counter, h(m.ciphertext), opened, 0)).toBe(opened.length);
      expect(hex(opened)).toBe(m.payload);
      expect(aead.open(key, counter + 1, h(m.ciphertext), opened, 0)).toBe(-1);
    });
  });

  it("the responder can decrypt the initiation's static key with aeadOpen", () => {
    // Re-derive the initiator's first key from the responder's view (DH(Spriv_r, Epub_i) = es).
    let h32: Uint8Array = hash(new TextEncoder().encode(v.name));
    let ck: Uint8Array = h32;
    h32 = hash(h32, h(v.init_prologue));
    h32 = hash(h32, h(v.init_remote_static));
    const msg1 = h(v.messages[0]!.ciphertext);
    const ePub = msg1.subarray(0, 32);
    h32 = hash(h32, ePub);
    [ck] = kdf(1, ck, ePub) as [Uint8Array];
    const [, key] = kdf(2, ck, dh(h(v.resp_static), ePub)!) as [Uint8Array, Uint8Array];
    const staticKey = aeadOpen(nodeChaChaPoly, key, 0, msg1.subarray(32, 80), h32);
    expect(staticKey && hex(staticKey)).toBe(hex(publicKeyOf(h(v.init_static))));
    expect(aeadOpen(nodeChaChaPoly, key, 1, msg1.subarray(32, 80), h32)).toBeNull();
  });
});
