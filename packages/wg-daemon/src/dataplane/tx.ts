/**
 * The send pipeline: TUN → [split a TSO super-packet, gso.ts] → route by inner destination →
 * wg-core sealBatch in place → UDP (GSO send, or sendmmsg). One peer per batch: a GSO send has one
 * destination. A packet of a peer without a usable send keypair waits for one: on a worker in the
 * pipeline's own staged queues (staging.ts), while the main thread's Device is asked for a
 * handshake ("session" event) — the worker seals and sends it itself once the keypair is published;
 * on the main thread the Device stages it itself ("slow": encapsulate). A packet without a route is
 * dropped.
 */
import { microsMod32, monotonicEpochMs } from "../clock.js";
import { TransportBatch, sealBatch, slotCanSend } from "@wg-ts/core";
import { EAGAIN, EBADFD, EINTR } from "../libc.js";
import type { DatagramBatch, TunDevice, UdpDevice } from "./devices.js";
import {
  VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, completeChecksum, readVnetHdr, segmentTcp, type VnetHdr,
} from "./gso.js";
import { Pipeline, TRANSPORT_HEADER, TRANSPORT_TAG, copyOf, type PipelineContext, type PipelineOptions, type StepResult } from "./pipeline.js";
import { POLL_TIMEOUT_MS } from "./devices.js";
import { PF, PS, PT, ST } from "./shared.js";
import { Staging } from "./staging.js";
import { SOCKADDR6 } from "./udp.js";
import type { PeerView } from "./views.js";

const HEADER = TRANSPORT_HEADER;
/** Packets up to this size are copied into their datagram slot by a loop ({@link TxPipeline.#enqueue}). */
const SMALL_COPY = 128;
const TAG = TRANSPORT_TAG;

export class TxPipeline<B extends DatagramBatch = DatagramBatch> extends Pipeline<B> {
  readonly #tunBuf: Buffer;
  /** The packet after the virtio-net header in {@link #tunBuf}. */
  readonly #tunPacket: Buffer;
  readonly #seg: Buffer;
  readonly #slotSize: number;
  readonly #batch: B;
  /** One TransportBatch entry per datagram slot: the inner packet is copied into the datagram's payload and sealed there in place. */
  readonly #tb: TransportBatch;
  readonly #innerLen: Int32Array;
  readonly #hdr: VnetHdr = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
  /**
   * The peer of the super-packet being split when it can send (routed once: the segments share the
   * IP header): its segments are built straight in the batch's datagram slots ({@link #placeSlot},
   * {@link #commitSlot}); otherwise each is built in the scratch segment and routed on its own.
   */
  #superPeer: (PeerView & { endpoint: Buffer }) | null = null;
  readonly #placeSlot = (): number => this.#batch.slot(this.#claim(this.#superPeer!)) + HEADER;
  readonly #commitSlot = (_at: number, len: number): void => this.#commit(this.#superPeer!, this.#count, len);
  readonly #placeScratch = (): number => 0;
  readonly #routeScratch = (_at: number, len: number): void => void this.#route(this.#seg, len);
  /** A worker's packets waiting for a keypair (null on the main thread: its Device stages them). */
  readonly #staging: Staging | null;
  /** How long the worker waits for the TUN while packets are staged (doubles up to POLL_TIMEOUT_MS). */
  #stagedWait = 1;
  #epoch = monotonicEpochMs();
  #count = 0;
  /** The peer of the datagrams in the batch. */
  #batchPeer: PeerView | null = null;
  #batches = 0;

  constructor(ctx: PipelineContext, o: PipelineOptions, tun: TunDevice, udp: UdpDevice<B>) {
    super(ctx, o, tun, udp);
    this.#staging = ctx.tier === "main" ? null : new Staging();
    this.#tunBuf = Buffer.alloc(this.off + 65536 + 64);
    this.#tunPacket = this.#tunBuf.subarray(this.off);
    this.#slotSize = HEADER + o.mtu + TAG + 16;
    this.#seg = Buffer.alloc(this.#slotSize - HEADER); // the room a segment has in a slot
    this.#batch = udp.batch(o.batch, this.#slotSize);
    this.#tb = new TransportBatch(this.#batch.n);
    this.#innerLen = new Int32Array(this.#batch.n);
  }

  /**
   * Reads one packet from the TUN and routes it (its segments, for a super-packet). Sends the batch
   * when it is nearly full, when reads block, and when the TUN has nothing more queued ("idle").
   */
  step(): StepResult {
    const stats = this.ctx.stats.f;
    const n = this.tun.read(this.#tunBuf);
    stats[ST.syscalls]!++;
    if (n <= 0) {
      if (n === -EAGAIN) {
        this.flush();
        return "idle";
      }
      if (n === -EBADFD) return "gone"; // `ip link del`
      if (n < 0 && n !== -EINTR) stats[ST.errors]!++;
      return "busy";
    }
    this.#epoch = monotonicEpochMs();
    if (this.snap.refresh()) this.flush(); // new routes or MTU: seal what is queued under the old ones first
    const off = this.off;
    if (off) {
      const hdr = this.#hdr;
      readVnetHdr(this.#tunBuf, 0, hdr);
      const pkt = this.#tunPacket;
      const len = n - off;
      if (hdr.gsoType !== VIRTIO_NET_HDR_GSO_NONE) {
        stats[ST.superPackets]!++;
        const peer = (this.#superPeer = this.#sendablePeer(pkt, len));
        const r =
          peer !== null
            ? segmentTcp(pkt, len, hdr.gsoSize, this.#batch.data, this.#slotSize - HEADER, this.#placeSlot, this.#commitSlot, this.ctx.sums)
            : segmentTcp(pkt, len, hdr.gsoSize, this.#seg, this.#seg.length, this.#placeScratch, this.#routeScratch, this.ctx.sums);
        this.#superPeer = null;
        if (r < 0) this.ctx.stats.drop("invalid-inner-packet");
      } else {
        if (hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) completeChecksum(pkt, len, hdr.csumStart, hdr.csumOffset);
        this.#route(pkt, len);
      }
    } else {
      this.#route(this.#tunBuf, n);
    }
    // Keep reading while the TUN has more and a whole super-packet still fits in the batch:
    // single-packet traffic (UDP, many flows) then also leaves in one GSO send / sendmmsg.
    if (this.o.blocking || this.#count + 46 > this.#batch.n) this.flush();
    return "busy";
  }

  /** Can the pipeline seal for `peer` now (an endpoint, and a send keypair the session table accepts)? */
  #canSend(peer: PeerView): peer is PeerView & { endpoint: Buffer } {
    return peer.endpoint !== null && slotCanSend(this.ctx.table, peer.sendSlot, peer.sendGeneration, this.#epoch);
  }

  /** Cryptokey routing: the peer whose allowed IPs hold the inner destination of the packet in `p`, as this thread reads its record; null: none. */
  #peerOf(p: Uint8Array, len: number): PeerView | null {
    const id = len >= 20 ? this.snap.routes.lookup(p, "dst") : undefined;
    return id === undefined ? null : this.ctx.views.read(id);
  }

  /** `peer`, once what it had staged on this worker went into the batch (in order: what waited goes first). */
  #stagedFirst(peer: PeerView & { endpoint: Buffer }): PeerView & { endpoint: Buffer } {
    const staging = this.#staging;
    if (staging !== null && staging.has(peer.id)) this.#sendStaged(staging, peer);
    return peer;
  }

  /** The peer of the packet in `p` when it can send now (its staged packets moved into the batch first); null otherwise. */
  #sendablePeer(p: Uint8Array, len: number): (PeerView & { endpoint: Buffer }) | null {
    const peer = this.#peerOf(p, len);
    return peer !== null && this.#canSend(peer) ? this.#stagedFirst(peer) : null;
  }

  /** Cryptokey routing, then into the batch; without a usable keypair, staged (worker) or to the Device (main thread). */
  #route(p: Buffer, len: number): void {
    const ctx = this.ctx;
    const peer = this.#peerOf(p, len);
    if (peer !== null && this.#canSend(peer)) {
      this.#enqueue(this.#stagedFirst(peer), p, len);
      return;
    }
    // No usable keypair (none, expired, counters spent): wait for the handshake the Device
    // starts. Its send timers see this pipeline's traffic through the peer record's counters
    // (activity.ts): no packet of a peer with a session takes this way, so none goes to an
    // endpoint the core has not yet heard of (roaming: the rx pipeline moves it).
    const staging = this.#staging;
    if (staging === null) {
      ctx.events.slow(copyOf(p, 0, len));
      ctx.stats.f[ST.control]!++;
    } else if (peer === null) ctx.stats.drop("no-route");
    else this.#stage(staging, peer.id, copyOf(p, 0, len));
  }

  /** Stages a packet of peer `id` on this worker; asks the Device for a handshake when due. */
  #stage(staging: Staging, id: number, packet: Uint8Array): void {
    const ctx = this.ctx;
    const { dropped, ask } = staging.stage(id, packet, this.#epoch);
    if (dropped > 0) ctx.stats.drop("staged-queue-full");
    if (ask) {
      ctx.events.session(id);
      ctx.stats.f[ST.control]!++;
      this.#stagedWait = 1; // a handshake starts: look again soon (not on every packet that waits for it)
    }
  }

  /** Moves peer's staged packets into the batch (its keypair is usable now). */
  #sendStaged(staging: Staging, peer: PeerView & { endpoint: Buffer }): void {
    const q = staging.take(peer.id);
    if (q === undefined) return;
    for (let p = q.shift(); p !== undefined; p = q.shift()) {
      // Routed again: while it waited, the peer may have lost the prefix, or been removed and its id
      // given to another peer (cryptokey routing holds at the moment of sealing).
      if (this.snap.routes.lookup(p, "dst") !== peer.id) this.ctx.stats.drop("no-route");
      else this.#enqueue(peer, p, p.length);
    }
  }

  /**
   * A worker with staged packets, when the TUN has nothing queued: sends those whose peer's keypair
   * is now published, drops those the Device gave up on. @returns how long to wait for the TUN (ms):
   * short while packets wait (their handshake usually completes in a round trip), backing off.
   */
  idle(): number {
    const staging = this.#staging;
    if (staging === null || staging.peers === 0) return POLL_TIMEOUT_MS;
    this.#epoch = monotonicEpochMs();
    if (this.snap.refresh()) this.flush(); // the routes the staged packets are checked against
    const expired = staging.expire(this.#epoch);
    for (let i = 0; i < expired; i++) this.ctx.stats.drop("handshake-timeout");
    for (const id of staging.ids()) {
      const peer = this.ctx.views.read(id);
      if (peer !== null && this.#canSend(peer)) this.#sendStaged(staging, peer);
    }
    this.flush();
    if (staging.peers === 0) return POLL_TIMEOUT_MS;
    const wait = this.#stagedWait;
    this.#stagedWait = Math.min(wait * 2, POLL_TIMEOUT_MS);
    return wait;
  }

  /** The worker stops: what is still staged is dropped (counted as "worker-stopped"). */
  close(): void {
    const n = this.#staging?.clear() ?? 0;
    for (let i = 0; i < n; i++) this.ctx.stats.drop("worker-stopped");
  }

  /** Puts one packet of `peer` (usable keypair) into the batch. */
  #enqueue(peer: PeerView & { endpoint: Buffer }, p: Buffer | Uint8Array, len: number): void {
    const k = this.#claim(peer);
    const data = this.#batch.data;
    const to = this.#batch.slot(k) + HEADER;
    // A small packet byte by byte: a view to copy from costs more than the copy (a Buffer's
    // subarray even runs Buffer's species constructor).
    if (len <= SMALL_COPY) for (let i = 0; i < len; i++) data[to + i] = p[i]!;
    else data.set(new Uint8Array(p.buffer, p.byteOffset, len), to);
    this.#commit(peer, k, len);
  }

  /** The batch entry for `peer`'s next packet: the batch is sent first when full or another peer's or keypair's. */
  #claim(peer: PeerView & { endpoint: Buffer }): number {
    const count = this.#count;
    if (count === this.#batch.n || (count > 0 && (this.#batchPeer !== peer || this.#tb.generation[count - 1] !== peer.sendGeneration))) this.flush();
    return this.#count;
  }

  /** Entry k, whose inner packet (`len` bytes) is at its slot's payload, joins the batch. */
  #commit(peer: PeerView & { endpoint: Buffer }, k: number, len: number): void {
    const tb = this.#tb;
    const s = this.#batch.slot(k);
    const data = this.#batch.data;
    tb.setInput(k, data, s + HEADER, len); // sealed in place: the datagram is the slot
    tb.setOutput(k, data, s, this.#slotSize);
    tb.slot[k] = peer.sendSlot;
    tb.generation[k] = peer.sendGeneration;
    this.#innerLen[k] = len;
    this.#batch.names.set(peer.endpoint, k * SOCKADDR6);
    this.#batchPeer = peer;
    this.#count = k + 1;
  }

  /** Seals the batch (wg-core sealBatch) and sends it. */
  flush(): void {
    const count = this.#count;
    if (count === 0) return;
    const ctx = this.ctx;
    const stats = ctx.stats.f;
    const batch = this.#batch;
    const data = batch.data;
    const names = batch.names;
    const tb = this.#tb;
    const peer = this.#batchPeer!;
    tb.count = count;
    // wg-core: generation and age (REJECT_AFTER_TIME on this thread's clock: the time of the read or
    // idle pass that queued the packets, a clock read less per packet) checked, counters reserved in
    // the slot's own cell for the whole run, sealed, generation checked again.
    sealBatch(ctx.table, tb, this.#epoch, ctx.aead, this.snap.linkMtu);
    let n = 0;
    let bytes = 0;
    let wire = 0;
    for (let k = 0; k < count; k++) {
      const reason = tb.drop[k];
      if (reason !== null && reason !== undefined) {
        ctx.stats.drop(reason);
        continue;
      }
      if (n !== k) {
        // Close the gap a dropped datagram left (rare: an expiry or the counter limit mid-batch).
        data.copyWithin(batch.slot(n), batch.slot(k), batch.slot(k) + tb.length[k]!);
        names.copyWithin(n * SOCKADDR6, k * SOCKADDR6, (k + 1) * SOCKADDR6);
      }
      batch.setLength(n, tb.length[k]!);
      bytes += this.#innerLen[k]!;
      wire += tb.length[k]!;
      n++;
    }
    this.#count = 0;
    this.#batchPeer = null;
    if (n === 0) return;
    const r = this.o.udpGso ? this.udp.sendSegmented(batch, n, this.o.gsoSegments) : this.udp.send(batch, n);
    if (r < 0) stats[ST.errors]!++;
    stats[ST.syscalls]! += this.o.udpGso ? Math.max(r, 1) : 1;
    stats[ST.batches] = ++this.#batches;
    stats[ST.packets]! += n;
    stats[ST.bytes]! += bytes;
    const records = ctx.records;
    const w = records.at(peer.id);
    if (w >= 0) {
      records.f64[w / 2 + PS.txPackets]! += n;
      records.f64[w / 2 + PS.txBytes]! += wire;
      records.words[w + PT.txAt] = microsMod32(this.#epoch);
      ctx.activity.mark(records.words, w + PF.tx, peer.id); // the core's send timers (noteDataSent)
    }
  }
}
