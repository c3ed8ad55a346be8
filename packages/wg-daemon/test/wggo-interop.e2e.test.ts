/**
 * wg-ts <-> wireguard-go across two namespaces joined by veth: pings both ways (v4, v6, at the
 * MTU with DF), the stock `wg` on the wg-ts side, live `wg set` changes, PSK, byte counters,
 * roaming and crypto-RP filtering (ported from the kernel's selftests/wireguard/netns.sh).
 */
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uapiRequest } from "../src/uapi.js";
import {
  dump,
  exists,
  genkey,
  inNs,
  labPair,
  linkExists,
  linkStats,
  nsSh,
  pairConf,
  pidsOf,
  ping,
  sleep,
  tempDir,
  wgTs,
  writeConf,
} from "./support/lab.js";
import { daemonStatus } from "./support/status.js";

const A6 = "fd65:101::1";
const B6 = "fd65:101::2";

const dir = tempDir("wgts-e1-");
// a: wg-ts; b: wireguard-go
const lab = labPair({ ns: ["wgts-e1a", "wgts-e1b"], ifaces: ["wgd1a", "wgd1b"], n: 101, ports: [51101, 51102], dir });
const { ns: NS_A, iface: IF_A, tunnel: A4, underlay: UA4, key: ka, conf: confA } = lab.a;
const { ns: NS_B, iface: IF_B, tunnel: B4, underlay: UB4, key: kb, conf: confB } = lab.b;

/** The config of the wg-ts side (IPv4 and IPv6 inside the tunnel), with `psk` if given. */
function configA(psk?: string): string {
  return pairConf(lab.a, lab.b, { address: `${A4}/24, ${A6}/64`, allowedIPs: `${B4}/32, ${B6}/128`, psk });
}

beforeAll(() => {
  lab.create();
  writeConf(confA, configA());
  writeConf(confB, pairConf(lab.b, lab.a, { address: `${B4}/24, ${B6}/64`, allowedIPs: `${A4}/32, ${A6}/128` }));
  const up = lab.upTsGo();
  expect(up.stderr).not.toMatch(/PrivateKey = |[A-Za-z0-9+/]{43}=/); // no key in logs
});

afterAll(() => {
  lab.downTsGo();
  rmSync(dir, { recursive: true, force: true }); // configs hold private keys
});

describe("wg-ts <-> wireguard-go", () => {
  it("pings v4 and v6 inner addresses in both directions", () => {
    expect(ping(NS_A, B4)).toBe(true);
    expect(ping(NS_A, B6)).toBe(true);
    expect(ping(NS_B, A4)).toBe(true);
    expect(ping(NS_B, A6)).toBe(true);
  });

  it("carries packets at the MTU (1420) with DF, both directions", () => {
    expect(ping(NS_A, B4, { size: 1420 - 28 })).toBe(true);
    expect(ping(NS_B, A4, { size: 1420 - 28 })).toBe(true);
    expect(ping(NS_A, B6, { size: 1420 - 48 })).toBe(true);
    expect(ping(NS_B, A6, { size: 1420 - 48 })).toBe(true);
    // one byte more does not fit the interface MTU
    expect(ping(NS_A, B4, { size: 1420 - 27 })).toBe(false);
  });

  it("the stock `wg show` reads the wg-ts interface: handshake, endpoint, counters", () => {
    const d = dump(NS_A, IF_A);
    expect(d.listenPort).toBe(51101);
    expect(d.peers).toHaveLength(1);
    const p = d.peers[0]!;
    expect(p.pub).toBe(kb.pub);
    expect(p.endpoint).toBe(`${UB4}:51102`);
    expect(p.allowed).toBe(`${B4}/32,${B6}/128`);
    expect(p.handshake).toBeGreaterThan(1_600_000_000); // epoch seconds
    expect(p.rx).toBeGreaterThan(0);
    expect(p.tx).toBeGreaterThan(0);
    const pretty = nsSh(NS_A, "wg", ["show", IF_A]);
    expect(pretty).toContain(`peer: ${kb.pub}`);
    expect(pretty).toMatch(/latest handshake: /);
    expect(nsSh(NS_A, "wg", ["show", IF_A, "public-key"]).trim()).toBe(ka.pub);
    expect(nsSh(NS_A, "wg", ["show", IF_A, "private-key"]).trim()).toBe(ka.priv);
    // wg-ts show agrees and hides the private key
    const own = wgTs(NS_A, ["show", IF_A]);
    expect(own.stdout).toContain(`public key: ${ka.pub}`);
    expect(own.stdout).not.toContain(ka.priv);
  });

  it("byte counters: one ping adds exactly the datagram sizes, and both sides agree", () => {
    // Ported from netns.sh's transfer checks: the inner packet is 28+100 = 128 bytes (already a
    // multiple of 16), plus 32 bytes of transport header and tag = 160 bytes per datagram.
    const before = dump(NS_A, IF_A).peers[0]!;
    const goBefore = dump(NS_B, IF_B).peers[0]!;
    expect(ping(NS_A, B4, { size: 100 })).toBe(true);
    const after = dump(NS_A, IF_A).peers[0]!;
    const goAfter = dump(NS_B, IF_B).peers[0]!;
    const dtx = after.tx - before.tx;
    const drx = after.rx - before.rx;
    // Any extra is whole keepalives (32 bytes), never partial packets.
    expect(dtx).toBeGreaterThanOrEqual(160);
    expect((dtx - 160) % 32).toBe(0);
    expect(drx).toBeGreaterThanOrEqual(160);
    expect((drx - 160) % 32).toBe(0);
    // What wg-ts sent is what wireguard-go received, and vice versa.
    expect(goAfter.rx - goBefore.rx).toBe(dtx);
    expect(goAfter.tx - goBefore.tx).toBe(drx);
  });

  it("passive keepalives as wireguard-go's timers: after a ping, only the side that got the answer sends one, 10 s later", async () => {
    // wg show's rx counters: what wg-ts received from wireguard-go, and what wireguard-go received from wg-ts.
    const rx = (): [number, number] => [dump(NS_A, IF_A).peers[0]!.rx, dump(NS_B, IF_B).peers[0]!.rx];
    for (const wgTsPings of [true, false]) {
      expect(ping(wgTsPings ? NS_A : NS_B, wgTsPings ? B4 : A4)).toBe(true);
      await sleep(300);
      const [a0, b0] = rx();
      await sleep(11_000);
      const [a1, b1] = rx();
      // [from the pinging side, from the answering side]: one keepalive (32 bytes) owed for the answer
      // received; none by the side whose answer went out after the request came in.
      expect(wgTsPings ? [b1 - b0, a1 - a0] : [a1 - a0, b1 - b0], wgTsPings ? "wg-ts pings" : "wireguard-go pings").toEqual([32, 0]);
    }
  }, 40_000);

  it("crypto-RP: a packet from a source outside AllowedIPs is dropped after decryption", () => {
    // B gets an extra inner address that A does not allow for B, and pings from it.
    nsSh(NS_B, "ip", ["addr", "add", "192.168.101.99/32", "dev", IF_B]);
    const rxBefore = dump(NS_A, IF_A).peers[0]!.rx;
    const tunBefore = linkStats(NS_A, IF_A).rxPackets;
    expect(ping(NS_B, A4, { src: "192.168.101.99", wait: 1 })).toBe(false);
    // The datagram was authenticated (rx grew) but never reached A's TUN.
    expect(dump(NS_A, IF_A).peers[0]!.rx).toBeGreaterThan(rxBefore);
    expect(linkStats(NS_A, IF_A).rxPackets).toBe(tunBefore);
    nsSh(NS_B, "ip", ["addr", "del", "192.168.101.99/32", "dev", IF_B]);
    expect(ping(NS_B, A4)).toBe(true);
  });

  it("`wg set` on wg-ts: remove and re-add the peer, change allowed-ips, live", () => {
    nsSh(NS_A, "wg", ["set", IF_A, "peer", kb.pub, "remove"]);
    expect(dump(NS_A, IF_A).peers).toHaveLength(0);
    expect(ping(NS_A, B4, { wait: 1 })).toBe(false);

    nsSh(NS_A, "wg", ["set", IF_A, "peer", kb.pub, "endpoint", `${UB4}:51102`, "allowed-ips", `${B4}/32`]);
    expect(dump(NS_A, IF_A).peers[0]!.allowed).toBe(`${B4}/32`);
    expect(ping(NS_A, B4)).toBe(true);
    expect(ping(NS_A, B6, { wait: 1 })).toBe(false); // not routed to the peer any more

    nsSh(NS_A, "wg", ["set", IF_A, "peer", kb.pub, "allowed-ips", `${B4}/32,${B6}/128`, "persistent-keepalive", "25"]);
    const p = dump(NS_A, IF_A).peers[0]!;
    expect(p.allowed).toBe(`${B4}/32,${B6}/128`);
    expect(p.keepalive).toBe("25");
    expect(ping(NS_A, B6)).toBe(true);
  });

  it("`wg set` listen-port rebinds; wireguard-go follows the roaming endpoint", () => {
    nsSh(NS_A, "wg", ["set", IF_A, "listen-port", "51111"]);
    expect(dump(NS_A, IF_A).listenPort).toBe(51111);
    expect(ping(NS_A, B4)).toBe(true);
    expect(dump(NS_B, IF_B).peers[0]!.endpoint).toBe(`${UA4}:51111`);
    expect(ping(NS_B, A4)).toBe(true);
  });

  it("roaming: the peer moves to a new port and address family; traffic continues, wg show updates", () => {
    // netns.sh "roaming": the peer changes its source (port, then IPv6 underlay), sends, and
    // wg-ts follows the authenticated source. (wireguard-go's sticky source address keeps the
    // old IPv4 source when its address is deleted, so moving ports is the portable check.)
    nsSh(NS_B, "wg", ["set", IF_B, "listen-port", "51122"]);
    expect(ping(NS_B, A4)).toBe(true);
    expect(dump(NS_A, IF_A).peers[0]!.endpoint).toBe(`${UB4}:51122`);
    expect(ping(NS_A, B4)).toBe(true);
    nsSh(NS_B, "wg", ["set", IF_B, "peer", ka.pub, "endpoint", "[fd01:101::1]:51111"]);
    // Up to 3 echo requests each way: wireguard-go 0.0.20250522 loses its first datagram to a new
    // IPv6 endpoint (seen here: nothing reaches this namespace's input hook), and again, now and
    // then, once it has learnt wg-ts's IPv6 source from an answer (the same run of the same test at
    // this session's first commit: 1 of 3 failed on the single A -> B ping); Debian's loses none.
    expect(ping(NS_B, A6, { count: 3 })).toBe(true);
    expect(dump(NS_A, IF_A).peers[0]!.endpoint).toBe("[fd01:101::2]:51122");
    expect(ping(NS_A, B6, { count: 3 })).toBe(true);
    expect(ping(NS_A, B4, { size: 1420 - 28, count: 3 })).toBe(true);
  });

  it("preshared keys: matching PSK interoperates, a wrong one does not", () => {
    const psk = inNs(NS_A, "wg", ["genpsk"]).stdout.trim();
    const wrong = inNs(NS_A, "wg", ["genpsk"]).stdout.trim();
    writeConf(`${dir}/psk`, psk + "\n");
    writeConf(`${dir}/wrong`, wrong + "\n");
    nsSh(NS_B, "wg", ["set", IF_B, "listen-port", "51102", "peer", ka.pub, "preshared-key", `${dir}/psk`, "endpoint", `${UA4}:51101`]);
    // Restart wg-ts with the PSK in its config: a fresh handshake must use it.
    expect(wgTs(NS_A, ["down", confA]).status).toBe(0);
    writeConf(confA, configA(psk));
    const up = wgTs(NS_A, ["up", confA]);
    expect(up.status, up.stderr).toBe(0);
    expect(dump(NS_A, IF_A).peers[0]!.psk).toBe(psk);
    expect(ping(NS_A, B4)).toBe(true);
    expect(ping(NS_B, A6)).toBe(true);
    // Change only wg-ts's PSK and force a new handshake by re-adding the peer: no session.
    nsSh(NS_A, "wg", ["set", IF_A, "peer", kb.pub, "remove"]);
    nsSh(NS_A, "wg", ["set", IF_A, "peer", kb.pub, "preshared-key", `${dir}/wrong`, "endpoint", `${UB4}:51102`, "allowed-ips", `${B4}/32`]);
    expect(ping(NS_A, B4, { wait: 2 })).toBe(false);
    // Fix it with a fresh peer (no waiting for the 5 s handshake retransmit).
    nsSh(NS_A, "wg", ["set", IF_A, "peer", kb.pub, "remove"]);
    nsSh(NS_A, "wg", ["set", IF_A, "peer", kb.pub, "preshared-key", `${dir}/psk`, "endpoint", `${UB4}:51102`, "allowed-ips", `${B4}/32`]);
    expect(ping(NS_A, B4)).toBe(true);
  });

  it("`wg showconf` of wg-ts round-trips through `wg syncconf` and `wg setconf`", () => {
    const conf = nsSh(NS_A, "wg", ["showconf", IF_A]);
    expect(conf).toContain(`PrivateKey = ${ka.priv}`);
    writeConf(`${dir}/sync.conf`, conf);
    nsSh(NS_A, "wg", ["syncconf", IF_A, `${dir}/sync.conf`]);
    expect(nsSh(NS_A, "wg", ["showconf", IF_A])).toBe(conf);
    expect(ping(NS_A, B4)).toBe(true);
    // setconf replaces everything (replace_peers): same config, same result, still working.
    nsSh(NS_A, "wg", ["setconf", IF_A, `${dir}/sync.conf`]);
    expect(nsSh(NS_A, "wg", ["showconf", IF_A])).toBe(conf);
    expect(ping(NS_A, B4)).toBe(true);
    // and wg-ts's own showconf prints the same file
    expect(wgTs(NS_A, ["showconf", IF_A]).stdout).toBe(conf);
  });

  it("bad UAPI requests get wireguard-go's errno answers; the daemon keeps serving", async () => {
    const sock = `/var/run/wireguard/${IF_A}.sock`;
    expect(await uapiRequest(sock, "set=1\nbogus_key=1\n\n")).toBe("errno=-22\n\n");
    expect(await uapiRequest(sock, "set=1\nlisten_port=99999\n\n")).toBe("errno=-22\n\n");
    expect(await uapiRequest(sock, "set=1\npublic_key=00\n\n")).toBe("errno=-22\n\n");
    expect(await uapiRequest(sock, "set=1\nno-equals-sign\n\n")).toBe("errno=-71\n\n");
    await expect(uapiRequest(sock, "hello=1\n\n")).rejects.toThrow(/closed/);
    // A rejected request changed nothing, and normal service continues.
    expect(dump(NS_A, IF_A).peers).toHaveLength(1);
    expect(ping(NS_A, B4)).toBe(true);
  });

  it("packets to unknown destinations are dropped and counted by reason (SIGUSR1 logs the counters)", async () => {
    // 192.168.101.77 is on the interface's /24 but no peer has it in AllowedIPs.
    expect(ping(NS_A, "192.168.101.77", { wait: 1 })).toBe(false);
    const s = await daemonStatus(IF_A);
    expect(s.drops["no-route"], s.line).toBeGreaterThan(0);
    expect(s.line).not.toContain(ka.priv);
  });

  it("`wg set private-key` on wg-ts takes effect live", () => {
    const k2 = genkey();
    writeConf(`${dir}/k2`, k2.priv + "\n");
    nsSh(NS_A, "wg", ["set", IF_A, "private-key", `${dir}/k2`]);
    expect(nsSh(NS_A, "wg", ["show", IF_A, "public-key"]).trim()).toBe(k2.pub);
    expect(ping(NS_A, B4, { wait: 1 })).toBe(false); // B does not know the new key yet
    nsSh(NS_B, "wg", ["set", IF_B, "peer", ka.pub, "remove"]);
    nsSh(NS_B, "wg", ["set", IF_B, "peer", k2.pub, "preshared-key", `${dir}/psk`, "endpoint", `${UA4}:51101`, "allowed-ips", `${A4}/32,${A6}/128`]);
    expect(ping(NS_B, A4)).toBe(true);
    expect(ping(NS_A, B4)).toBe(true); // (A routes only B4 to B since the PSK test)
  });

  it("down removes the interface, the socket and the daemon", () => {
    expect(wgTs(NS_A, ["down", confA]).status).toBe(0);
    expect(linkExists(NS_A, IF_A)).toBe(false);
    expect(exists(`/var/run/wireguard/${IF_A}.sock`)).toBe(false);
    expect(pidsOf(`wg-ts.js daemon ${IF_A}`)).toEqual([]);
    expect(wgTs(NS_A, ["down", confA]).stderr).toMatch(/is not a WireGuard interface/);
  });
});
