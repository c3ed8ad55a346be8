/**
 * Packing the wg-ts build for the Scaleway instances (pnpm build first): the tarball is
 * deterministic, runs `wg-ts` from a fresh directory, and contains the daemon's systemd unit;
 * a tree without the daemon's files is refused with a message naming them.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packWgTs, REPO_ROOT } from "../src/scaleway/artifact.js";

describe("wg-ts.tgz", () => {
  it("refuses a tree without the daemon's files, naming them", () => {
    const fakeRoot = mkdtempSync(join(tmpdir(), "wg-ts-fake-repo-"));
    mkdirSync(join(fakeRoot, "packages", "wg-daemon"), { recursive: true });
    expect(() => packWgTs(join(fakeRoot, "x.tgz"), fakeRoot)).toThrow(/packages\/wg-daemon\/bin\/wg-ts\.js, packages\/wg-daemon\/dist\/cli\.js, packages\/wg-daemon\/systemd\/wg-ts@\.service missing/);
  });

  it("packs this repository's build deterministically, runnable from a fresh directory", () => {
    const dir = mkdtempSync(join(tmpdir(), "wg-ts-artifact-test-"));
    const a = packWgTs(join(dir, "a.tgz"));
    const b = packWgTs(join(dir, "b.tgz"));
    expect(a.sha256).toBe(b.sha256);
    expect(readFileSync(a.path).equals(readFileSync(b.path))).toBe(true);
    const unpacked = join(dir, "opt-wg-ts");
    mkdirSync(unpacked);
    expect(spawnSync("tar", ["-xzf", a.path, "-C", unpacked]).status).toBe(0);
    expect(readFileSync(join(unpacked, "systemd", "wg-ts@.service"), "utf8")).toBe(readFileSync(join(REPO_ROOT, "packages", "wg-daemon", "systemd", "wg-ts@.service"), "utf8"));
    const help = spawnSync(process.execPath, [join(unpacked, "bin", "wg-ts.js"), "--help"], { encoding: "utf8", cwd: dir });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("genkey");
  });
});
