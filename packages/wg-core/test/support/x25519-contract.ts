/**
 * The {@link X25519Backend} contract (wg-core crypto.ts) as one suite, run against every
 * implementation: node:crypto (test/vectors.test.ts) and wg-daemon's native addon
 * (packages/wg-daemon/test/native-aead.test.ts): RFC 7748 §5.2 and §6.1, Wycheproof's
 * x25519_test.json (all-zero shared secrets refused, as WireGuard requires), @noble/curves as a
 * second implementation for random keys. Call it inside a describe block.
 */
import { randomFillSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { x25519 } from "@noble/curves/ed25519.js";
import { expect, it } from "vitest";
import type { X25519Backend } from "../../src/crypto.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const h = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../../../../test-vectors/${name}`, import.meta.url), "utf8")) as T;

interface Rfc7748 {
  scalarmult: { name: string; scalar: string; u: string; output: string }[];
  iterated: { start: string; after: { iterations: number; k: string }[] };
  diffieHellman: Record<"alicePrivate" | "alicePublic" | "bobPrivate" | "bobPublic" | "shared", string>;
}
interface WycheproofX25519 {
  tcId: number;
  flags: string[];
  public: string;
  private: string;
  shared: string;
}

export function x25519Contract(backend: X25519Backend): void {
  const rfc = load<Rfc7748>("rfc7748-x25519.json");
  const wy = load<{ wycheproof: { testGroups: { tests: WycheproofX25519[] }[] } }>("wycheproof-x25519.json").wycheproof.testGroups.flatMap((g) => g.tests);
  const dh = (priv: Uint8Array, pub: Uint8Array): Uint8Array | null => backend.privateKey(priv).dh(backend.publicKey(pub));

  it("RFC 7748 §5.2 scalar multiplications, and 1 and 1000 iterations", () => {
    for (const t of rfc.scalarmult) expect(hex(dh(h(t.scalar), h(t.u))!), t.name).toBe(t.output);
    let k = h(rfc.iterated.start);
    let u = h(rfc.iterated.start);
    const want = new Map(rfc.iterated.after.map((a) => [a.iterations, a.k]));
    for (let i = 1; i <= Math.max(...want.keys()); i++) {
      const next = dh(k, u)!;
      u = k;
      k = next;
      if (want.has(i)) expect(hex(k), `after ${i}`).toBe(want.get(i));
    }
  });

  it("RFC 7748 §6.1 Diffie-Hellman: both public keys and the shared secret", () => {
    const v = rfc.diffieHellman;
    const alice = backend.privateKey(h(v.alicePrivate));
    const bob = backend.privateKey(h(v.bobPrivate));
    expect(hex(alice.publicKey)).toBe(v.alicePublic);
    expect(hex(bob.publicKey)).toBe(v.bobPublic);
    expect(hex(alice.dh(backend.publicKey(bob.publicKey))!)).toBe(v.shared);
    expect(hex(bob.dh(backend.publicKey(alice.publicKey))!)).toBe(v.shared);
  });

  it(`Wycheproof x25519_test.json: ${wy.length} cases, keys loaded once and used twice; all-zero secrets refused`, () => {
    let refused = 0;
    for (const t of wy) {
      const priv = backend.privateKey(h(t.private));
      expect(hex(priv.publicKey), `tcId ${t.tcId} public key`).toBe(hex(x25519.getPublicKey(h(t.private))));
      const pub = backend.publicKey(h(t.public));
      const want = t.flags.includes("ZeroSharedSecret") ? null : t.shared;
      if (want === null) refused++;
      for (let i = 0; i < 2; i++) {
        const shared = priv.dh(pub);
        expect(shared && hex(shared), `tcId ${t.tcId}`).toBe(want);
      }
    }
    expect(refused).toBeGreaterThan(0);
  });

  it("random keys agree with @noble/curves; the caller's arrays are neither kept nor changed", () => {
    for (let i = 0; i < 50; i++) {
      const a = randomFillSync(new Uint8Array(32));
      const b = randomFillSync(new Uint8Array(32));
      const aCopy = a.slice();
      const bPub = x25519.getPublicKey(b);
      const pub = backend.publicKey(bPub);
      bPub.fill(0); // the backend copied it
      const priv = backend.privateKey(a);
      a.fill(0); // not retained either
      expect(hex(priv.publicKey)).toBe(hex(x25519.getPublicKey(aCopy)));
      expect(hex(priv.dh(pub)!)).toBe(hex(x25519.getSharedSecret(aCopy, x25519.getPublicKey(b))));
    }
  });

  it("wrong lengths: a private key throws RangeError, a public key gives null DHs; the key does not print", () => {
    expect(() => backend.privateKey(new Uint8Array(31))).toThrow(RangeError);
    expect(() => backend.privateKey(new Uint8Array(33))).toThrow(RangeError);
    const priv = backend.privateKey(randomFillSync(new Uint8Array(32)));
    expect(priv.dh(backend.publicKey(new Uint8Array(31).fill(9)))).toBeNull();
    expect(priv.dh(backend.publicKey(new Uint8Array(0)))).toBeNull();
    expect(String(priv)).toBe("<redacted>");
    expect(JSON.stringify({ priv })).toBe('{"priv":"<redacted>"}');
  });
}
