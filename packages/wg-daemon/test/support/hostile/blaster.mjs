#!/usr/bin/env node
/**
 * Hostile traffic for the e2e suites, run inside a test namespace (`ip netns exec NS node blaster.mjs MODE ...`).
 * Plain ESM (no build step): it runs as its own process in another namespace. Every mode is bounded
 * in count and time, stops by itself, and prints one JSON line with what it sent and received.
 *
 *   garbage   --to H:P --count N [--seed S] [--big-every K] [--max-len L]
 *             random datagrams of every size and message type; reports how many of each the
 *             daemon must drop and for which reason (the same rules as wg-core's classifyMessage)
 *   initiations --to H:P --pub B64 --keys K --rate PPS --seconds S [--answer-cookies] [--bind ADDR]
 *             handshake initiations with a valid MAC1 from K random static keys; counts replies by
 *             type; with --answer-cookies, stamps MAC2 from each cookie reply (rate-limit probe)
 *   initiation --to H:P --pub B64 --priv B64 [--psk B64] [--ts-offset-ms X] [--repeat R] [--bind ADDR] [--port P]
 *             one initiation from a real peer's key (timestamp now+X), sent R times 200 ms apart
 *   relay     --listen H:P --to H:P [--shuffle N] [--seconds S]
 *             a UDP relay that reorders: datagrams from the client are held in groups of up to N
 *             (or 3 ms) and forwarded shuffled; replies go back in order. SIGTERM ends it early.
 *             Reports the receiver indices of the transport messages it relayed (a sniffer's view).
 *   record-relay --listen H:P --to H:P [--keep N] [--seconds S]
 *             a plain UDP relay (no reordering) that records and replays, driven by lines on stdin,
 *             each answered by one JSON line on stdout: `record` keeps the last N (default 200)
 *             transport messages (type 4, ≥ 32 bytes) going client -> target from now on; `stop`
 *             stops keeping them (answers how many are kept, their counter range and the client's
 *             latest counter); `replay` re-sends the kept ones, unchanged and in order, to the target
 *             from the relay's own socket (the source the target roamed to); `replay-first` only the
 *             oldest kept one; `quit` (or EOF, SIGTERM)
 *             ends it. Tracks the highest counter on the wire per receiver index (how far the
 *             client's counter moved since the recording: the receiver's 8128-counter window).
 *   udp-flood --to H:P --pps N --seconds S [--size L]
 *             plain UDP datagrams of L bytes (default 200) at N per second (paced in 10 ms slots)
 *             for S seconds: load through a tunnel that needs no answer
 *   forge     --to H:P --index I --count N
 *             transport messages for a live session (its receiver index, as seen on the wire) with
 *             random counters and payloads: none authenticates
 *   evil-peer --to H:P --pub B64 --priv B64 --src A.B.C.D --dst A.B.C.D --count N [--bind ADDR]
 *             a configured peer gone bad: wg-core's Device handshakes for real, then sends N
 *             authenticated inner packets in 8 classes (bad lengths, foreign sources, IPv6, bad
 *             checksums, IHL past the end, padded echoes); reports what the daemon must do with each
 *   tcp-sink  --listen H:P [--timeout-ms T]   one TCP connection; prints bytes + sha256
 *   tcp-source --to H:P --bytes N [--seed S]   deterministic bytes; prints bytes + sha256
 */
import { createHash, randomBytes, randomFillSync } from "node:crypto";
import { createSocket } from "node:dgram";
import { createConnection, createServer } from "node:net";
import { Device, publicKeyOf } from "@wg-ts/core";
import { CookieGenerator, INITIATION_SIZE, PeerHandshake, createInitiation, localIdentity } from "@wg-ts/core/testing";

const argv = process.argv.slice(2);
const mode = argv[0];
function opt(name, dflt) {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  return argv[i + 1];
}
const flag = (name) => argv.includes(`--${name}`);
function hostPort(s) {
  const i = s.lastIndexOf(":");
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(s.slice(i + 1)) };
}
const b64 = (s) => new Uint8Array(Buffer.from(s, "base64"));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const random = (out) => void randomFillSync(out);

/** A small deterministic PRNG (xorshift32) so runs are reproducible from --seed. */
function prng(seed) {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** What wg-core does with a datagram it cannot authenticate (messages.ts classifyMessage + device.ts). */
function expectedReason(d) {
  if (d.length < 4) return "truncated";
  const type = d.readUInt32LE(0);
  const sized = (n, ok) => (d.length === n ? ok : d.length < n ? "truncated" : "invalid-size");
  switch (type) {
    case 1:
      return sized(148, "bad-mac1");
    case 2:
      return sized(92, "bad-mac1");
    case 3:
      return sized(64, "unknown-index"); // receiver index names nothing of ours
    case 4:
      return d.length < 32 ? "truncated" : d.length > 65535 ? "oversized" : "unknown-index";
    default:
      return "unknown-type";
  }
}

/** Sends `count` datagrams from `make(i)` with a bounded number in flight. */
async function sendAll(sock, to, count, make, deadline) {
  let inFlight = 0;
  let sent = 0;
  let errors = 0;
  let wake = null;
  for (let i = 0; i < count && Date.now() < deadline; i++) {
    const d = make(i);
    inFlight++;
    sock.send(d, to.port, to.host, (err) => {
      inFlight--;
      if (err) errors++;
      else sent++;
      if (wake && inFlight < 64) {
        const w = wake;
        wake = null;
        w();
      }
    });
    if (inFlight >= 256) await new Promise((r) => (wake = r));
  }
  while (inFlight > 0) await sleep(5);
  return { sent, errors };
}

async function garbage() {
  const to = hostPort(opt("to"));
  const count = Number(opt("count", "100000"));
  const bigEvery = Number(opt("big-every", "1000"));
  const maxLen = Number(opt("max-len", "65507"));
  const next = prng(Number(opt("seed", "1")));
  const sock = createSocket(to.host.includes(":") ? "udp6" : "udp4");
  await new Promise((r) => sock.bind(0, r));
  sock.setSendBufferSize(4 << 20);
  const expected = {};
  const pool = randomBytes(1 << 20);
  const make = (i) => {
    const r = next();
    let len;
    // Sizes: every class of message at, around and away from its exact size; now and then a big one.
    if (bigEvery > 0 && i % bigEvery === bigEvery - 1) len = 1500 + (r % 60000);
    else {
      const sizes = [0, 1, 2, 3, 4, 31, 32, 33, 63, 64, 65, 91, 92, 93, 147, 148, 149];
      len = r % 3 === 0 ? sizes[(r >>> 8) % sizes.length] : (r >>> 4) % 1500;
    }
    len = Math.min(len, maxLen);
    const off = (r >>> 3) % (pool.length - len);
    const d = Buffer.from(pool.subarray(off, off + len)); // a copy: the header is edited below
    if (len >= 4) {
      const t = (r >>> 20) % 6; // 1..4 valid types, 0 and 5: anything else
      if (t >= 1 && t <= 4) d.writeUInt32LE(t, 0);
      else if (t === 5) d[0] = 1 + (r % 4); // right type byte, non-zero reserved bytes
      if (t === 5 && d[1] === 0 && d[2] === 0 && d[3] === 0) d[1] = 1;
    }
    const why = expectedReason(d);
    expected[why] = (expected[why] ?? 0) + 1;
    return d;
  };
  const t0 = Date.now();
  const res = await sendAll(sock, to, count, make, t0 + Number(opt("max-ms", "60000")));
  sock.close();
  return { mode, ...res, ms: Date.now() - t0, expected };
}

async function initiations() {
  const to = hostPort(opt("to"));
  const pub = b64(opt("pub"));
  const keys = Number(opt("keys", "32"));
  const rate = Number(opt("rate", "1000"));
  const seconds = Number(opt("seconds", "5"));
  const answer = flag("answer-cookies");
  const sock = createSocket(to.host.includes(":") ? "udp6" : "udp4");
  const bind = opt("bind");
  await new Promise((r) => sock.bind(0, bind, r));
  const msgs = [];
  const gens = [];
  const base = 0x40000000;
  for (let k = 0; k < keys; k++) {
    const priv = randomBytes(32);
    const local = localIdentity(priv);
    const hs = new PeerHandshake(pub, null);
    hs.setLocal(local);
    const m = new Uint8Array(INITIATION_SIZE);
    const fail = createInitiation(local, hs, base + k, Date.now(), random, m);
    if (fail) throw new Error(`createInitiation: ${fail}`);
    const gen = new CookieGenerator(pub);
    gen.addMacs(m, Date.now());
    msgs.push(m);
    gens.push(gen);
  }
  const replies = { 1: 0, 2: 0, 3: 0, 4: 0, other: 0 };
  let cookiesAccepted = 0;
  let withMac2 = 0;
  const hasCookie = new Array(keys).fill(false);
  sock.on("message", (d) => {
    const t = d.length >= 4 ? d.readUInt32LE(0) : 0;
    if (t >= 1 && t <= 4) replies[t]++;
    else replies.other++;
    if (t === 3 && d.length === 64 && answer) {
      const k = d.readUInt32LE(4) - base;
      const gen = gens[k];
      if (gen && gen.consumeReply(new Uint8Array(d), Date.now())) {
        cookiesAccepted++;
        gen.addMacs(msgs[k], Date.now()); // same MAC1, MAC2 from the cookie
        hasCookie[k] = true;
      }
    }
  });
  const t0 = Date.now();
  const end = t0 + seconds * 1000;
  let sent = 0;
  let errors = 0;
  // Paced in 10 ms slots: rate/100 datagrams per slot.
  const perSlot = Math.max(1, Math.round(rate / 100));
  let slot = 0;
  while (Date.now() < end) {
    for (let j = 0; j < perSlot; j++) {
      const k = (sent + j) % keys;
      if (hasCookie[k]) withMac2++;
      sock.send(msgs[k], to.port, to.host, (e) => void (e ? errors++ : 0));
    }
    sent += perSlot;
    slot++;
    const wait = t0 + slot * 10 - Date.now();
    await sleep(Math.max(0, wait));
  }
  await sleep(500); // late replies
  sock.close();
  return { mode, sent, errors, withMac2, replies, cookiesAccepted, ms: Date.now() - t0 };
}

async function initiation() {
  const to = hostPort(opt("to"));
  const pub = b64(opt("pub"));
  const priv = b64(opt("priv"));
  const psk = opt("psk");
  const repeat = Number(opt("repeat", "1"));
  const sock = createSocket(to.host.includes(":") ? "udp6" : "udp4");
  await new Promise((r) => sock.bind(Number(opt("port", "0")), opt("bind"), r));
  const local = localIdentity(priv);
  const hs = new PeerHandshake(pub, psk ? b64(psk) : null);
  hs.setLocal(local);
  const m = new Uint8Array(INITIATION_SIZE);
  const now = Date.now();
  const fail = createInitiation(local, hs, 0x7e570001, now + Number(opt("ts-offset-ms", "0")), random, m);
  if (fail) throw new Error(`createInitiation: ${fail}`);
  new CookieGenerator(pub).addMacs(m, now);
  const replies = { 1: 0, 2: 0, 3: 0, 4: 0, other: 0 };
  sock.on("message", (d) => {
    const t = d.length >= 4 ? d.readUInt32LE(0) : 0;
    if (t >= 1 && t <= 4) replies[t]++;
    else replies.other++;
  });
  for (let i = 0; i < repeat; i++) {
    await new Promise((r) => sock.send(m, to.port, to.host, r));
    await sleep(200);
  }
  await sleep(300);
  sock.close();
  return { mode, sent: repeat, replies, from: Buffer.from(publicKeyOf(priv)).toString("base64") };
}

/** A relay's two sockets on `at`'s address: `front` on `at`'s port (the sender's side), `back` on a free port (towards the receiver). */
async function relaySockets(at) {
  const fam = at.host.includes(":") ? "udp6" : "udp4";
  const front = createSocket(fam);
  const back = createSocket(fam);
  await new Promise((r) => front.bind(at.port, at.host, r));
  await new Promise((r) => back.bind(0, at.host, r));
  return { front, back };
}

async function relay() {
  const at = hostPort(opt("listen"));
  const to = hostPort(opt("to"));
  const n = Number(opt("shuffle", "8"));
  const seconds = Number(opt("seconds", "30"));
  const next = prng(Number(opt("seed", "3")));
  const { front, back } = await relaySockets(at);
  let client = null;
  let held = [];
  let timer = null;
  let seq = 0;
  let forwarded = 0;
  let outOfOrder = 0;
  let replies = 0;
  let maxSent = -1;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    const batch = held;
    held = [];
    for (let i = batch.length - 1; i > 0; i--) {
      const j = next() % (i + 1);
      [batch[i], batch[j]] = [batch[j], batch[i]];
    }
    for (const { d, s } of batch) {
      if (s < maxSent) outOfOrder++;
      maxSent = Math.max(maxSent, s);
      forwarded++;
      back.send(d, to.port, to.host);
    }
  };
  const indices = new Set();
  front.on("message", (d, rinfo) => {
    client = rinfo;
    if (d.length >= 32 && d.readUInt32LE(0) === 4) indices.add(d.readUInt32LE(4));
    held.push({ d, s: seq++ });
    if (held.length >= n) flush();
    else if (!timer) timer = setTimeout(flush, 3);
  });
  back.on("message", (d) => {
    replies++;
    if (client) front.send(d, client.port, client.address);
  });
  const report = () => ({ mode, received: seq, forwarded, outOfOrder, replies, backPort: back.address().port, indices: [...indices] });
  await new Promise((resolve) => {
    const t = setTimeout(resolve, seconds * 1000);
    process.once("SIGTERM", () => {
      clearTimeout(t);
      resolve();
    });
  });
  flush();
  await sleep(50);
  const r = report();
  front.close();
  back.close();
  return r;
}

/** The 64-bit counter of a transport message (bytes 8..15, little endian), as a number. */
const counterOf = (d) => d.readUInt32LE(8) + d.readUInt32LE(12) * 0x1_0000_0000;

async function recordRelay() {
  const at = hostPort(opt("listen"));
  const to = hostPort(opt("to"));
  const keep = Number(opt("keep", "200"));
  const seconds = Number(opt("seconds", "60"));
  const { front, back } = await relaySockets(at);
  let client = null;
  let recording = false;
  /** The last `keep` transport messages seen while recording (a ring in arrival order). */
  let kept = [];
  let recorded = 0;
  let received = 0;
  let replies = 0;
  let replayed = 0;
  /** Highest counter seen client -> target, per receiver index. */
  const latest = new Map();
  front.on("message", (d, rinfo) => {
    client = rinfo;
    received++;
    if (d.length >= 32 && d[0] === 4 && d.readUInt32LE(0) === 4) {
      const index = d.readUInt32LE(4);
      const c = counterOf(d);
      if (!(latest.get(index) >= c)) latest.set(index, c);
      if (recording) {
        recorded++;
        kept.push(Buffer.from(d));
        if (kept.length > keep) kept.shift();
      }
    }
    back.send(d, to.port, to.host);
  });
  back.on("message", (d) => {
    replies++;
    if (client) front.send(d, client.port, client.address);
  });
  const latestOf = () => Object.fromEntries([...latest].map(([i, c]) => [String(i), c]));
  const summary = () => {
    const counters = kept.map(counterOf);
    return {
      kept: kept.length,
      recorded,
      indices: [...new Set(kept.map((d) => d.readUInt32LE(4)))],
      minCounter: counters.length ? Math.min(...counters) : null,
      maxCounter: counters.length ? Math.max(...counters) : null,
      latest: latestOf(),
      backPort: back.address().port,
      // Datagrams from the client, and from the target back to it, so far.
      received,
      replies,
    };
  };
  const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");
  const commands = {
    record() {
      kept = [];
      recorded = 0;
      recording = true;
      return { ack: "record" };
    },
    stop() {
      recording = false;
      return { ack: "stop", ...summary() };
    },
    async replay() {
      let sent = 0;
      let errors = 0;
      for (const d of kept) {
        // One at a time: nothing is lost in our own socket buffer.
        await new Promise((r) => back.send(d, to.port, to.host, (e) => (e ? errors++ : sent++, r())));
      }
      replayed += sent;
      return { ack: "replay", sent, errors, ...summary() };
    },
    async "replay-first"() {
      // Only the oldest kept message (a trigger: e.g. the daemon's test-only crash on a replay).
      let sent = 0;
      let errors = 0;
      if (kept.length > 0) await new Promise((r) => back.send(kept[0], to.port, to.host, (e) => (e ? errors++ : sent++, r())));
      replayed += sent;
      return { ack: "replay-first", sent, errors, ...summary() };
    },
  };
  await new Promise((resolve) => {
    const t = setTimeout(resolve, seconds * 1000);
    const end = () => {
      clearTimeout(t);
      resolve();
    };
    process.once("SIGTERM", end);
    let buf = "";
    let queue = Promise.resolve();
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk) => {
      buf += chunk;
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const cmd = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (!cmd) continue;
        queue = queue.then(async () => {
          if (cmd === "quit") return end();
          const f = commands[cmd];
          say(f ? await f() : { error: `unknown command ${cmd}` });
        });
      }
    });
    process.stdin.on("end", () => void queue.then(end));
  });
  await sleep(50);
  const r = { mode, received, replies, replayed, backPort: back.address().port, latest: latestOf() };
  front.close();
  back.close();
  return r;
}

async function udpFlood() {
  const to = hostPort(opt("to"));
  const pps = Number(opt("pps", "10000"));
  const seconds = Number(opt("seconds", "2"));
  const payload = Buffer.alloc(Number(opt("size", "200")), 0x5a);
  const sock = createSocket(to.host.includes(":") ? "udp6" : "udp4");
  await new Promise((r) => sock.bind(0, r));
  sock.setSendBufferSize(1 << 20);
  const perSlot = Math.max(1, Math.round(pps / 100));
  const t0 = Date.now();
  const end = t0 + seconds * 1000;
  let sent = 0;
  let errors = 0;
  let inFlight = 0;
  for (let slot = 1; Date.now() < end; slot++) {
    for (let j = 0; j < perSlot; j++) {
      inFlight++;
      sock.send(payload, to.port, to.host, (e) => {
        inFlight--;
        if (e) errors++;
        else sent++;
      });
    }
    await sleep(Math.max(0, t0 + slot * 10 - Date.now()));
  }
  while (inFlight > 0) await sleep(5);
  sock.close();
  return { mode, sent, errors, ms: Date.now() - t0 };
}

async function forge() {
  const to = hostPort(opt("to"));
  const index = Number(opt("index"));
  const count = Number(opt("count", "10000"));
  const next = prng(Number(opt("seed", "5")));
  const sock = createSocket(to.host.includes(":") ? "udp6" : "udp4");
  await new Promise((r) => sock.bind(0, r));
  const expected = {};
  const pool = randomBytes(1 << 16);
  const make = (i) => {
    const r = next();
    const len = 32 + (r % 1400);
    const d = Buffer.alloc(len);
    pool.copy(d, 16, r % (pool.length - len), (r % (pool.length - len)) + len - 16);
    d.writeUInt32LE(4, 0);
    d.writeUInt32LE(index, 4);
    // counters: small (inside/behind the real window), large, and beyond 2^53 (unrepresentable)
    const kind = i % 4;
    const hi = kind === 0 ? 0 : kind === 1 ? next() % 0x10000 : kind === 2 ? 0x200000 + (next() % 0x100000) : 0;
    const lo = kind === 3 ? next() % 1000 : next();
    d.writeUInt32LE(lo, 8);
    d.writeUInt32LE(hi, 12);
    const why = hi >= 0x200000 ? "counter-limit" : "decrypt-failed";
    expected[why] = (expected[why] ?? 0) + 1;
    return d;
  };
  const t0 = Date.now();
  const res = await sendAll(sock, to, count, make, t0 + 60_000);
  sock.close();
  return { mode, ...res, ms: Date.now() - t0, expected };
}

function inetChecksum(b, off, len) {
  let sum = 0;
  for (let i = 0; i < len; i += 2) sum += (b[off + i] << 8) | (i + 1 < len ? b[off + i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An IPv4 ICMP echo request (valid checksums) with `extra` trailing bytes past its total length. */
function echo4(src, dst, id, seq, extra = 0) {
  const b = Buffer.alloc(28 + 16 + extra);
  b[0] = 0x45;
  b.writeUInt16BE(28 + 16, 2);
  b[8] = 64;
  b[9] = 1;
  Buffer.from(src.split(".").map(Number)).copy(b, 12);
  Buffer.from(dst.split(".").map(Number)).copy(b, 16);
  b.writeUInt16BE(inetChecksum(b, 0, 20), 10);
  b[20] = 8;
  b.writeUInt16BE(id, 24);
  b.writeUInt16BE(seq, 26);
  b.writeUInt16BE(inetChecksum(b, 20, 24), 22);
  return b;
}

async function evilPeer() {
  const to = hostPort(opt("to"));
  const src = opt("src");
  const dst = opt("dst");
  const count = Number(opt("count", "8000"));
  const now = () => performance.timeOrigin + performance.now();
  const dev = new Device({ privateKey: b64(opt("priv")), random });
  dev.addPeer({ publicKey: b64(opt("pub")), endpoint: { address: to.host, port: to.port }, allowedIps: ["0.0.0.0/0", "::/0"] }, now());
  const sock = createSocket("udp4");
  await new Promise((r) => sock.bind(0, opt("bind"), r));
  const out = [];
  const replies = { handshake: 0, hostile: 0, after: 0 };
  let phase = "handshake";
  const flush = () => {
    for (const a of out) {
      if (a.kind === "toNetwork") sock.send(Buffer.from(a.datagram), a.endpoint.port, a.endpoint.address);
      else if (a.kind === "toTunnel" && a.packet[9] === 1 && a.packet[20] === 0) replies[phase]++;
    }
    out.length = 0;
  };
  sock.on("message", (d, r) => {
    dev.decapsulate(new Uint8Array(d), { address: r.address, port: r.port }, now(), out);
    flush();
  });
  const ticker = setInterval(() => {
    dev.tick(now(), out);
    flush();
  }, 100);
  const t0 = Date.now();
  for (let i = 0; replies.handshake === 0 && i < 30; i++) {
    dev.encapsulate(echo4(src, dst, 0x1111, i), now(), out);
    flush();
    await sleep(500);
  }
  if (replies.handshake === 0) throw new Error("no handshake with the daemon");
  const handshakeMs = Date.now() - t0;
  phase = "hostile";
  const sent = {};
  const expected = { "invalid-inner-packet": 0, "source-not-allowed": 0 };
  let toTun = 0;
  for (let i = 0; i < count; i++) {
    let p;
    let cls;
    switch (i % 8) {
      case 0: // IPv4 total length past the end
        p = echo4(src, dst, 0x2222, i);
        p.writeUInt16BE(p.length + 100, 2);
        cls = "v4-length-past-end";
        expected["invalid-inner-packet"]++;
        break;
      case 1: // IPv4 total length below the header
        p = echo4(src, dst, 0x2222, i);
        p.writeUInt16BE(10, 2);
        cls = "v4-length-below-header";
        expected["invalid-inner-packet"]++;
        break;
      case 2: { // IPv6 payload length past the end
        p = Buffer.alloc(60);
        p[0] = 0x60;
        p.writeUInt16BE(500, 4);
        p[6] = 58;
        p[24] = 0xfd;
        cls = "v6-length-past-end";
        expected["invalid-inner-packet"]++;
        break;
      }
      case 3: // a source outside the peer's allowed IPs
        p = echo4("10.99.99.99", dst, 0x2222, i);
        cls = "v4-foreign-source";
        expected["source-not-allowed"]++;
        break;
      case 4: { // IPv6 at all (the peer has no IPv6 allowed IPs)
        p = Buffer.alloc(48);
        p[0] = 0x60;
        p.writeUInt16BE(8, 4);
        p[6] = 58;
        p[7] = 64;
        p[8] = 0xfd;
        p[24] = 0xfd;
        cls = "v6-foreign-source";
        expected["source-not-allowed"]++;
        break;
      }
      case 5: // well-framed, wrong header checksum: the TUN gets it, the kernel drops it
        p = echo4(src, dst, 0x2222, i);
        p.writeUInt16BE(p.readUInt16BE(10) ^ 0x5a5a, 10);
        cls = "v4-bad-checksum";
        toTun++;
        break;
      case 6: // IHL says 60 bytes of header in a 44-byte packet
        p = echo4(src, dst, 0x2222, i);
        p[0] = 0x4f;
        cls = "v4-ihl-past-end";
        toTun++;
        break;
      default: // a valid echo with 100 bytes of junk after its end: padding stripped, answered
        p = echo4(src, dst, 0x3333, i, 100);
        randomFillSync(p, 44);
        cls = "v4-echo-with-trailer";
        toTun++;
    }
    sent[cls] = (sent[cls] ?? 0) + 1;
    dev.encapsulate(new Uint8Array(p), now(), out);
    flush();
    if (i % 64 === 63) await sleep(1);
  }
  await sleep(1000);
  phase = "after";
  for (let i = 0; i < 20; i++) {
    dev.encapsulate(echo4(src, dst, 0x4444, i), now(), out);
    flush();
    await sleep(20);
  }
  await sleep(1000);
  clearInterval(ticker);
  sock.close();
  return { mode, handshakeMs, sent, expected, toTun, echoWithTrailer: sent["v4-echo-with-trailer"] ?? 0, replies };
}

async function tcpSink() {
  const at = hostPort(opt("listen"));
  const timeout = Number(opt("timeout-ms", "60000"));
  return new Promise((resolve) => {
    const h = createHash("sha256");
    let bytes = 0;
    const server = createServer((c) => {
      c.on("data", (d) => {
        h.update(d);
        bytes += d.length;
      });
      c.on("end", () => {
        clearTimeout(t);
        server.close();
        resolve({ mode, bytes, sha256: h.digest("hex") });
      });
    });
    const t = setTimeout(() => {
      server.close();
      resolve({ mode, bytes, sha256: null, error: "timeout" });
    }, timeout);
    server.listen(at.port, at.host, () => console.error("listening"));
  });
}

async function tcpSource() {
  const to = hostPort(opt("to"));
  const total = Number(opt("bytes", "1048576"));
  const next = prng(Number(opt("seed", "7")));
  const h = createHash("sha256");
  const c = createConnection(to.port, to.host);
  await new Promise((r, j) => (c.once("connect", r), c.once("error", j)));
  let left = total;
  while (left > 0) {
    const n = Math.min(65536, left);
    const b = Buffer.alloc(n);
    for (let i = 0; i + 4 <= n; i += 4) b.writeUInt32LE(next(), i);
    h.update(b);
    left -= n;
    if (!c.write(b)) await new Promise((r) => c.once("drain", r));
  }
  await new Promise((r) => c.end(r));
  return { mode, bytes: total, sha256: h.digest("hex") };
}

const modes = { garbage, initiations, initiation, relay, "record-relay": recordRelay, "udp-flood": udpFlood, forge, "evil-peer": evilPeer, "tcp-sink": tcpSink, "tcp-source": tcpSource };
const fn = modes[mode];
if (!fn) {
  console.error(`blaster: unknown mode ${mode}; modes: ${Object.keys(modes).join(", ")}`);
  process.exit(2);
}
// A hard bound whatever happens: no mode outlives two minutes.
setTimeout(() => {
  console.error("blaster: hard time limit");
  process.exit(3);
}, 120_000).unref();
fn().then(
  (r) => {
    console.log(JSON.stringify(r));
    process.exit(0);
  },
  (e) => {
    console.error(`blaster: ${e?.stack ?? e}`);
    process.exit(1);
  },
);
