/**
 * The receive pipeline: UDP batch [split UDP GRO buffers] → handshake and cookie messages through
 * control.ts's gate to the main thread; transport messages → wg-core openBatch → roaming → TUN
 * (TCP GRO, gro.ts). Per authenticated datagram the peer record's counters move; per run of one
 * peer's datagrams the peer is marked in the activity ring (activity.ts: the core's receive timers).
 * Events to the main thread: a keypair's first datagram (key confirmation) and a new source (roaming).
 */
import { TIME_ORIGIN, microsMod32 } from "../clock.js";
import { TransportBatch, classifyMessage, openBatch } from "@wg-ts/core";
import { EAGAIN } from "../libc.js";
import { ControlGate } from "./control.js";
import type { DatagramBatch, TunDevice, UdpDevice } from "./devices.js";
import { TcpCoalescer } from "./gro.js";
import { VIRTIO_NET_HDR_F_DATA_VALID } from "./gso.js";
import { Pipeline, TRANSPORT_HEADER, TRANSPORT_TAG, copyOf, type PipelineContext, type PipelineOptions, type StepResult } from "./pipeline.js";
import { PF, PS, PT, ST } from "./shared.js";
import { VNET_HDR_LEN } from "./tun.js";
import { SOCKADDR6 } from "./udp.js";

const MESSAGE_TRANSPORT = 4;
const HEADER = TRANSPORT_HEADER;
const TAG = TRANSPORT_TAG;
/** Transport datagrams opened per openBatch call at most. */
const OPEN_BATCH = 64;
/** Bytes of output room per datagram in the arena before one needs the large spare. */
const OPEN_ROOM = 2048;
/** Room before each opened packet for the virtio-net header of its TUN write. */
const LEAD = 16;

export class RxPipeline<B extends DatagramBatch = DatagramBatch> extends Pipeline<B> {
  readonly #arena: Buffer;
  readonly #batch: B;
  readonly #gro: TcpCoalescer | null;
  /**
   * Size, type and MAC1 checks before the core; budgets only on a worker, whose posts queue on the
   * main thread's message port (on the main thread the core's own defences apply: cookies, MAC2,
   * the per-source rate limiter).
   */
  readonly #gate: ControlGate;
  readonly #tb = new TransportBatch(OPEN_BATCH);
  /** Per batch entry: the received message it came from (its source address) and its place in the arena. */
  readonly #message = new Int32Array(OPEN_BATCH);
  readonly #at = new Int32Array(OPEN_BATCH);
  #used = 0;
  /** Per session-table slot: the generation last reported to the core (a keypair's first datagram). */
  readonly #reported: number[] = [];
  /** The peer of the current run of authenticated datagrams: marked in the activity ring when the run ends, after its counters. */
  #run = -1;
  #replays = 0;
  #drained = true;
  #now = performance.now();
  #epoch = TIME_ORIGIN + this.#now;

  constructor(ctx: PipelineContext, o: PipelineOptions, tun: TunDevice, udp: UdpDevice<B>) {
    super(ctx, o, tun, udp);
    this.#gate = ctx.tier === "main" ? new ControlGate({ handshakeBudget: Infinity, cookieBudget: Infinity }) : new ControlGate();
    this.#arena = Buffer.alloc(OPEN_BATCH * (LEAD + OPEN_ROOM) + LEAD + 65536);
    // With UDP_GRO a slot takes up to 64 KiB of glued datagrams: one such slot per 8 datagram slots, at most 16.
    this.#batch = o.udpGro ? udp.batch(Math.max(1, Math.min(o.batch >> 3, 16)), 65536, true) : udp.batch(o.batch, 2048);
    const groBuf = Buffer.alloc(VNET_HDR_LEN + 65536);
    this.#gro =
      o.offload && o.gro
        ? new TcpCoalescer(groBuf, (_b, n) => {
            if (this.tun.write(groBuf, 0, n) < 0) ctx.stats.f[ST.errors]!++;
            ctx.stats.f[ST.syscalls]!++;
          })
        : null;
  }

  /** Whether the last step emptied the socket's queue: it read fewer datagrams than the batch holds. */
  get drained(): boolean {
    return this.#drained;
  }

  /** Receives one batch from the socket and handles every datagram in it ("idle": none was queued). */
  step(): StepResult {
    const stats = this.ctx.stats.f;
    const batch = this.#batch;
    const r = this.udp.recv(batch, batch.n);
    stats[ST.syscalls]!++;
    this.#drained = r < batch.n;
    if (r <= 0) return r === -EAGAIN ? "idle" : "busy";
    stats[ST.batches]!++;
    if (this.snap.refresh()) this.#gate.setPublicKey(this.snap.ownKey);
    this.#now = performance.now();
    this.#epoch = TIME_ORIGIN + this.#now;
    for (let i = 0; i < r; i++) {
      const s = batch.slot(i);
      const len = batch.length(i);
      // With UDP_GRO the kernel may hand us several same-sized datagrams glued together.
      const seg = this.o.udpGro ? batch.gsoSize(i) || len : len;
      if (len === 0) this.#handle(i, s, 0); // an empty datagram is still one (the gate counts it as truncated)
      for (let o = 0; o < len; o += seg) this.#handle(i, s + o, Math.min(seg, len - o));
    }
    this.#open();
    const gro = this.#gro;
    if (gro) {
      gro.flush();
      stats[ST.superPackets] = gro.merged;
    }
    return "busy";
  }

  #handle(m: number, s: number, len: number): void {
    const ctx = this.ctx;
    const data = this.#batch.data;
    if (classifyMessage(data, s, s + len) !== MESSAGE_TRANSPORT) {
      // Handshake and cookie messages belong to the main thread (wg-core), once they pass wg-core's
      // checks here (control.ts): junk and forged MAC1 never take a real handshake's place.
      const verdict = this.#gate.admit(data, this.#now, s, s + len);
      if (verdict !== "post") return ctx.stats.drop(verdict);
      ctx.stats.f[ST.control]!++;
      ctx.events.control(copyOf(data, s, s + len), this.#batch.names, m * SOCKADDR6);
      return;
    }
    const tb = this.#tb;
    const room = len - HEADER - TAG;
    const big = room > OPEN_ROOM;
    const arena = this.#arena;
    if (tb.count === OPEN_BATCH || (big && this.#used + LEAD + room > arena.length) || (!big && this.#used + LEAD + OPEN_ROOM > OPEN_BATCH * (LEAD + OPEN_ROOM))) this.#open();
    const k = tb.count++;
    const p = this.#used + LEAD;
    this.#used = p + (big ? room : OPEN_ROOM);
    this.#at[k] = p;
    this.#message[k] = m;
    tb.setInput(k, data, s, len);
    tb.setOutput(k, arena, p, Math.max(0, room));
  }

  /** Marks the current run's peer active (after its counters moved), stamped with the batch's clock. */
  #endRun(): void {
    const records = this.ctx.records;
    const r = this.#run < 0 ? -1 : records.at(this.#run);
    if (r >= 0) {
      records.words[r + PT.rxAt] = microsMod32(this.#epoch);
      this.ctx.activity.mark(records.words, r + PF.rx, this.#run); // the core's receive timers (noteDataReceived)
    }
    this.#run = -1;
  }

  #open(): void {
    const tb = this.#tb;
    const n = tb.count;
    if (n === 0) return;
    const ctx = this.ctx;
    const stats = ctx.stats.f;
    const records = ctx.records;
    const arena = this.#arena;
    const names = this.#batch.names;
    const off = this.off;
    const gro = this.#gro;
    // wg-core: size/type → index → age → counter limit → AEAD → the slot's replay window (under its
    // lock: one window for every thread) → inner length → inner source routes back to the slot's peer.
    openBatch(ctx.table, tb, this.#epoch, ctx.aead, this.snap.routes, this.snap.ids);
    for (let k = 0; k < n; k++) {
      const reason = tb.drop[k] ?? null;
      if (tb.authenticated[k] === 1) {
        const slot = tb.slot[k]!;
        const generation = tb.generation[k]!;
        const peer = ctx.table.peer(slot);
        const length = tb.length[k]!;
        const at = this.#message[k]! * SOCKADDR6;
        const roamed = ctx.views.roam(peer, names, at);
        if (roamed || this.#reported[slot] !== generation) {
          // The core's bookkeeping that needs the keypair: key confirmation on its first datagram, roaming.
          this.#reported[slot] = generation;
          ctx.events.received(slot, generation, names, at, length > 0);
        }
        const r = records.at(peer);
        if (r >= 0) {
          records.f64[r / 2 + PS.rxAuthenticated]!++;
          records.f64[r / 2 + PS.rxBytes]! += tb.inLength[k]!;
          if (reason === null && length > 0) records.f64[r / 2 + PS.rxPackets]!++;
          if (this.#run !== peer) {
            this.#endRun();
            this.#run = peer;
          }
        }
        if (reason === null && length > 0) {
          const p = this.#at[k]!;
          if (gro) gro.push(arena, p, length);
          else {
            for (let j = p - off; j < p; j++) arena[j] = 0; // the virtio-net header: no call
            if (off) arena[p - off] = VIRTIO_NET_HDR_F_DATA_VALID; // authenticated by the AEAD: skip checksum verification
            if (this.tun.write(arena, p - off, off + length) < 0) stats[ST.errors]!++;
            stats[ST.syscalls]!++;
          }
          stats[ST.packets]!++;
          stats[ST.bytes]! += length;
        }
      }
      if (reason !== null) {
        ctx.stats.drop(reason);
        // Test only (WG_TS_TEST_RX_CRASH_AFTER_REPLAYS, NODE_ENV=test): a crash of this pipeline's thread.
        if (reason === "replay" && this.o.crashAfterReplays > 0 && ++this.#replays >= this.o.crashAfterReplays) throw new Error("test crash (WG_TS_TEST_RX_CRASH_AFTER_REPLAYS)");
      }
    }
    this.#endRun();
    tb.count = 0;
    this.#used = 0;
  }
}
