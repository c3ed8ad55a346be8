// The Node flags of a daemon process (src/node-flags.ts): computed, added once, accepted by node.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { daemonNodeFlags, foregroundReexecArgs } from "../src/node-flags.js";

it("a daemon gets one V8 pool thread less than the cores (1 to 4), single-threaded GC and 1 MiB semi-spaces, unless NODE_OPTIONS sets them", () => {
  const gc = "--single-threaded-gc";
  const semi = "--max-semi-space-size=1";
  expect(daemonNodeFlags(undefined, 1)).toEqual(["--v8-pool-size=1", gc, semi]);
  expect(daemonNodeFlags(undefined, 2)).toEqual(["--v8-pool-size=1", gc, semi]);
  expect(daemonNodeFlags("", 4)).toEqual(["--v8-pool-size=3", gc, semi]);
  expect(daemonNodeFlags("--max-old-space-size=64", 64)).toEqual(["--v8-pool-size=4", gc, semi]);
  expect(daemonNodeFlags("--v8-pool-size=2", 8)).toEqual([gc, semi]);
  expect(daemonNodeFlags("--max-semi-space-size=4", 2)).toEqual(["--v8-pool-size=1", gc]);
});

it("node accepts the flags", () => {
  const r = spawnSync(process.execPath, [...daemonNodeFlags(), "-e", "process.stdout.write(process.execArgv.slice(0, 3).join(' '))"], { encoding: "utf8" });
  expect(r.stderr).toBe("");
  expect(r.stdout).toMatch(/^--v8-pool-size=[1-4] --single-threaded-gc --max-semi-space-size=1$/);
});

it("only `up --foreground` / `up -f` is re-executed, once, with node's own flags kept, the lacking ones added, the script's arguments after", () => {
  const flags = ["--v8-pool-size=1", "--single-threaded-gc"];
  expect(foregroundReexecArgs(["/n", "/bin/wg-ts.js", "up", "--foreground", "wg0"], ["--max-old-space-size=64"], flags)).toEqual([
    "/n",
    "--max-old-space-size=64",
    "--v8-pool-size=1",
    "--single-threaded-gc",
    "/bin/wg-ts.js",
    "up",
    "--foreground",
    "wg0",
  ]);
  expect(foregroundReexecArgs(["/n", "/w", "up", "wg0", "-f"], [], flags)).toEqual(["/n", ...flags, "/w", "up", "wg0", "-f"]);
  expect(foregroundReexecArgs(["/n", "/w", "up", "wg0"], [], flags)).toBeNull(); // detached: the spawn passes them
  expect(foregroundReexecArgs(["/n", "/w", "show", "--foreground"], [], flags)).toBeNull();
  expect(foregroundReexecArgs(["/n", "/w", "up", "-f", "wg0"], flags, flags)).toBeNull(); // already re-executed
  expect(foregroundReexecArgs(["/n", "/w", "up", "-f", "wg0"], ["--v8-pool-size=3"], flags)).toEqual(["/n", "--v8-pool-size=3", "--single-threaded-gc", "/w", "up", "-f", "wg0"]); // the command line's pool size kept
  expect(foregroundReexecArgs(["/n", "/w", "up", "-f", "wg0"], [], [])).toBeNull(); // nothing to add
});

it("`wg-ts up --foreground` re-executes itself once in the same process, stdio kept (a missing config still reports on stderr)", () => {
  const dir = mkdtempSync(join(tmpdir(), "wg-ts-flags-"));
  try {
    // Runs in every image of the process: its pid and node's flags, on stderr.
    const preload = join(dir, "preload.cjs");
    writeFileSync(preload, 'process.stderr.write(`image pid=${process.pid} flags=${process.execArgv.join(" ")}\\n`);\n');
    const bin = fileURLToPath(new URL("../bin/wg-ts.js", import.meta.url));
    const r = spawnSync(process.execPath, [bin, "up", "--foreground", join(dir, "missing.conf")], {
      encoding: "utf8",
      env: { ...process.env, NODE_OPTIONS: `--require ${preload}` },
    });
    const images = r.stderr.split("\n").filter((l) => l.startsWith("image "));
    expect(images).toHaveLength(2);
    expect(images[0]).toBe(`image pid=${r.pid} flags=`);
    expect(images[1]).toMatch(new RegExp(`^image pid=${r.pid} flags=--v8-pool-size=[1-4] --single-threaded-gc --max-semi-space-size=1$`));
    expect(r.stderr).toMatch(/missing\.conf/); // the error of the re-executed image reached the same stderr
    expect(r.status).not.toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
