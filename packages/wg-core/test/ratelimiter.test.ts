// Per-source token bucket (wireguard-go ratelimiter).
import { describe, expect, it } from "vitest";
import { RATELIMIT_GARBAGE_COLLECT_TIME, RATELIMIT_PACKETS_BURSTABLE, RATELIMIT_PACKETS_PER_SECOND } from "../src/constants.js";
import { RateLimiter } from "../src/ratelimiter.js";

const v4 = (...b: number[]) => Uint8Array.from(b);

describe("rate limiter", () => {
  it("allows a burst, then one packet per 1/PACKETS_PER_SECOND", () => {
    const rl = new RateLimiter();
    const ip = v4(10, 0, 0, 1);
    const results = Array.from({ length: 10 }, () => rl.allow(ip, 0));
    expect(results.filter(Boolean)).toHaveLength(RATELIMIT_PACKETS_BURSTABLE);
    expect(results.slice(0, RATELIMIT_PACKETS_BURSTABLE).every(Boolean)).toBe(true);
    const cost = 1000 / RATELIMIT_PACKETS_PER_SECOND;
    expect(rl.allow(ip, cost - 1)).toBe(false);
    expect(rl.allow(ip, cost)).toBe(true);
    expect(rl.allow(ip, cost)).toBe(false);
  });

  it("keeps sources apart, groups an IPv6 /64, and forgets idle sources", () => {
    const rl = new RateLimiter();
    for (let i = 0; i < RATELIMIT_PACKETS_BURSTABLE; i++) rl.allow(v4(10, 0, 0, 1), 0);
    expect(rl.allow(v4(10, 0, 0, 1), 0)).toBe(false);
    expect(rl.allow(v4(10, 0, 0, 2), 0)).toBe(true);
    const a = new Uint8Array(16).fill(0x20);
    const b = a.slice();
    b[15] = 0x99; // same /64
    const c = a.slice();
    c[7] = 0x01; // different /64
    for (let i = 0; i < RATELIMIT_PACKETS_BURSTABLE; i++) expect(rl.allow(a, 0)).toBe(true);
    expect(rl.allow(b, 0)).toBe(false);
    expect(rl.allow(c, 0)).toBe(true);
    expect(rl.size).toBe(4);
    rl.allow(v4(10, 0, 0, 3), RATELIMIT_GARBAGE_COLLECT_TIME * 3);
    expect(rl.size).toBe(1);
  });
});
