/**
 * Data-plane worker threads, started by dataplane/io.ts under load (at once with WG_TS_WORKERS=always).
 * Each runs one direction in a loop of koffi calls on non-blocking fds and never returns to its
 * own event loop: an empty read (EAGAIN) waits in poll(2) with a {@link POLL_TIMEOUT_MS} timeout,
 * so a stop request is seen within it (workers.ts's `blocking` option, which the daemon never
 * sets, blocks in read/recvmmsg instead):
 *
 *   "tx": read(TUN) → [split TSO super-packet, gso.ts] → route by inner destination → wg-core
 *         sealBatch in place → UDP GSO sendmsg (UDP_SEGMENT; sendmmsg when UDP GSO is off)
 *   "rx": recvmmsg(UDP) [split UDP GRO] → handshake/cookie messages through control.ts's gate to
 *         the main thread; transport messages → wg-core openBatch → write(TUN) (TCP GRO, gro.ts)
 *
 * Both attach the wg-core Device's session table (SessionTable.attach: the same keys, send counters
 * and replay windows as the core's, in shared memory) and run wg-core's transport.ts on it: one
 * implementation of the transport rules (index, age, counter limit, AEAD, replay window, inner
 * length, allowed-IPs source), whichever thread runs it. The AEAD is the native addon, a whole batch
 * per call (native-aead.ts loadBatchAead, this thread's own instance; node:crypto per packet where it
 * cannot load).
 * What the main thread publishes (shared.ts): each peer's current send keypair as (slot,
 * generation) and endpoint, the routes snapshot. The rx worker writes one thing back: a roaming
 * peer's new endpoint, into the peer record, before the inner packet reaches the TUN ({@link roam}).
 * No worker keeps a key, a counter or a window of its own: stopping or crashing loses nothing.
 */
import { parentPort, workerData } from "node:worker_threads";
import {
  AllowedIps, SessionTable, TransportBatch, classifyMessage, formatCidr, openBatch, sealBatch, slotCanSend,
  type DropReason,
} from "@wg-ts/core";
import { loadBatchAead } from "../native-aead.js";
import { ControlGate } from "./control.js";
import {
  VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, completeChecksum, readVnetHdr,
  segmentTcp, type VnetHdr,
} from "./gso.js";
import { TcpCoalescer } from "./gro.js";
import { EAGAIN, EBADFD, EINTR, MSG_DONTWAIT, MSG_WAITFORONE, POLLIN, libc } from "../libc.js";
import { VNET_HDR_LEN } from "./tun.js";
import { MmsgBatch, SOCKADDR6, readSockaddr, writeSockaddrBytes } from "./udp.js";
import {
  DROP_REASONS, KP, PEER_WORDS, PR, PS, ROUTE_WORDS, SAMPLE_MS, SLOW_BUDGET, STATS_WORDS, ST, dropWord, lockRecord,
  unlockRecord, writeRecordEndpoint,
  type WorkerDropReason, type WorkerEvent, type WorkerInit,
} from "./shared.js";

const init = workerData as WorkerInit;
const c = libc();
const control = new Int32Array(init.control);
const controlBytes = new Uint8Array(init.control);
const stats = new Float64Array(init.stats, init.role === "tx" ? 0 : STATS_WORDS * 8, STATS_WORDS);
const table = SessionTable.attach(init.table);
/** The transport AEAD, a batch per call: the native addon (this thread's own instance), node:crypto where it cannot load (the main thread logs why). */
const aead = loadBatchAead().aead;
const MESSAGE_TRANSPORT = 4;
const HEADER = 16;
const TAG = 16;
const POLL_TIMEOUT_MS = 250;
const pollfd = Buffer.alloc(8);
const pollAddr = c.addressOf(pollfd);
/** Stats word of each drop reason; wg-core reasons the workers do not list count as the closest listed one. */
const DROP_WORD = Object.fromEntries(DROP_REASONS.map((r) => [r, dropWord(r)])) as Record<string, number>;
const D = { noRoute: dropWord("no-route"), budget: dropWord("slow-path-budget"), inner: dropWord("invalid-inner-packet") };
/** Counts one drop: the total and its reason's word. */
const drop = (word: number): void => {
  stats[ST.drops]!++;
  stats[word]!++;
};
const dropFor = (r: DropReason | WorkerDropReason): void => drop(DROP_WORD[r] ?? dropWord("decrypt-failed"));
const stopped = (): boolean => Atomics.load(control, KP.stop) === 1;
/** wg-core's clock: epoch ms, monotonic (the daemon's monotonicEpochMs; this thread's time origin). */
const epochNow = (): number => performance.timeOrigin + performance.now();

/** Waits until `fd` is readable (or the timeout passes). */
function waitReadable(fd: number): void {
  pollfd.writeInt32LE(fd, 0);
  pollfd.writeInt16LE(POLLIN, 4);
  pollfd.writeInt16LE(0, 6);
  c.poll(pollAddr, 1, POLL_TIMEOUT_MS);
  stats[ST.syscalls]!++;
}

/** This thread's fixed-length views of the peer records (re-created when the buffer has grown past them). */
class PeerRecords {
  words = new Int32Array(init.peers);
  f64 = new Float64Array(init.peers);
  bytes = new Uint8Array(init.peers);
  /** The record's word offset, or −1 when the buffer does not hold it (yet). */
  at(peer: number): number {
    const w = peer * PEER_WORDS;
    if (w + PEER_WORDS > this.words.length) {
      if (init.peers.byteLength / 4 < w + PEER_WORDS) return -1;
      this.words = new Int32Array(init.peers);
      this.f64 = new Float64Array(init.peers);
      this.bytes = new Uint8Array(init.peers);
    }
    return w;
  }
}
const records = new PeerRecords();

/** One peer's record as a worker last read it (re-read when its seq moves). */
class PeerView {
  seq = -1;
  sendSlot = -1;
  sendGeneration = 0;
  /** struct sockaddr_in6 of the endpoint, or null when the peer has none. */
  endpoint: Buffer | null = null;
  constructor(readonly id: number) {}
}

/** Peer `id`'s record, re-read under its seqlock if it moved; null when it cannot be read consistently now. */
function readPeer(views: (PeerView | undefined)[], id: number): PeerView | null {
  const w = records.at(id);
  if (w < 0) return null;
  const v = views[id] ?? (views[id] = new PeerView(id));
  const words = records.words;
  // A writer holds the record for a few stores; one descheduled meanwhile costs a wait, not a wrong read.
  for (let tries = 0; tries < 1 << 20; tries++) {
    const seq = Atomics.load(words, w + PR.seq);
    if (seq === v.seq) return v;
    if ((seq & 1) === 1) continue; // the main thread or the rx worker is writing it
    const slot = words[w + PR.sendSlot]!;
    const generation = words[w + PR.sendGeneration]!;
    const family = words[w + PR.endpointFamily]!;
    const port = words[w + PR.endpointPort]! & 0xffff;
    const a = (w + PR.endpointAddr) * 4;
    const addr = family === 4 || family === 6 ? records.bytes.slice(a, a + (family === 4 ? 4 : 16)) : null;
    if (Atomics.load(words, w + PR.seq) !== seq) continue;
    v.sendSlot = slot;
    v.sendGeneration = generation;
    if (addr === null) v.endpoint = null;
    else {
      v.endpoint = Buffer.alloc(SOCKADDR6);
      writeSockaddrBytes(v.endpoint, 0, addr, port);
    }
    v.seq = seq;
    return v;
  }
  return null;
}

/** True when the struct sockaddr_in6 at names[at..] is not `view`'s endpoint (port and address; no endpoint: true). */
function otherEndpoint(view: PeerView, names: Buffer, at: number): boolean {
  const e = view.endpoint;
  if (e === null) return true;
  for (let i = 2; i < 4; i++) if (e[i] !== names[at + i]) return true;
  for (let i = 8; i < 24; i++) if (e[i] !== names[at + i]) return true;
  return false;
}

/**
 * Roaming (whitepaper §2.1; wg-core's Device applies it when told, with {@link WorkerEvent} "received"):
 * an authenticated datagram's source becomes the peer's endpoint. The rx worker writes it into the
 * peer record itself, before the inner packet reaches the TUN, so the tx worker already answers to
 * it (the kernel and wireguard-go set the endpoint before they deliver the packet). Returns true
 * when the endpoint moved.
 */
function roam(views: (PeerView | undefined)[], peer: number, names: Buffer, at: number): boolean {
  const v = readPeer(views, peer);
  if (v !== null && !otherEndpoint(v, names, at)) return false;
  const w = records.at(peer);
  if (w < 0) return false;
  const mapped = names.readUInt32BE(at + 8) === 0 && names.readUInt32BE(at + 12) === 0 && names.readUInt32BE(at + 16) === 0xffff;
  const address = mapped ? names.subarray(at + 20, at + 24) : names.subarray(at + 8, at + 24);
  const held = lockRecord(records.words, w);
  writeRecordEndpoint(records.words, records.bytes, w, address, names.readUInt16BE(at + 2));
  unlockRecord(records.words, w, held);
  return true;
}

/** The control words and the routes snapshot, copied when the control generation moves. */
class Snapshot {
  generation = -1;
  /** The routes snapshot: inner address → the core's peer id (wg-core's trie). */
  routes = new AllowedIps<number>();
  /** openBatch's `peers`: peer id → the value routes hold for it (the id itself). */
  ids: number[] = [];
  linkMtu = 0;
  /** The device's static public key as published (null: none). */
  ownKey: Uint8Array | null = null;

  /** Returns true when a new consistent copy was taken. */
  refresh(): boolean {
    const g = Atomics.load(control, KP.generation);
    if (g === this.generation || g & 1) return false; // unchanged, or being written: keep the old copy
    const n = control[KP.routeCount]!;
    const words = new Int32Array(init.routes, 0, Math.min(n * ROUTE_WORDS, init.routes.byteLength >> 2));
    const bytes = new Uint8Array(init.routes, 0, words.length * 4);
    const list: [string, number][] = [];
    let maxId = -1;
    for (let i = 0; i < n && (i + 1) * ROUTE_WORDS <= words.length; i++) {
      const w = i * ROUTE_WORDS;
      const fb = words[w + 1]!;
      const family = (fb & 0xff) === 6 ? 6 : 4;
      const a = (w + 2) * 4;
      const id = words[w]!;
      list.push([formatCidr({ family, bits: fb >> 8, bytes: bytes.slice(a, a + (family === 4 ? 4 : 16)) }), id]);
      if (id > maxId) maxId = id;
    }
    const linkMtu = control[KP.linkMtu]!;
    const ownKey = control[KP.ownKeyValid] === 1 ? controlBytes.slice(KP.ownKey * 4, KP.ownKey * 4 + 32) : null;
    if (Atomics.load(control, KP.generation) !== g) return false; // torn: retry later
    const routes = new AllowedIps<number>();
    for (const [cidr, id] of list) if (id >= 0) routes.insert(cidr, id);
    this.routes = routes;
    this.ids = Array.from({ length: maxId + 1 }, (_, i) => i);
    this.linkMtu = linkMtu;
    this.ownKey = ownKey;
    this.generation = g;
    return true;
  }
}

const post = (e: WorkerEvent): void => parentPort?.postMessage(e);
/**
 * A copy of view[start, end) in its own small ArrayBuffer: Buffer#slice is a view, and posting a
 * view clones its whole backing buffer (the 1 MiB receive batch, the 64 KiB TUN buffer).
 */
const copyOf = (view: Uint8Array, start: number, end: number): Uint8Array => Uint8Array.prototype.slice.call(view, start, end);

function txLoop(): void {
  const snap = new Snapshot();
  const views: (PeerView | undefined)[] = [];
  const mtu = init.mtu;
  const off = init.offload ? VNET_HDR_LEN : 0;
  const tunBuf = Buffer.alloc(off + 65536 + 64);
  const tunAddr = c.addressOf(tunBuf);
  const seg = Buffer.alloc(mtu + 64);
  const slotSize = HEADER + mtu + TAG + 16;
  const batch = new MmsgBatch(init.batch, slotSize);
  const data = batch.data;
  const names = batch.names;
  // One TransportBatch entry per datagram slot: the inner packet is read into the datagram's payload
  // (input = output at offset 16) and sealed there in place by wg-core's sealBatch.
  const tb = new TransportBatch(batch.n);
  const outputs = Array.from({ length: batch.n }, (_, i) => data.subarray(batch.slot(i), batch.slot(i) + slotSize));
  const innerLen = new Int32Array(batch.n);
  let slowPosts = 0;
  let lastTick = performance.now();
  let now = lastTick;
  let epoch = epochNow();
  const hdr: VnetHdr = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
  let count = 0;
  /** The peer of the datagrams in the batch (one peer per batch: a GSO send has one destination). */
  let batchPeer: PeerView | null = null;
  let batches = 0;
  let idle = 0;

  const flush = (): void => {
    if (count === 0) return;
    const peer = batchPeer!;
    tb.count = count;
    // wg-core: generation and age (REJECT_AFTER_TIME on this thread's clock) checked, counters
    // reserved in the slot's own cell for the whole run, sealed, generation checked again.
    sealBatch(table, tb, epochNow(), aead, snap.linkMtu);
    let n = 0;
    let bytes = 0;
    for (let k = 0; k < count; k++) {
      const reason = tb.drop[k];
      if (reason !== null && reason !== undefined) {
        dropFor(reason);
        continue;
      }
      if (n !== k) {
        // Close the gap a dropped datagram left (rare: an expiry or the counter limit mid-batch).
        data.copyWithin(batch.slot(n), batch.slot(k), batch.slot(k) + tb.length[k]!);
        names.copyWithin(n * SOCKADDR6, k * SOCKADDR6, (k + 1) * SOCKADDR6);
      }
      batch.setLength(n, tb.length[k]!);
      bytes += innerLen[k]!;
      n++;
    }
    for (let k = 0; k < count; k++) tb.input[k] = outputs[0]!; // drop the per-packet views
    count = 0;
    batchPeer = null;
    if (n === 0) return;
    const r = init.udpGso ? batch.sendSegmented(init.udpFd, n, init.gsoSegments) : batch.send(init.udpFd, n);
    if (r < 0) stats[ST.errors]!++;
    stats[ST.syscalls]! += init.udpGso ? Math.max(r, 1) : 1;
    stats[ST.batches] = ++batches;
    stats[ST.packets]! += n;
    stats[ST.bytes]! += bytes;
    const w = records.at(peer.id);
    if (w >= 0) {
      records.f64[w / 2 + PS.txPackets]! += n;
      records.f64[w / 2 + PS.txBytes]! += bytes;
    }
  };
  const emit = (p: Uint8Array, len: number): void => {
    // Cryptokey routing: the peer whose allowed IPs hold the inner destination (longest prefix).
    const id = len >= 20 ? snap.routes.lookup(p, "dst") : undefined;
    const peer = id === undefined ? null : readPeer(views, id);
    if (peer === null || peer.endpoint === null || !slotCanSend(table, peer.sendSlot, peer.sendGeneration, epoch)) {
      // The core stages it and starts a handshake (no usable keypair: none, expired, counters spent)
      // or drops it (no route). Its send timers see this worker's traffic through the peer record's
      // counters (Device.noteDataSent, every 20 ms): no packet of a peer with a session takes this way,
      // so none goes to an endpoint the core has not yet heard of (roaming: the rx worker moves it).
      if (slowPosts++ < SLOW_BUDGET) {
        post({ kind: "slow", packet: copyOf(p, 0, len) });
        stats[ST.control]!++;
      } else drop(peer === null ? D.noRoute : D.budget);
      return;
    }
    if (count === batch.n || (count > 0 && (batchPeer !== peer || tb.generation[count - 1] !== peer.sendGeneration))) flush();
    const s = batch.slot(count);
    data.set(p.subarray(0, len), s + HEADER);
    tb.input[count] = data.subarray(s + HEADER, s + HEADER + len);
    tb.output[count] = outputs[count]!;
    tb.slot[count] = peer.sendSlot;
    tb.generation[count] = peer.sendGeneration;
    innerLen[count] = len;
    peer.endpoint.copy(names, count * SOCKADDR6);
    batchPeer = peer;
    count++;
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
        post({ kind: "gone", errno: e }); // `ip link del`: the daemon shuts down (dataplane/io.ts: Tun.read rejects)
        return;
      } else if (n < 0 && e !== EINTR) stats[ST.errors]!++;
      continue;
    }
    idle = 0;
    now = performance.now();
    epoch = performance.timeOrigin + now;
    if (now - lastTick >= SAMPLE_MS) {
      lastTick = now;
      slowPosts = 0;
    }
    if (snap.refresh()) flush(); // new routes or MTU: seal what is queued under the old ones first
    if (off) {
      readVnetHdr(tunBuf, 0, hdr);
      const pkt = tunBuf.subarray(off);
      const len = n - off;
      if (hdr.gsoType !== VIRTIO_NET_HDR_GSO_NONE) {
        stats[ST.superPackets]!++;
        if (segmentTcp(pkt, len, hdr.gsoSize, seg, emit) < 0) drop(D.inner);
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

/** Transport datagrams opened per openBatch call at most. */
const OPEN_BATCH = 64;
/** Bytes of output room per datagram in the rx arena before one needs the large spare. */
const OPEN_ROOM = 2048;
/** Room before each opened packet for the virtio-net header of its TUN write. */
const LEAD = 16;

function rxLoop(): void {
  const snap = new Snapshot();
  const off = init.offload ? VNET_HDR_LEN : 0;
  const arena = Buffer.alloc(OPEN_BATCH * (LEAD + OPEN_ROOM) + LEAD + 65536);
  const arenaAddr = c.addressOf(arena);
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
  const gate = new ControlGate();
  const tb = new TransportBatch(OPEN_BATCH);
  /** Per batch entry: the recvmmsg message it came from (its source address) and its place in the arena. */
  const message = new Int32Array(OPEN_BATCH);
  const at = new Int32Array(OPEN_BATCH);
  let used = 0;
  /** Per session-table slot: the generation this worker last reported to the core (first use of a keypair). */
  const reported: number[] = [];
  /** Per peer id: when this worker last reported traffic to the core (receive timers). */
  const sampled: number[] = [];
  /** Per peer id: its record as this worker last read it (the endpoint, for roaming). */
  const views: (PeerView | undefined)[] = [];
  let replays = 0;
  let now = performance.now();
  let epoch = epochNow();

  const refresh = (): void => {
    if (snap.refresh()) gate.setPublicKey(snap.ownKey);
  };
  const open = (): void => {
    const n = tb.count;
    if (n === 0) return;
    // wg-core: size/type → index → age → counter limit → AEAD → the slot's replay window (under its
    // lock: one window for every thread) → inner length → inner source routes back to the slot's peer.
    openBatch(table, tb, epoch, aead, snap.routes, snap.ids);
    for (let k = 0; k < n; k++) {
      const reason = tb.drop[k] ?? null;
      if (tb.authenticated[k] === 1) {
        const slot = tb.slot[k]!;
        const generation = tb.generation[k]!;
        const peer = table.peer(slot);
        const length = tb.length[k]!;
        const roamed = roam(views, peer, batch.names, message[k]! * SOCKADDR6);
        if (roamed || reported[slot] !== generation || now - (sampled[peer] ?? -Infinity) >= SAMPLE_MS) {
          // The core's bookkeeping: key confirmation on a keypair's first datagram, roaming and timers.
          reported[slot] = generation;
          sampled[peer] = now;
          post({ kind: "received", slot, generation, from: readSockaddr(batch.names, message[k]! * SOCKADDR6), data: length > 0 });
        }
        if (reason === null && length > 0) {
          const p = at[k]!;
          if (gro) gro.push(arena, p, length);
          else {
            arena.fill(0, p - off, p);
            if (off) arena[p - off] = VIRTIO_NET_HDR_F_DATA_VALID; // authenticated by the AEAD: skip checksum verification
            const w = c.write(init.tunFd, arenaAddr + p - off, off + length);
            stats[ST.syscalls]!++;
            if (w < 0) stats[ST.errors]!++;
          }
          stats[ST.packets]!++;
          stats[ST.bytes]! += length;
          const r = records.at(peer);
          if (r >= 0) {
            records.f64[r / 2 + PS.rxPackets]!++;
            records.f64[r / 2 + PS.rxBytes]! += length;
          }
        }
      }
      if (reason !== null) {
        dropFor(reason);
        // Test only (WG_TS_TEST_RX_CRASH_AFTER_REPLAYS, NODE_ENV=test): a crash of this worker.
        if (reason === "replay" && init.crashAfterReplays > 0 && ++replays >= init.crashAfterReplays) throw new Error("test crash (WG_TS_TEST_RX_CRASH_AFTER_REPLAYS)");
      }
      tb.input[k] = tb.output[k] = arena; // drop the per-packet views
    }
    tb.count = 0;
    used = 0;
  };
  const handle = (m: number, s: number, len: number): void => {
    if (classifyMessage(data, s, s + len) !== MESSAGE_TRANSPORT) {
      // Handshake and cookie messages belong to the main thread (wg-core), once they pass wg-core's
      // checks here (control.ts): junk and forged MAC1 never take a real handshake's place.
      const verdict = gate.admit(data, now, s, s + len);
      if (verdict !== "post") return drop(DROP_WORD[verdict]!);
      stats[ST.control]!++;
      post({ kind: "control", datagram: copyOf(data, s, s + len), from: readSockaddr(batch.names, m * SOCKADDR6) });
      return;
    }
    const room = len - HEADER - TAG;
    const big = room > OPEN_ROOM;
    if (tb.count === OPEN_BATCH || (big && used + LEAD + room > arena.length) || (!big && used + LEAD + OPEN_ROOM > OPEN_BATCH * (LEAD + OPEN_ROOM))) open();
    const k = tb.count++;
    const p = used + LEAD;
    used = p + (big ? room : OPEN_ROOM);
    at[k] = p;
    message[k] = m;
    tb.input[k] = data.subarray(s, s + len);
    tb.output[k] = arena.subarray(p, p + room);
  };
  let idle = 0;
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
    refresh();
    now = performance.now();
    epoch = performance.timeOrigin + now;
    for (let i = 0; i < r; i++) {
      const s = batch.slot(i);
      const len = batch.length(i);
      // With UDP_GRO the kernel may hand us several same-sized datagrams glued together.
      const seg = init.udpGro ? batch.gsoSize(i) || len : len;
      if (len === 0) handle(i, s, 0); // an empty datagram is still one (the gate counts it as truncated)
      for (let o = 0; o < len; o += seg) handle(i, s + o, Math.min(seg, len - o));
    }
    open();
    gro?.flush();
    if (gro) stats[ST.superPackets] = gro.merged;
  }
}

post({ kind: "ready", role: init.role });
// The main thread keeps reading the fds until both workers are ready, then hands them over.
while (Atomics.load(control, KP.go) === 0 && !stopped()) Atomics.wait(control, KP.go, 0, POLL_TIMEOUT_MS);
if (init.role === "tx") txLoop();
else rxLoop();
