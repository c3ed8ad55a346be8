/**
 * The built `wg-deploy` binary (pnpm build first), as a user runs it: with a PATH that has neither
 * tofu nor terraform, and no Scaleway credentials, `up` and `down` must stop with a clear message
 * and a non-zero exit status before touching anything.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../bin/wg-deploy.js", import.meta.url));

describe("bin/wg-deploy.js --target scaleway without tofu/terraform", () => {
  it.each(["up", "down"])("%s exits non-zero naming the missing credentials and binary", (command) => {
    const dir = mkdtempSync(join(tmpdir(), "wg-ts-scaleway-bin-"));
    const emptyPath = join(dir, "bin");
    mkdirSync(emptyPath);
    const result = spawnSync(process.execPath, [BIN, command, "--target", "scaleway"], {
      cwd: dir,
      env: { PATH: emptyPath, HOME: dir },
      encoding: "utf8",
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`wg-deploy: scaleway ${command}: missing Scaleway credentials: SCW_ACCESS_KEY, SCW_SECRET_KEY, SCW_DEFAULT_PROJECT_ID`);
    expect(result.stderr).toContain("neither `tofu` nor `terraform` is on PATH");
    expect(existsSync(join(dir, "out"))).toBe(false);
  });
});
