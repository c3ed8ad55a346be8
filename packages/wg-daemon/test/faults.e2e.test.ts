/**
 * Faults around a wg-ts daemon peered with wireguard-go (namespaces wgh2a/b): loss on the path
 * (handshake retries at the timers' pace, a TCP transfer arrives intact), `kill -9` and restart,
 * the peer restarting (new ephemeral keys), the peer roaming behind a NAT rebinding, malformed
 * UAPI requests, and the TUN deleted under the daemon.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uapiRequest } from "../src/uapi.js";
import { daemonPid, daemonPids, dump, eventually, exists, inNs, linkExists, linkStats, nsSh, ping, sleep, wgQuickGo, wgTs } from "./support/lab.js";
import {
  blast,
  daemonLog,
  delta,
  dropCounters,
  nft,
  nftCounter,
  nftDelete,
  pingStats,
  rssKiB,
  secretForms,
  startPair,
  stopPair,
  upA,
  type Pair,
} from "./support/hostile/pair.js";

let p: Pair;
const sock = (): string => `/var/run/wireguard/${p.ifA}.sock`;

beforeAll(() => {
  p = startPair("wgh2", 152);
});

afterAll(() => {
  if (p) stopPair(p);
});

/** Sends raw bytes on a fresh UAPI connection; resolves with whatever came back before close/timeout. */
function rawUapi(path: string, data: string | Buffer, opts: { end?: boolean; waitMs?: number } = {}): Promise<string> {
  return new Promise((resolve) => {
    const c = connect(path);
    let got = "";
    const t = setTimeout(() => {
      c.destroy();
      resolve(got);
    }, opts.waitMs ?? 2000);
    c.on("data", (d) => (got += d.toString()));
    c.on("error", () => {});
    c.on("close", () => {
      clearTimeout(t);
      resolve(got);
    });
    c.write(data, () => {
      if (opts.end) c.end();
    });
  });
}

describe("faults: wg-ts <-> wireguard-go", () => {
  it("handshake retransmits follow REKEY_TIMEOUT when the path eats everything, then resume", async () => {
    // Blackhole wg-ts's datagrams on b's input; count wg-ts's initiations (type 1) as they arrive.
    nft(
      p.nsB,
      "wghloss",
      "ip",
      `counter inits {}
       chain in { type filter hook input priority -10;
         ip saddr ${p.ua} udp sport ${p.portA} @th,64,8 1 counter name inits;
         ip saddr ${p.ua} udp sport ${p.portA} drop; }`,
    );
    try {
      // Forget the session on wg-ts (remove/re-add the peer), then try to send for ~11 s.
      nsSh(p.nsA, "wg", ["set", p.ifA, "peer", p.kb.pub, "remove"]);
      nsSh(p.nsA, "sh", [
        "-c",
        `printf '%s\\n' '${p.psk}' | wg set ${p.ifA} peer ${p.kb.pub} preshared-key /dev/stdin endpoint ${p.ub}:${p.portB} allowed-ips ${p.tb}/32`,
      ]);
      const t0 = Date.now();
      inNs(p.nsA, "ping", ["-c", "22", "-i", "0.5", "-W", "1", p.tb]);
      const secs = (Date.now() - t0) / 1000;
      const n = nftCounter(p.nsB, "wghloss", "ip", "inits");
      console.log(`blackhole: ${n} initiations from wg-ts in ${secs.toFixed(1)} s`);
      // REKEY_TIMEOUT 5 s (+ up to 333 ms jitter): one at t=0, ~5, ~10 -> 2..4 in ~11 s; never a flood.
      expect(n).toBeGreaterThanOrEqual(2);
      expect(n).toBeLessThanOrEqual(Math.ceil(secs / 5) + 1);
    } finally {
      nftDelete(p.nsB, "wghloss", "ip");
    }
    // The path is back: the next retransmission (<= REKEY_TIMEOUT + jitter away) completes it.
    expect(await eventually(() => ping(p.nsA, p.tb, { wait: 2 }), 20_000)).toBe(true);
  });

  it("no session and a flood into the tunnel: the staged queue stays bounded, drops counted", async () => {
    nft(p.nsB, "wghloss", "ip", `chain in { type filter hook input priority -10; ip saddr ${p.ua} udp sport ${p.portA} drop; }`);
    try {
      nsSh(p.nsA, "wg", ["set", p.ifA, "peer", p.kb.pub, "remove"]);
      nsSh(p.nsA, "sh", [
        "-c",
        `printf '%s\\n' '${p.psk}' | wg set ${p.ifA} peer ${p.kb.pub} preshared-key /dev/stdin endpoint ${p.ub}:${p.portB} allowed-ips ${p.tb}/32`,
      ]);
      const pid = daemonPid(p.ifA);
      const rss0 = rssKiB(pid);
      const c0 = await dropCounters(p.ifA);
      const tun0 = linkStats(p.nsA, p.ifA).txPackets;
      // 100 000 UDP datagrams (<= 1000 bytes: no fragments) from a's kernel into the tunnel.
      const r = await blast(p.nsA, ["garbage", "--to", `${p.tb}:9`, "--count", "100000", "--max-len", "1000", "--big-every", "0"]);
      await sleep(500);
      const d = delta(await dropCounters(p.ifA), c0);
      const toDaemon = linkStats(p.nsA, p.ifA).txPackets - tun0; // what the TUN handed over
      const rss1 = rssKiB(pid);
      console.log(
        `no session + TUN flood: sent ${r["sent"]}, the TUN passed ${toDaemon} to the daemon; drops ${JSON.stringify(d)}; ` +
          `RSS ${(rss0 / 1024).toFixed(1)} -> ${(rss1 / 1024).toFixed(1)} MiB`,
      );
      expect(toDaemon).toBeGreaterThan(10_000);
      // All but the newest QUEUE_STAGED_SIZE (128) are dropped as the queue overflows (a few
      // more may be discarded when a handshake attempt times out).
      expect(d["staged-queue-full"]).toBeGreaterThanOrEqual(toDaemon - 128 - (d["handshake-timeout"] ?? 0));
      expect(d["staged-queue-full"]).toBeLessThanOrEqual(toDaemon);
      expect(rss1 - rss0).toBeLessThan(64 * 1024);
      expect(daemonPid(p.ifA)).toBe(pid);
    } finally {
      nftDelete(p.nsB, "wghloss", "ip");
    }
    expect(await eventually(() => ping(p.nsA, p.tb, { wait: 2 }), 20_000)).toBe(true);
  });

  it("20% loss each way: the handshake completes and a 256 KiB TCP transfer arrives intact", async () => {
    const lossRule = (dir: "saddr" | "daddr", addr: string): string =>
      `chain in { type filter hook input priority -10; ip ${dir} ${addr} meta l4proto udp numgen random mod 100 < 20 counter drop; }`;
    nft(p.nsA, "wghloss", "ip", lossRule("saddr", p.ub));
    nft(p.nsB, "wghloss", "ip", lossRule("saddr", p.ua));
    try {
      // Force a new handshake under loss: restart wireguard-go's session.
      nsSh(p.nsB, "wg", ["set", p.ifB, "peer", p.ka.pub, "remove"]);
      nsSh(p.nsB, "sh", [
        "-c",
        `printf '%s\\n' '${p.psk}' | wg set ${p.ifB} peer ${p.ka.pub} preshared-key /dev/stdin endpoint ${p.ua}:${p.portA} allowed-ips ${p.ta}/32`,
      ]);
      const sink = blast(p.nsB, ["tcp-sink", "--listen", `${p.tb}:5201`, "--timeout-ms", "90000"]);
      await sleep(300);
      const src = await blast(p.nsA, ["tcp-source", "--to", `${p.tb}:5201`, "--bytes", String(256 << 10), "--seed", "152"]);
      const got = await sink;
      const dropped = nsSh(p.nsA, "nft", ["list", "table", "ip", "wghloss"]);
      console.log(`loss: sent ${JSON.stringify(src)} got ${JSON.stringify({ bytes: got["bytes"], sha256: got["sha256"] })}; ${/packets (\d+)/.exec(dropped)?.[0]} dropped at a`);
      expect(got["bytes"]).toBe(256 << 10);
      expect(got["sha256"]).toBe(src["sha256"]);
      expect(dump(p.nsB, p.ifB).peers[0]!.handshake).toBeGreaterThan(0);
    } finally {
      nftDelete(p.nsA, "wghloss", "ip");
      nftDelete(p.nsB, "wghloss", "ip");
    }
  });

  it("malformed UAPI requests get errno answers or a closed connection; the daemon keeps serving", async () => {
    const pid = daemonPid(p.ifA);
    const c0 = await dropCounters(p.ifA);
    const answers: string[] = [];
    // Unknown keys, bad keys and values, as wireguard-go answers them (EINVAL / EPROTO).
    for (const req of [
      "set=1\nfrobnicate=1\n\n",
      "set=1\nprivate_key=zz\n\n",
      `set=1\nprivate_key=${"0".repeat(63)}\n\n`,
      "set=1\npublic_key=" + "g".repeat(64) + "\n\n",
      "set=1\nlisten_port=-1\n\n",
      "set=1\nfwmark=0x\n\n",
      `set=1\npublic_key=${Buffer.from(p.kb.pub, "base64").toString("hex")}\nallowed_ip=300.1.1.1/32\n\n`,
      `set=1\npublic_key=${Buffer.from(p.kb.pub, "base64").toString("hex")}\nendpoint=nowhere\n\n`,
      `set=1\npublic_key=${Buffer.from(p.kb.pub, "base64").toString("hex")}\npersistent_keepalive_interval=70000\n\n`,
      "set=1\n=\n\n",
      "set=1\nno equals\n\n",
    ]) {
      answers.push(await uapiRequest(sock(), req));
    }
    console.log(`uapi answers: ${JSON.stringify(answers)}`);
    for (const a of answers) expect(a).toMatch(/^errno=-(22|71)\n\n$/);
    // The same device-level requests, and 100 random ones, answered exactly as wireguard-go
    // (the peer in b) answers them. Values are never numeric or hex keys: nothing gets applied.
    const goSock = `/var/run/wireguard/${p.ifB}.sock`;
    const names = ["private_key", "listen_port", "fwmark", "replace_peers", "public_key", "protocol_version", "frobnicate", "", "LISTEN_PORT", "set", "get"];
    const alphabet = "abcxyz_-=:/ .!é\t";
    let seed = 4242;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    const word = (n: number): string => Array.from({ length: n }, () => alphabet[rnd(alphabet.length)]).join("");
    const requests = [
      "set=1\nfrobnicate=1\n\n",
      "set=1\nprivate_key=zz\n\n",
      `set=1\nprivate_key=${"0".repeat(63)}\n\n`,
      "set=1\nlisten_port=-1\n\n",
      "set=1\nfwmark=0x\n\n",
      "set=1\n=\n\n",
      "set=1\nno equals\n\n",
    ];
    for (let i = 0; i < 100; i++) requests.push(`set=1\n${names[rnd(names.length)]}${word(rnd(4))}=${word(1 + rnd(12))}\n\n`);
    const mismatches: string[] = [];
    for (const req of requests) {
      const [ours, theirs] = [await uapiRequest(sock(), req), await uapiRequest(goSock, req)];
      if (ours !== theirs) mismatches.push(`${JSON.stringify(req)}: wg-ts ${JSON.stringify(ours)} wireguard-go ${JSON.stringify(theirs)}`);
    }
    console.log(`uapi: ${requests.length} requests compared with wireguard-go, e.g. ${JSON.stringify(requests[9])} -> ${JSON.stringify(await uapiRequest(goSock, requests[9]!))}`);
    expect(mismatches).toEqual([]);
    // Random binary lines, a 6 MiB line without a newline, half requests, an unknown operation:
    // the connection may close, the daemon must not.
    const junk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919 + 13) & 0xff;
    const raw: string[] = [];
    raw.push(await rawUapi(sock(), junk, { end: true }));
    raw.push(await rawUapi(sock(), Buffer.alloc(6 << 20, 0x61), { end: true, waitMs: 5000 }));
    await rawUapi(sock(), "set=1\nprivate_key=", { end: true });
    await rawUapi(sock(), "set=1\nlisten_port=1", { waitMs: 300 }); // client vanishes mid-request
    await rawUapi(sock(), "get=1\n", { end: true });
    await rawUapi(sock(), "hello=1\n\n");
    raw.push(await rawUapi(sock(), "\n\n\n"));
    console.log(`uapi raw answers (junk, 6 MiB line, blank lines): ${JSON.stringify(raw)}`);
    for (let i = 0; i < 50; i++) expect(await uapiRequest(sock(), `set=1\nk${i}=${"x".repeat(i * 100)}\n\n`)).toBe("errno=-22\n\n");
    // Still the same process, same configuration, still serving, tunnel still up.
    expect(daemonPid(p.ifA)).toBe(pid);
    const d = dump(p.nsA, p.ifA);
    expect(d.listenPort).toBe(p.portA);
    expect(d.peers.map((x) => x.pub)).toEqual([p.kb.pub]);
    expect(d.peers[0]!.psk).toBe(p.psk);
    expect(ping(p.nsA, p.tb, { count: 2 })).toBe(true);
    const errs = delta(await dropCounters(p.ifA), c0);
    console.log(`uapi errors counted: ${JSON.stringify(errs)}`);
    expect((errs["uapi-22"] ?? 0) + (errs["uapi-71"] ?? 0)).toBeGreaterThanOrEqual(answers.length);
  });

  it("listen-port rebinds and 200 concurrent UAPI clients in the middle of a garbage flood", async () => {
    const pid = daemonPid(p.ifA);
    const other = p.portA + 1000;
    // 150 000 datagrams at the original port while the daemon rebinds away and back five times.
    const flood = blast(p.nsB, ["garbage", "--to", `${p.ua}:${p.portA}`, "--count", "150000", "--seed", "9"]);
    for (let i = 0; i < 5; i++) {
      nsSh(p.nsA, "wg", ["set", p.ifA, "listen-port", String(other)]);
      await sleep(100);
      nsSh(p.nsA, "wg", ["set", p.ifA, "listen-port", String(p.portA)]);
      await sleep(100);
    }
    const gets = await Promise.all(Array.from({ length: 200 }, () => uapiRequest(sock(), "get=1\n\n")));
    await flood;
    expect(gets.every((g) => g.startsWith("private_key=") && g.endsWith("errno=0\n\n"))).toBe(true);
    expect(daemonPid(p.ifA)).toBe(pid);
    expect(dump(p.nsA, p.ifA).listenPort).toBe(p.portA);
    // wireguard-go still sends to the original port; the tunnel passes both ways.
    expect(await eventually(() => ping(p.nsB, p.ta, { wait: 2 }), 10_000)).toBe(true);
    expect(ping(p.nsA, p.tb)).toBe(true);
  });

  it("a UAPI client pipelining requests without reading the answers cannot make the daemon buffer them", async () => {
    // Regression: every answer was queued in memory (RSS 56 -> 555 MiB for 14 MB of `get=1`).
    const pid = daemonPid(p.ifA);
    const rss0 = rssKiB(pid);
    const c = connect(sock());
    c.pause(); // never reads
    c.on("error", () => {});
    await new Promise((r) => c.once("connect", r));
    const chunk = Buffer.from("get=1\n\n".repeat(100_000));
    let sent = 0;
    // Up to 40 MB; stop early once the daemon stops reading (our own queue stays above 8 MB).
    for (; sent < 40e6 && !c.destroyed; sent += chunk.length) {
      c.write(chunk);
      for (let i = 0; i < 10 && c.writableLength > 8e6; i++) await sleep(20);
      if (c.writableLength > 8e6) break;
    }
    await sleep(1000);
    const rss1 = rssKiB(pid);
    // Meanwhile other clients are served.
    expect(dump(p.nsA, p.ifA).peers).toHaveLength(1);
    console.log(`uapi pipeline without reading: ${(sent / 1e6).toFixed(1)} MB written, ${(c.writableLength / 1e6).toFixed(1)} MB not taken; RSS ${(rss0 / 1024).toFixed(1)} -> ${(rss1 / 1024).toFixed(1)} MiB`);
    c.destroy();
    expect(rss1 - rss0).toBeLessThan(64 * 1024);
    // A client that does read gets every pipelined answer, in order.
    const answers = await new Promise<string>((resolve) => {
      const d = connect(sock());
      let got = "";
      d.setEncoding("utf8");
      d.on("data", (x: string) => {
        got += x;
        if (got.split("errno=0\n\n").length - 1 === 3000) {
          d.destroy();
          resolve(got);
        }
      });
      d.on("close", () => resolve(got));
      d.write("get=1\n\n".repeat(2000) + "set=1\n\n".repeat(1000));
    });
    expect(answers.split("errno=0\n\n").length - 1).toBe(3000);
    expect(answers.split("private_key=").length - 1).toBe(2000);
    expect(answers.endsWith("errno=0\n\nerrno=0\n\n")).toBe(true);
  });

  it("odd endpoints (v4-mapped, port 0, broadcast, multicast, link-local with zone): accepted or refused like wireguard-go, never fatal", async () => {
    const pid = daemonPid(p.ifA);
    const odd = [`[::ffff:${p.ub}]:${p.portB}`, `${p.ub}:0`, `255.255.255.255:${p.portB}`, `224.0.0.1:${p.portB}`, `[fe80::1%${p.vethA}]:${p.portB}`, `[::]:${p.portB}`, `0.0.0.0:${p.portB}`];
    const outcomes: string[] = [];
    for (const ep of odd) {
      const ours = inNs(p.nsA, "wg", ["set", p.ifA, "peer", p.kb.pub, "endpoint", ep]);
      // The same request against wireguard-go (its peer is wg-ts's key), for comparison only.
      const theirs = inNs(p.nsB, "wg", ["set", p.ifB, "peer", p.ka.pub, "endpoint", ep.replace(p.vethA, p.vethB)]);
      outcomes.push(`${ep}: wg-ts ${ours.status} wireguard-go ${theirs.status}`);
      expect(ours.status === 0, ep).toBe(theirs.status === 0);
      // Traffic toward it: dropped or sent into the void, counted, not fatal.
      inNs(p.nsA, "ping", ["-c", "2", "-i", "0.2", "-W", "1", p.tb]);
      expect(daemonPid(p.ifA)).toBe(pid);
    }
    console.log(`odd endpoints: ${outcomes.join("; ")}`);
    nsSh(p.nsA, "wg", ["set", p.ifA, "peer", p.kb.pub, "endpoint", `${p.ub}:${p.portB}`]);
    nsSh(p.nsB, "wg", ["set", p.ifB, "peer", p.ka.pub, "endpoint", `${p.ua}:${p.portA}`]);
    expect(await eventually(() => ping(p.nsA, p.tb, { wait: 2 }), 15_000)).toBe(true);
    expect(dump(p.nsA, p.ifA).listenPort).toBe(p.portA);
  });

  it("the peer restarts (new ephemeral keys, same static key): the tunnel comes back", async () => {
    const hs0 = dump(p.nsA, p.ifA).peers[0]!.handshake;
    expect(wgQuickGo(p.nsB, "down", p.confB).status).toBe(0);
    expect(ping(p.nsA, p.tb, { wait: 1 })).toBe(false);
    expect(wgQuickGo(p.nsB, "up", p.confB).status).toBe(0);
    // wg-ts still holds the old session; its first packets go to a peer that lost the keys, and
    // the handshake is renewed (by wireguard-go's initiation on its first packet, or wg-ts's timers).
    expect(ping(p.nsB, p.ta, { count: 3, wait: 6 })).toBe(true);
    expect(ping(p.nsA, p.tb, { count: 3, wait: 6 })).toBe(true);
    expect(dump(p.nsA, p.ifA).peers[0]!.handshake).toBeGreaterThanOrEqual(hs0);
  });

  it("the peer roams (NAT rebinding to a new address and port): wg-ts follows the authenticated source", async () => {
    // NAT applies to new conntrack flows only: the peer moves to a new port, and b's NAT maps
    // that flow to another address and port, as a rebinding home router would.
    const newAddr = p.ub.replace(/\.2$/, ".22");
    const newPort = p.portB + 100;
    nsSh(p.nsB, "ip", ["addr", "add", `${newAddr}/24`, "dev", p.vethB]);
    nft(
      p.nsB,
      "wghnat",
      "ip",
      `chain post { type nat hook postrouting priority 100; ip daddr ${p.ua} udp sport ${newPort} udp dport ${p.portA} snat to ${newAddr}:40123; }`,
    );
    try {
      nsSh(p.nsB, "wg", ["set", p.ifB, "listen-port", String(newPort)]);
      expect(ping(p.nsB, p.ta, { count: 2, wait: 3 })).toBe(true);
      expect(dump(p.nsA, p.ifA).peers[0]!.endpoint).toBe(`${newAddr}:40123`);
      // Replies go to the new endpoint, and conntrack maps them back to wireguard-go.
      expect(ping(p.nsA, p.tb, { count: 2, wait: 3 })).toBe(true);
    } finally {
      nftDelete(p.nsB, "wghnat", "ip");
      nsSh(p.nsB, "wg", ["set", p.ifB, "listen-port", String(p.portB)]);
      nsSh(p.nsB, "ip", ["addr", "del", `${newAddr}/24`, "dev", p.vethB]);
    }
    // Back home.
    expect(ping(p.nsB, p.ta, { count: 2, wait: 3 })).toBe(true);
    expect(dump(p.nsA, p.ifA).peers[0]!.endpoint).toBe(`${p.ub}:${p.portB}`);
  });

  it("reordering on the path (a shuffling relay): no false replays, pings and a 512 KiB TCP transfer intact", async () => {
    // wireguard-go -> relay (b, shuffles groups of 8) -> wg-ts; wg-ts roams to the relay's source.
    const relayPort = p.portB + 200;
    let stop = (): void => {};
    const relay = blast(p.nsB, ["relay", "--listen", `${p.ub}:${relayPort}`, "--to", `${p.ua}:${p.portA}`, "--shuffle", "8", "--seconds", "60"], (s) => (stop = s));
    await sleep(300);
    const c0 = await dropCounters(p.ifA);
    try {
      nsSh(p.nsB, "wg", ["set", p.ifB, "peer", p.ka.pub, "endpoint", `${p.ub}:${relayPort}`]);
      const s = pingStats(p.nsB, p.ta, 200, 0.01); // 10 ms apart: a burst the relay can reorder
      const sink = blast(p.nsA, ["tcp-sink", "--listen", `${p.ta}:5202`, "--timeout-ms", "60000"]);
      await sleep(300);
      const src = await blast(p.nsB, ["tcp-source", "--to", `${p.ta}:5202`, "--bytes", String(512 << 10), "--seed", "153"]);
      const got = await sink;
      stop();
      const r = await relay;
      const d = delta(await dropCounters(p.ifA), c0);
      console.log(`reorder: relay ${JSON.stringify(r)}; ping ${JSON.stringify(s)}; tcp ${got["bytes"]} bytes, sha ok ${got["sha256"] === src["sha256"]}; wg-ts drops ${JSON.stringify(d)}`);
      expect(r["outOfOrder"]).toBeGreaterThan(50); // it really reordered
      expect(s.dup).toBe(0);
      expect(s.rx).toBeGreaterThanOrEqual(195);
      expect(got["bytes"]).toBe(512 << 10);
      expect(got["sha256"]).toBe(src["sha256"]);
      expect(d["replay"] ?? 0).toBe(0); // reordered is not replayed: the window takes it
      expect(dump(p.nsA, p.ifA).peers[0]!.endpoint).toBe(`${p.ub}:${r["backPort"]}`);
    } finally {
      stop();
      nsSh(p.nsB, "wg", ["set", p.ifB, "peer", p.ka.pub, "endpoint", `${p.ua}:${p.portA}`]);
    }
    expect(await eventually(() => ping(p.nsB, p.ta, { wait: 2 }) && dump(p.nsA, p.ifA).peers[0]!.endpoint === `${p.ub}:${p.portB}`, 10_000)).toBe(true);
  });

  it("kill -9 of the daemon: the TUN goes with it, a stale socket does not block `wg-ts up`", async () => {
    const pid = daemonPid(p.ifA);
    p.logs.push(daemonLog(p.ifA));
    process.kill(pid, "SIGKILL");
    expect(await eventually(() => daemonPids(p.ifA).length === 0, 5000)).toBe(true);
    // The kernel removes the TUN with its last fd; the socket file is left behind, dead.
    expect(await eventually(() => !linkExists(p.nsA, p.ifA), 5000)).toBe(true);
    const stale = exists(sock());
    upA(p);
    expect(daemonPid(p.ifA)).not.toBe(pid);
    expect(ping(p.nsA, p.tb, { count: 3, wait: 6 })).toBe(true);
    expect(ping(p.nsB, p.ta, { count: 2, wait: 3 })).toBe(true);
    console.log(`kill -9: stale socket left behind: ${stale}; restart ok`);
  });

  it("the TUN deleted under the daemon: it exits cleanly and removes its socket", async () => {
    const pid = daemonPid(p.ifA);
    nsSh(p.nsA, "ip", ["link", "del", p.ifA]);
    expect(await eventually(() => daemonPids(p.ifA).length === 0, 8000)).toBe(true);
    expect(exists(sock())).toBe(false);
    const log = daemonLog(p.ifA);
    p.logs.push(log);
    expect(log).toMatch(new RegExp(`${p.ifA}: shutting down \\(TUN gone`));
    // And it can come back.
    upA(p);
    expect(daemonPid(p.ifA)).not.toBe(pid);
    expect(ping(p.nsA, p.tb, { count: 3, wait: 6 })).toBe(true);
  });

  it("no private key or PSK in any log line of these faults", () => {
    const all = daemonLog(p.ifA) + p.logs.join("\n") + wgTs(p.nsA, ["show", p.ifA]).stdout;
    expect(all.length).toBeGreaterThan(0);
    for (const s of secretForms(p)) expect(all).not.toContain(s);
  });
});
