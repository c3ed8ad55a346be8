#!/usr/bin/env node
/**
 * Builds the batched ChaCha20-Poly1305 addon (src/wg_aead.c) from source with node-gyp and copies
 * it to prebuilt/<platform>-<arch>/wg_aead.node, the file wg-ts loads (src/native-aead.ts). The
 * repository's `pnpm build` never runs this: gateways have no compiler, so the prebuilt file is
 * committed and shipped; run this after changing the C source or binding.gyp, and commit the result.
 *
 *   node packages/wg-daemon/native/build.mjs            rebuild and update prebuilt/
 *   node packages/wg-daemon/native/build.mjs --check    rebuild and compare with the committed file
 *   (pnpm --filter @wg-ts/daemon build:native [-- --check])
 *
 * Offline: npm's bundled node-gyp (found next to the running node, or $NODE_GYP) and Node's
 * headers in <nodedir>/include/node ($NODE_GYP_NODEDIR, default /usr). The build happens in a
 * fresh temporary directory, so the output does not depend on this checkout's path; the link
 * drops the build-id and strips symbols, so the same compiler gives the same bytes.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, "prebuilt", `${process.platform}-${process.arch}`, "wg_aead.node");
const check = process.argv.includes("--check");

function nodeGyp() {
  if (process.env.NODE_GYP) return process.env.NODE_GYP;
  const candidates = [
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
    "/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
    "/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
  ];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`node-gyp not found (looked in ${candidates.join(", ")}); set NODE_GYP`);
  return found;
}

const work = mkdtempSync(join(tmpdir(), "wg-aead-"));
try {
  cpSync(join(here, "binding.gyp"), join(work, "binding.gyp"));
  cpSync(join(here, "src"), join(work, "src"), { recursive: true });
  const nodedir = process.env.NODE_GYP_NODEDIR ?? "/usr";
  const r = spawnSync(process.execPath, [nodeGyp(), "rebuild", `--nodedir=${nodedir}`, "--loglevel=warn"], { cwd: work, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`node-gyp failed (exit ${r.status ?? r.signal})`);
  const built = join(work, "build", "Release", "wg_aead.node");
  if (check) {
    if (!existsSync(target)) throw new Error(`${target} is missing`);
    if (!readFileSync(built).equals(readFileSync(target))) {
      console.error(`${target} differs from what the build produces: rebuild with native/build.mjs and commit it`);
      process.exitCode = 1;
    } else {
      console.log(`${target}: identical to the build`);
    }
  } else {
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(built, target);
    console.log(`wrote ${target} (${readFileSync(target).length} bytes)`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
