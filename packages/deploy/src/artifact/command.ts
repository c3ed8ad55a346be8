/**
 * `wg-deploy pack [--out DIR]`: writes DIR/wg-ts-<version>.tgz (./pack.ts) from the built workspace
 * and prints its path; size and SHA-256 go to stderr. Install it on any Linux machine with Node.js
 * >= 20.19, no registry needed: `npm install -g ./wg-ts-<version>.tgz`.
 */
import { join, resolve } from "node:path";
import { Command } from "commander";
import type { DeployIo } from "../target.js";
import { packWgTs, wgTsTarballName } from "./pack.js";

export function packCommand(io: DeployIo): Command {
  return new Command("pack")
    .description("pack the built wg-ts as an npm tarball with its dependencies bundled (npm install -g FILE, offline)")
    .option("--out <dir>", "output directory", ".")
    .action((options: { out: string }) => {
      const artifact = packWgTs(join(resolve(io.cwd, options.out), wgTsTarballName()));
      io.stderr(`wrote ${artifact.path} (${artifact.bytes} bytes, sha256 ${artifact.sha256})\n`);
      io.stdout(`${artifact.path}\n`);
    });
}
