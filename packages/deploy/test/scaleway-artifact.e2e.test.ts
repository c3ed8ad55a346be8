/**
 * Packing the wg-ts build for the Scaleway instances (pnpm build first): the tarball is
 * deterministic, runs `wg-ts` from a fresh directory, and contains the systemd unit; without the
 * daemon's unit file packing refuses with a message naming it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packWgTs, REPO_ROOT, REQUIRED_ARTIFACT_FILES } from "../src/scaleway/artifact.js";

const missing = REQUIRED_ARTIFACT_FILES.filter((f) => !existsSync(join(REPO_ROOT, "packages", "wg-daemon", f)));

describe("wg-ts.tgz", () => {
  it("refuses a tree without the daemon's files, naming them", () => {
    const fakeRoot = mkdtempSync(join(tmpdir(), "wg-ts-fake-repo-"));
    mkdirSync(join(fakeRoot, "packages", "wg-daemon"), { recursive: true });
    expect(() => packWgTs(join(fakeRoot, "x.tgz"), fakeRoot)).toThrow(/packages\/wg-daemon\/bin\/wg-ts\.js, packages\/wg-daemon\/dist\/cli\.js, packages\/wg-daemon\/systemd\/wg-ts@\.service missing/);
  });

  it("packs this repository's build deterministically, runnable from a fresh directory (or names what is missing)", () => {
    const dir = mkdtempSync(join(tmpdir(), "wg-ts-artifact-test-"));
    if (missing.length > 0) {
      expect(() => packWgTs(join(dir, "a.tgz"))).toThrow(new RegExp(`packages/wg-daemon/${missing[0]?.replace(".", "\\.")}`));
      return;
    }
    const a = packWgTs(join(dir, "a.tgz"));
    const b = packWgTs(join(dir, "b.tgz"));
    expect(a.sha256).toBe(b.sha256);
    expect(readFileSync(a.path).equals(readFileSync(b.path))).toBe(true);
    const unpacked = join(dir, "opt-wg-ts");
    mkdirSync(unpacked);
    expect(spawnSync("tar", ["-xzf", a.path, "-C", unpacked]).status).toBe(0);
    expect(existsSync(join(unpacked, "systemd", "wg-ts@.service"))).toBe(true);
    const help = spawnSync(process.execPath, [join(unpacked, "bin", "wg-ts.js"), "--help"], { encoding: "utf8", cwd: dir });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("genkey");
  });
});
