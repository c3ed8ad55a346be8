/**
 * WireGuard endpoints by implementation, brought up inside a network namespace:
 *
 *   wireguard-go   `wireguard-go -f IF` + `wg setconf` + ip (the native reference peer)
 *   wg-ts          `node packages/wg-daemon/bin/wg-ts.js up IF.conf` (wg-quick style config): the default
 *                  data plane (src/dataplane/: the pipelines on the main thread while light, on worker threads under load)
 *   wg-ts-workers  the same with WG_TS_WORKERS=always: the worker threads from the start
 *   wg-ts-main     the same with WG_TS_WORKERS=never: the main thread's pipelines only
 *   wg-ts-baseline `wg-ts up` of another built checkout (`pnpm bench --baseline DIR`): before/after a change in one run
 *
 * Every endpoint exposes the pids whose CPU time and memory the harness samples.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { publicKeyOf } from "@wg-ts/core";
import { background, have, nsRun, run, sleep, type Background } from "./sys.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const WG_TS_BIN = join(ROOT, "packages/wg-daemon/bin/wg-ts.js");

export type ImplName = "wireguard-go" | "wg-ts" | "wg-ts-workers" | "wg-ts-main" | "wg-ts-baseline";
export const IMPLS: readonly ImplName[] = ["wireguard-go", "wg-ts", "wg-ts-workers", "wg-ts-main", "wg-ts-baseline"];
/** The environment of each `wg-ts up` variant. */
const WG_TS_ENV: Partial<Record<ImplName, Record<string, string>>> = {
  "wg-ts": {},
  "wg-ts-workers": { WG_TS_WORKERS: "always" },
  "wg-ts-main": { WG_TS_WORKERS: "never" },
  "wg-ts-baseline": {},
};

/** The checkout `wg-ts-baseline` runs (`pnpm bench --baseline DIR`), or null. */
let baselineRoot: string | null = null;
export function useBaseline(dir: string): void {
  baselineRoot = resolve(dir);
}
/** The wg-ts CLI an implementation runs. */
const wgTsBin = (impl: ImplName): string => (impl === "wg-ts-baseline" && baselineRoot !== null ? join(baselineRoot, "packages/wg-daemon/bin/wg-ts.js") : WG_TS_BIN);
export const isImplName = (s: string | undefined): s is ImplName => s !== undefined && (IMPLS as readonly string[]).includes(s);

/** The wireguard-go binary the harness runs (`pnpm bench --wireguard-go PATH`; default `wireguard-go` on PATH). */
let wireguardGoBin = "wireguard-go";
export function useWireguardGo(path: string): void {
  wireguardGoBin = path;
}

/** What each implementation is in this run, for the report: binary and version. */
export function implementationVersions(): Record<string, string> {
  const go = run(wireguardGoBin, ["--version"], { allowFail: true }).trim().split("\n")[0] || "not found";
  const pkg = JSON.parse(readFileSync(join(ROOT, "packages/wg-daemon/package.json"), "utf8")) as { version: string };
  const rev = (dir: string): string => run("git", ["-C", dir, "rev-parse", "--short", "HEAD"], { allowFail: true }).trim() || "?";
  return {
    "wireguard-go": `${wireguardGoBin}: ${go}`,
    "wg-ts": `wg-ts v${pkg.version} on Node ${process.version} (${rev(ROOT)}${run("git", ["-C", ROOT, "status", "--porcelain", "--untracked-files=no"], { allowFail: true }).trim() ? " + changes" : ""})`,
    ...(baselineRoot !== null ? { "wg-ts-baseline": `${baselineRoot} (${rev(baselineRoot)})` } : {}),
  };
}

/** One side of a tunnel: where it lives and what it talks to. */
export interface SideSpec {
  ns: string;
  ifname: string;
  privateKey: Uint8Array;
  listenPort: number;
  /** Tunnel address with prefix, e.g. 10.214.0.1/24. */
  address: string;
  mtu: number;
  peer: { publicKey: Uint8Array; endpoint: string; allowedIps: string };
  /** More [Peer] sections (`pnpm bench --peers N`), added with `wg addconf` once the tunnel is up: no routes. */
  extraPeers?: string;
}

export interface RunningEndpoint {
  impl: ImplName;
  /** Processes to sample (the daemon; empty if it could not be found). */
  pids: number[];
  log(): string;
  stop(): Promise<void>;
}

const b64 = (k: Uint8Array): string => Buffer.from(k).toString("base64");

/** A fresh X25519 key pair. */
export function keyPair(): { privateKey: Uint8Array; publicKey: Uint8Array } {
  const privateKey = new Uint8Array(randomBytes(32));
  return { privateKey, publicKey: publicKeyOf(privateKey) };
}

/** Why an implementation cannot run here, or null when it can. */
export function unavailable(impl: ImplName): string | null {
  switch (impl) {
    case "wireguard-go":
      if (!(wireguardGoBin.includes("/") ? existsSync(wireguardGoBin) : have(wireguardGoBin)) || !have("wg"))
        return `${wireguardGoBin}/wg missing: apt-get install -y --no-install-recommends wireguard-go wireguard-tools`;
      return null;
    case "wg-ts":
    case "wg-ts-workers":
    case "wg-ts-main":
    case "wg-ts-baseline": {
      if (impl === "wg-ts-baseline" && baselineRoot === null) return "no --baseline DIR given";
      const bin = wgTsBin(impl);
      if (!existsSync(bin)) return `${bin} missing`;
      const help = run("node", [bin, "--help"], { allowFail: true });
      return /\bup\b/.test(help) ? null : "`wg-ts up` is not implemented yet (packages/wg-daemon)";
    }
  }
}

async function waitFor(what: string, ok: () => boolean, bg: Background | null, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ok()) return;
    if (bg?.exited()) throw new Error(`${what}: process exited\n${bg.log()}`);
    await sleep(50);
  }
  throw new Error(`${what}: timed out${bg ? `\n${bg.log()}` : ""}`);
}

const linkExists = (ns: string, ifname: string): boolean =>
  nsRun(ns, ["ip", "link", "show", ifname], { allowFail: true }).includes(ifname);

/** Adds the tunnel address (if the implementation did not) and brings the link up. */
function configureLink(s: SideSpec): void {
  const addrs = nsRun(s.ns, ["ip", "-o", "addr", "show", "dev", s.ifname], { allowFail: true });
  if (!addrs.includes(s.address.split("/")[0]!)) nsRun(s.ns, ["ip", "addr", "replace", s.address, "dev", s.ifname]);
  nsRun(s.ns, ["ip", "link", "set", s.ifname, "mtu", String(s.mtu), "up"]);
}

/** Pid of the process listening on a UAPI socket (when a daemon forks away from our child). */
function uapiOwner(ifname: string): number | null {
  const out = run("ss", ["-xlpn"], { allowFail: true });
  const line = out.split("\n").find((l) => l.includes(`/var/run/wireguard/${ifname}.sock`));
  const m = line ? /pid=(\d+)/.exec(line) : null;
  return m ? Number(m[1]) : null;
}

export async function startEndpoint(impl: ImplName, s: SideSpec): Promise<RunningEndpoint> {
  const dir = mkdtempSync(join(tmpdir(), "wgb-bench-"));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    switch (impl) {
      case "wireguard-go":
        return await startWireguardGo(s, dir, cleanup);
      case "wg-ts":
      case "wg-ts-workers":
      case "wg-ts-main":
      case "wg-ts-baseline":
        return await startWgTs(impl, s, dir, cleanup);
    }
  } catch (e) {
    cleanup();
    throw e;
  }
}

/** `wg addconf` of the side's extra peers (none unless `--peers`). */
function addExtraPeers(s: SideSpec, dir: string): void {
  if (!s.extraPeers) return;
  const file = join(dir, "extra-peers.conf");
  writeFileSync(file, s.extraPeers, { mode: 0o600 });
  nsRun(s.ns, ["wg", "addconf", s.ifname, file]);
}

function peerSection(s: SideSpec): string {
  return `[Peer]\nPublicKey = ${b64(s.peer.publicKey)}\nEndpoint = ${s.peer.endpoint}\nAllowedIPs = ${s.peer.allowedIps}\n`;
}

/** A UAPI daemon configured with `wg setconf` + ip: wireguard-go itself, or another command like it. */
async function startWireguardGo(s: SideSpec, dir: string, cleanup: () => void): Promise<RunningEndpoint> {
  const impl: ImplName = "wireguard-go";
  const bg = background("ip", ["netns", "exec", s.ns, wireguardGoBin, "-f", s.ifname], {
    WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1",
    LOG_LEVEL: "error",
  });
  const sock = `/var/run/wireguard/${s.ifname}.sock`;
  await waitFor(`${impl} ${s.ifname}`, () => existsSync(sock) && linkExists(s.ns, s.ifname), bg);
  const conf = join(dir, `${s.ifname}.conf`);
  writeFileSync(conf, `[Interface]\nPrivateKey = ${b64(s.privateKey)}\nListenPort = ${s.listenPort}\n\n${peerSection(s)}`, {
    mode: 0o600,
  });
  nsRun(s.ns, ["wg", "setconf", s.ifname, conf]);
  configureLink(s);
  addExtraPeers(s, dir);
  return {
    impl,
    pids: [bg.pid],
    log: bg.log,
    async stop() {
      await bg.stop();
      cleanup();
    },
  };
}

async function startWgTs(impl: ImplName, s: SideSpec, dir: string, cleanup: () => void): Promise<RunningEndpoint> {
  // wg-quick names the interface after the config file.
  const conf = join(dir, `${s.ifname}.conf`);
  writeFileSync(
    conf,
    `[Interface]\nPrivateKey = ${b64(s.privateKey)}\nListenPort = ${s.listenPort}\nAddress = ${s.address}\nMTU = ${s.mtu}\n\n${peerSection(s)}`,
    { mode: 0o600 },
  );
  const bg = background(
    "ip",
    ["netns", "exec", s.ns, "node", wgTsBin(impl), "up", conf, "--foreground"],
    WG_TS_ENV[impl] ?? {},
  );
  // `up` adds the address and sets the link up itself: wait for that instead of racing it (adding
  // the address first makes its own `ip address add` fail and `up` tear the interface down).
  const configured = (): boolean => {
    const a = nsRun(s.ns, ["ip", "-o", "addr", "show", "dev", s.ifname], { allowFail: true });
    const l = nsRun(s.ns, ["ip", "-o", "link", "show", "dev", s.ifname], { allowFail: true });
    return a.includes(s.address.split("/")[0]!) && /[<,]UP[,>]/.test(l);
  };
  await waitFor(`wg-ts ${s.ifname}`, configured, bg.exited() ? null : bg, 15_000).catch(() => {
    if (!linkExists(s.ns, s.ifname)) throw new Error(`wg-ts ${s.ifname}: no interface\n${bg.log()}`);
    configureLink(s); // an older `up` that does not configure addresses
  });
  await sleep(200);
  addExtraPeers(s, dir);
  const pid = bg.exited() ? uapiOwner(s.ifname) : bg.pid;
  return {
    impl,
    pids: pid === null ? [] : [pid],
    log: bg.log,
    async stop() {
      if (!bg.exited()) await bg.stop();
      else {
        nsRun(s.ns, ["node", WG_TS_BIN, "down", conf], { allowFail: true });
        if (pid !== null) run("kill", [String(pid)], { allowFail: true });
      }
      nsRun(s.ns, ["ip", "link", "del", s.ifname], { allowFail: true });
      cleanup();
    },
  };
}
