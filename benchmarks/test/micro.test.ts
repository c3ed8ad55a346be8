import { describe, expect, it } from "vitest";
import { microTable, runMicro } from "../src/micro.js";

// A smoke test of the micro benchmark's wiring (quick mode, a fraction of a second of work per row):
// every row is produced, by the implementations it names, with a finite positive rate. No timing is
// asserted — machines here are shared and noisy.
describe("runMicro (quick)", () => {
  it("produces every row, side by side", async () => {
    const rows = await runMicro({ quick: true, print: false });
    const key = (r: { benchmark: string; implementation: string; size: number | null }): string =>
      `${r.benchmark}|${r.implementation}|${r.size ?? ""}`;
    const keys = rows.map(key);
    for (const b of ["seal", "open"]) {
      for (const impl of ["node:crypto", "noble"]) {
        for (const size of [64, 1420]) expect(keys).toContain(`${b}|${impl}|${size}`);
      }
    }
    expect(keys).toContain("allowed-ips lookup|trie, IPv4|1000");
    expect(keys).toContain("allowed-ips lookup|trie, IPv6|1000");
    expect(keys.filter((k) => k.startsWith("x25519|"))).toHaveLength(2);
    expect(keys).toContain("handshake|Device ↔ Device|");
    for (const r of rows) {
      expect(Number.isFinite(r.opsPerSec) && r.opsPerSec > 0, key(r)).toBe(true);
      expect(r.rounds).toBeGreaterThan(1);
    }
    const table = microTable(rows);
    expect(table.split("\n").length).toBeGreaterThan(rows.length);
  });
});
