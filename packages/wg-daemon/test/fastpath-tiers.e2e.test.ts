/**
 * The fast path's two tiers (src/dataplane/io.ts) end to end, wg-ts <-> wireguard-go in namespaces
 * wgtier-a / wgtier-b (support/hostile/pair.ts): all I/O on the main thread while traffic is light,
 * two worker threads once, in a 100 ms tick, the main thread reads > 512 TUN packets or the core
 * authenticates > 640 KiB (with a session up), stopped again after
 * 10 s with < 2560 worker packets; the SIGUSR1 log line tells which (`fast path: workers=on|off
 * worker-starts=N ... worker-tx-packets=… worker-rx-packets=…`).
 *
 * 1. Idle: no workers (`workers=off worker-starts=0`), fewer threads in /proc/PID/task than with them.
 * 2. A TCP transfer starts them, 10 s of quiet stops them, and they start again on the next one.
 * 3-4. The receive replay window survives each handoff: a recording relay (blaster `record-relay`)
 *    between wireguard-go and wg-ts keeps transport messages wireguard-go sent while one tier ran
 *    and re-sends them while the other runs. Every one must be dropped as `replay` and none may
 *    reach the TUN (its rx count unchanged). Both tiers check the one replay window of the keypair
 *    in the Device's session table (shared memory): nothing is handed over at a switch.
 *    The re-sent counters are checked to be inside the 8128-counter window of the latest counter
 *    wireguard-go sent (else "too old" would drop them too and the test would prove nothing), and
 *    each tier is checked to have run without a switch all through its half.
 * 5-6. Replay protection is the session table's, not a copy's (issue 13 phase B): messages the rx
 *    worker accepted are re-sent after a 65th peer is added and again after peer 1001 (10,000
 *    allowed-IPs prefixes) — the configurations that once made the workers drop their windows and
 *    stop — with the workers on throughout: zero reach the TUN, the endpoint does not move.
 * 7. WG_TS_WORKERS=never keeps the main thread under load; a bad value fails `wg-ts up` cleanly.
 * 8. A crashed rx worker loses no replay state: with the test-only WG_TS_TEST_RX_CRASH_AFTER_REPLAYS=1
 *    (NODE_ENV=test) the rx worker throws at the first replay it drops; the core then judges the rest
 *    of the recorded messages: every one a replay, none on the TUN.
 * 9. One-way traffic on the workers (WG_TS_WORKERS=always): wireguard-go's keepalives, counted by
 *    the rx worker and reported through its activity ring, keep wg-ts from a handshake 15 s after
 *    its data went unanswered.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { daemonPid, daemonPids, dump, eventually, exists, inNs, linkExists, linkStats, nsSh, ping, sleep, tcpPayload, wgTs, type Result } from "./support/lab.js";
import { daemonStatus, type DaemonStatus } from "./support/status.js";
import { BLASTER, blast, daemonLog, nft, nftDelete, pingStats, startPair, stopPair, type Pair } from "./support/hostile/pair.js";

/** The receive replay window: counters this far behind the highest one are still judged (wg-core REPLAY_WINDOW_SIZE). */
const WINDOW = 8128;
/** Transport messages the relay keeps and re-sends. */
const KEEP = 200;
/** How long the workers may take to stop once traffic ends (10 s window + ticks + the 250 ms poll). */
const STOP_MS = 15_000;

let p: Pair;
/** Threads of the idle daemon (test 1), compared with the count while the workers run. */
let idleTasks = NaN;

/** Polls the SIGUSR1 status every 100 ms until `ok` holds or `ms` pass; returns the last one and the time taken. */
async function statusUntil(ok: (s: DaemonStatus) => boolean, ms: number): Promise<{ s: DaemonStatus; ok: boolean; ms: number }> {
  const t0 = Date.now();
  for (;;) {
    const s = await daemonStatus(p.ifA);
    if (ok(s)) return { s, ok: true, ms: Date.now() - t0 };
    if (Date.now() - t0 > ms) return { s, ok: false, ms: Date.now() - t0 };
    await sleep(100);
  }
}

const replayDrops = (s: DaemonStatus): number => s.drops["replay"] ?? 0;

/** Threads of a process (Node's own, libuv's pool, V8's, and the fast path's workers when they run). */
function tasks(pid: number): number {
  return readdirSync(`/proc/${pid}/task`).length;
}

/** `wg-ts up confA` with extra environment. */
function upWith(env: Record<string, string>): Result {
  const r = wgTs(p.nsA, ["up", p.confA], { ...process.env, ...env });
  p.logs.push(r.stdout, r.stderr);
  return r;
}

/** The TUN's rx packets: what the daemon wrote into it (decrypted inner packets). */
const tunRx = (): number => linkStats(p.nsA, p.ifA).rxPackets;

interface RelayAnswer {
  ack?: string;
  error?: string;
  kept: number;
  recorded: number;
  sent: number;
  indices: number[];
  minCounter: number;
  maxCounter: number;
  latest: Record<string, number>;
  backPort: number;
  /** Datagrams wireguard-go sent to the relay, and wg-ts sent back through it, so far. */
  received: number;
  replies: number;
}

/** The blaster's `record-relay` in `ns`, driven by lines on its stdin (one JSON answer each). */
function recordRelay(ns: string, listen: string, to: string): { cmd(c: string): Promise<RelayAnswer>; end(): Promise<void> } {
  const c = spawn("ip", ["netns", "exec", ns, process.execPath, BLASTER, "record-relay", "--listen", listen, "--to", to, "--keep", String(KEEP), "--seconds", "90"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let err = "";
  c.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const lines: string[] = [];
  let waiter: (() => void) | null = null;
  createInterface({ input: c.stdout }).on("line", (l) => {
    lines.push(l);
    waiter?.();
  });
  const closed = new Promise<void>((r) => c.once("close", () => r()));
  let exited = false;
  void closed.then(() => {
    exited = true;
    waiter?.();
  });
  return {
    async cmd(command) {
      c.stdin.write(command + "\n");
      const end = Date.now() + 10_000;
      while (lines.length === 0) {
        if (exited || Date.now() > end) throw new Error(`record-relay: no answer to ${command} (exited ${exited}): ${err}`);
        await new Promise<void>((r) => {
          waiter = r;
          setTimeout(r, 200);
        });
        waiter = null;
      }
      const a = JSON.parse(lines.shift()!) as RelayAnswer;
      if (a.error) throw new Error(`record-relay: ${a.error}`);
      return a;
    },
    async end() {
      c.stdin.end();
      const t = setTimeout(() => c.kill("SIGTERM"), 3000);
      await closed;
      clearTimeout(t);
    },
  };
}

/**
 * Puts the recording relay (in b) between wireguard-go and wg-ts: wireguard-go's endpoint for wg-ts
 * becomes the relay, and wg-ts roams to the relay's source port on the first packet it authenticates.
 */
async function withRelay<T>(port: number, body: (relay: ReturnType<typeof recordRelay>) => Promise<T>): Promise<T> {
  const relay = recordRelay(p.nsB, `${p.ub}:${port}`, `${p.ua}:${p.portA}`);
  try {
    const { backPort } = await relay.cmd("stop"); // answered once both sockets are bound
    nsSh(p.nsB, "wg", ["set", p.ifB, "peer", p.ka.pub, "endpoint", `${p.ub}:${port}`]);
    const roamed = await eventually(() => ping(p.nsB, p.ta, { wait: 2 }) && dump(p.nsA, p.ifA).peers[0]!.endpoint === `${p.ub}:${backPort}`, 10_000);
    expect(roamed, "wg-ts roams to the relay").toBe(true);
    return await body(relay);
  } finally {
    await relay.end();
    nsSh(p.nsB, "wg", ["set", p.ifB, "peer", p.ka.pub, "endpoint", `${p.ua}:${p.portA}`]);
    await eventually(() => ping(p.nsB, p.ta, { wait: 2 }) && dump(p.nsA, p.ifA).peers[0]!.endpoint === `${p.ub}:${p.portB}`, 10_000);
  }
}

/**
 * Re-sends what the relay kept, then waits for the daemon to count it: the `replay` drops must grow
 * by exactly the number re-sent and the TUN must not get a single packet more.
 */
async function replayAll(relay: ReturnType<typeof recordRelay>, kept: RelayAnswer): Promise<{ sent: RelayAnswer; dropped: number; tunGrew: number; after: DaemonStatus }> {
  const before = await daemonStatus(p.ifA);
  const rx0 = tunRx();
  const sent = await relay.cmd("replay");
  expect(sent.sent).toBe(kept.kept);
  // Every re-sent counter is inside the window of the newest one wireguard-go has sent on that
  // session: only a window that remembers it can drop it ("too old" would drop anything behind it).
  for (const i of kept.indices) expect(sent.latest[String(i)]! - kept.minCounter).toBeLessThan(WINDOW);
  const done = await statusUntil((s) => replayDrops(s) - replayDrops(before) >= sent.sent, 5000);
  const dropped = replayDrops(done.s) - replayDrops(before);
  const tunGrew = tunRx() - rx0;
  return { sent, dropped, tunGrew, after: done.s };
}

/** wg-ts's endpoint for wireguard-go, as `wg show dump` gives it. */
const endpointA = (): string => dump(p.nsA, p.ifA).peers[0]!.endpoint;

/** Peers added so far by {@link addPeers} (their ids continue: each gets its own prefixes). */
let added = 0;

/** Adds `n` peers with random public keys and `prefixes` /32 allowed IPs each (172.16.0.0/12) with `wg addconf`. */
function addPeers(n: number, prefixes: number): void {
  const lines: string[] = [];
  for (let i = 0; i < n; i++, added++) {
    const ips = Array.from({ length: prefixes }, (_, j) => `172.${16 + (added >> 8)}.${added & 255}.${j}/32`);
    lines.push("[Peer]", `PublicKey = ${randomBytes(32).toString("base64")}`, `AllowedIPs = ${ips.join(", ")}`, "");
  }
  const file = join(p.dir, `extra-peers-${added}.conf`);
  writeFileSync(file, lines.join("\n"), { mode: 0o600 });
  nsSh(p.nsA, "wg", ["addconf", p.ifA, file]);
}

/**
 * Starts the workers with an unrecorded 16 MiB transfer wireguard-go -> wg-ts and waits until they
 * run. The main thread alone may finish such a transfer before the 100 ms tick that starts them, so
 * a recorded transfer comes after this one: all of it then meets running workers.
 */
async function startWorkers(port: number): Promise<{ s: DaemonStatus; ok: boolean; ms: number }> {
  const payload = tcpPayload(p.dir, 16 << 20);
  expect(await payload.transfer(p.nsB, p.nsA, p.ta, port)).toBe(`${payload.bytes} ${payload.hash}`);
  return statusUntil((s) => s.workers === "on", 10_000);
}

/**
 * Records the last KEEP transport messages of a 16 MiB transfer wireguard-go -> wg-ts that the rx
 * worker accepted: the workers run from before the transfer (started by {@link startWorkers} on
 * `port` + 10000) to after it, without a stop in between.
 */
async function recordWorkerTransfer(relay: ReturnType<typeof recordRelay>, port: number): Promise<{ kept: RelayAnswer; s1: DaemonStatus; ms: number }> {
  const on = await startWorkers(port + 10_000);
  expect(on.ok).toBe(true);
  const s0 = on.s;
  await relay.cmd("record");
  const sink = blast(p.nsA, ["tcp-sink", "--listen", `${p.ta}:${port}`, "--timeout-ms", "30000"]);
  expect(await eventually(() => inNs(p.nsA, "ss", ["-Hltn", `sport = :${port}`]).stdout.includes(String(port)), 5000)).toBe(true);
  const t0 = Date.now();
  const source = blast(p.nsB, ["tcp-source", "--to", `${p.ta}:${port}`, "--bytes", String(16 << 20), "--seed", String(port)]);
  const [src, got] = await Promise.all([source, sink]);
  const ms = Date.now() - t0;
  expect(got["bytes"]).toBe(16 << 20);
  expect(got["sha256"]).toBe(src["sha256"]);
  const kept = await relay.cmd("stop");
  const s1 = await daemonStatus(p.ifA);
  expect(s1.workers).toBe("on");
  expect(s1.starts).toBe(s0.starts); // no stop and restart during the recorded transfer
  expect(s1.rxPackets - s0.rxPackets).toBeGreaterThan(KEEP * 4);
  expect(kept.kept).toBe(KEEP);
  expect(kept.indices).toHaveLength(1);
  return { kept, s1, ms };
}

/**
 * Keeps the workers busy (UDP wg-ts -> wireguard-go, discarded in b: wireguard-go's counter towards
 * wg-ts does not move) while `body` runs.
 */
async function withOutboundLoad<T>(seconds: number, body: () => Promise<T>): Promise<T> {
  nft(p.nsB, "wgtierload", "inet", `chain in { type filter hook input priority -10; iifname "${p.ifB}" udp dport 9 drop; }`);
  try {
    const flood = blast(p.nsA, ["udp-flood", "--to", `${p.tb}:9`, "--pps", "3000", "--seconds", String(seconds)]);
    const r = await body();
    await flood;
    return r;
  } finally {
    nftDelete(p.nsB, "wgtierload", "inet");
  }
}

beforeAll(() => {
  // These tests are about the default data plane (fast path, workers auto): no inherited overrides.
  delete process.env["WG_TS_WORKERS"];
  p = startPair("wgtier-", 158);
});

afterAll(() => {
  if (p) stopPair(p);
});

describe("fast path tiers: main thread when idle, workers under load (wg-ts <-> wireguard-go)", () => {
  it("idle: the main thread does all I/O, no worker threads", async () => {
    expect(pingStats(p.nsA, p.tb, 5, 0.1).rx).toBe(5);
    expect(pingStats(p.nsB, p.ta, 5, 0.1).rx).toBe(5);
    const s = await daemonStatus(p.ifA);
    idleTasks = tasks(daemonPid(p.ifA));
    console.log(`idle: ${s.line}; daemon threads ${idleTasks}`);
    expect(s.workers).toBe("off");
    expect(s.starts).toBe(0);
    expect(s.peers).toBe(1); // the peer is published (the workers could take it), they just do not run
    expect(s.txPackets + s.rxPackets).toBe(0);
  });

  it("a transfer starts the workers, 10 s of quiet stops them, the next transfer starts them again", async () => {
    const pid = daemonPid(p.ifA);
    // 128 MiB: the workers start within the first ~0.5 s (the main thread's pipelines alone carry
    // a few hundred Mbit/s until then); the rest of the transfer is theirs.
    const payload = tcpPayload(p.dir, 128 << 20);
    // wg-ts -> wireguard-go: the bulk crosses the tx worker.
    expect(await payload.transfer(p.nsA, p.nsB, p.tb, 5401)).toBe(`${payload.bytes} ${payload.hash}`);
    const ended = Date.now();
    const on = await daemonStatus(p.ifA);
    const onTasks = tasks(pid);
    console.log(`after transfer 1: ${on.line}; daemon threads ${onTasks} (idle ${idleTasks})`);
    expect(on.workers).toBe("on");
    expect(on.starts).toBe(1);
    expect(on.txPackets + on.rxPackets).toBeGreaterThan(2000);
    expect(onTasks).toBeGreaterThanOrEqual(idleTasks + 2); // the tx and rx workers

    const off = await statusUntil((s) => s.workers === "off", STOP_MS);
    const offTasks = tasks(pid);
    console.log(`workers off ${Date.now() - ended} ms after the transfer ended: ${off.s.line}; daemon threads ${offTasks}`);
    expect(off.ok).toBe(true);
    expect(off.s.starts).toBe(1);
    expect(offTasks).toBeLessThanOrEqual(onTasks - 2); // the worker threads have exited

    // The main thread carries on: pings both ways, then a second transfer (wireguard-go -> wg-ts: the rx worker).
    const pings = [pingStats(p.nsA, p.tb, 5, 0.1), pingStats(p.nsB, p.ta, 5, 0.1)];
    console.log(`pings with the workers off: a -> b ${JSON.stringify(pings[0])}, b -> a ${JSON.stringify(pings[1])}`);
    expect(pings.map((x) => x.rx)).toEqual([5, 5]);
    expect((await daemonStatus(p.ifA)).workers).toBe("off");
    expect(await payload.transfer(p.nsB, p.nsA, p.ta, 5402)).toBe(`${payload.bytes} ${payload.hash}`);
    const again = await daemonStatus(p.ifA);
    console.log(`after transfer 2: ${again.line}`);
    expect(again.workers).toBe("on");
    expect(again.starts).toBe(2);
    expect(again.rxPackets - off.s.rxPackets).toBeGreaterThan(2000);
  });

  it("replay across the handoff workers -> core: what the rx worker accepted, the core drops as replay", async () => {
    // From the previous test's load the workers may still run: wait for the core to have the I/O.
    const idle = await statusUntil((s) => s.workers === "off", STOP_MS);
    expect(idle.ok).toBe(true);
    const s0 = idle.s;
    await withRelay(p.portB + 300, async (relay) => {
      // A transfer wireguard-go -> wg-ts with the workers on (its transport messages pass the relay,
      // which keeps the last KEEP): one start since the idle status, the rx worker delivered more
      // packets than were kept, and the workers never stopped in between.
      const { kept, s1, ms } = await recordWorkerTransfer(relay, 5403);
      console.log(
        `workers -> core: a ${ms} ms transfer with the workers on; relay kept ${kept.kept} of ${kept.recorded} ` +
          `(counters ${kept.minCounter}..${kept.maxCounter}, index ${kept.indices.join(",")}); ${s1.line}`,
      );
      expect(s1.starts).toBe(s0.starts + 1);

      // Quiet: the workers stop and hand their window back; then the same messages again.
      const off = await statusUntil((s) => s.workers === "off", STOP_MS);
      expect(off.ok).toBe(true);
      const r = await replayAll(relay, kept);
      console.log(
        `workers -> core: off ${off.ms} ms after the transfer; re-sent ${r.sent.sent} (newest counter on the wire ${JSON.stringify(r.sent.latest)}): ` +
          `replay drops +${r.dropped}, TUN rx +${r.tunGrew}; ${r.after.line}`,
      );
      expect(r.dropped).toBe(KEEP);
      expect(r.tunGrew).toBe(0);
      expect(r.after.workers).toBe("off"); // the core judged them all (200 packets do not start the workers)
      expect(r.after.starts).toBe(s0.starts + 1);
    });
    expect(ping(p.nsA, p.tb, { count: 2 })).toBe(true);
  });

  it("replay across the handoff core -> workers: what the core accepted, the workers drop as replay", async () => {
    const idle = await statusUntil((s) => s.workers === "off", STOP_MS);
    expect(idle.ok).toBe(true);
    const s0 = idle.s;
    // The load below is UDP wg-ts -> wireguard-go, discarded in b (no answer, no ICMP): wireguard-go's
    // counter towards wg-ts stays where the recording left it, well inside the window.
    nft(p.nsB, "wgtierdrop", "inet", `chain in { type filter hook input priority -10; iifname "${p.ifB}" udp dport 9 drop; }`);
    try {
      await withRelay(p.portB + 301, async (relay) => {
        // 250 pings wireguard-go -> wg-ts at 100/s (≈ 50 packets a tick: the core handles them alone).
        await relay.cmd("record");
        const pings = pingStats(p.nsB, p.ta, 250, 0.01);
        const kept = await relay.cmd("stop");
        const s1 = await daemonStatus(p.ifA);
        console.log(`core -> workers: pings ${JSON.stringify(pings)}; relay kept ${kept.kept} of ${kept.recorded} (counters ${kept.minCounter}..${kept.maxCounter}); ${s1.line}`);
        expect(pings.rx).toBe(250);
        expect(kept.kept).toBe(KEEP);
        expect(kept.indices).toHaveLength(1);
        expect(s1.workers).toBe("off"); // the core, not the workers, accepted every kept message
        expect(s1.starts).toBe(s0.starts);

        // Load starts the workers; they start from the core's window.
        const flood = blast(p.nsA, ["udp-flood", "--to", `${p.tb}:9`, "--pps", "12000", "--seconds", "2.5"]);
        const on = await statusUntil((s) => s.starts === s0.starts + 1, 6000);
        const f = await flood;
        console.log(`core -> workers: workers on after ${on.ms} ms of flood; flood ${JSON.stringify(f)}`);
        expect(on.ok).toBe(true);
        const r = await replayAll(relay, kept);
        console.log(
          `core -> workers: re-sent ${r.sent.sent} (newest counter on the wire ${JSON.stringify(r.sent.latest)}): replay drops +${r.dropped}, TUN rx +${r.tunGrew}; ${r.after.line}`,
        );
        expect(r.dropped).toBe(KEEP);
        expect(r.tunGrew).toBe(0);
        // The workers ran all along: still on, no second start.
        expect(r.after.workers).toBe("on");
        expect(r.after.starts).toBe(s0.starts + 1);
      });
    } finally {
      nftDelete(p.nsB, "wgtierdrop", "inet");
    }
    expect(ping(p.nsA, p.tb, { count: 2 })).toBe(true);
  });

  it("roaming with the workers on: the answer to the first datagram from a new endpoint already goes there", async () => {
    // wireguard-go -> wg-ts: the rx worker takes the bulk and stays on for ~10 s of quiet after it.
    const payload = tcpPayload(p.dir, 16 << 20);
    expect(await payload.transfer(p.nsB, p.nsA, p.ta, 5407)).toBe(`${payload.bytes} ${payload.hash}`);
    const rounds: { ping: boolean; workers: string; a: string; b: string; relayed: number; answered: number; want: string[] }[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const port = p.portB + 320 + i;
        const relay = recordRelay(p.nsB, `${p.ub}:${port}`, `${p.ua}:${p.portA}`);
        try {
          const { backPort } = await relay.cmd("stop");
          // One ping straight to wg-ts, then wireguard-go sends to the relay and one ping more: its
          // request is the first datagram wg-ts gets from the relay's port. Were the answer sent to
          // the old endpoint, wireguard-go would roam back to wg-ts's own address and the relay
          // would see no answer.
          const wgSet = (to: string): string => `wg set ${p.ifB} peer ${p.ka.pub} endpoint ${to}`;
          const pingOnce = `ping -n -q -c 1 -W 2 ${p.ta} >/dev/null`;
          const run = inNs(p.nsB, "sh", ["-c", `${wgSet(`${p.ua}:${p.portA}`)} && ${pingOnce} && ${wgSet(`${p.ub}:${port}`)} && ${pingOnce}`]);
          const ok = run.status === 0;
          const seen = await relay.cmd("stop");
          rounds.push({
            ping: ok, workers: (await daemonStatus(p.ifA)).workers, a: endpointA(), b: dump(p.nsB, p.ifB).peers[0]!.endpoint,
            relayed: seen.received, answered: seen.replies, want: [`${p.ub}:${backPort}`, `${p.ub}:${port}`],
          });
        } finally {
          await relay.end();
        }
      }
    } finally {
      nsSh(p.nsB, "wg", ["set", p.ifB, "peer", p.ka.pub, "endpoint", `${p.ua}:${p.portA}`]);
      await eventually(() => ping(p.nsB, p.ta, { wait: 2 }) && endpointA() === `${p.ub}:${p.portB}`, 10_000);
    }
    console.log(`roaming with the workers on: ${JSON.stringify(rounds)}`);
    for (const r of rounds) {
      expect(r.workers).toBe("on");
      expect(r.ping).toBe(true);
      expect([r.a, r.b]).toEqual(r.want); // wg-ts roamed to the relay's back port; wireguard-go stayed on the relay
      expect(r.answered).toBeGreaterThanOrEqual(1);
    }
    expect(endpointA()).toBe(`${p.ub}:${p.portB}`);
  });

  for (const [title, peers, prefixes] of [
    ["a 65th peer", 64, 10],
    ["peer 1001 (10,000 allowed-IPs prefixes in all)", 936, 10],
  ] as const) {
    it(`replay after ${title} is added: the workers stay on and drop every recorded message`, async () => {
      await withRelay(p.portB + 302 + added, async (relay) => {
        const { kept, s1 } = await recordWorkerTransfer(relay, 5406 + added);
        const endpoint = endpointA();
        await withOutboundLoad(12, async () => {
          const t0 = Date.now();
          // Light traffic wireguard-go -> wg-ts (2 s at 200/s, dropped in a's input hook) while the
          // change lands: the rx worker looks at the published state again (the old fast path then
          // dropped its windows), and wireguard-go's counter moves by ~400 only (inside the window).
          nft(p.nsA, "wgtierin", "inet", `chain in { type filter hook input priority -10; iifname "${p.ifA}" udp dport 9 drop; }`);
          const inbound = blast(p.nsB, ["udp-flood", "--to", `${p.ta}:9`, "--pps", "200", "--seconds", "2"]);
          await sleep(600); // flowing before the change
          addPeers(peers, prefixes);
          await inbound;
          await sleep(300);
          nftDelete(p.nsA, "wgtierin", "inet");
          const total = 1 + added;
          const published = await statusUntil((s) => s.peers === total, 10_000);
          console.log(`${title}: ${total} peers published to the workers after ${Date.now() - t0} ms (${published.ok}): ${published.s.line}`);
          const r = await replayAll(relay, kept);
          console.log(`${title}: re-sent ${r.sent.sent}: replay drops +${r.dropped}, TUN rx +${r.tunGrew}; ${r.after.line}`);
          expect(published.ok).toBe(true);
          expect(r.dropped).toBe(KEEP);
          expect(r.tunGrew).toBe(0);
          expect(endpointA()).toBe(endpoint);
          // The workers judged them: on all along (no stop, no second start), with every peer.
          expect(r.after.workers).toBe("on");
          expect(r.after.starts).toBe(s1.starts);
          expect(r.after.peers).toBe(total);
        });
      });
      expect(ping(p.nsA, p.tb, { count: 2 })).toBe(true);
    });
  }

  it("WG_TS_WORKERS=never: the main thread carries a transfer alone; a bad value fails `wg-ts up` cleanly", async () => {
    const down = wgTs(p.nsA, ["down", p.confA]);
    p.logs.push(down.stderr, daemonLog(p.ifA));
    expect(down.status).toBe(0);
    expect(await eventually(() => !linkExists(p.nsA, p.ifA), 5000)).toBe(true);

    const bad = upWith({ WG_TS_WORKERS: "bogus" });
    console.log(`WG_TS_WORKERS=bogus: exit ${bad.status}: ${bad.stderr.trim()}`);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/WG_TS_WORKERS/);
    expect(linkExists(p.nsA, p.ifA)).toBe(false);
    expect(exists(`/var/run/wireguard/${p.ifA}.sock`)).toBe(false);
    expect(daemonPids(p.ifA)).toHaveLength(0);

    const up = upWith({ WG_TS_WORKERS: "never" });
    expect(up.status, up.stderr).toBe(0);
    expect(await eventually(() => ping(p.nsA, p.tb, { wait: 2 }), 10_000)).toBe(true);
    const pid = daemonPid(p.ifA);
    const n0 = tasks(pid);
    const payload = tcpPayload(p.dir, 8 << 20);
    expect(await payload.transfer(p.nsB, p.nsA, p.ta, 5404)).toBe(`${payload.bytes} ${payload.hash}`);
    expect(await payload.transfer(p.nsA, p.nsB, p.tb, 5405)).toBe(`${payload.bytes} ${payload.hash}`);
    const s = await daemonStatus(p.ifA);
    const n = tasks(pid);
    console.log(`WG_TS_WORKERS=never after 2 x 8 MiB: ${s.line}; daemon threads ${n} (${n0} before the transfers; the first daemon idle: ${idleTasks})`);
    expect(s.workers).toBe("off");
    expect(s.starts).toBe(0);
    expect(s.txPackets + s.rxPackets).toBe(0);
    expect(n).toBeLessThanOrEqual(n0); // the load added no thread
  });

  it("a crashed rx worker loses no replay state: the core drops every message the worker had accepted", async () => {
    const down = wgTs(p.nsA, ["down", p.confA]);
    p.logs.push(down.stderr, daemonLog(p.ifA));
    expect(down.status).toBe(0);
    expect(await eventually(() => !linkExists(p.nsA, p.ifA), 5000)).toBe(true);
    const up = upWith({ NODE_ENV: "test", WG_TS_TEST_RX_CRASH_AFTER_REPLAYS: "1" });
    expect(up.status, up.stderr).toBe(0);
    expect(await eventually(() => ping(p.nsA, p.tb, { wait: 2 }), 10_000)).toBe(true);
    await withRelay(p.portB + 400, async (relay) => {
      const { kept, s1 } = await recordWorkerTransfer(relay, 5420);
      const endpoint = endpointA();
      // One recorded message: the rx worker drops it as a replay and (test switch) throws.
      const first = await relay.cmd("replay-first");
      expect(first.sent).toBe(1);
      const off = await statusUntil((s) => s.workers === "off", 5000);
      const log = daemonLog(p.ifA);
      console.log(`crash: workers off ${off.ms} ms after the trigger: ${off.s.line}; ${/fast path worker failed[^\n]*/.exec(log)?.[0] ?? "no failure line"}`);
      // The core judges all of them now (its window is the table's: what the worker accepted is in it).
      const r = await replayAll(relay, kept);
      console.log(`crash: re-sent ${r.sent.sent}: replay drops +${r.dropped}, TUN rx +${r.tunGrew}; ${r.after.line}`);
      expect(off.ok).toBe(true);
      expect(log).toMatch(/fast path worker failed \(test crash/);
      expect(r.dropped).toBe(KEEP);
      expect(r.tunGrew).toBe(0);
      expect(endpointA()).toBe(endpoint);
      expect(r.after.workers).toBe("off");
      expect(r.after.starts).toBe(s1.starts);
    });
    expect(ping(p.nsA, p.tb, { count: 2 })).toBe(true);
  });

  it("one-way traffic on the workers: the peer's keepalives are answers, no handshake after 15 s", async () => {
    // The workers report received datagrams as counters (activity rings, not samples): a keepalive
    // must still count as an authenticated packet received (timersAnyAuthenticatedPacketReceived),
    // or wg-ts starts a handshake KEEPALIVE_TIMEOUT + REKEY_TIMEOUT (15 s) after its data went
    // unanswered — wireguard-go answers one-way data with nothing but a keepalive every 10 s.
    const down = wgTs(p.nsA, ["down", p.confA]);
    expect(down.status).toBe(0);
    expect(await eventually(() => !linkExists(p.nsA, p.ifA), 5000)).toBe(true);
    const up = upWith({ WG_TS_WORKERS: "always" });
    expect(up.status, up.stderr).toBe(0);
    expect(await eventually(() => ping(p.nsA, p.tb, { wait: 2 }), 10_000)).toBe(true);
    const handshake = (): number => dump(p.nsA, p.ifA).peers[0]!.handshake;
    const h0 = handshake();
    const s0 = await daemonStatus(p.ifA);
    const seen = await withOutboundLoad(25, async () => {
      await sleep(24_000);
      return { h: handshake(), s: await daemonStatus(p.ifA) };
    });
    console.log(`one-way: handshake ${h0} -> ${seen.h}; ${s0.line} -> ${seen.s.line}`);
    expect(seen.s.workers).toBe("on");
    expect(seen.s.starts).toBe(s0.starts);
    expect(seen.s.txPackets - s0.txPackets).toBeGreaterThan(24 * 2000); // the bulk went through the tx worker
    expect(seen.h).toBe(h0); // no new handshake: the session is < 40 s old, REKEY_AFTER_TIME is 120 s
  });
});
