/**
 * wg-ts as wg-quick's userspace implementation: Debian's real `wg-quick`, with
 * WG_QUICK_USERSPACE_IMPLEMENTATION=wg-ts-userspace, brings up an interface that talks to a
 * wireguard-go peer (itself under wg-quick); `wg-quick strip` + `wg syncconf` reload it live;
 * `wg-quick down` removes it and the daemon exits. Also `wg-ts-userspace -f` (foreground) and its
 * usage errors.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  daemonPids,
  dump,
  eventually,
  exists,
  inNs,
  labPair,
  linkExists,
  nsSh,
  pairConf,
  pidsOf,
  ping,
  tempDir,
  wgQuickGo,
  writeConf,
} from "./support/lab.js";

const USERSPACE = fileURLToPath(new URL("../bin/wg-ts-userspace.js", import.meta.url));
const B4_EXTRA = "192.168.132.2";

const dir = tempDir("wgts-q1-");
// a: wg-quick + wg-ts; b: wg-quick + wireguard-go
const lab = labPair({ ns: ["wgts-q1a", "wgts-q1b"], ifaces: ["wgq1a", "wgq1b"], n: 131, ports: [51131, 51132], dir });
const { ns: NS_A, iface: IF_A, tunnel: A4, key: ka, conf: confA } = lab.a;
const { ns: NS_B, iface: IF_B, tunnel: B4, key: kb, conf: confB } = lab.b;

/** The wg-quick config of the wg-ts side (MTU 1380); `more` adds an AllowedIP and a keepalive to its [Peer]. */
function configA(more?: { allowedIP: string; keepalive: number }): string {
  return pairConf(lab.a, lab.b, { mtu: 1380, ...(more && { allowedIPs: [`${B4}/32`, more.allowedIP], keepalive: more.keepalive }) });
}

/** Debian's wg-quick with wg-ts as its userspace implementation (the systemd drop-in's variable). */
function wgQuickTs(action: "up" | "down" | "strip", conf: string): { status: number; stdout: string; stderr: string } {
  return inNs(NS_A, "wg-quick", [action, conf], {
    env: { ...process.env, WG_QUICK_USERSPACE_IMPLEMENTATION: USERSPACE, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1" },
  });
}

beforeAll(() => {
  lab.create();
  writeConf(confA, configA());
  writeConf(confB, pairConf(lab.b, lab.a, { address: `${B4}/24, ${B4_EXTRA}/24` }));
  const go = wgQuickGo(NS_B, "up", confB);
  expect(go.status, go.stderr).toBe(0);
});

afterAll(() => {
  wgQuickTs("down", confA);
  wgQuickGo(NS_B, "down", confB);
  lab.clean();
  rmSync(dir, { recursive: true, force: true }); // configs hold private keys
});

describe("WG_QUICK_USERSPACE_IMPLEMENTATION=wg-ts-userspace wg-quick", () => {
  it("wg-quick up: falls back to wg-ts, which returns once the interface answers; wg-quick configures it", () => {
    const up = wgQuickTs("up", confA);
    expect(up.status, up.stderr).toBe(0);
    // wg-quick's own trace: it ran our program with the interface name, then wg and ip.
    expect(up.stderr).toContain(`[#] ${USERSPACE} ${IF_A}`);
    expect(up.stderr).toMatch(new RegExp(`\\[#\\] wg setconf ${IF_A} /dev/fd/\\d+`));
    expect(up.stderr).not.toMatch(/[A-Za-z0-9+/]{43}=/); // no key in what wg-quick and wg-ts print
    expect(daemonPids(IF_A)).toHaveLength(1);
    expect(nsSh(NS_A, "ip", ["-o", "link", "show", "dev", IF_A])).toMatch(/mtu 1380/);
  });

  it("carries traffic both ways with the wireguard-go peer; `wg show` reads wg-ts", () => {
    expect(ping(NS_A, B4)).toBe(true);
    expect(ping(NS_B, A4)).toBe(true);
    expect(ping(NS_A, B4, { size: 1380 - 28 })).toBe(true); // at the MTU, DF set
    const p = dump(NS_A, IF_A).peers[0]!;
    expect(p.pub).toBe(kb.pub);
    expect(p.handshake).toBeGreaterThan(1_600_000_000);
  });

  it("reloads live with `wg syncconf IF <(wg-quick strip IF)`: a new AllowedIP and keepalive, same daemon", () => {
    const pid = daemonPids(IF_A)[0];
    writeConf(confA, configA({ allowedIP: `${B4_EXTRA}/32`, keepalive: 25 }));
    const strip = wgQuickTs("strip", confA);
    expect(strip.status, strip.stderr).toBe(0);
    expect(strip.stdout).not.toMatch(/^(Address|MTU)\s*=/m); // wg-quick-only keys stripped
    const stripped = `${dir}/stripped.conf`;
    writeConf(stripped, strip.stdout);
    const sync = inNs(NS_A, "wg", ["syncconf", IF_A, stripped]);
    expect(sync.status, sync.stderr).toBe(0);
    const p = dump(NS_A, IF_A).peers[0]!;
    expect(p.allowed.split(",").sort()).toEqual([`${B4}/32`, `${B4_EXTRA}/32`]);
    expect(p.keepalive).toBe("25");
    expect(daemonPids(IF_A)).toEqual([pid]); // reloaded in place, not restarted
    // wg-quick adds routes only at `up`; the new prefix routes once the operator adds it.
    nsSh(NS_A, "ip", ["route", "add", `${B4_EXTRA}/32`, "dev", IF_A]);
    expect(ping(NS_A, B4_EXTRA)).toBe(true);
  });

  it("wg-quick down: the link, the UAPI socket and the daemon process are gone", async () => {
    const down = wgQuickTs("down", confA);
    expect(down.status, down.stderr).toBe(0);
    expect(linkExists(NS_A, IF_A)).toBe(false);
    // wg-quick returns once the link is deleted; the daemon follows it within moments.
    expect(await eventually(() => daemonPids(IF_A).length === 0 && !exists(`/var/run/wireguard/${IF_A}.sock`), 5000)).toBe(true);
  });
});

describe("wg-ts-userspace on its own", () => {
  it("rejects bad usage like wireguard-go: exit 1 and a usage line, nothing created", () => {
    for (const args of [[], ["-x", IF_A], ["bad name!"], ["a-name-longer-than-15"], [IF_A, "extra"]]) {
      const r = inNs(NS_A, process.execPath, [USERSPACE, ...args]);
      expect(r.status, args.join(" ")).toBe(1);
      expect(r.stderr).toMatch(/^Usage: wg-ts-userspace \[-f\/--foreground\] INTERFACE-NAME/);
    }
    expect(linkExists(NS_A, IF_A)).toBe(false);
    expect(inNs(NS_A, process.execPath, [USERSPACE, "--version"]).stdout).toMatch(/^wg-ts-userspace v\d+\.\d+\.\d+/);
  });

  it("-f stays in the foreground with the interface up; SIGTERM removes it and exits 0", async () => {
    const child = spawn("ip", ["netns", "exec", NS_A, process.execPath, USERSPACE, "-f", IF_A], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    expect(await eventually(() => exists(`/var/run/wireguard/${IF_A}.sock`) && linkExists(NS_A, IF_A), 10_000)).toBe(true);
    const key = writeConf(`${dir}/a.key`, ka.priv + "\n"); // Node's stdin pipes are sockets: wg cannot fopen /dev/stdin
    nsSh(NS_A, "wg", ["set", IF_A, "listen-port", "51131", "private-key", key]);
    expect(nsSh(NS_A, "wg", ["show", IF_A, "listen-port"]).trim()).toBe("51131");
    const daemon = pidsOf(`wg-ts-userspace.js -f ${IF_A}$`);
    expect(daemon).toHaveLength(1);
    process.kill(daemon[0]!, "SIGTERM");
    expect(await exited).toBe(0);
    expect(linkExists(NS_A, IF_A)).toBe(false);
    expect(exists(`/var/run/wireguard/${IF_A}.sock`)).toBe(false);
  });
});
