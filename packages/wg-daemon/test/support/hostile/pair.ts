/**
 * Shared harness of the hostile, faults and secrets suites, on top of ../lab.ts:
 * a wg-ts <-> wireguard-go pair in two fresh namespaces (wgh-*), the daemon's drop counters
 * (SIGUSR1 -> its log), its RSS, per-namespace UDP counters, nft rules on the path, and the
 * blaster (blaster.mjs) run inside a namespace. Nothing here touches the host's own network.
 */
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  cleanLeftovers,
  daemonLog,
  genkey,
  inNs,
  makePair,
  nsSh,
  ping,
  quickConf,
  tempDir,
  wgQuickGo,
  wgTs,
  writeConf,
  type Result,
} from "../lab.js";
import { daemonStatus } from "../status.js";

export const BLASTER = fileURLToPath(new URL("./blaster.mjs", import.meta.url));

export interface Pair {
  nsA: string; // wg-ts
  nsB: string; // wireguard-go
  ifA: string;
  ifB: string;
  vethA: string;
  vethB: string;
  /** underlay addresses */
  ua: string;
  ub: string;
  /** underlay IPv6 addresses */
  ua6: string;
  ub6: string;
  /** tunnel addresses */
  ta: string;
  tb: string;
  portA: number;
  portB: number;
  ka: { priv: string; pub: string };
  kb: { priv: string; pub: string };
  psk: string;
  dir: string;
  confA: string;
  confB: string;
  /** every line wg-ts wrote to its stderr/log in this suite (for the secrets check) */
  logs: string[];
}

/**
 * Creates namespaces `${prefix}a`/`${prefix}b`, brings wg-ts up in a (wg-ts up), wireguard-go in b
 * (wg-quick), with a PSK, and checks a first ping. `n` picks distinct subnets (10.n.x.x) and ports.
 */
export function startPair(prefix: string, n: number, opts: { keepalive?: number } = {}): Pair {
  const nsA = `${prefix}a`;
  const nsB = `${prefix}b`;
  const ifA = `${prefix}ta`;
  const ifB = `${prefix}tb`;
  cleanLeftovers([nsA, nsB], [ifA, ifB]);
  const ua = `10.${n}.0.1`;
  const ub = `10.${n}.0.2`;
  const ua6 = `fd0${n % 10}:${n}::1`;
  const ub6 = `fd0${n % 10}:${n}::2`;
  const { vethA, vethB } = makePair(nsA, nsB, [ua, ub], [ua6, ub6]);
  const dir = tempDir(`${prefix}-`);
  const p: Pair = {
    nsA, nsB, ifA, ifB, vethA, vethB, ua, ub, ua6, ub6,
    ta: `10.${n}.1.1`, tb: `10.${n}.1.2`,
    portA: 52000 + n * 2, portB: 52001 + n * 2,
    ka: genkey(), kb: genkey(),
    psk: nsSh(nsA, "wg", ["genpsk"]).trim(),
    dir, confA: `${dir}/${ifA}.conf`, confB: `${dir}/${ifB}.conf`,
    logs: [],
  };
  writeConf(p.confA, confA(p, opts.keepalive));
  writeConf(
    p.confB,
    quickConf({ priv: p.kb.priv, port: p.portB, address: `${p.tb}/24`, peers: [{ pub: p.ka.pub, psk: p.psk, allowedIPs: `${p.ta}/32`, endpoint: `${p.ua}:${p.portA}` }] }),
  );
  upA(p);
  const go = wgQuickGo(nsB, "up", p.confB);
  if (go.status !== 0) throw new Error(`wireguard-go up: ${go.stderr}`);
  if (!ping(nsA, p.tb, { count: 3, wait: 5 })) throw new Error("the tunnel does not pass a first ping");
  return p;
}

export function confA(p: Pair, keepalive?: number): string {
  return quickConf({
    priv: p.ka.priv,
    port: p.portA,
    address: `${p.ta}/24`,
    peers: [{ pub: p.kb.pub, psk: p.psk, allowedIPs: `${p.tb}/32`, endpoint: `${p.ub}:${p.portB}`, keepalive }],
  });
}

/** `wg-ts up confA`; its output is kept for the secrets check. */
export function upA(p: Pair): Result {
  const r = wgTs(p.nsA, ["up", p.confA]);
  p.logs.push(r.stdout, r.stderr);
  if (r.status !== 0) throw new Error(`wg-ts up: ${r.stderr}`);
  return r;
}

export function stopPair(p: Pair): void {
  p.logs.push(wgTs(p.nsA, ["down", p.confA]).stderr);
  wgQuickGo(p.nsB, "down", p.confB);
  p.logs.push(daemonLog(p.ifA));
  cleanLeftovers([p.nsA, p.nsB], [p.ifA, p.ifB]);
  rmSync(p.dir, { recursive: true, force: true }); // configs hold private keys
}

/** The suites on this harness read the daemon's log through it (lab.ts). */
export { daemonLog };

export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? NaN);
}

/** The daemon's drop counters by reason, and its UAPI errors as `uapi-22` (SIGUSR1: ../status.ts). */
export async function dropCounters(iface: string): Promise<Record<string, number>> {
  const s = await daemonStatus(iface);
  const out = { ...s.drops };
  for (const [errno, n] of Object.entries(s.uapiErrors)) out[`uapi${errno}`] = n;
  return out;
}

export function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const d: Record<string, number> = {};
  for (const k of new Set([...Object.keys(after), ...Object.keys(before)])) {
    const v = (after[k] ?? 0) - (before[k] ?? 0);
    if (v) d[k] = v;
  }
  return d;
}

/** UDP counters of a namespace (/proc/net/snmp is per network namespace). */
export function udpStats(ns: string): Record<string, number> {
  return snmp(ns, "Udp");
}

/** IP counters of a namespace (InHdrErrors, InDelivers, ...). */
export function ipStats(ns: string): Record<string, number> {
  return snmp(ns, "Ip");
}

function snmp(ns: string, proto: string): Record<string, number> {
  const lines = nsSh(ns, "cat", ["/proc/net/snmp"]).split("\n").filter((l) => l.startsWith(`${proto}: `));
  const keys = lines[0]!.split(/\s+/).slice(1);
  const vals = lines[1]!.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(keys.map((k, i) => [k, vals[i]!]));
}

/** Runs the blaster in `ns` and returns its JSON report. */
export function blast(
  ns: string,
  args: string[],
  onSpawn?: (stop: () => void) => void,
): Promise<Record<string, unknown> & { stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn("ip", ["netns", "exec", ns, process.execPath, BLASTER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    // `ip netns exec` execs node in place: the child pid is the blaster's.
    onSpawn?.(() => c.kill("SIGTERM"));
    let out = "";
    let err = "";
    c.stdout.on("data", (d: Buffer) => (out += d.toString()));
    c.stderr.on("data", (d: Buffer) => (err += d.toString()));
    c.on("close", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0 || !line.startsWith("{")) reject(new Error(`blaster ${args[0]} exited ${code}: ${err}${out}`));
      else resolve({ ...(JSON.parse(line) as Record<string, unknown>), stderr: err });
    });
  });
}

/** Installs an nft table (replacing one of the same name) in a namespace. */
export function nft(ns: string, table: string, family: "ip" | "inet" | "netdev", body: string): void {
  inNs(ns, "nft", ["delete", "table", family, table]);
  nsSh(ns, "nft", ["-f", "-"], { input: `table ${family} ${table} {\n${body}\n}\n` });
}

export function nftDelete(ns: string, table: string, family: "ip" | "inet" | "netdev"): void {
  inNs(ns, "nft", ["delete", "table", family, table]);
}

/** Packets counted by the named nft counter. */
export function nftCounter(ns: string, table: string, family: string, name: string): number {
  const j = JSON.parse(nsSh(ns, "nft", ["-j", "list", "counter", family, table, name])) as {
    nftables: { counter?: { packets: number } }[];
  };
  return j.nftables.find((x) => x.counter)?.counter?.packets ?? NaN;
}

/** Ping statistics: transmitted, received, duplicates. */
export function pingStats(ns: string, dst: string, count: number, interval = 0.05): { tx: number; rx: number; dup: number } {
  const r = inNs(ns, "ping", ["-n", "-q", "-c", String(count), "-i", String(interval), "-W", "2", dst]);
  const m = /(\d+) packets transmitted, (\d+) received(?:, \+(\d+) duplicates)?/.exec(r.stdout);
  return { tx: Number(m?.[1] ?? 0), rx: Number(m?.[2] ?? 0), dup: Number(m?.[3] ?? 0) };
}

/** The private keys and PSKs of a pair in every form a leak could take (base64, hex). */
export function secretForms(p: Pair): string[] {
  return [p.ka.priv, p.kb.priv, p.psk].flatMap((k) => [k, Buffer.from(k, "base64").toString("hex")]);
}
