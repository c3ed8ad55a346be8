/**
 * The wg-ts build that the Scaleway gateways run: this repository's `@wg-ts/daemon` (with
 * `@wg-ts/core`) as built by `pnpm build`, plus its production dependencies at the lockfile's
 * versions, packed by `pnpm --filter @wg-ts/daemon deploy --prod` into one directory and tarred
 * deterministically (sorted names, mtime 0, uid/gid 0, gzip without timestamp) as `wg-ts.tgz`.
 *
 * How it reaches an instance: Terraform uploads `wg-ts.tgz` (next to main.tf.json) as a public-read
 * `scaleway_object` in a bucket of the project; each gateway's cloud-init downloads it, checks its
 * SHA-256 (`filesha256()` computed by Terraform at plan time, so a different tarball is refused),
 * unpacks it to /opt/wg-ts, links /usr/local/bin/wg-ts and installs `wg-ts@.service` from it.
 * The tarball holds code only (no key, no configuration), which is why public-read is acceptable.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/** The repository root (packages/deploy/{src,dist}/scaleway -> ../../../..). */
export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

/** Files the instance needs from the daemon package; missing ones make packing fail. */
export const REQUIRED_ARTIFACT_FILES = ["bin/wg-ts.js", "dist/cli.js", "systemd/wg-ts@.service"] as const;

/** Result of packing. */
export interface Artifact {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

/** SHA-256 (hex) of a buffer. */
export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Packs the built wg-ts into `outFile`. Throws with the reason (not built, unit file missing,
 * pnpm/tar failure); never packs a stale or partial tree silently.
 */
export function packWgTs(outFile: string, repoRoot: string = REPO_ROOT): Artifact {
  const daemon = join(repoRoot, "packages", "wg-daemon");
  const missing = REQUIRED_ARTIFACT_FILES.filter((f) => !existsSync(join(daemon, f)));
  if (missing.length > 0) {
    throw new Error(
      `cannot pack wg-ts: packages/wg-daemon/${missing.join(", packages/wg-daemon/")} missing (run \`pnpm build\`; the systemd unit ships with the daemon)`,
    );
  }
  const staging = mkdtempSync(join(tmpdir(), "wg-ts-artifact-"));
  const bundle = join(staging, "wg-ts");
  try {
    run("pnpm", ["--filter", "@wg-ts/daemon", "deploy", "--prod", "--legacy", "--offline", bundle], repoRoot);
    const tar = spawnSync(
      "tar",
      ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "--exclude=./node_modules/.modules.yaml", "--exclude=.bin", "--exclude=*.tsbuildinfo", "-cf", "-", "-C", bundle, "."],
      { maxBuffer: 512 * 1024 * 1024 },
    );
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr.toString().trim()}`);
    const gz = gzipSync(tar.stdout, { level: 9 });
    writeFileSync(outFile, gz);
    return { path: outFile, sha256: sha256Hex(gz), bytes: gz.length };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, encoding: "utf8" });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.status}): ${result.stderr.trim().slice(-2000)}`);
}
