/**
 * wg-ts <-> wg-ts: a full-tunnel client (AllowedIPs 0.0.0.0/0, ::/0: wg-quick's policy routing
 * with fwmark, which only works if the daemon's UDP sockets carry SO_MARK) against a gateway
 * running `wg-ts up --foreground` (MTU 1380, PSK, hooks), plus the lifecycle: SIGTERM, socket
 * removal, broken configs.
 */
import { rmSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanLeftovers,
  daemonPids,
  dump,
  exists,
  genkey,
  linkExists,
  makePair,
  nsSh,
  ping,
  run,
  sh,
  tempDir,
  until,
  WG_TS,
  wgTs,
  writeConf,
} from "./support/lab.js";

const NS_A = "wgts-e2a"; // client, detached daemon, full tunnel
const NS_B = "wgts-e2b"; // gateway, --foreground
const IF_A = "wgd2a";
const IF_B = "wgd2b";
const IF_C = "wgd2c"; // broken configs: must never exist
const A4 = "192.168.102.1";
const B4 = "192.168.102.2";
const A6 = "fd65:102::1";
const B6 = "fd65:102::2";
const B_PUBLIC = "10.202.0.2"; // the gateway's endpoint, reached by A through its default route

const dir = tempDir("wgts-e2-");
const ka = genkey();
const kb = genkey();
const psk = sh("wg", ["genpsk"]).trim();
const confA = `${dir}/${IF_A}.conf`;
const confB = `${dir}/${IF_B}.conf`;
let gateway: ChildProcess | undefined;
let gatewayExit: Promise<number | null> | undefined;

beforeAll(async () => {
  cleanLeftovers([NS_A, NS_B], [IF_A, IF_B, IF_C]);
  makePair(NS_A, NS_B, ["10.102.0.1", "10.102.0.2"], ["fd01:102::1", "fd01:102::2"]);
  // The gateway's endpoint is not on A's link: A reaches it through its default route, which
  // is exactly what the full tunnel takes over.
  sh("ip", ["-n", NS_B, "addr", "add", `${B_PUBLIC}/32`, "dev", "lo"]);
  sh("ip", ["-n", NS_A, "route", "add", "default", "via", "10.102.0.2"]);
  writeConf(
    confB,
    `[Interface]
PrivateKey = ${kb.priv}
ListenPort = 51202
Address = ${B4}/24, ${B6}/64
MTU = 1380
PostUp = touch ${dir}/postup-%i
PostDown = touch ${dir}/postdown-%i

[Peer]
PublicKey = ${ka.pub}
PresharedKey = ${psk}
AllowedIPs = ${A4}/32, ${A6}/128
`,
  );
  writeConf(
    confA,
    `[Interface]
PrivateKey = ${ka.priv}
Address = ${A4}/24
Address = ${A6}/64
MTU = 1380
PreUp = touch ${dir}/preup-%i
PostUp = touch ${dir}/postup-%i
PostDown = touch ${dir}/postdown-%i

[Peer]
PublicKey = ${kb.pub}
PresharedKey = ${psk}
AllowedIPs = 0.0.0.0/0, ::/0
Endpoint = ${B_PUBLIC}:51202
PersistentKeepalive = 25
`,
  );
  gateway = spawn("ip", ["netns", "exec", NS_B, process.execPath, WG_TS, "up", "--foreground", confB], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  gatewayExit = new Promise((r) => gateway!.once("exit", (code) => r(code)));
  await until(() => exists(`${dir}/postup-${IF_B}`), { what: "the foreground gateway" });
  const up = wgTs(NS_A, ["up", confA]);
  expect(up.status, up.stderr).toBe(0);
});

afterAll(() => {
  wgTs(NS_A, ["down", confA]);
  if (gateway && gateway.exitCode === null) gateway.kill("SIGTERM");
  cleanLeftovers([NS_A, NS_B], [IF_A, IF_B, IF_C]);
  rmSync(dir, { recursive: true, force: true }); // configs hold private keys
});

describe("wg-ts <-> wg-ts, full tunnel with policy routing", () => {
  it("installs wg-quick's fwmark policy routing for 0.0.0.0/0 and ::/0", () => {
    expect(nsSh(NS_A, "wg", ["show", IF_A, "fwmark"]).trim()).toBe("0xca6c");
    const rules4 = nsSh(NS_A, "ip", ["-4", "rule", "show"]);
    expect(rules4).toContain("not from all fwmark 0xca6c lookup 51820");
    expect(rules4).toContain("from all lookup main suppress_prefixlength 0");
    expect(nsSh(NS_A, "ip", ["-6", "rule", "show"])).toContain("not from all fwmark 0xca6c lookup 51820");
    expect(nsSh(NS_A, "ip", ["-4", "route", "show", "table", "51820"])).toContain(`default dev ${IF_A}`);
    expect(nsSh(NS_A, "nft", ["list", "tables"])).toContain(`table ip wg-quick-${IF_A}`);
    expect(exists(`${dir}/preup-${IF_A}`) && exists(`${dir}/postup-${IF_A}`)).toBe(true);
  });

  it("pings v4 and v6 both ways (the marked UDP bypasses the tunnel's own default route)", () => {
    expect(ping(NS_A, B4)).toBe(true);
    expect(ping(NS_A, B6)).toBe(true);
    expect(ping(NS_B, A4)).toBe(true);
    expect(ping(NS_B, A6)).toBe(true);
  });

  it("routes everything else into the tunnel: the gateway's public address answers through it", () => {
    const a = dump(NS_A, IF_A).peers[0]!;
    const b = dump(NS_B, IF_B).peers[0]!;
    expect(ping(NS_A, B_PUBLIC)).toBe(true);
    // `wg show` right after the ping counts it, both ways on both sides (the pipelines report
    // their traffic to the core before a UAPI get, not only every 100 ms).
    const a1 = dump(NS_A, IF_A).peers[0]!;
    const b1 = dump(NS_B, IF_B).peers[0]!;
    expect([a1.tx > a.tx, a1.rx > a.rx, b1.rx > b.rx, b1.tx > b.tx]).toEqual([true, true, true, true]);
    expect(nsSh(NS_A, "ip", ["route", "get", B_PUBLIC])).toContain(`dev ${IF_A}`);
  });

  it("MTU 1380 from the config: full-size DF packets pass, one more byte does not", () => {
    expect(nsSh(NS_A, "ip", ["link", "show", IF_A])).toContain("mtu 1380");
    expect(ping(NS_A, B4, { size: 1380 - 28 })).toBe(true);
    expect(ping(NS_B, A6, { size: 1380 - 48 })).toBe(true);
    expect(ping(NS_A, B4, { size: 1380 - 27, wait: 1 })).toBe(false);
  });

  it("`wg show` on both sides: handshake, PSK, keepalive, learnt endpoint", () => {
    const a = dump(NS_A, IF_A).peers[0]!;
    expect(a.psk).toBe(psk);
    expect(a.keepalive).toBe("25");
    expect(a.handshake).toBeGreaterThan(1_600_000_000);
    const b = dump(NS_B, IF_B).peers[0]!;
    expect(b.endpoint).toMatch(/^10\.102\.0\.1:\d+$/);
    expect(b.rx).toBeGreaterThan(0);
    expect(b.tx).toBeGreaterThan(0);
  });

  it("`wg set` on the gateway: remove the peer, re-add it with one allowed IP and an endpoint", () => {
    nsSh(NS_B, "wg", ["set", IF_B, "peer", ka.pub, "remove"]);
    expect(dump(NS_B, IF_B).peers).toHaveLength(0);
    expect(ping(NS_A, B4, { wait: 1 })).toBe(false);
    writeConf(`${dir}/psk`, psk + "\n");
    const portA = dump(NS_A, IF_A).listenPort;
    nsSh(NS_B, "wg", ["set", IF_B, "peer", ka.pub, "preshared-key", `${dir}/psk`, "allowed-ips", `${A4}/32`, "endpoint", `10.102.0.1:${portA}`]);
    // The gateway initiates (A still holds the old session, as the kernel would).
    expect(ping(NS_B, A4, { count: 3, wait: 6 })).toBe(true);
    expect(ping(NS_A, B4)).toBe(true);
    expect(ping(NS_B, A6, { wait: 1 })).toBe(false);
  });

  it("down removes rules, nft table, routes and the link, and runs PostDown", () => {
    const down = wgTs(NS_A, ["down", confA]);
    expect(down.status, down.stderr).toBe(0);
    expect(linkExists(NS_A, IF_A)).toBe(false);
    expect(nsSh(NS_A, "ip", ["-4", "rule", "show"])).not.toContain("51820");
    expect(nsSh(NS_A, "ip", ["-6", "rule", "show"])).not.toContain("suppress_prefixlength");
    expect(nsSh(NS_A, "nft", ["list", "tables"])).not.toContain(`wg-quick-${IF_A}`);
    expect(exists(`${dir}/postdown-${IF_A}`)).toBe(true);
  });

  it("after the daemon is killed (SIGKILL), `up` works again without duplicating rules", async () => {
    expect(wgTs(NS_A, ["up", confA]).status).toBe(0);
    const [pid] = daemonPids(IF_A);
    process.kill(pid!, "SIGKILL");
    await until(() => !linkExists(NS_A, IF_A), { what: "the TUN to disappear" });
    const again = wgTs(NS_A, ["up", confA]);
    expect(again.status, again.stderr).toBe(0);
    const rules = nsSh(NS_A, "ip", ["-4", "rule", "show"]);
    expect(rules.split("lookup 51820").length - 1).toBe(1);
    expect(rules.split("suppress_prefixlength 0").length - 1).toBe(1);
    expect(ping(NS_A, B4)).toBe(true);
    expect(wgTs(NS_A, ["down", confA]).status).toBe(0);
    expect(nsSh(NS_A, "ip", ["-4", "rule", "show"])).not.toContain("51820");
  });

  it("the daemon exits and removes its interface when its UAPI socket is deleted", async () => {
    expect(wgTs(NS_A, ["up", confA]).status).toBe(0);
    sh("rm", ["-f", `/var/run/wireguard/${IF_A}.sock`]);
    await until(() => !linkExists(NS_A, IF_A), { what: "the TUN to disappear" });
    expect(nsSh(NS_A, "ip", ["-4", "rule", "show"])).toContain("51820"); // like wireguard-go: rules are wg-quick's job
    // `wg-ts down` is then refused, and rules are left for the admin, like wg-quick.
    expect(wgTs(NS_A, ["down", confA]).status).not.toBe(0);
    run("ip", ["-n", NS_A, "rule", "del", "table", "51820"]);
  });

  it("SIGTERM takes a --foreground interface down: PostDown runs, link and socket go, exit 0", async () => {
    gateway!.kill("SIGTERM");
    expect(await gatewayExit).toBe(0);
    expect(linkExists(NS_B, IF_B)).toBe(false);
    expect(exists(`/var/run/wireguard/${IF_B}.sock`)).toBe(false);
    expect(exists(`${dir}/postdown-${IF_B}`)).toBe(true);
  });
});

describe("bad configs fail before anything is created", () => {
  it("names file, line and key, exits 1, creates no interface", () => {
    const bad = `${dir}/${IF_C}.conf`;
    writeConf(bad, `[Interface]\nAddress = 10.9.9.1/24\nPrivateKey = notakey\nListenPort = 1\n`);
    const r = wgTs(NS_A, ["up", bad]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${IF_C}.conf:3: PrivateKey: Key is not the correct length or format`);
    expect(linkExists(NS_A, IF_C)).toBe(false);
    expect(exists(`/var/run/wireguard/${IF_C}.sock`)).toBe(false);
  });

  it("an unreadable path and a bad name are errors; a world-readable config warns", () => {
    expect(wgTs(NS_A, ["up", `${dir}/missing/${IF_C}.conf`]).stderr).toMatch(/does not exist/);
    expect(wgTs(NS_A, ["up", `${dir}/not an interface name.conf`]).status).toBe(1);
    const open = `${dir}/${IF_C}.conf`;
    writeConf(open, `[Interface]\nPrivateKey = ${ka.priv}\nTable = off\n`, 0o644);
    const r = wgTs(NS_A, ["up", open]);
    expect(r.stderr).toMatch(/Warning: .*(world accessible|readable by group or others)/);
    expect(r.status, r.stderr).toBe(0);
    expect(wgTs(NS_A, ["down", open]).status).toBe(0);
    expect(linkExists(NS_A, IF_C)).toBe(false);
  });

  it("a second `up` of a running interface is refused", () => {
    const open = `${dir}/${IF_C}.conf`;
    expect(wgTs(NS_A, ["up", open]).status).toBe(0);
    const again = wgTs(NS_A, ["up", open]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already exists/);
    expect(wgTs(NS_A, ["down", open]).status).toBe(0);
  });

  it("SaveConfig = true writes `wg set` changes back on down, 0600", () => {
    const conf = `${dir}/${IF_C}.conf`;
    writeConf(conf, `[Interface]\nPrivateKey = ${ka.priv}\nAddress = 10.77.1.1/24\nTable = off\nSaveConfig = true\n`);
    expect(wgTs(NS_A, ["up", conf]).status).toBe(0);
    nsSh(NS_A, "wg", ["set", IF_C, "listen-port", "51999", "peer", kb.pub, "allowed-ips", "10.77.0.0/16"]);
    expect(wgTs(NS_A, ["down", conf]).status).toBe(0);
    const saved = sh("cat", [conf]);
    expect(saved).toContain("Address = 10.77.1.1/24");
    expect(saved).toContain("SaveConfig = true");
    expect(saved).toContain("ListenPort = 51999");
    expect(saved).toContain(`[Peer]\nPublicKey = ${kb.pub}\nAllowedIPs = 10.77.0.0/16`);
    expect(sh("stat", ["-c", "%a", conf]).trim()).toBe("600");
  });

  it("Table = <number> puts the AllowedIPs routes into that table", () => {
    const conf = `${dir}/${IF_C}.conf`;
    writeConf(conf, `[Interface]\nPrivateKey = ${ka.priv}\nTable = 1234\n[Peer]\nPublicKey = ${kb.pub}\nAllowedIPs = 10.88.0.0/16, fd88::/48\n`);
    expect(wgTs(NS_A, ["up", conf]).status).toBe(0);
    expect(nsSh(NS_A, "ip", ["-4", "route", "show", "table", "1234"])).toContain(`10.88.0.0/16 dev ${IF_C}`);
    expect(nsSh(NS_A, "ip", ["-6", "route", "show", "table", "1234"])).toContain(`fd88::/48 dev ${IF_C}`);
    expect(nsSh(NS_A, "ip", ["-4", "route", "show"])).not.toContain("10.88.0.0/16");
    expect(wgTs(NS_A, ["down", conf]).status).toBe(0);
  });
});
