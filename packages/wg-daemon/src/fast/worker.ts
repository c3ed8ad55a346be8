/**
 * Data-plane worker threads. Each runs one direction in a tight loop of *blocking* koffi calls —
 * the thread's own event loop never runs, so a blocked read costs nothing and a wake-up costs one
 * syscall return:
 *
 *   "tx": read(TUN) → [split GSO super-packet] → seal type-4 messages → sendmmsg(UDP)
 *   "rx": recvmmsg(UDP) → open → replay check → write(TUN)
 *
 * State shared with the main thread lives in SharedArrayBuffers (see dataplane.ts): the keypair
 * table (keys, indices, a send-counter cell reserved with Atomics.add in ranges) and statistics.
 * Transport format, AEAD and replay window are wg-core's (whitepaper §5.4.6).
 */
import { parentPort, workerData } from "node:worker_threads";
import { REPLAY_WINDOW_SIZE, ReplayWindow, nodeTransportAead, writeCounter } from "@wg-ts/core";
import {
  VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, completeChecksum, readVnetHdr,
  segmentTcp, type VnetHdr,
} from "./gso.js";
import { sourceAllowed } from "./allowed.js";
import { TcpCoalescer } from "./gro.js";
import { EAGAIN, EINTR, MSG_DONTWAIT, MSG_WAITFORONE, libc } from "../libc.js";
import { VNET_HDR_LEN } from "./tun.js";
import { MmsgBatch, readSockaddrIn, writeSockaddrIn } from "./udp.js";
import {
  ALLOWED_WORDS, KP, MAX_ALLOWED, RECV_SLOTS, RECV_SLOT_WORDS, SAMPLE_MS, SLOW_BUDGET, STATS_WORDS, ST, type WorkerEvent, type WorkerInit,
} from "./shared.js";

const init = workerData as WorkerInit;
const c = libc();
const keyWords = new Int32Array(init.keypairs);
const counters = new BigInt64Array(init.counters);
const stats = new Float64Array(init.stats, init.role === "tx" ? 0 : STATS_WORDS * 8, STATS_WORDS);
const MESSAGE_TRANSPORT = 4;
const HEADER = 16;
const TAG = 16;
/** Counters reserved per Atomics.add on the shared send counter. */
const COUNTER_RANGE = 256n;
const LIMIT = 2 ** 53;
const EBADFD = 77;
const POLLIN = 1;
const POLL_TIMEOUT_MS = 250;
const pollfd = Buffer.alloc(8);
const pollAddr = c.addressOf(pollfd);
const stopped = (): boolean => Atomics.load(keyWords, KP.stop) === 1;

/** Waits until `fd` is readable (or the timeout passes). */
function waitReadable(fd: number): void {
  pollfd.writeInt32LE(fd, 0);
  pollfd.writeInt16LE(POLLIN, 4);
  pollfd.writeInt16LE(0, 6);
  c.poll(pollAddr, 1, POLL_TIMEOUT_MS);
  stats[ST.syscalls]!++;
}

/** The worker's copy of the shared keypair table, refreshed when the generation word moves. */
class KeyView {
  generation = -1;
  sendValid = false;
  sendKey = new Uint8Array(32);
  remoteIndex = 0;
  recv: { localIndex: number; key: Uint8Array; replay: ReplayWindow; seen: boolean }[] = [];
  endpoint = { address: "0.0.0.0", port: 0 };
  /** The peer's allowed-IPs prefixes (inner source check on receive). */
  allowed: { family: number; bits: number; bytes: Uint8Array }[] = [];

  cell = 0;

  /** Returns true when a new consistent copy was taken. */
  refresh(): boolean {
    const g = Atomics.load(keyWords, KP.generation);
    if (g === this.generation || g & 1) return false; // unchanged, or being written: keep the old copy
    this.#gen = g;
    if (!this.#copy()) return false; // torn: retry later
    this.generation = g;
    return true;
  }

  #copy(): boolean {
    const bytes = new Uint8Array(init.keypairs);
    const sendValid = keyWords[KP.sendValid] === 1;
    const sendKey = bytes.slice(KP.sendKey * 4, KP.sendKey * 4 + 32);
    const remoteIndex = keyWords[KP.remoteIndex]! >>> 0;
    const cell = keyWords[KP.counterCell]! & 1;
    const old = this.recv;
    const recv: KeyView["recv"] = [];
    for (let i = 0; i < RECV_SLOTS; i++) {
      const w = KP.recvSlots + i * RECV_SLOT_WORDS;
      if (keyWords[w] !== 1) continue;
      const localIndex = keyWords[w + 1]! >>> 0;
      // A keypair moving between slots (current → previous) keeps its replay window.
      const prev = old.find((r) => r.localIndex === localIndex);
      recv.push({
        localIndex,
        key: bytes.slice((w + 2) * 4, (w + 2) * 4 + 32),
        replay: prev?.replay ?? new ReplayWindow(),
        seen: prev?.seen ?? false,
      });
    }
    const a = keyWords[KP.endpointAddr]! >>> 0;
    const endpoint = { address: `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`, port: keyWords[KP.endpointPort]! };
    const allowed: KeyView["allowed"] = [];
    const na = Math.min(keyWords[KP.allowedCount]!, MAX_ALLOWED);
    for (let i = 0; i < na; i++) {
      const w = KP.allowed + i * ALLOWED_WORDS;
      const fb = keyWords[w]!;
      allowed.push({ family: fb & 0xff, bits: fb >> 8, bytes: bytes.slice((w + 1) * 4, (w + 1) * 4 + 16) });
    }
    if (Atomics.load(keyWords, KP.generation) !== this.#pending()) return false;
    this.allowed = allowed;
    this.sendValid = sendValid;
    this.sendKey = sendKey;
    this.remoteIndex = remoteIndex;
    this.cell = cell;
    this.recv = recv;
    this.endpoint = endpoint;
    return true;
  }

  #gen = -1;
  #pending(): number {
    return this.#gen;
  }
}

const post = (e: WorkerEvent): void => parentPort?.postMessage(e);


function txLoop(): void {
  const kv = new KeyView();
  const mtu = init.mtu;
  const off = init.offload ? VNET_HDR_LEN : 0;
  const tunBuf = Buffer.alloc(off + 65536 + 64);
  const tunAddr = c.addressOf(tunBuf);
  const seg = Buffer.alloc(mtu + 64);
  const batch = new MmsgBatch(init.batch, HEADER + mtu + TAG + 16);
  let slowPosts = 0;
  let sample = false;
  let lastSample = performance.now();
  const data = batch.data;
  const hdr: VnetHdr = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
  let count = 0;
  let next = 0n;
  let end = 0n;
  let batches = 0;
  let idle = 0;

  const flush = (): void => {
    if (count === 0) return;
    const r = init.udpGso ? batch.sendSegmented(init.udpFd, count, init.gsoSegments) : batch.send(init.udpFd, count);
    if (r < 0) stats[ST.errors]!++;
    stats[ST.syscalls]! += init.udpGso ? Math.max(r, 1) : 1;
    stats[ST.batches] = ++batches;
    count = 0;
  };
  const emit = (p: Uint8Array, len: number): void => {
    if (!kv.sendValid || sample) {
      // The core stages it and starts a handshake, or (sample) sends it and runs its send timers.
      sample = false;
      if (slowPosts++ < SLOW_BUDGET) {
        post({ kind: "slow", packet: p.slice(0, len) });
        stats[ST.control]!++;
      } else stats[ST.drops]!++;
      return;
    }
    if (count === batch.n) flush();
    // Pad to a multiple of 16, capped at the MTU (whitepaper §5.4.6; wireguard-go calculatePaddingSize).
    let padded = (len + 15) & ~15;
    if (padded > mtu) padded = Math.max(len, mtu);
    p.fill(0, len, padded);
    if (next === end) {
      next = Atomics.add(counters, kv.cell, COUNTER_RANGE);
      end = next + COUNTER_RANGE;
    }
    const counter = Number(next++);
    const s = batch.slot(count);
    data[s] = MESSAGE_TRANSPORT;
    data[s + 1] = 0;
    data[s + 2] = 0;
    data[s + 3] = 0;
    data.writeUInt32LE(kv.remoteIndex, s + 4);
    writeCounter(data, s + 8, counter);
    const n = nodeTransportAead.seal(kv.sendKey, counter, p.subarray(0, padded), data, s + HEADER);
    if (n < 0) {
      stats[ST.drops]!++;
      return;
    }
    batch.setLength(count, HEADER + n);
    count++;
    stats[ST.packets]!++;
    stats[ST.bytes]! += len;
  };

  while (!stopped()) {
    const n = c.read(init.tunFd, tunAddr, tunBuf.length);
    stats[ST.syscalls]!++;
    if (n <= 0) {
      const e = c.errno();
      if (n < 0 && e === EAGAIN) {
        flush();
        if (++idle > init.spin) {
          waitReadable(init.tunFd);
          idle = 0;
        }
      }
      else if (n < 0 && e === EBADFD) {
        post({ kind: "gone", errno: e }); // `ip link del`: the daemon shuts down, like with LinuxTun
        return;
      } else if (n < 0 && e !== EINTR) stats[ST.errors]!++;
      continue;
    }
    idle = 0;
    const t = performance.now();
    if (t - lastSample >= SAMPLE_MS) {
      lastSample = t;
      sample = init.slowPath;
      slowPosts = 0;
    }
    if (kv.refresh()) {
      for (let i = 0; i < batch.n; i++) writeSockaddrIn(batch.names, i * 16, kv.endpoint.address, kv.endpoint.port);
      // A new send keypair starts a new counter range.
      next = end = 0n;
    }
    if (off) {
      readVnetHdr(tunBuf, 0, hdr);
      const pkt = tunBuf.subarray(off);
      const len = n - off;
      if (hdr.gsoType !== VIRTIO_NET_HDR_GSO_NONE) {
        stats[ST.superPackets]!++;
        if (segmentTcp(pkt, len, hdr.gsoSize, seg, emit) < 0) stats[ST.drops]!++;
      } else {
        if (hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) completeChecksum(pkt, len, hdr.csumStart, hdr.csumOffset);
        emit(pkt, len);
      }
    } else {
      emit(tunBuf, n);
    }
    // Keep reading while the TUN has more and a whole super-packet still fits in the batch:
    // single-packet traffic (UDP, many flows) then also leaves in one GSO send / sendmmsg.
    if (!init.blocking && count + 46 <= batch.n) continue;
    flush();
  }
}

function rxLoop(): void {
  const kv = new KeyView();
  const off = init.offload ? VNET_HDR_LEN : 0;
  const out = Buffer.alloc(off + 65536);
  const outAddr = c.addressOf(out);
  if (off) out[0] = VIRTIO_NET_HDR_F_DATA_VALID; // authenticated by the AEAD: skip checksum verification
  const batch = init.udpGro ? new MmsgBatch(Math.min(init.batch, 16), 65536, true) : new MmsgBatch(init.batch, 2048);
  const data = batch.data;
  const groBuf = Buffer.alloc(VNET_HDR_LEN + 65536);
  const groAddr = c.addressOf(groBuf);
  const gro =
    init.offload && init.gro
      ? new TcpCoalescer(groBuf, (_b, n) => {
          if (c.write(init.tunFd, groAddr, n) < 0) stats[ST.errors]!++;
          stats[ST.syscalls]!++;
        })
      : null;
  const handle = (slot: number, s: number, len: number): void => {
    const index = len >= HEADER + TAG && data.readUInt32LE(s) === MESSAGE_TRANSPORT ? data.readUInt32LE(s + 4) : -1;
    let r = null;
    for (const x of kv.recv) if (x.localIndex === index) r = x;
    if (r === null) {
      // Handshake/cookie messages and unknown indices belong to the main thread (wg-core).
      stats[ST.control]!++;
      post({ kind: "control", datagram: data.slice(s, s + len), from: readSockaddrIn(batch.names, slot * 16) });
      return;
    }
    const counter = data.readUInt32LE(s + 8) + data.readUInt32LE(s + 12) * 0x1_0000_0000;
    const m = nodeTransportAead.open(r.key, counter, data.subarray(s + HEADER, s + len), out, off);
    if (m < 0 || !r.replay.validate(counter, LIMIT)) {
      stats[ST.drops]!++;
      return;
    }
    if ((!r.seen && init.slowPath) || sample) {
      // The core decrypts this one again and runs key confirmation, roaming and its receive timers.
      r.seen = true;
      sample = false;
      post({ kind: "control", datagram: data.slice(s, s + len), from: readSockaddrIn(batch.names, slot * 16) });
      return;
    }
    if (m === 0) return; // keepalive
    const v = out[off]! >> 4;
    const inner = v === 4 ? out.readUInt16BE(off + 2) : v === 6 ? 40 + out.readUInt16BE(off + 4) : -1;
    if (inner < 20 || inner > m || !sourceAllowed(kv.allowed, out, off, v === 6)) {
      stats[ST.drops]!++;
      return;
    }
    if (gro) gro.push(out, off, inner);
    else {
      const w = c.write(init.tunFd, outAddr, off + inner);
      stats[ST.syscalls]!++;
      if (w < 0) stats[ST.errors]!++;
    }
    stats[ST.packets]!++;
    stats[ST.bytes]! += inner;
  };
  let idle = 0;
  let sample = false;
  let lastSample = performance.now();
  const recvFlags = init.blocking ? MSG_WAITFORONE : MSG_DONTWAIT;
  while (!stopped()) {
    const r = batch.recv(init.udpFd, batch.n, recvFlags);
    stats[ST.syscalls]!++;
    if (r <= 0) {
      if (r === -EAGAIN && ++idle > init.spin) {
        waitReadable(init.udpFd);
        idle = 0;
      }
      continue;
    }
    idle = 0;
    stats[ST.batches]!++;
    kv.refresh();
    const t = performance.now();
    if (t - lastSample >= SAMPLE_MS) {
      lastSample = t;
      sample = init.slowPath;
    }
    for (let i = 0; i < r; i++) {
      const s = batch.slot(i);
      const len = batch.length(i);
      // With UDP_GRO the kernel may hand us several same-sized datagrams glued together.
      const seg = init.udpGro ? batch.gsoSize(i) || len : len;
      for (let o = 0; o < len; o += seg) handle(i, s + o, Math.min(seg, len - o));
    }
    gro?.flush();
    if (gro) stats[ST.superPackets] = gro.merged;
  }
}

void REPLAY_WINDOW_SIZE;
post({ kind: "ready", role: init.role });
if (init.role === "tx") txLoop();
else rxLoop();
