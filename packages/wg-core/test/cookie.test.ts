// MAC1/MAC2 and cookie replies (whitepaper §5.4.4, §5.4.7).
import { describe, expect, it } from "vitest";
import { PrivateKey } from "../src/index.js";
import { CookieGenerator, INITIATION_SIZE, RESPONSE_SIZE } from "../src/testing.js";
import { COOKIE_REFRESH_TIME } from "../src/constants.js";
import { CookieChecker } from "../src/cookie.js";
import { seededRandom } from "./support/prng.js";

const random = seededRandom(42);
const responderKey = PrivateKey.generate(random);
const pub = responderKey.publicKey().bytes;
const source = Uint8Array.of(192, 0, 2, 1, 0x39, 0x05);
const otherSource = Uint8Array.of(192, 0, 2, 9, 0x39, 0x05);

function message(size = INITIATION_SIZE): Uint8Array {
  const m = new Uint8Array(size);
  random(m.subarray(0, size - 32));
  return m;
}

describe("cookies", () => {
  it("MAC1 verifies only for the intended responder and for unmodified bytes", () => {
    for (const size of [INITIATION_SIZE, RESPONSE_SIZE]) {
      const checker = new CookieChecker(pub);
      const gen = new CookieGenerator(pub);
      const m = message(size);
      gen.addMacs(m, 0);
      expect(checker.checkMac1(m)).toBe(true);
      expect(new CookieChecker(PrivateKey.generate(random).publicKey().bytes).checkMac1(m)).toBe(false);
      for (const i of [0, 5, size - 33, size - 32, size - 17]) {
        const bad = m.slice();
        bad[i]! ^= 0x80;
        expect(checker.checkMac1(bad)).toBe(false);
      }
      // MAC2 is not covered by MAC1.
      const m2 = m.slice();
      m2[size - 1]! ^= 1;
      expect(checker.checkMac1(m2)).toBe(true);
    }
  });

  it("issues a cookie that the initiator stores and uses as MAC2, bound to the source", () => {
    const checker = new CookieChecker(pub);
    const gen = new CookieGenerator(pub);
    const now = 1000;
    const m = message();
    gen.addMacs(m, now);
    expect(m.subarray(132).every((x) => x === 0)).toBe(true);
    expect(checker.checkMac2(m, source, now)).toBe(false);
    const reply = new Uint8Array(64);
    checker.createReply(m, 0xabcdef01, source, now, random, reply);
    expect(reply[0]).toBe(3);
    expect(Buffer.from(reply.subarray(4, 8)).readUInt32LE()).toBe(0xabcdef01);
    expect(gen.consumeReply(reply, now)).toBe(true);
    const retry = message();
    gen.addMacs(retry, now + 5000);
    expect(retry.subarray(132).some((x) => x !== 0)).toBe(true);
    expect(checker.checkMac2(retry, source, now + 5000)).toBe(true);
    expect(checker.checkMac2(retry, otherSource, now + 5000)).toBe(false);
  });

  it("rejects cookie replies that do not answer our last MAC1 or are forged", () => {
    const checker = new CookieChecker(pub);
    const gen = new CookieGenerator(pub);
    const reply = new Uint8Array(64);
    const m = message();
    checker.createReply(m, 1, source, 0, random, reply);
    expect(gen.consumeReply(reply, 0)).toBe(false); // we never sent a MAC1
    const mine = message();
    gen.addMacs(mine, 0);
    expect(gen.consumeReply(reply, 0)).toBe(false); // answers someone else's MAC1
    checker.createReply(mine, 1, source, 0, random, reply);
    const forged = reply.slice();
    forged[40]! ^= 1;
    expect(gen.consumeReply(forged, 0)).toBe(false);
    expect(gen.consumeReply(reply, 0)).toBe(true);
  });

  it("rotates the secret after COOKIE_REFRESH_TIME and expires held cookies", () => {
    const checker = new CookieChecker(pub);
    const gen = new CookieGenerator(pub);
    const m = message();
    gen.addMacs(m, 0);
    const reply = new Uint8Array(64);
    checker.createReply(m, 1, source, 0, random, reply);
    gen.consumeReply(reply, 0);
    expect(gen.hasCookie(COOKIE_REFRESH_TIME - 1)).toBe(true);
    expect(gen.hasCookie(COOKIE_REFRESH_TIME)).toBe(false);
    const late = message();
    gen.addMacs(late, COOKIE_REFRESH_TIME - 1);
    expect(checker.checkMac2(late, source, COOKIE_REFRESH_TIME - 1)).toBe(true);
    expect(checker.checkMac2(late, source, COOKIE_REFRESH_TIME + 1)).toBe(false); // secret too old
    // A new reply after the refresh time uses a new secret: the old cookie no longer verifies.
    checker.createReply(late, 1, source, COOKIE_REFRESH_TIME + 1, random, reply);
    expect(checker.checkMac2(late, source, COOKIE_REFRESH_TIME + 2)).toBe(false);
  });
});
