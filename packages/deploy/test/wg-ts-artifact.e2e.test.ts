/**
 * The wg-ts npm tarball (src/artifact/pack.ts), as a new user gets it (root, `pnpm build` first):
 *
 * - packed twice by `wg-deploy pack` from this built tree with HOME, the npm cache, the pnpm store and
 *   the XDG folders pointing at fresh empty directories, the registry unreachable (a closed port on
 *   loopback) and different staging directories: byte-identical, plain files only, every dependency
 *   bundled, no build leftovers;
 * - installed with `npm install -g --prefix P` with a new empty cache, `npm_config_offline=true` and the
 *   registry unreachable: every `bin` of the daemon's package.json lands in P/bin, the man page in
 *   P/share/man/man8, the systemd unit in the package; `wg-ts genkey | wg-ts pubkey` agrees with `wg`;
 * - the installed `wg-ts up` runs a tunnel to a Debian wireguard-go peer across two namespaces (pings
 *   both ways, handshake seen by the stock `wg`), and the daemon that carries it is the installed one;
 * - a tree without the build is refused, naming the missing files and `pnpm build`.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanLeftovers,
  dump,
  inNs,
  makePair,
  pidsOf,
  ping,
  run,
  sh,
  tempDir,
  wgQuickGo,
  writeConf,
} from "../../wg-daemon/test/support/lab.js";
import { packWgTs, REPO_ROOT, sha256Hex } from "../src/artifact/pack.js";

const DAEMON = join(REPO_ROOT, "packages", "wg-daemon");
const daemonManifest = JSON.parse(readFileSync(join(DAEMON, "package.json"), "utf8")) as { version: string; bin: Record<string, string> };
const WG_DEPLOY = join(REPO_ROOT, "packages", "deploy", "bin", "wg-deploy.js");
/** Nothing listens here: any registry request fails at once. */
const NO_REGISTRY = "http://127.0.0.1:9/";

const work = tempDir("wg-ts-artifact-");
const prefix = join(work, "prefix");
const installed = join(prefix, "lib", "node_modules", "wg-ts");

/** An environment with a fresh, empty HOME/cache/store/XDG under work/NAME, offline, no registry. */
function freshEnv(name: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const base = join(work, name);
  for (const d of ["home", "npm-cache", "pnpm-store", "cache", "data", "state", "tmp"]) mkdirSync(join(base, d), { recursive: true });
  return {
    PATH: `${dirname(process.execPath)}${delimiter}${process.env["PATH"] ?? "/usr/bin:/bin"}`,
    HOME: join(base, "home"),
    XDG_CACHE_HOME: join(base, "cache"),
    XDG_DATA_HOME: join(base, "data"),
    XDG_STATE_HOME: join(base, "state"),
    TMPDIR: join(base, "tmp"),
    npm_config_cache: join(base, "npm-cache"),
    npm_config_store_dir: join(base, "pnpm-store"),
    npm_config_registry: NO_REGISTRY,
    npm_config_offline: "true",
    npm_config_update_notifier: "false",
    ...extra,
  };
}

/** `wg-deploy pack --out DIR` in a fresh environment; returns the tarball's path. */
function packFresh(name: string): string {
  const out = join(work, name, "out");
  const env = freshEnv(name);
  const r = spawnSync(process.execPath, [WG_DEPLOY, "pack", "--out", out], { encoding: "utf8", env, cwd: env["HOME"] });
  expect(r.stderr).toMatch(/wrote .*wg-ts-\d+\.\d+\.\d+\.tgz \(\d+ bytes, sha256 [0-9a-f]{64}\)/);
  expect(r.status, r.stderr).toBe(0);
  const file = r.stdout.trim();
  expect(file).toBe(join(out, `wg-ts-${daemonManifest.version}.tgz`));
  return file;
}

let tarball = "";
let listing: string[] = [];

beforeAll(() => {
  tarball = packFresh("pack-1");
  // tar tv: mode, owner, size, date, time, name
  listing = sh("tar", ["-tvzf", tarball]).trim().split("\n");
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe("wg-ts-<version>.tgz: packing", () => {
  it("is byte-identical when packed again from other empty caches and another staging directory", () => {
    const again = packFresh("pack-2");
    expect(sha256Hex(readFileSync(again))).toBe(sha256Hex(readFileSync(tarball)));
    expect(readFileSync(again).equals(readFileSync(tarball))).toBe(true);
  });

  it("holds plain files and directories only, owned by 0/0, with one fixed mtime", () => {
    expect(listing.length).toBeGreaterThan(100);
    for (const line of listing) expect(line, line).toMatch(/^[-d]r[-w][-x]r-[-x]r-[-x] 0\/0 /);
    expect(new Set(listing.map((l) => l.split(/\s+/).slice(3, 5).join(" "))).size).toBe(1);
  });

  it("bundles every dependency, with the daemon's bin map, the man page and the unit, and no build leftovers", () => {
    const names = listing.map((l) => l.split(/\s+/).slice(5).join(" "));
    const manifest = JSON.parse(sh("tar", ["-xzOf", tarball, "package/package.json"])) as {
      name: string;
      version: string;
      bin: Record<string, string>;
      man: string[];
      engines: { node: string };
      dependencies: Record<string, string>;
      optionalDependencies?: Record<string, string>;
      bundleDependencies: string[];
    };
    expect(manifest.name).toBe("wg-ts");
    expect(manifest.version).toBe(daemonManifest.version);
    expect(manifest.bin).toEqual(daemonManifest.bin);
    expect(manifest.engines.node).toBe(">=20.19");
    expect(manifest.man).toEqual(["./man/wg-ts.8"]);
    const deps = { ...manifest.dependencies, ...manifest.optionalDependencies };
    expect(Object.keys(deps)).toEqual(expect.arrayContaining(["@wg-ts/core", "@noble/ciphers", "@noble/curves", "@noble/hashes", "commander", "koffi"]));
    expect([...manifest.bundleDependencies].sort()).toEqual(Object.keys(deps).sort());
    for (const [name, version] of Object.entries(deps)) {
      expect(version, name).toMatch(/^\d+\.\d+\.\d+$/);
      const bundled = JSON.parse(sh("tar", ["-xzOf", tarball, `package/node_modules/${name}/package.json`])) as { version: string; exports?: unknown; dependencies?: Record<string, string> };
      expect(bundled.version, name).toBe(version);
      expect(JSON.stringify(bundled), name).not.toMatch(/"source"|workspace:/);
    }
    for (const bin of Object.values(daemonManifest.bin)) expect(names).toContain(`package/${bin.replace(/^\.\//, "")}`);
    expect(names).toContain("package/man/wg-ts.8");
    expect(names).toContain("package/systemd/wg-ts@.service");
    expect(names).toContain("package/dist/cli.js");
    expect(names).toContain("package/node_modules/@wg-ts/core/dist/index.js");
    expect(names.filter((n) => /\.tsbuildinfo$|\/node_modules\/\.bin\/|^package\/src\/|\/@wg-ts\/core\/src\//.test(n))).toEqual([]);
  });

  it("refuses a tree without the build, naming the missing files and `pnpm build`", () => {
    const fakeRoot = join(work, "unbuilt");
    mkdirSync(join(fakeRoot, "packages", "wg-daemon"), { recursive: true });
    copyFileSync(join(DAEMON, "package.json"), join(fakeRoot, "packages", "wg-daemon", "package.json"));
    expect(() => packWgTs(join(fakeRoot, "x.tgz"), fakeRoot)).toThrow(
      /cannot pack wg-ts: packages\/wg-daemon\/bin\/wg-ts\.js, .*packages\/wg-daemon\/dist\/cli\.js, packages\/wg-daemon\/systemd\/wg-ts@\.service, packages\/wg-daemon\/man\/wg-ts\.8 missing \(run `pnpm build`\)/,
    );
    expect(existsSync(join(fakeRoot, "x.tgz"))).toBe(false);
  });
});

describe("npm install -g of the tarball, offline, into an empty prefix", () => {
  let env: NodeJS.ProcessEnv = {};

  beforeAll(() => {
    env = freshEnv("install", { PATH: `${join(prefix, "bin")}${delimiter}${dirname(process.execPath)}${delimiter}${process.env["PATH"] ?? "/usr/bin:/bin"}` });
    const r = spawnSync("npm", ["install", "--global", "--prefix", prefix, "--no-audit", "--no-fund", tarball], { encoding: "utf8", env, cwd: env["HOME"] });
    // offline + a registry that refuses connections: any fetch would fail the install.
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it("puts every bin of the daemon on PATH, the man page under share/man/man8 and the unit in the package", () => {
    for (const [name, target] of Object.entries(daemonManifest.bin)) {
      const link = join(prefix, "bin", name);
      expect(lstatSync(link).isSymbolicLink(), name).toBe(true);
      expect(realpathSync(link)).toBe(join(realpathSync(installed), target.replace(/^\.\//, "")));
    }
    const man = join(prefix, "share", "man", "man8", "wg-ts.8");
    expect(readFileSync(man, "utf8")).toBe(readFileSync(join(DAEMON, "man", "wg-ts.8"), "utf8"));
    expect(readFileSync(join(installed, "systemd", "wg-ts@.service"), "utf8")).toBe(readFileSync(join(DAEMON, "systemd", "wg-ts@.service"), "utf8"));
    const help = spawnSync("wg-ts", ["--help"], { encoding: "utf8", env, cwd: env["HOME"] });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("genkey");
  });

  it("needs nothing outside the prefix: every bundled module resolves inside the installed package", () => {
    const resolved = spawnSync(
      process.execPath,
      ["--input-type=module", "-e", "for (const m of ['@wg-ts/core', 'commander', 'koffi', '@noble/curves/ed25519.js']) console.log(import.meta.resolve(m))"],
      { encoding: "utf8", cwd: join(installed, "dist"), env },
    );
    expect(resolved.status, resolved.stderr).toBe(0);
    const lines = resolved.stdout.trim().split("\n");
    expect(lines).toHaveLength(4);
    for (const url of lines) expect(url.startsWith(`file://${join(installed, "node_modules")}/`), url).toBe(true);
    const koffi = spawnSync(process.execPath, ["--input-type=module", "-e", "const k = (await import('koffi')).default; console.log(k.version)"], { encoding: "utf8", cwd: installed, env });
    expect(koffi.stdout.trim(), koffi.stderr).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("wg-ts genkey | wg-ts pubkey gives the public key wg computes", () => {
    const r = spawnSync("sh", ["-c", 'priv=$(wg-ts genkey) && printf "%s\\n" "$priv" | wg-ts pubkey && printf "%s\\n" "$priv" | wg pubkey'], { encoding: "utf8", env });
    expect(r.status, r.stderr).toBe(0);
    const [ours, theirs] = r.stdout.trim().split("\n");
    expect(ours).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(ours).toBe(theirs);
  });

  describe("a tunnel from the installed wg-ts to wireguard-go", () => {
    const NS_A = "wgts-pk7a"; // the installed wg-ts
    const NS_B = "wgts-pk7b"; // Debian's wireguard-go
    const IF_A = "wgpk7a";
    const IF_B = "wgpk7b";
    const A4 = "192.168.157.1";
    const B4 = "192.168.157.2";
    const confA = join(work, `${IF_A}.conf`);
    const confB = join(work, `${IF_B}.conf`);
    const wgTsInstalled = (...args: string[]) => inNs(NS_A, join(prefix, "bin", "wg-ts"), args, { env });

    beforeAll(() => {
      cleanLeftovers([NS_A, NS_B], [IF_A, IF_B]);
      makePair(NS_A, NS_B, ["10.157.0.1", "10.157.0.2"], ["fd01:157::1", "fd01:157::2"]);
      const ka = sh("wg-ts", ["genkey"], { env }).trim();
      const kb = sh("wg-ts", ["genkey"], { env }).trim();
      const pub = (k: string) => sh("wg", ["pubkey"], { input: `${k}\n` }).trim();
      writeConf(confA, `[Interface]\nPrivateKey = ${ka}\nListenPort = 51571\nAddress = ${A4}/24\n\n[Peer]\nPublicKey = ${pub(kb)}\nAllowedIPs = ${B4}/32\nEndpoint = 10.157.0.2:51572\n`);
      writeConf(confB, `[Interface]\nPrivateKey = ${kb}\nListenPort = 51572\nAddress = ${B4}/24\n\n[Peer]\nPublicKey = ${pub(ka)}\nAllowedIPs = ${A4}/32\nEndpoint = 10.157.0.1:51571\n`);
      const up = wgTsInstalled("up", confA);
      expect(up.stderr).not.toMatch(/PrivateKey = |[A-Za-z0-9+/]{43}=/);
      expect(up.status, up.stderr).toBe(0);
      const go = wgQuickGo(NS_B, "up", confB);
      expect(go.status, go.stderr).toBe(0);
    });

    afterAll(() => {
      wgTsInstalled("down", confA);
      wgQuickGo(NS_B, "down", confB);
      cleanLeftovers([NS_A, NS_B], [IF_A, IF_B]);
    });

    it("pings both ways, the stock wg sees the handshake, and the daemon is the installed one", () => {
      expect(ping(NS_A, B4, { count: 3 })).toBe(true);
      expect(ping(NS_B, A4, { count: 3 })).toBe(true);
      expect(ping(NS_A, B4, { size: 1420 - 28 })).toBe(true);
      const peer = dump(NS_A, IF_A).peers[0];
      expect(peer?.handshake ?? 0).toBeGreaterThan(1_600_000_000);
      expect(peer?.rx ?? 0).toBeGreaterThan(0);
      expect(pidsOf(`${join(realpathSync(installed), "bin", "wg-ts.js")} daemon ${IF_A}$`)).toHaveLength(1);
      expect(pidsOf(`${REPO_ROOT}packages/wg-daemon/bin/wg-ts.js daemon ${IF_A}`)).toEqual([]);
    });

    it("wg-ts down takes it away", () => {
      const down = wgTsInstalled("down", confA);
      expect(down.status, down.stderr).toBe(0);
      expect(run("ip", ["-n", NS_A, "link", "show", "dev", IF_A]).status).not.toBe(0);
    });
  });
});
