import { format, inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { encodeKey, KeyFormatError, parseKey, PresharedKey, PrivateKey, PublicKey } from "../src/keys.js";

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
const b64 = (s: string): string => Buffer.from(s, "hex").toString("base64");

// RFC 7748 §6.1: Alice's private and public key.
const ALICE_PRIV = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
const ALICE_PUB = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";

/** Calls `f`, expects a KeyFormatError, and returns its message. */
function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(KeyFormatError);
    return (e as Error).message;
  }
  throw new Error("expected a KeyFormatError");
}

describe("parseKey / encodeKey", () => {
  const good = b64(ALICE_PRIV);

  it("round-trips a 32-byte key", () => {
    expect(good).toHaveLength(44);
    expect(Buffer.from(parseKey(good, "k")).toString("hex")).toBe(ALICE_PRIV);
    expect(encodeKey(hex(ALICE_PRIV))).toBe(good);
  });

  const bad: [string, string][] = [
    ["43 characters", good.slice(0, 43)],
    ["45 characters", `${good}A`],
    ["empty", ""],
    ["a character outside base64", `!${good.slice(1)}`],
    ["URL-safe alphabet", `${good.slice(0, 10)}-${good.slice(11)}`],
    ["whitespace", ` ${good.slice(1)}`],
    ["no padding", `${good.slice(0, 43)}A`],
    ["two padding characters", `${good.slice(0, 42)}==`],
    ["padding in the middle", `${good.slice(0, 20)}=${good.slice(21)}`],
  ];
  it.each(bad)("rejects %s, naming what and never echoing the value", (_, value) => {
    const message = errorOf(() => parseKey(value, "peer 2 public key"));
    expect(message).toContain("peer 2 public key");
    if (value.length >= 8) {
      for (let i = 0; i + 8 <= value.length; i++) expect(message).not.toContain(value.slice(i, i + 8));
    }
  });

  it("rejects non-canonical encodings (the 2 unused low bits of the last character set)", () => {
    // 'g' = 32 = 0b100000 has its low 2 bits clear; 'h','i','j' set them.
    const canonical = `${"A".repeat(42)}g=`;
    expect(parseKey(canonical, "k")[31]).toBe(0x08); // "AAg=" → 0x00 0x08
    for (const c of ["h", "i", "j"]) {
      const value = `${"A".repeat(42)}${c}=`;
      const message = errorOf(() => parseKey(value, "private key"));
      expect(message).toMatch(/private key: non-canonical/);
      expect(message).not.toContain(value);
    }
  });

  it("rejects non-strings with a clear message", () => {
    expect(errorOf(() => parseKey(undefined as unknown as string, "preshared key"))).toContain("preshared key");
  });

  it("encodeKey refuses anything but 32 bytes", () => {
    expect(() => encodeKey(new Uint8Array(31))).toThrow(KeyFormatError);
  });
});

describe("PrivateKey", () => {
  it("derives the RFC 7748 §6.1 public key", () => {
    const k = PrivateKey.fromBase64(b64(ALICE_PRIV));
    expect(Buffer.from(k.publicKey().bytes).toString("hex")).toBe(ALICE_PUB);
    expect(k.publicKey()).toBe(k.publicKey()); // computed once
    expect(k.toBase64()).toBe(b64(ALICE_PRIV));
  });

  it("generate() clamps like wg genkey", () => {
    const ones = PrivateKey.generate((out) => out.fill(0xff)).bytes;
    expect(ones[0]).toBe(0xf8);
    expect(ones[31]).toBe(0x7f);
    expect(ones[15]).toBe(0xff);
    const zeros = PrivateKey.generate((out) => out.fill(0)).bytes;
    expect(zeros[0]).toBe(0);
    expect(zeros[31]).toBe(0x40);
  });

  it("fromBase64 keeps the bytes unclamped (wg prints what it was given)", () => {
    const s = b64("ff".repeat(32));
    expect(PrivateKey.fromBase64(s).toBase64()).toBe(s);
  });

  it("fromBytes copies and checks the length", () => {
    const raw = hex(ALICE_PRIV);
    const k = PrivateKey.fromBytes(raw);
    raw.fill(0);
    expect(Buffer.from(k.bytes).toString("hex")).toBe(ALICE_PRIV);
    expect(() => PrivateKey.fromBytes(new Uint8Array(16))).toThrow(/private key/);
  });

  it("is redacted by String, template literals, inspect, util.format and JSON", () => {
    const k = PrivateKey.fromBase64(b64(ALICE_PRIV));
    const secretB64 = b64(ALICE_PRIV);
    const printed = [
      String(k),
      `${k}`,
      inspect(k),
      inspect({ nested: { k } }, { depth: 5, showHidden: true }),
      format("%s %o %O %j", k, k, k, { k }),
      JSON.stringify({ k }),
    ];
    for (const p of printed) {
      expect(p).toContain("<redacted>");
      expect(p).not.toContain(secretB64);
      expect(p).not.toContain(ALICE_PRIV);
      expect(p).not.toContain("119"); // first byte 0x77 as a decimal array element
    }
  });

  it("wipe() zeroes the bytes and refuses later use", () => {
    const k = PrivateKey.fromBase64(b64(ALICE_PRIV));
    k.wipe();
    expect(k.bytes.every((b) => b === 0)).toBe(true);
    expect(() => k.publicKey()).toThrow(KeyFormatError);
  });
});

describe("PublicKey", () => {
  it("prints as base64 and compares by value", () => {
    const p = PublicKey.fromBase64(b64(ALICE_PUB));
    expect(String(p)).toBe(b64(ALICE_PUB));
    expect(JSON.stringify(p)).toBe(JSON.stringify(b64(ALICE_PUB)));
    expect(inspect(p)).toContain(b64(ALICE_PUB));
    expect(p.equals(PublicKey.fromBytes(hex(ALICE_PUB)))).toBe(true);
    expect(p.equals(hex(ALICE_PUB))).toBe(true);
    expect(p.equals(PublicKey.fromBytes(hex(ALICE_PRIV)))).toBe(false);
    expect(p.equals(new Uint8Array(31))).toBe(false);
  });

  it("names the key in errors", () => {
    expect(() => PublicKey.fromBase64("nope", "peer public key")).toThrow(/^peer public key: /);
  });
});

describe("PresharedKey", () => {
  it("generates 32 random bytes, round-trips, and is redacted", () => {
    let n = 0;
    const psk = PresharedKey.generate((out) => {
      for (let i = 0; i < out.length; i++) out[i] = n++;
    });
    expect(psk.bytes).toHaveLength(32);
    expect(psk.bytes[31]).toBe(31); // not clamped
    const s = psk.toBase64();
    expect(Buffer.from(PresharedKey.fromBase64(s).bytes)).toEqual(Buffer.from(psk.bytes));
    for (const p of [String(psk), inspect(psk), JSON.stringify({ psk }), format("%o", psk)]) {
      expect(p).toContain("<redacted>");
      expect(p).not.toContain(s);
    }
    psk.wipe();
    expect(psk.bytes.every((b) => b === 0)).toBe(true);
  });
});
