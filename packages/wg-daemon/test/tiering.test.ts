// dataplane/tiering.ts: "V8's default" tier-up budget, restored under load, must be the default of the
// V8 that has the flag (node --v8-options); where V8 has no such flag, the switch does nothing and
// prints nothing (V8 reports an unknown flag on stderr).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { HAS_INTERRUPT_BUDGET, LIGHT_INTERRUPT_BUDGET, V8_INTERRUPT_BUDGET } from "../src/dataplane/tiering.js";

it("V8_INTERRUPT_BUDGET is this V8's default --interrupt-budget where the flag exists", () => {
  const options = spawnSync(process.execPath, ["--v8-options"], { encoding: "utf8" }).stdout;
  const m = /--interrupt-budget \(.*\)\n\s+type: int\s+default: --interrupt-budget=(\d+)/.exec(options);
  expect(m !== null).toBe(HAS_INTERRUPT_BUDGET);
  if (m !== null) expect(Number(m[1])).toBe(V8_INTERRUPT_BUDGET);
  expect(LIGHT_INTERRUPT_BUDGET).toBeLessThan(V8_INTERRUPT_BUDGET);
});

it("switching between light and loaded traffic writes nothing to stderr, on any V8", () => {
  const dist = fileURLToPath(new URL("../dist/dataplane/tiering.js", import.meta.url));
  const script = `const t = await import(${JSON.stringify(dist)}); t.tierUpEarly(); t.lightTraffic(false); t.lightTraffic(true); console.log("done");`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  expect([r.status, r.stdout.trim(), r.stderr]).toEqual([0, "done", ""]);
});
