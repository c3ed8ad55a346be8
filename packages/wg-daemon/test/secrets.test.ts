/**
 * Secrets in UAPI error messages (unit level; the e2e twin is secrets.e2e.test.ts).
 * Regression: an unknown key was echoed (40 characters) into the daemon's log, so a request
 * that lost its `private_key=` prefix logged most of the private key in hex.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseSet, UapiError } from "../src/uapi-protocol.js";

function message(lines: string[]): string {
  try {
    parseSet(lines);
  } catch (e) {
    expect(e).toBeInstanceOf(UapiError);
    return (e as Error).message;
  }
  throw new Error("expected a UapiError");
}

describe("secrets: UAPI errors", () => {
  const key = randomBytes(32).toString("hex");
  const peer = randomBytes(32).toString("hex");

  it("an unknown device key made of key material is not echoed", () => {
    const m = message([`${key}=1`]);
    expect(m).toBe("invalid UAPI device key: <64 characters>");
    expect(m).not.toContain(key.slice(0, 8));
  });

  it("an unknown peer key made of key material is not echoed", () => {
    const m = message([`public_key=${peer}`, `x${key}=1`]);
    expect(m).toBe("invalid UAPI peer key: <65 characters>");
  });

  it("a plain unknown key name is still named", () => {
    expect(message(["frobnicate=1"])).toBe("invalid UAPI device key: frobnicate");
    expect(message([`public_key=${peer}`, "colour=blue"])).toBe("invalid UAPI peer key: colour");
  });

  it("bad key values are never echoed", () => {
    expect(message([`private_key=${key.slice(0, 63)}g`])).not.toContain(key.slice(0, 8));
    expect(message([`public_key=${peer}`, `preshared_key=${key}0`])).not.toContain(key.slice(0, 8));
  });
});
