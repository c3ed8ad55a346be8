/**
 * The wg-ts artifact: one standard npm tarball, `wg-ts-<version>.tgz`, that every cloud target ships
 * to its gateways and that the README's "Installing wg-ts system-wide" installs with
 * `npm install -g ./wg-ts-<version>.tgz` — no registry needed (`npm_config_offline=true` works).
 *
 * What it holds (staged as `package/`, then `npm pack`ed):
 * - a generated package.json: name `wg-ts`, the daemon's version, its `bin` map (read from
 *   packages/wg-daemon/package.json, never hard-coded), `engines.node` >=20.19, `man`, `files`,
 *   `dependencies` = the daemon's production closure at the exact installed versions (platform
 *   packages reached through an optional edge, e.g. koffi's `@koromix/koffi-linux-x64`, as
 *   `optionalDependencies`), and `bundleDependencies` = all of them;
 * - the daemon's `files` (bin/, dist/, systemd/; dist/ only the outputs of an existing src/ module, no
 *   .tsbuildinfo) and its man page `man/wg-ts.8` (npm links it into PREFIX/share/man/man8);
 * - `node_modules/`, flat: `@wg-ts/core` (package.json + dist) and every third-party package of the
 *   closure copied from where Node's resolution finds it on real paths (pnpm's
 *   node_modules/.pnpm/NAME@VERSION/node_modules/NAME), real files only, no symlinks, no nested
 *   node_modules.
 *
 * Platform: only the native builds installed here are bundled (koffi's prebuilt `.node` comes as one
 * optional package per platform; pnpm installs the host's), so a tarball packed on linux-x64 runs on
 * linux-x64 gateways (glibc and musl).
 *
 * Deterministic: names sorted, modes normalised (0755 dirs and executables, else 0644), and
 * `npm pack` writes every entry with the same fixed mtime; the same commit and build give the same
 * bytes (the SHA-256 Terraform checks). Nothing here reads pnpm's store or cache, or the registry.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (packages/deploy/{src,dist}/artifact -> ../../../..). */
export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

/** The package name users install. */
export const WG_TS_PACKAGE_NAME = "wg-ts";
/** The Node.js versions wg-ts supports (as the workspace's root package.json). */
export const WG_TS_NODE_ENGINE = ">=20.19";
/** The man page, relative to packages/wg-daemon and to the package root. */
export const WG_TS_MAN_PAGE = "man/wg-ts.8";
/** Built files the package cannot work without (relative to packages/wg-daemon), besides the `bin` targets. */
export const REQUIRED_BUILD_FILES = ["dist/cli.js", "systemd/wg-ts@.service", WG_TS_MAN_PAGE] as const;

/** Result of packing. */
export interface Artifact {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

/** One package of the production closure. */
export interface BundledPackage {
  readonly name: string;
  readonly version: string;
  /** Real path of the package directory on this machine. */
  readonly sourceDir: string;
  /** A workspace package (copied as package.json + its `files`), not one from node_modules. */
  readonly workspace: boolean;
  /** Only reached through optionalDependencies edges (platform builds). */
  readonly optional: boolean;
}

interface PackageJson {
  name?: string;
  version?: string;
  description?: string;
  license?: string;
  type?: string;
  main?: string;
  types?: string;
  bin?: string | Record<string, string>;
  files?: string[];
  exports?: unknown;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** SHA-256 (hex) of a buffer. */
export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The file name `npm pack` gives the package: `wg-ts-<version>.tgz`. */
export function wgTsTarballName(repoRoot: string = REPO_ROOT): string {
  return `${WG_TS_PACKAGE_NAME}-${readPackageJson(daemonDir(repoRoot)).version}.tgz`;
}

const daemonDir = (repoRoot: string): string => join(repoRoot, "packages", "wg-daemon");

function readPackageJson(dir: string): PackageJson {
  const file = join(dir, "package.json");
  if (!existsSync(file)) throw new Error(`cannot pack wg-ts: ${file} missing`);
  return JSON.parse(readFileSync(file, "utf8")) as PackageJson;
}

/** The daemon's `bin` map (`{ "wg-ts": "./bin/wg-ts.js", … }`). */
function binMap(pkg: PackageJson): Record<string, string> {
  if (typeof pkg.bin === "string") return { [WG_TS_PACKAGE_NAME]: pkg.bin };
  if (pkg.bin === undefined || Object.keys(pkg.bin).length === 0) throw new Error("cannot pack wg-ts: packages/wg-daemon/package.json has no `bin`");
  return pkg.bin;
}

/** Node's resolution of `name` from a real package directory: NAME in the nearest node_modules up the tree. */
function resolveFrom(realDir: string, name: string): string | undefined {
  for (let dir = realDir; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate);
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The daemon's production closure: dependencies, optionalDependencies that are installed, and
 * non-optional peerDependencies, followed through every package, sorted by name. Throws when a
 * dependency is not installed (run `pnpm install`) or when two versions of one name are needed
 * (a flat node_modules cannot hold both).
 */
export function productionClosure(repoRoot: string = REPO_ROOT): BundledPackage[] {
  const root = realpathSync(daemonDir(repoRoot));
  const found = new Map<string, { name: string; version: string; sourceDir: string; workspace: boolean; optional: boolean }>();
  const queue: { from: string; fromName: string }[] = [{ from: root, fromName: "@wg-ts/daemon" }];
  while (queue.length > 0) {
    const { from, fromName } = queue.shift()!;
    const pkg = readPackageJson(from);
    const edges: [string, boolean][] = [
      ...Object.keys(pkg.dependencies ?? {}).map((n): [string, boolean] => [n, false]),
      ...Object.keys(pkg.optionalDependencies ?? {}).map((n): [string, boolean] => [n, true]),
      ...Object.keys(pkg.peerDependencies ?? {})
        .filter((n) => pkg.peerDependenciesMeta?.[n]?.optional !== true)
        .map((n): [string, boolean] => [n, false]),
    ];
    for (const [name, optional] of edges) {
      const dir = resolveFrom(from, name);
      if (dir === undefined) {
        if (optional) continue; // another platform's build
        throw new Error(`cannot pack wg-ts: ${name} (a dependency of ${fromName}) is not installed; run \`pnpm install\``);
      }
      const version = readPackageJson(dir).version ?? "0.0.0";
      const known = found.get(name);
      if (known !== undefined) {
        if (known.sourceDir !== dir && known.version !== version) {
          throw new Error(`cannot pack wg-ts: two versions of ${name} in the production closure (${known.version}, ${version}); a flat bundle holds one`);
        }
        if (!optional) known.optional = false;
        continue;
      }
      found.set(name, { name, version, sourceDir: dir, workspace: !dir.split(sep).includes("node_modules"), optional });
      queue.push({ from: dir, fromName: name });
    }
  }
  return [...found.values()].sort((a, b) => compare(a.name, b.name));
}

/** Byte-wise string order (locale-independent, so every machine sorts alike). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Drops the workspace-only `source` export condition (it points at src/, which is not shipped). */
function withoutSourceCondition(exports: unknown): unknown {
  if (exports === null || typeof exports !== "object" || Array.isArray(exports)) return exports;
  return Object.fromEntries(
    Object.entries(exports as Record<string, unknown>)
      .filter(([key]) => key !== "source")
      .map(([key, value]) => [key, withoutSourceCondition(value)]),
  );
}

/** Whether a file of a workspace package's dist/ is the output of one of its src/ modules (no stale outputs). */
function isBuildOutput(packageDir: string, relPath: string): boolean {
  if (relPath.endsWith(".tsbuildinfo")) return false;
  if (!relPath.startsWith(`dist${sep}`)) return true;
  const stem = relPath.slice("dist".length + 1).replace(/(\.d\.ts|\.js)(\.map)?$/, "");
  return ["ts", "mts", "tsx"].some((ext) => existsSync(join(packageDir, "src", `${stem}.${ext}`)));
}

/** Copies a file or directory tree as real files (symlinks followed), keeping what `keep` accepts. */
function copyTree(from: string, to: string, keep: (rel: string, directory: boolean) => boolean, base: string = from): void {
  const stat = statSync(from);
  if (stat.isDirectory()) {
    mkdirSync(to, { recursive: true });
    for (const entry of readdirSync(from).sort(compare)) {
      const child = join(from, entry);
      if (!keep(relative(base, child), statSync(child).isDirectory())) continue;
      copyTree(child, join(to, entry), keep, base);
    }
    return;
  }
  if (!stat.isFile()) return; // sockets, fifos: never part of a package
  copyFileSync(from, to);
}

/** Every directory 0755, every file 0755 if it was executable by anyone, else 0644. */
function normaliseModes(path: string): void {
  const stat = lstatSync(path);
  if (stat.isDirectory()) {
    chmodSync(path, 0o755);
    for (const entry of readdirSync(path)) normaliseModes(join(path, entry));
  } else {
    chmodSync(path, stat.mode & 0o111 ? 0o755 : 0o644);
  }
}

/** Copies a workspace package: a package.json fit for npm and its `files` (build outputs only). */
function copyWorkspacePackage(pkgDir: string, to: string, versions: ReadonlyMap<string, string>): void {
  const pkg = readPackageJson(pkgDir);
  const exact = (deps: Record<string, string> | undefined): Record<string, string> | undefined =>
    deps === undefined ? undefined : Object.fromEntries(Object.keys(deps).sort(compare).flatMap((n) => (versions.has(n) ? [[n, versions.get(n)!]] : [])));
  const manifest: Record<string, unknown> = {
    name: pkg.name,
    version: pkg.version,
    description: pkg.description,
    license: pkg.license,
    type: pkg.type,
    main: pkg.main,
    types: pkg.types,
    exports: withoutSourceCondition(pkg.exports),
    files: pkg.files,
    dependencies: exact(pkg.dependencies),
    optionalDependencies: exact(pkg.optionalDependencies),
  };
  mkdirSync(to, { recursive: true });
  writeFileSync(join(to, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const entry of pkg.files ?? []) {
    const from = join(pkgDir, entry);
    if (!existsSync(from)) throw new Error(`cannot pack wg-ts: ${relative(resolve(pkgDir, "../.."), from)} missing (run \`pnpm build\`)`);
    copyTree(from, join(to, entry), (rel, directory) => directory || isBuildOutput(pkgDir, join(entry, rel)), from);
  }
}

/** What {@link stageWgTs} staged. */
export interface StagedWgTs {
  /** The package root (`<dir>/package`). */
  readonly dir: string;
  /** The generated package.json. */
  readonly manifest: Record<string, unknown>;
  readonly bundled: readonly BundledPackage[];
}

/**
 * Stages the wg-ts package under `<into>/package` from the built tree at `repoRoot`. Throws with
 * the reason (not built: "run pnpm build"; a dependency not installed: "run pnpm install").
 */
export function stageWgTs(into: string, repoRoot: string = REPO_ROOT): StagedWgTs {
  const daemon = daemonDir(repoRoot);
  const pkg = readPackageJson(daemon);
  const bins = binMap(pkg);
  const required = [...Object.values(bins).map((p) => p.replace(/^\.\//, "")), ...REQUIRED_BUILD_FILES];
  const missing = required.filter((f) => !existsSync(join(daemon, f)));
  if (missing.length > 0) {
    throw new Error(`cannot pack wg-ts: packages/wg-daemon/${missing.join(", packages/wg-daemon/")} missing (run \`pnpm build\`)`);
  }
  const bundled = productionClosure(repoRoot);
  const versions = new Map(bundled.map((p) => [p.name, p.version]));

  const dir = join(into, "package");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = [...new Set([...(pkg.files ?? ["dist", "bin"]), dirname(WG_TS_MAN_PAGE)])].sort(compare);
  for (const entry of files) {
    const from = join(daemon, entry);
    if (!existsSync(from)) throw new Error(`cannot pack wg-ts: packages/wg-daemon/${entry} missing (run \`pnpm build\`)`);
    copyTree(from, join(dir, entry), (rel, directory) => directory || isBuildOutput(daemon, join(entry, rel)), from);
  }
  for (const p of bundled) {
    const to = join(dir, "node_modules", p.name);
    if (p.workspace) copyWorkspacePackage(p.sourceDir, to, versions);
    // As installed: everything but node_modules/ (pnpm keeps only .bin/ or build leftovers there).
    else copyTree(p.sourceDir, to, (rel) => rel !== "node_modules", p.sourceDir);
  }

  const byKind = (optional: boolean): Record<string, string> =>
    Object.fromEntries(bundled.filter((p) => p.optional === optional).map((p) => [p.name, p.version]));
  const optionalDependencies = byKind(true);
  const manifest: Record<string, unknown> = {
    name: WG_TS_PACKAGE_NAME,
    version: pkg.version,
    description: pkg.description,
    license: pkg.license,
    type: pkg.type ?? "module",
    bin: Object.fromEntries(Object.keys(bins).sort(compare).map((name) => [name, bins[name]])),
    man: [`./${WG_TS_MAN_PAGE}`],
    exports: withoutSourceCondition(pkg.exports),
    files,
    engines: { node: WG_TS_NODE_ENGINE },
    os: ["linux"],
    dependencies: byKind(false),
    ...(Object.keys(optionalDependencies).length > 0 ? { optionalDependencies } : {}),
    bundleDependencies: bundled.map((p) => p.name),
  };
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  normaliseModes(dir);
  return { dir, manifest, bundled };
}

/**
 * Packs the built wg-ts into `outFile` (any name; `wgTsTarballName()` is npm's): stages the package
 * in a temporary directory and runs `npm pack` on it. Throws with the reason; never packs a stale or
 * partial tree silently.
 */
export function packWgTs(outFile: string, repoRoot: string = REPO_ROOT): Artifact {
  const staging = mkdtempSync(join(tmpdir(), "wg-ts-pack-"));
  try {
    const staged = stageWgTs(staging, repoRoot);
    const dest = join(staging, "out");
    mkdirSync(dest);
    // --ignore-scripts: the staged package has none, and a user's npmrc must not add any. The
    // registry is never contacted for a directory; npm's cache goes to the staging directory.
    const npm = spawnSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", dest, staged.dir], {
      cwd: staging,
      encoding: "utf8",
      env: { ...process.env, npm_config_cache: join(staging, "npm-cache"), npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" },
      maxBuffer: 64 * 1024 * 1024,
    });
    if (npm.error) throw new Error(`cannot pack wg-ts: npm: ${npm.error.message} (npm comes with Node.js)`);
    if (npm.status !== 0) throw new Error(`cannot pack wg-ts: npm pack failed (${npm.status}): ${npm.stderr.trim().slice(-2000)}`);
    const [result] = JSON.parse(npm.stdout) as { filename: string }[];
    if (result === undefined) throw new Error("cannot pack wg-ts: npm pack reported no tarball");
    const packed = join(dest, result.filename.replace(/^@[^/]+\//, "").replace(/\//g, "-"));
    const bytes = readFileSync(packed);
    mkdirSync(dirname(resolve(outFile)), { recursive: true });
    renameOrCopy(packed, outFile);
    return { path: outFile, sha256: sha256Hex(bytes), bytes: bytes.length };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function renameOrCopy(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch {
    copyFileSync(from, to); // another file system
  }
}
