/**
 * The start-up warm-up (src/warmup.ts) over real fds without root: two throwaway tunnels of the
 * daemon's own classes (Engine, wg-core Device, data plane, main loop), each with a socketpair as its
 * TUN and a UDP socket on 127.0.0.1, handshake and then carry lone pings to each other; afterwards
 * none of their fds is open and no handle or timer Node lists is left (libuv's fd watches are not in
 * that list). Its effect on a fresh daemon's first pings is measured
 * in benchmarks/README.md (section 23), not asserted here.
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { warmUp } from "../src/warmup.js";

const fds = (): string[] => readdirSync("/proc/self/fd").sort();
/** Handles and timers alive, by kind (the test runner's own come and go: a kind may only shrink). */
const resources = (): Map<string, number> => {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
};

describe("warmUp", () => {
  it("runs pings through two throwaway tunnels until V8 has nothing left to compile, then closes every fd, handle and timer it opened", async () => {
    const before = { fds: fds(), resources: resources() };
    const r = await warmUp(20000);
    // At least the minimum (300), in batches of 100; the cap was not what stopped it.
    expect(r.roundTrips).toBeGreaterThanOrEqual(300);
    expect(r.roundTrips % 100).toBe(0);
    expect(r.roundTrips).toBeLessThan(20000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(fds()).toEqual(before.fds);
    for (const [kind, n] of resources()) expect(n, kind).toBeLessThanOrEqual(before.resources.get(kind) ?? 0);
  }, 20000);

  it("stops at the cap it is given", async () => {
    const r = await warmUp(300);
    expect(r.roundTrips).toBe(300);
  }, 20000);
});
