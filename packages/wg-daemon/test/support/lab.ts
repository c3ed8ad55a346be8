/**
 * Helpers for the e2e suites: network namespaces joined by a veth pair (never connected to the
 * host's network), configs written 0600 into a temp dir, the built `wg-ts` CLI, wireguard-go
 * through wg-quick, and the stock `wg` tool.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const WG_TS = fileURLToPath(new URL("../../bin/wg-ts.js", import.meta.url));
/**
 * The wireguard-go the interop suites run: WG_TS_WIREGUARD_GO (a path, e.g. the 0.0.20250522
 * build .ci/run passes) or Debian's `wireguard-go` on PATH.
 */
export const WIREGUARD_GO = process.env["WG_TS_WIREGUARD_GO"] || "wireguard-go";
const GO_ENV = { ...process.env, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1", WG_QUICK_USERSPACE_IMPLEMENTATION: WIREGUARD_GO };

export interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a command (no shell) and returns its status and output. */
export function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Result {
  const r = spawnSync(cmd, args, { encoding: "utf8", input: opts.input ?? "", env: opts.env ?? process.env, timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** Runs a command and throws with its stderr when it fails. */
export function sh(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} -> ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export function inNs(ns: string, cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Result {
  return run("ip", ["netns", "exec", ns, cmd, ...args], opts);
}

export function nsSh(ns: string, cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return sh("ip", ["netns", "exec", ns, cmd, ...args], opts);
}

/** The built `wg-ts` CLI in namespace `ns`, with `env` (default: this process's environment). */
export function wgTs(ns: string, args: string[], env: NodeJS.ProcessEnv = process.env): Result {
  return inNs(ns, process.execPath, [WG_TS, ...args], { env });
}

/** The worker threads from the start (`WG_TS_WORKERS=always`), for the suites that test the workers (fastpath-tiers.e2e tests the switching). */
export const WORKERS_ALWAYS_ENV: NodeJS.ProcessEnv = { ...process.env, WG_TS_WORKERS: "always" };

export function wgQuickGo(ns: string, action: "up" | "down", conf: string): Result {
  return inNs(ns, "wg-quick", [action, conf], { env: GO_ENV });
}

/** One ping; true if answered. `size` is the ICMP payload; DF set. */
export function ping(ns: string, dst: string, opts: { size?: number; count?: number; src?: string; wait?: number } = {}): boolean {
  const args = ["-n", "-q", "-c", String(opts.count ?? 1), "-W", String(opts.wait ?? 3), "-M", "do"];
  if (opts.size !== undefined) args.push("-s", String(opts.size));
  if (opts.src) args.push("-I", opts.src);
  if (opts.count && opts.count > 1) args.push("-i", "0.2");
  args.push(dst);
  return inNs(ns, "ping", args).status === 0;
}

export function genkey(): { priv: string; pub: string } {
  const priv = sh("wg", ["genkey"]).trim();
  return { priv, pub: sh("wg", ["pubkey"], { input: priv + "\n" }).trim() };
}

/** `wg show IFACE dump` parsed: the interface line and one record per peer. */
export function dump(ns: string, iface: string): {
  listenPort: number;
  fwmark: string;
  peers: { pub: string; psk: string; endpoint: string; allowed: string; handshake: number; rx: number; tx: number; keepalive: string }[];
} {
  const lines = nsSh(ns, "wg", ["show", iface, "dump"]).trim().split("\n");
  const head = lines[0]!.split("\t");
  return {
    listenPort: Number(head[2]),
    fwmark: head[3]!,
    peers: lines.slice(1).map((l) => {
      const f = l.split("\t");
      return {
        pub: f[0]!,
        psk: f[1]!,
        endpoint: f[2]!,
        allowed: f[3]!,
        handshake: Number(f[4]),
        rx: Number(f[5]),
        tx: Number(f[6]),
        keepalive: f[7]!,
      };
    }),
  };
}

/** RX/TX packet counters of a link as the kernel sees them. */
export function linkStats(ns: string, dev: string): { rxPackets: number; txPackets: number } {
  const j = JSON.parse(nsSh(ns, "ip", ["-j", "-s", "link", "show", "dev", dev])) as {
    stats64: { rx: { packets: number }; tx: { packets: number } };
  }[];
  return { rxPackets: j[0]!.stats64.rx.packets, txPackets: j[0]!.stats64.tx.packets };
}

export function pidsOf(pattern: string): number[] {
  const r = run("pgrep", ["-f", pattern]);
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map(Number)
    .filter((p) => p !== process.pid);
}

/** Pids of the detached daemons (`wg-ts up` without --foreground) serving `iface`: normally one, none once it is down. */
export function daemonPids(iface: string): number[] {
  return pidsOf(`wg-ts.js daemon ${iface}$`);
}

/** The pid of the detached daemon serving `iface`; throws unless there is exactly one. */
export function daemonPid(iface: string): number {
  const pids = daemonPids(iface);
  if (pids.length !== 1) throw new Error(`expected one wg-ts daemon for ${iface}, found ${pids.length}`);
  return pids[0]!;
}

/** Removes what a previous (crashed) run of a suite may have left: namespaces, sockets, daemons. */
export function cleanLeftovers(namespaces: string[], ifaces: string[]): void {
  for (const i of ifaces) {
    for (const pid of pidsOf(`wg-ts.js (up --foreground .*|daemon )${i}`)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    for (const pid of pidsOf(`wireguard-go\\S* ${i}$`)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    rmSync(`/var/run/wireguard/${i}.sock`, { force: true });
  }
  for (const ns of namespaces) run("ip", ["netns", "del", ns]);
}

/** Two namespaces joined by veth (IPv4 + IPv6 underlay, no DAD). */
export function makePair(nsA: string, nsB: string, v4: [string, string], v6: [string, string]): { vethA: string; vethB: string } {
  const vethA = `${nsA}v`;
  const vethB = `${nsB}v`;
  sh("ip", ["netns", "add", nsA]);
  sh("ip", ["netns", "add", nsB]);
  sh("ip", ["link", "add", vethA, "netns", nsA, "type", "veth", "peer", "name", vethB, "netns", nsB]);
  for (const [ns, dev, a4, a6] of [
    [nsA, vethA, v4[0], v6[0]],
    [nsB, vethB, v4[1], v6[1]],
  ] as const) {
    sh("ip", ["-n", ns, "link", "set", "lo", "up"]);
    sh("ip", ["-n", ns, "addr", "add", `${a4}/24`, "dev", dev]);
    sh("ip", ["-n", ns, "addr", "add", `${a6}/64`, "dev", dev, "nodad"]);
    sh("ip", ["-n", ns, "link", "set", dev, "up"]);
  }
  return { vethA, vethB };
}

/** One [Peer] of a {@link QuickConfig}; each `allowedIPs` entry is an `AllowedIPs =` line. */
export interface QuickPeer {
  pub: string;
  psk?: string | undefined;
  allowedIPs: string | string[];
  endpoint?: string | undefined;
  keepalive?: number | undefined;
}

/** What {@link quickConf} writes: an [Interface] (`address` as written after `Address =`) and its peers. */
export interface QuickConfig {
  priv: string;
  port?: number | undefined;
  address: string;
  mtu?: number | undefined;
  peers: QuickPeer[];
}

/** The wg-quick config text of `c`, keys in wg-quick's usual order (the one writer of configs for the e2e suites). */
export function quickConf(c: QuickConfig): string {
  const lines = ["[Interface]", `PrivateKey = ${c.priv}`];
  if (c.port !== undefined) lines.push(`ListenPort = ${c.port}`);
  lines.push(`Address = ${c.address}`);
  if (c.mtu !== undefined) lines.push(`MTU = ${c.mtu}`);
  for (const p of c.peers) {
    lines.push("", "[Peer]", `PublicKey = ${p.pub}`);
    if (p.psk !== undefined) lines.push(`PresharedKey = ${p.psk}`);
    for (const a of [p.allowedIPs].flat()) lines.push(`AllowedIPs = ${a}`);
    if (p.endpoint !== undefined) lines.push(`Endpoint = ${p.endpoint}`);
    if (p.keepalive) lines.push(`PersistentKeepalive = ${p.keepalive}`);
  }
  return lines.join("\n") + "\n";
}

/** One side of a {@link labPair}. */
export interface LabSide {
  ns: string;
  iface: string;
  key: { priv: string; pub: string };
  /** tunnel (inner) IPv4 address: 192.168.N.1 (a) or 192.168.N.2 (b) */
  tunnel: string;
  /** underlay IPv4 address on the veth: 10.N.0.1 / 10.N.0.2 */
  underlay: string;
  /** underlay IPv6 address on the veth: fd01:N::1 / fd01:N::2 */
  underlay6: string;
  port: number;
  /** the side's config: `${dir}/${iface}.conf` (written by the suite, e.g. with {@link pairConf}) */
  conf: string;
}

/**
 * The two-namespace lab most suites start from, side a and side b with fresh keys: subnet `n` gives
 * tunnel addresses 192.168.n.1/.2, underlay 10.n.0.1/.2 and fd01:n::1/2; configs go in `dir`.
 * Nothing exists until `create()` (leftovers removed, namespaces and veth made); `clean()` removes it all.
 * For wg-ts (a) against wireguard-go (b): `upTsGo(env)` brings both up from their configs (throws with
 * the stderr of one that fails; returns wg-ts's result), `downTsGo()` takes both down and cleans.
 */
export function labPair(opts: { ns: [string, string]; ifaces: [string, string]; n: number; ports: [number, number]; dir: string }): {
  a: LabSide;
  b: LabSide;
  create: () => void;
  clean: () => void;
  upTsGo: (env?: NodeJS.ProcessEnv) => Result;
  downTsGo: () => void;
} {
  const side = (i: 0 | 1): LabSide => ({
    ns: opts.ns[i],
    iface: opts.ifaces[i],
    key: genkey(),
    tunnel: `192.168.${opts.n}.${i + 1}`,
    underlay: `10.${opts.n}.0.${i + 1}`,
    underlay6: `fd01:${opts.n}::${i + 1}`,
    port: opts.ports[i],
    conf: `${opts.dir}/${opts.ifaces[i]}.conf`,
  });
  const a = side(0);
  const b = side(1);
  const clean = (): void => cleanLeftovers([a.ns, b.ns], [a.iface, b.iface]);
  return {
    a,
    b,
    create: () => {
      clean();
      makePair(a.ns, b.ns, [a.underlay, b.underlay], [a.underlay6, b.underlay6]);
    },
    clean,
    upTsGo: (env = process.env) => {
      const up = wgTs(a.ns, ["up", a.conf], env);
      if (up.status !== 0) throw new Error(`wg-ts up ${a.iface}: ${up.stderr}`);
      const go = wgQuickGo(b.ns, "up", b.conf);
      if (go.status !== 0) throw new Error(`wireguard-go up ${b.iface}: ${go.stderr}`);
      return up;
    },
    downTsGo: () => {
      wgTs(a.ns, ["down", a.conf]);
      wgQuickGo(b.ns, "down", b.conf);
      clean();
    },
  };
}

/**
 * The wg-quick config of `self` with `peer` as its one peer: Address self.tunnel/24, AllowedIPs
 * peer.tunnel/32, Endpoint the peer's IPv4 underlay and port; `opts` overrides or adds.
 */
export function pairConf(
  self: LabSide,
  peer: LabSide,
  opts: { address?: string; mtu?: number; allowedIPs?: string | string[]; psk?: string | undefined; keepalive?: number } = {},
): string {
  return quickConf({
    priv: self.key.priv,
    port: self.port,
    address: opts.address ?? `${self.tunnel}/24`,
    mtu: opts.mtu,
    peers: [{ pub: peer.key.pub, psk: opts.psk, allowedIPs: opts.allowedIPs ?? `${peer.tunnel}/32`, endpoint: `${peer.underlay}:${peer.port}`, keepalive: opts.keepalive }],
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeConf(path: string, text: string, mode = 0o600): string {
  writeFileSync(path, text, { mode });
  execFileSync("chmod", [mode.toString(8), path]);
  return path;
}

export function exists(path: string): boolean {
  return existsSync(path);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `ok` every `everyMs` for up to `ms`; true as soon as it holds, else its value at the end. */
export async function eventually(ok: () => boolean, ms: number, everyMs = 100): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ok()) return true;
    await sleep(everyMs);
  }
  return ok();
}

/** Waits for `ok` like {@link eventually} (default 10 s, every 100 ms); throws naming `what` (default: `ok`'s source) if it never holds. */
export async function until(ok: () => boolean, opts: { what?: string; ms?: number; everyMs?: number } = {}): Promise<void> {
  if (!(await eventually(ok, opts.ms ?? 10_000, opts.everyMs))) throw new Error(`gave up waiting for ${opts.what ?? String(ok)}`);
}

/** True if network device `dev` exists in namespace `ns`. */
export function linkExists(ns: string, dev: string): boolean {
  return inNs(ns, "ip", ["link", "show", "dev", dev]).status === 0;
}

/** The daemon's log file for interface `iface` (`wg-ts up` without --foreground). */
export const logPath = (iface: string): string => `/var/log/wg-ts-${iface}.log`;

/** The daemon's log for `iface` so far ("" before it exists). */
export function daemonLog(iface: string): string {
  try {
    return readFileSync(logPath(iface), "utf8");
  } catch {
    return "";
  }
}

/**
 * Sends the file `payloadPath` over TCP from namespace `src` to `dstAddr:port` in namespace `dst`
 * (a node server there hashes what it receives); resolves with "bytes sha256" as the receiver saw it.
 */
export async function tcpTransfer(payloadPath: string, src: string, dst: string, dstAddr: string, port: number): Promise<string> {
  const server = spawn("ip", [
    "netns", "exec", dst, process.execPath, "-e",
    `const h=require("crypto").createHash("sha256");let n=0;` +
      `const srv=require("net").createServer(s=>{s.on("data",d=>{h.update(d);n+=d.length});` +
      `s.on("end",()=>{console.log(n+" "+h.digest("hex"));process.exit(0)})});` +
      `srv.listen(${port},"${dstAddr}",()=>console.log("listening"));setTimeout(()=>process.exit(3),50000)`,
  ]);
  let out = "";
  server.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => server.once("exit", () => r()));
  if (!(await eventually(() => out.includes("listening"), 10_000))) {
    server.kill();
    throw new Error(`tcpTransfer: no listener on ${dstAddr}:${port} in ${dst}`);
  }
  const client = inNs(src, process.execPath, [
    "-e",
    `const b=require("fs").readFileSync(${JSON.stringify(payloadPath)});` +
      `const s=require("net").connect(${port},"${dstAddr}",()=>s.end(b));s.on("close",()=>process.exit(0));` +
      `s.on("error",e=>{console.error(e.message);process.exit(1)})`,
  ]);
  if (client.status !== 0) {
    server.kill();
    throw new Error(`tcpTransfer: sender in ${src} failed: ${client.stderr}`);
  }
  await exited;
  return out.replace("listening\n", "").trim();
}

/**
 * A random payload of `bytes` written to `dir/payload`, its sha256, and `transfer(src, dst, dstAddr, port)`
 * sending it with {@link tcpTransfer}; a correct transfer resolves to `${bytes} ${hash}`.
 */
export function tcpPayload(dir: string, bytes = 4 << 20): {
  bytes: number;
  hash: string;
  transfer: (src: string, dst: string, dstAddr: string, port: number) => Promise<string>;
} {
  const path = join(dir, "payload");
  const payload = randomBytes(bytes);
  writeFileSync(path, payload);
  return {
    bytes,
    hash: createHash("sha256").update(payload).digest("hex"),
    transfer: (src, dst, dstAddr, port) => tcpTransfer(path, src, dst, dstAddr, port),
  };
}
