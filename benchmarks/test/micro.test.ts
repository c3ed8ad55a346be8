import { describe, expect, it } from "vitest";
import { aeadTable, microTable, runMicro } from "../src/micro.js";

// A smoke test of the micro benchmark's wiring (quick mode, a fraction of a second of work per row):
// every row is produced, by the implementations it names, with a finite positive rate. No timing is
// asserted — machines here are shared and noisy.
describe("runMicro (quick)", () => {
  it("produces every row, side by side", async () => {
    const rows = await runMicro({ quick: true, print: false });
    const key = (r: { benchmark: string; implementation: string; size: number | null }): string =>
      `${r.benchmark}|${r.implementation}|${r.size ?? ""}`;
    const keys = rows.map(key);
    const native = process.platform === "linux" && process.arch === "x64";
    const aeads = [
      "node:crypto per packet",
      "noble per packet",
      "libsodium.js WASM per packet",
      "TS batch over node:crypto ×64",
      ...(native ? ["native EVP batch ×1", "native EVP batch ×16", "native EVP batch ×64"] : []),
    ];
    for (const b of ["seal", "open"]) {
      for (const impl of aeads) {
        for (const size of [64, 1420]) expect(keys).toContain(`${b}|${impl}|${size}`);
      }
    }
    if (native) expect(keys).toContain("seal|ceiling: 64×1420 B as one operation|1420");
    expect(aeadTable(rows).split("\n")).toHaveLength(2 + aeads.length + (native ? 1 : 0));
    expect(keys).toContain("allowed-ips lookup|trie, IPv4|1000");
    expect(keys).toContain("allowed-ips lookup|trie, IPv6|1000");
    expect(keys.filter((k) => k.startsWith("x25519|"))).toHaveLength(2);
    expect(keys).toContain("handshake|Device ↔ Device|");
    expect(keys).toContain("handshake|Device ↔ Device, as the daemon|");
    for (const r of rows) {
      expect(Number.isFinite(r.opsPerSec) && r.opsPerSec > 0, key(r)).toBe(true);
      expect(r.rounds).toBeGreaterThan(1);
    }
    const table = microTable(rows);
    expect(table.split("\n").length).toBeGreaterThan(rows.length);
  });
});
