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
import { AllowedIps, COUNTER_LIMIT, ReplayWindow, classifyMessage, formatCidr, nodeTransportAead, paddedLength, writeCounter } from "@wg-ts/core";
import { ControlGate } from "./control.js";
import {
  VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, completeChecksum, readVnetHdr,
  segmentTcp, type VnetHdr,
} from "./gso.js";
import { TcpCoalescer } from "./gro.js";
import { EAGAIN, EINTR, MSG_DONTWAIT, MSG_WAITFORONE, libc } from "../libc.js";
import { VNET_HDR_LEN } from "./tun.js";
import { MmsgBatch, SOCKADDR6, readSockaddr, writeSockaddrBytes } from "./udp.js";
import {
  KP, MAX_PEERS, MAX_ROUTES, PEER_STATS_WORDS, PK, PS, RECV_SLOTS, RECV_SLOT_WORDS, RECV_WINDOW, RETURN_BASE, RETURN_WORDS, ROUTES_BASE,
  ROUTE_WORDS, SAMPLE_MS, SLOW_BUDGET,
  STATS_WORDS, ST, DROP_REASONS, dropWord, peerBase, type WorkerDropReason, type WorkerEvent, type WorkerInit,
} from "./shared.js";

const init = workerData as WorkerInit;
const c = libc();
const keyWords = new Int32Array(init.keypairs);
const counters = new BigInt64Array(init.counters);
const stats = new Float64Array(init.stats, init.role === "tx" ? 0 : STATS_WORDS * 8, STATS_WORDS);
const peerStats = new Float64Array(init.peerStats);
const MESSAGE_TRANSPORT = 4;
/** Stats word of each drop reason. */
const DROP_WORD = Object.fromEntries(DROP_REASONS.map((r) => [r, dropWord(r)])) as Record<WorkerDropReason, number>;
const HEADER = 16;
const TAG = 16;
/** Counters reserved per Atomics.add on the shared send counter. */
const COUNTER_RANGE = 256n;
const EBADFD = 77;
const POLLIN = 1;
const POLL_TIMEOUT_MS = 250;
const pollfd = Buffer.alloc(8);
const pollAddr = c.addressOf(pollfd);
const D = {
  decrypt: dropWord("decrypt-failed"), replay: dropWord("replay"), counterLimit: dropWord("counter-limit"),
  source: dropWord("source-not-allowed"), inner: dropWord("invalid-inner-packet"), noRoute: dropWord("no-route"),
  encrypt: dropWord("encrypt-failed"), budget: dropWord("slow-path-budget"),
};
/** Counts one drop: the total and its reason's word. */
const drop = (word: number): void => {
  stats[ST.drops]!++;
  stats[word]!++;
};
const stopped = (): boolean => Atomics.load(keyWords, KP.stop) === 1;

/** Waits until `fd` is readable (or the timeout passes). */
function waitReadable(fd: number): void {
  pollfd.writeInt32LE(fd, 0);
  pollfd.writeInt16LE(POLLIN, 4);
  pollfd.writeInt16LE(0, 6);
  c.poll(pollAddr, 1, POLL_TIMEOUT_MS);
  stats[ST.syscalls]!++;
}

interface RecvKey {
  slot: number;
  localIndex: number;
  key: Uint8Array;
  replay: ReplayWindow;
  seen: boolean;
}

/** One peer slot as the workers see it. */
class PeerView {
  sendValid = false;
  sendKey = new Uint8Array(32);
  remoteIndex = 0;
  cell = 0;
  /** struct sockaddr_in6 of the endpoint, or null when the peer has none. */
  endpoint: Buffer | null = null;
  /** The tx worker's current counter range. */
  next = 0n;
  end = 0n;
  lastSample = 0;
  constructor(readonly slot: number) {}
}

/** The worker's copy of the shared keypair table, refreshed when the generation word moves. */
class KeyView {
  generation = -1;
  peers: (PeerView | undefined)[] = new Array<PeerView | undefined>(MAX_PEERS);
  /** Receive keypairs by local (receiver) index. */
  byIndex = new Map<number, RecvKey>();
  /** The routes snapshot: inner address → peer slot (wg-core's trie). */
  routes = new AllowedIps<number>();
  linkMtu = 0;
  /** The device's static public key as published (null: none). */
  ownKey: Uint8Array | null = null;
  #routesKey = "";

  /** Returns true when a new consistent copy was taken. */
  refresh(): boolean {
    const g = Atomics.load(keyWords, KP.generation);
    if (g === this.generation || g & 1) return false; // unchanged, or being written: keep the old copy
    if (!this.#copy(g)) return false; // torn: retry later
    this.generation = g;
    return true;
  }

  #copy(g: number): boolean {
    const bytes = new Uint8Array(init.keypairs);
    const old = this.byIndex;
    const byIndex = new Map<number, RecvKey>();
    const peers = new Array<PeerView | undefined>(MAX_PEERS);
    for (let slot = 0; slot < MAX_PEERS; slot++) {
      const p = peerBase(slot);
      const sendValid = keyWords[p + PK.sendValid] === 1;
      const family = keyWords[p + PK.endpointFamily];
      let any = sendValid || family !== 0;
      for (let i = 0; i < RECV_SLOTS && !any; i++) if (keyWords[p + PK.recvSlots + i * RECV_SLOT_WORDS] === 1) any = true;
      if (!any) continue;
      const prev = this.peers[slot];
      const v = new PeerView(slot);
      v.lastSample = prev?.lastSample ?? 0;
      v.sendValid = sendValid;
      v.sendKey = bytes.slice((p + PK.sendKey) * 4, (p + PK.sendKey + 8) * 4);
      v.remoteIndex = keyWords[p + PK.remoteIndex]! >>> 0;
      v.cell = 2 * slot + (keyWords[p + PK.counterCell]! & 1);
      if (family === 4 || family === 6) {
        const a = (p + PK.endpointAddr) * 4;
        v.endpoint = Buffer.alloc(SOCKADDR6);
        writeSockaddrBytes(v.endpoint, 0, bytes.slice(a, a + (family === 4 ? 4 : 16)), keyWords[p + PK.endpointPort]! & 0xffff);
      }
      peers[slot] = v;
      for (let i = 0; i < RECV_SLOTS; i++) {
        const w = p + PK.recvSlots + i * RECV_SLOT_WORDS;
        if (keyWords[w] !== 1) continue;
        const localIndex = keyWords[w + 1]! >>> 0;
        // A keypair moving between slots (current → previous) keeps its replay window; one seen for
        // the first time starts from the core's window as published (what the core already accepted).
        const was = old.get(localIndex);
        let replay = was?.replay;
        if (replay === undefined) {
          replay = new ReplayWindow();
          replay.load(keyWords, w + RECV_WINDOW);
        }
        byIndex.set(localIndex, {
          slot,
          localIndex,
          key: bytes.slice((w + 2) * 4, (w + 2) * 4 + 32),
          replay,
          seen: was?.seen ?? false,
        });
      }
    }
    const nr = Math.min(keyWords[KP.routeCount]!, MAX_ROUTES);
    const list: [string, number][] = [];
    for (let i = 0; i < nr; i++) {
      const w = ROUTES_BASE + i * ROUTE_WORDS;
      const fb = keyWords[w + 1]!;
      const family = (fb & 0xff) === 6 ? 6 : 4;
      const a = (w + 2) * 4;
      list.push([formatCidr({ family, bits: fb >> 8, bytes: bytes.slice(a, a + (family === 4 ? 4 : 16)) }), keyWords[w]!]);
    }
    const linkMtu = keyWords[KP.linkMtu]!;
    const ownKey = keyWords[KP.ownKeyValid] === 1 ? bytes.slice(KP.ownKey * 4, KP.ownKey * 4 + 32) : null;
    if (Atomics.load(keyWords, KP.generation) !== g) return false;
    this.linkMtu = linkMtu;
    this.ownKey = ownKey;
    const key = list.map(([c, s]) => `${c}=${s}`).join(",");
    if (key !== this.#routesKey) {
      const routes = new AllowedIps<number>();
      for (const [c, s] of list) routes.insert(c, s);
      this.routes = routes;
      this.#routesKey = key;
    }
    this.peers = peers;
    this.byIndex = byIndex;
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
  const kv = new KeyView();
  const mtu = init.mtu;
  const off = init.offload ? VNET_HDR_LEN : 0;
  const tunBuf = Buffer.alloc(off + 65536 + 64);
  const tunAddr = c.addressOf(tunBuf);
  const seg = Buffer.alloc(mtu + 64);
  const batch = new MmsgBatch(init.batch, HEADER + mtu + TAG + 16);
  let slowPosts = 0;
  let lastTick = performance.now();
  let now = lastTick;
  const data = batch.data;
  const names = batch.names;
  const hdr: VnetHdr = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
  let count = 0;
  /** The peer of the datagrams in the batch (one peer per batch: a GSO send has one destination). */
  let batchPeer: PeerView | null = null;
  let batches = 0;
  let idle = 0;

  const flush = (): void => {
    if (count === 0) return;
    const r = init.udpGso ? batch.sendSegmented(init.udpFd, count, init.gsoSegments) : batch.send(init.udpFd, count);
    if (r < 0) stats[ST.errors]!++;
    stats[ST.syscalls]! += init.udpGso ? Math.max(r, 1) : 1;
    stats[ST.batches] = ++batches;
    count = 0;
    batchPeer = null;
  };
  const emit = (p: Uint8Array, len: number): void => {
    // Cryptokey routing: the peer whose allowed IPs hold the inner destination (longest prefix).
    const slot = len >= 20 ? kv.routes.lookup(p, "dst") : undefined;
    const peer = slot === undefined ? undefined : kv.peers[slot];
    let sample = false;
    if (peer !== undefined && init.slowPath && now - peer.lastSample >= SAMPLE_MS) {
      peer.lastSample = now;
      sample = true;
    }
    if (peer === undefined || !peer.sendValid || peer.endpoint === null || sample) {
      // The core stages it and starts a handshake (or drops it: no route), or (sample) sends it and runs its send timers.
      if (slowPosts++ < SLOW_BUDGET) {
        post({ kind: "slow", packet: copyOf(p, 0, len) });
        stats[ST.control]!++;
      } else drop(peer === undefined ? D.noRoute : D.budget);
      return;
    }
    if (count === batch.n || (count > 0 && batchPeer !== peer)) flush();
    // Pad to a multiple of 16 capped at the link MTU: wg-core's rule (padding.ts), the core's MTU.
    const padded = paddedLength(len, kv.linkMtu);
    p.fill(0, len, padded);
    if (peer.next === peer.end) {
      peer.next = Atomics.add(counters, peer.cell, COUNTER_RANGE);
      peer.end = peer.next + COUNTER_RANGE;
    }
    const counter = Number(peer.next++);
    const s = batch.slot(count);
    data[s] = MESSAGE_TRANSPORT;
    data[s + 1] = 0;
    data[s + 2] = 0;
    data[s + 3] = 0;
    data.writeUInt32LE(peer.remoteIndex, s + 4);
    writeCounter(data, s + 8, counter);
    const n = nodeTransportAead.seal(peer.sendKey, counter, p.subarray(0, padded), data, s + HEADER);
    if (n < 0) {
      drop(D.encrypt);
      return;
    }
    batch.setLength(count, HEADER + n);
    peer.endpoint.copy(names, count * SOCKADDR6);
    batchPeer = peer;
    count++;
    stats[ST.packets]!++;
    stats[ST.bytes]! += len;
    const ps = peer.slot * PEER_STATS_WORDS;
    peerStats[ps + PS.txPackets]!++;
    peerStats[ps + PS.txBytes]! += len;
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
    now = performance.now();
    if (now - lastTick >= SAMPLE_MS) {
      lastTick = now;
      slowPosts = 0;
    }
    // A new copy has fresh peers: a new send keypair starts a new counter range.
    kv.refresh();
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

function rxLoop(): void {
  const kv = new KeyView();
  const off = init.offload ? VNET_HDR_LEN : 0;
  const out = Buffer.alloc(off + 65536);
  const outAddr = c.addressOf(out);
  const innerView = out.subarray(off);
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
  const gate = new ControlGate();
  const refresh = (): boolean => {
    if (!kv.refresh()) return false;
    gate.setPublicKey(kv.ownKey);
    return true;
  };
  const handle = (slot: number, s: number, len: number): void => {
    // wg-core's classification (exact sizes per type); a transport message is ours to carry when
    // its receiver index is published.
    let r: RecvKey | undefined;
    if (classifyMessage(data, s, s + len) === MESSAGE_TRANSPORT) {
      const index = data.readUInt32LE(s + 4);
      r = kv.byIndex.get(index);
      // Published since this batch's refresh? (The core publishes before it sends what lets a peer use a new keypair.)
      if (r === undefined && refresh()) r = kv.byIndex.get(index);
    }
    if (r === undefined) {
      // Handshake and cookie messages belong to the main thread (wg-core), once they pass wg-core's
      // checks here (control.ts): junk and forged MAC1 never take a real handshake's place.
      const verdict = gate.admit(data, now, s, s + len);
      if (verdict !== "post") return drop(DROP_WORD[verdict]);
      stats[ST.control]!++;
      post({ kind: "control", datagram: copyOf(data, s, s + len), from: readSockaddr(batch.names, slot * SOCKADDR6) });
      return;
    }
    const counter = data.readUInt32LE(s + 8) + data.readUInt32LE(s + 12) * 0x1_0000_0000;
    // Checked before decrypting, in the core's order (device.ts): a forged huge counter costs no AEAD.
    if (counter >= COUNTER_LIMIT) {
      drop(D.counterLimit);
      return;
    }
    const m = nodeTransportAead.open(r.key, counter, data.subarray(s + HEADER, s + len), out, off);
    if (m < 0) {
      drop(D.decrypt);
      return;
    }
    if (!r.replay.validate(counter, COUNTER_LIMIT)) {
      drop(D.replay);
      return;
    }
    const first = !r.seen && init.slowPath;
    const v = out[off]! >> 4;
    const inner = m === 0 ? 0 : v === 4 ? out.readUInt16BE(off + 2) : v === 6 ? 40 + out.readUInt16BE(off + 4) : -1;
    // Cryptokey routing, receive side: the inner source must route back to the sending peer
    // (checked here for sampled packets too; the first one on a keypair goes to the core as it is).
    if (!first && m > 0) {
      if (inner < 20 || inner > m) {
        drop(D.inner);
        return;
      }
      if (kv.routes.lookup(innerView, "src") !== r.slot) {
        drop(D.source);
        return;
      }
    }
    const peer = kv.peers[r.slot];
    let sample = false;
    if (peer !== undefined && init.slowPath && now - peer.lastSample >= SAMPLE_MS) {
      peer.lastSample = now;
      sample = true;
    }
    if (first || sample) {
      // The core decrypts this one again and runs key confirmation, roaming and its receive timers.
      r.seen = true;
      post({ kind: "control", datagram: copyOf(data, s, s + len), from: readSockaddr(batch.names, slot * SOCKADDR6) });
      return;
    }
    if (m === 0) return; // keepalive
    if (gro) gro.push(out, off, inner);
    else {
      const w = c.write(init.tunFd, outAddr, off + inner);
      stats[ST.syscalls]!++;
      if (w < 0) stats[ST.errors]!++;
    }
    stats[ST.packets]!++;
    stats[ST.bytes]! += inner;
    const ps = r.slot * PEER_STATS_WORDS;
    peerStats[ps + PS.rxPackets]!++;
    peerStats[ps + PS.rxBytes]! += inner;
  };
  let idle = 0;
  let now = performance.now();
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
    for (let i = 0; i < r; i++) {
      const s = batch.slot(i);
      const len = batch.length(i);
      // With UDP_GRO the kernel may hand us several same-sized datagrams glued together.
      const seg = init.udpGro ? batch.gsoSize(i) || len : len;
      if (len === 0) handle(i, s, 0); // an empty datagram is still one (the core counts it as truncated)
      for (let o = 0; o < len; o += seg) handle(i, s + o, Math.min(seg, len - o));
    }
    gro?.flush();
    if (gro) stats[ST.superPackets] = gro.merged;
  }
  returnWindows(kv);
}

/**
 * Hands the rx worker's replay windows back as it stops (shared.ts, RETURN_BASE): the core merges
 * them before it reads the socket itself, so a datagram accepted here cannot be replayed to it.
 */
function returnWindows(kv: KeyView): void {
  let n = 0;
  for (const r of kv.byIndex.values()) {
    if (n === MAX_PEERS * RECV_SLOTS) break;
    const e = RETURN_BASE + n++ * RETURN_WORDS;
    keyWords[e] = r.localIndex | 0;
    r.replay.save(keyWords, e + 1);
  }
  Atomics.store(keyWords, KP.returned, n);
}

post({ kind: "ready", role: init.role });
// The main thread keeps reading the fds until both workers are ready, then hands them over.
while (Atomics.load(keyWords, KP.go) === 0 && !stopped()) Atomics.wait(keyWords, KP.go, 0, POLL_TIMEOUT_MS);
if (init.role === "tx") txLoop();
else rxLoop();
