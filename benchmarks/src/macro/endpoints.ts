/**
 * WireGuard endpoints by implementation, brought up inside a network namespace:
 *
 *   wireguard-go   `wireguard-go -f IF` + `wg setconf` + ip (the native reference peer)
 *   wg-ts          `node packages/wg-daemon/bin/wg-ts.js up IF.conf` (wg-quick style config): the default
 *                  data plane (src/fast/: main-thread I/O while light, worker threads under load)
 *   wg-ts-workers  the same with WG_TS_WORKERS=always: the worker threads from the start
 *   wg-ts-classic  the same with WG_TS_FASTPATH=0: the first main-thread loop (node:dgram, no offload)
 *   wg-ts-fastd    the wg-ts Engine + wg-core Device on the fast data plane (packages/wg-daemon/src/fast/
 *                  fastd.ts: worker threads, TSO/GRO, UDP GSO/GRO), configured like wireguard-go
 *   wg-ts-fast     the fast-path prototype forwarder (packages/wg-daemon/src/fast/forwarder.ts):
 *                  fixed transport keys, no handshake — only pairs with itself; it measures the
 *                  ceiling of the multi-threaded data plane, not a complete WireGuard.
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
const FAST_BIN = join(ROOT, "packages/wg-daemon/dist/fast/forwarder.js");
const FASTD_BIN = join(ROOT, "packages/wg-daemon/dist/fast/fastd.js");

export type BaseImpl = "wireguard-go" | "wg-ts" | "wg-ts-workers" | "wg-ts-classic" | "wg-ts-fastd" | "wg-ts-fast";
export const IMPLS: readonly BaseImpl[] = ["wireguard-go", "wg-ts", "wg-ts-workers", "wg-ts-classic", "wg-ts-fastd", "wg-ts-fast"];
/** The environment of each `wg-ts up` variant. */
const WG_TS_ENV: Partial<Record<BaseImpl, Record<string, string>>> = {
  "wg-ts": {},
  "wg-ts-workers": { WG_TS_WORKERS: "always" },
  "wg-ts-classic": { WG_TS_FASTPATH: "0" },
};
/**
 * An implementation name, optionally with variant flags for wg-ts-fast: "wg-ts-fast/no-offload/batch=8"
 * runs the forwarder with `--no-offload --batch 8` (research comparisons side by side in one run).
 */
export type ImplName = BaseImpl | `wg-ts-fast/${string}`;
export const baseOf = (i: ImplName): BaseImpl => i.split("/")[0] as BaseImpl;
export const isImplName = (s: string | undefined): s is ImplName =>
  s !== undefined && IMPLS.includes(s.split("/")[0] as BaseImpl) && (!s.includes("/") || s.startsWith("wg-ts-fast/"));

/** The wireguard-go binary the harness runs (`pnpm bench --wireguard-go PATH`; default `wireguard-go` on PATH). */
let wireguardGoBin = "wireguard-go";
export function useWireguardGo(path: string): void {
  wireguardGoBin = path;
}

/** What each implementation is in this run, for the report: binary and version. */
export function implementationVersions(): Record<string, string> {
  const go = run(wireguardGoBin, ["--version"], { allowFail: true }).trim().split("\n")[0] || "not found";
  const pkg = JSON.parse(readFileSync(join(ROOT, "packages/wg-daemon/package.json"), "utf8")) as { version: string };
  return { "wireguard-go": `${wireguardGoBin}: ${go}`, "wg-ts": `wg-ts v${pkg.version} on Node ${process.version}` };
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
  /** Only wg-ts-fast: fixed transport keys (no handshake). */
  fast?: { sendKey: Uint8Array; recvKey: Uint8Array; sendIndex: number; recvIndex: number };
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
  switch (baseOf(impl)) {
    case "wireguard-go":
      if (!(wireguardGoBin.includes("/") ? existsSync(wireguardGoBin) : have(wireguardGoBin)) || !have("wg"))
        return `${wireguardGoBin}/wg missing: apt-get install -y --no-install-recommends wireguard-go wireguard-tools`;
      return null;
    case "wg-ts":
    case "wg-ts-workers":
    case "wg-ts-classic": {
      if (!existsSync(WG_TS_BIN)) return `${WG_TS_BIN} missing`;
      const help = run("node", [WG_TS_BIN, "--help"], { allowFail: true });
      return /\bup\b/.test(help) ? null : "`wg-ts up` is not implemented yet (packages/wg-daemon)";
    }
    case "wg-ts-fast":
      return existsSync(FAST_BIN) ? null : `${FAST_BIN} missing (pnpm build)`;
    case "wg-ts-fastd":
      if (!have("wg")) return "wg missing: apt-get install -y --no-install-recommends wireguard-tools";
      return existsSync(FASTD_BIN) ? null : `${FASTD_BIN} missing (pnpm build)`;
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
    switch (baseOf(impl)) {
      case "wireguard-go":
        return await startWireguardGo(s, dir, cleanup);
      case "wg-ts-fastd":
        return await startWireguardGo(s, dir, cleanup, ["node", FASTD_BIN, s.ifname], "wg-ts-fastd");
      case "wg-ts":
      case "wg-ts-workers":
      case "wg-ts-classic":
        return await startWgTs(baseOf(impl), s, dir, cleanup);
      case "wg-ts-fast":
        return await startFast(impl, s, cleanup);
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
async function startWireguardGo(
  s: SideSpec,
  dir: string,
  cleanup: () => void,
  command: string[] = [wireguardGoBin, "-f", s.ifname],
  impl: ImplName = "wireguard-go",
): Promise<RunningEndpoint> {
  const bg = background("ip", ["netns", "exec", s.ns, ...command], {
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

async function startWgTs(impl: BaseImpl, s: SideSpec, dir: string, cleanup: () => void): Promise<RunningEndpoint> {
  // wg-quick names the interface after the config file.
  const conf = join(dir, `${s.ifname}.conf`);
  writeFileSync(
    conf,
    `[Interface]\nPrivateKey = ${b64(s.privateKey)}\nListenPort = ${s.listenPort}\nAddress = ${s.address}\nMTU = ${s.mtu}\n\n${peerSection(s)}`,
    { mode: 0o600 },
  );
  const bg = background(
    "ip",
    ["netns", "exec", s.ns, "node", WG_TS_BIN, "up", conf, "--foreground"],
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

async function startFast(impl: ImplName, s: SideSpec, cleanup: () => void): Promise<RunningEndpoint> {
  const f = s.fast;
  if (!f) throw new Error("wg-ts-fast needs fixed transport keys");
  const hex = (k: Uint8Array): string => Buffer.from(k).toString("hex");
  const args = [
    "--tun", s.ifname, "--mtu", String(s.mtu), "--listen", String(s.listenPort), "--peer", s.peer.endpoint,
    "--send-key", hex(f.sendKey), "--recv-key", hex(f.recvKey),
    "--send-index", String(f.sendIndex), "--recv-index", String(f.recvIndex),
  ];
  const extra = impl
    .split("/")
    .slice(1)
    .flatMap((f) => (f.includes("=") ? [`--${f.slice(0, f.indexOf("="))}`, f.slice(f.indexOf("=") + 1)] : [`--${f}`]));
  const bg = background("ip", ["netns", "exec", s.ns, "node", FAST_BIN, ...args, ...extra]);
  await waitFor(`wg-ts-fast ${s.ifname}`, () => linkExists(s.ns, s.ifname), bg);
  configureLink(s);
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
