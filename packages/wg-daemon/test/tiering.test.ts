// dataplane/tiering.ts: "V8's default" tier-up budget, restored under load, must be the default of the
// V8 that has the flag (node --v8-options); where V8 has no such flag, the switch does nothing and
// prints nothing (V8 reports an unknown flag on stderr). The same switch sets the helper threads' policy.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { HAS_INTERRUPT_BUDGET, LIGHT_INTERRUPT_BUDGET, V8_INTERRUPT_BUDGET } from "../src/dataplane/tiering.js";
import { SCHED_IDLE, SCHED_OTHER } from "../src/libc.js";

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

it("while traffic is light the helper threads run as SCHED_IDLE, under load as SCHED_OTHER (where that can be given back)", () => {
  const dist = fileURLToPath(new URL("../dist/dataplane/tiering.js", import.meta.url));
  // Each thread's scheduling policy (field 41 of /proc/self/task/TID/stat), the main thread's first.
  const script = `import { readdirSync, readFileSync } from "node:fs";
    const policy = () => readdirSync("/proc/self/task").map(Number).sort((a, b) => (a === process.pid ? -1 : b === process.pid ? 1 : a - b))
      .map((t) => Number(readFileSync("/proc/self/task/" + t + "/stat", "utf8").split(") ")[1].split(" ")[38]));
    const t = await import(${JSON.stringify(dist)});
    t.tierUpEarly(); const light = policy(); t.lightTraffic(false); const loaded = policy(); t.lightTraffic(true);
    console.log(JSON.stringify({ light, loaded, again: policy() }));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  expect(r.stderr).toBe("");
  const { light, loaded, again } = JSON.parse(r.stdout) as Record<"light" | "loaded" | "again", number[]>;
  expect(light.length).toBeGreaterThan(1); // V8's and libuv's helpers exist from the start
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))!;
  const mayRaise = (BigInt(`0x${capEff[1]}`) & (1n << 23n)) !== 0n;
  const helpers = mayRaise ? SCHED_IDLE : SCHED_OTHER;
  expect(light).toEqual([SCHED_OTHER, ...light.slice(1).map(() => helpers)]);
  expect(loaded.every((p) => p === SCHED_OTHER)).toBe(true);
  expect(again).toEqual(light);
});
