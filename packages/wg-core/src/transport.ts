/**
 * Transport messages (whitepaper §5.4.6): the one implementation of sealing and opening them, for
 * every thread. It works on a {@link SessionTable} (shared memory) and applies the core's rules in
 * the core's order:
 *
 *  seal: the keypair is still the one the caller chose (generation) and younger than
 *        REJECT_AFTER_TIME → counters reserved for the run of packets → each counter < COUNTER_LIMIT
 *        → header (type 4, receiver, counter) → padding capped at the MTU (padding.ts) → AEAD
 *        → the generation re-checked: a key is never paired with another keypair's counter;
 *  open: size and type → receiver index → slot (lookup) → REJECT_AFTER_TIME → counter < COUNTER_LIMIT
 *        → AEAD open → replay window, after authentication (as the kernel and wireguard-go), in the
 *        slot's shared window, if the slot still holds that keypair → inner packet length from its
 *        IP header → inner source in the sending peer's allowed IPs (whitepaper §2).
 *
 * Batch-shaped: a caller-owned {@link TransportBatch} carries N packets in and N results out, no
 * closures or arrays per packet. The AEAD is either a {@link TransportAead} (one call per packet: the
 * Device's one-packet batches) or a {@link BatchTransportAead} (aead-batch.ts: the packets of a batch
 * in one call, keys read in place from the table's shared key bytes — the data-plane workers).
 * Stateless: everything lives in the table and the batch.
 * Never throws for any input bytes: failures are per-packet {@link DropReason}s.
 */
import type { DropReason } from "./actions.js";
import type { TransportAead } from "./aead.js";
import { AeadBatch, type BatchTransportAead } from "./aead-batch.js";
import type { AllowedIps } from "./allowed-ips.js";
import { COUNTER_LIMIT, MAX_SEGMENT_SIZE } from "./constants.js";
import { innerLength } from "./inner-ip.js";
import { MESSAGE_TRANSPORT, readCounter, readU32, TRANSPORT_MIN_SIZE, TransportLayout, writeTransportHeader } from "./messages.js";
import { paddedLength } from "./padding.js";
import { COUNTER_ACCEPTED, COUNTER_REPLAYED, type SessionTable } from "./session-table.js";

const TAG = 16;
const PAYLOAD = TransportLayout.payload;
const EMPTY = new Uint8Array(0);

/** The transport's AEAD: one packet per call, or a batch per call (told apart by `sealBatch`). */
export type AnyTransportAead = TransportAead | BatchTransportAead;
const isBatchAead = (a: AnyTransportAead): a is BatchTransportAead => "sealBatch" in a;

/**
 * N packets and their results, owned and reused by the caller (allocate once per thread).
 * Each packet is a byte range in a caller's buffer: {@link setInput} and {@link setOutput}. A caller
 * whose packets sit in a few long-lived buffers (the data plane's batch buffers) passes the same
 * Uint8Array for every packet: the batched AEAD then runs them in one call and nothing is created
 * per packet; a caller with a buffer per packet passes each whole (offset 0).
 * Seal: inputs are inner IP packets, outputs have room for {@link sealedLength} (an input may sit
 * at its output's offset + 16 in the same buffer: sealed in place); fill `slot` and `generation`
 * (the keypair to seal with); results in `length`, `counter`, `drop`. Open: inputs are transport
 * datagrams, outputs have room for datagram length − 32; results in every other field.
 */
export class TransportBatch {
  /** Packets in this batch (≤ capacity). */
  count = 0;
  /** Packet k's input: `inLength[k]` bytes at `inAt[k]` in `inBuf[k]`. */
  readonly inBuf: Uint8Array[];
  readonly inAt: Int32Array;
  readonly inLength: Int32Array;
  /** Packet k's output: `outRoom[k]` bytes of room at `outAt[k]` in `outBuf[k]`. */
  readonly outBuf: Uint8Array[];
  readonly outAt: Int32Array;
  readonly outRoom: Int32Array;
  /** Seal: in. Open: out, the slot that authenticated the datagram (−1 if none). */
  readonly slot: Int32Array;
  /** Seal: in, the slot's generation the caller means. Open: out. */
  readonly generation: Int32Array;
  /** Out. Seal: datagram bytes written at the output. Open: inner packet bytes at the output (0: keepalive). −1 on a drop before that. */
  readonly length: Int32Array;
  /** Out: the counter used (seal) or received (open), −1 if none. */
  readonly counter: Float64Array;
  /** Out: 1 when the datagram was authenticated and recorded in the replay window (open; its inner packet may still be dropped). */
  readonly authenticated: Uint8Array;
  /** Out: why the packet was dropped, or null. */
  readonly drop: (DropReason | null)[];
  /** @internal A {@link BatchTransportAead}'s operations for this batch, and the packet of each. */
  readonly ops: AeadBatch;
  /** @internal */
  readonly opPacket: Int32Array;
  /** @internal The buffers the pending {@link ops} address, and the views last resolved into them. */
  readonly arenas = new ArenaViews();
  /** @internal Operations that failed in flushes made by {@link queueOp} itself (reported by the next {@link flushOps}). */
  flushFailures = 0;

  constructor(readonly capacity: number) {
    this.inBuf = new Array<Uint8Array>(capacity).fill(EMPTY);
    this.inAt = new Int32Array(capacity);
    this.inLength = new Int32Array(capacity);
    this.outBuf = new Array<Uint8Array>(capacity).fill(EMPTY);
    this.outAt = new Int32Array(capacity);
    this.outRoom = new Int32Array(capacity);
    this.slot = new Int32Array(capacity);
    this.generation = new Int32Array(capacity);
    this.length = new Int32Array(capacity);
    this.counter = new Float64Array(capacity);
    this.authenticated = new Uint8Array(capacity);
    this.drop = new Array<DropReason | null>(capacity).fill(null);
    this.ops = new AeadBatch(capacity);
    this.opPacket = new Int32Array(capacity);
  }

  /**
   * Packet k's input: `length` bytes at `at` in `buf` (default: all of it).
   * @throws RangeError when the range is not inside `buf` (a caller's mistake, not packet bytes)
   */
  setInput(k: number, buf: Uint8Array, at = 0, length = buf.length - at): void {
    if (!(at >= 0 && length >= 0 && at + length <= buf.length)) throw new RangeError(`TransportBatch input ${at}+${length} outside ${buf.length} bytes`);
    this.inBuf[k] = buf;
    this.inAt[k] = at;
    this.inLength[k] = length;
  }

  /**
   * Packet k's output: `room` bytes at `at` in `buf` (default: the rest of it).
   * @throws RangeError when the range is not inside `buf`
   */
  setOutput(k: number, buf: Uint8Array, at = 0, room = buf.length - at): void {
    if (!(at >= 0 && room >= 0 && at + room <= buf.length)) throw new RangeError(`TransportBatch output ${at}+${room} outside ${buf.length} bytes`);
    this.outBuf[k] = buf;
    this.outAt[k] = at;
    this.outRoom[k] = room;
  }

  /** Forgets the first `count` packets' buffers (a caller whose buffers are short-lived). */
  release(count = this.count): void {
    for (let k = 0; k < count; k++) this.inBuf[k] = this.outBuf[k] = EMPTY;
  }
}

/**
 * What a {@link BatchTransportAead} call addresses: one buffer per role (keys, input, output) and
 * offsets from its start. A packet's view is resolved to a fixed-length Uint8Array over its whole
 * ArrayBuffer, so that views onto one buffer share a call; the last view of each role is remembered
 * (a caller that passes the same buffer for every packet costs one identity check), and the last few
 * whole-buffer views are kept, re-made when a growable buffer has grown past them.
 */
class ArenaViews {
  /** The arenas of the pending operations, or null (none pending). */
  pending: [Uint8Array, Uint8Array, Uint8Array] | null = null;
  /** Per role (0 keys, 1 input, 2 output): the last view resolved, its arena, its offset in the arena. */
  readonly #view: Uint8Array[] = [EMPTY, EMPTY, EMPTY];
  readonly #arena: Uint8Array[] = [EMPTY, EMPTY, EMPTY];
  readonly #base = new Int32Array(3);
  readonly #views: Uint8Array[] = [];
  /** Each view's buffer, kept beside it (reading `.buffer` is a getter). */
  readonly #buffers: ArrayBufferLike[] = [];

  /** The arena of `view` for `role`; its offset there is then {@link base}(role). */
  arena(role: 0 | 1 | 2, view: Uint8Array): Uint8Array {
    if (this.#view[role] === view) return this.#arena[role]!;
    const a = this.#of(view);
    this.#view[role] = view;
    this.#arena[role] = a;
    this.#base[role] = view.byteOffset;
    return a;
  }

  /** Offset of the last view resolved for `role` in its arena. */
  base(role: 0 | 1 | 2): number {
    return this.#base[role]!;
  }

  #of(view: Uint8Array): Uint8Array {
    const buffer = view.buffer;
    const end = view.byteOffset + view.byteLength;
    const views = this.#views;
    const buffers = this.#buffers;
    for (let i = 0; i < views.length; i++) if (buffers[i] === buffer && end <= views[i]!.length) return views[i]!;
    const a = new Uint8Array(buffer, 0, buffer.byteLength);
    const old = buffers.indexOf(buffer);
    if (old >= 0) {
      views.splice(old, 1);
      buffers.splice(old, 1);
    }
    if (views.length === 4) {
      views.shift();
      buffers.shift();
    }
    views.push(a);
    buffers.push(buffer);
    return a;
  }
}

/** Datagram bytes for an inner packet of `length` bytes: header + padded plaintext + tag. */
export function sealedLength(length: number, mtu: number): number {
  return TransportLayout.payload + paddedLength(length, mtu) + TAG;
}

/**
 * True while the slot holds keypair `generation` and it may send at `now`: younger than
 * REJECT_AFTER_TIME and counters left. (A hint for callers choosing a keypair; {@link sealBatch}
 * enforces the same rules itself.)
 */
export function slotCanSend(table: SessionTable, slot: number, generation: number, now: number): boolean {
  return slotCanReceive(table, slot, generation, now) && table.sendCounter(slot) < COUNTER_LIMIT;
}

/** True while the slot holds keypair `generation` (live) and it is younger than REJECT_AFTER_TIME. */
export function slotCanReceive(table: SessionTable, slot: number, generation: number, now: number): boolean {
  return (generation & 1) === 1 && table.generation(slot) === generation && !table.isExpired(slot, now);
}

/**
 * Seals `batch.count` inner packets (whitepaper §5.4.6: msg.packet := AEAD(Tsend, Nsend, P ‖ padding, ε)).
 * Runs of consecutive packets for one (slot, generation) reserve their counters with one atomic add.
 * @param mtu the tunnel's MTU (padding cap, 0 = unknown)
 * @returns the number of datagrams sealed (the others have a `drop` reason and length −1)
 */
export function sealBatch(
  table: SessionTable,
  batch: TransportBatch,
  now: number,
  aead: AnyTransportAead,
  mtu: number,
): number {
  const batched = isBatchAead(aead) ? aead : null;
  let sealed = 0;
  const n = batch.count;
  for (let i = 0; i < n; ) {
    const slot = batch.slot[i]!;
    const generation = batch.generation[i]!;
    let end = i + 1;
    while (end < n && batch.slot[end] === slot && batch.generation[end] === generation) end++;
    let reason: DropReason | null = null;
    if ((generation & 1) === 0 || table.generation(slot) !== generation) reason = "expired-keypair";
    else if (table.isExpired(slot, now)) reason = "expired-keypair";
    if (reason !== null) {
      for (let k = i; k < end; k++) fail(batch, k, reason);
      i = end;
      continue;
    }
    const first = table.reserveSendCounters(slot, end - i);
    const key = table.sendKey(slot);
    const remote = table.remoteIndexBits(slot);
    let ok = 0;
    for (let k = i; k < end; k++) {
      const counter = first + (k - i);
      if (counter >= COUNTER_LIMIT) {
        fail(batch, k, "counter-limit");
        continue;
      }
      const length = prepareSeal(batch, k, remote, counter, mtu);
      // msg.packet := AEAD(Tsend, Nsend, P, ε) — sealed in place after the header (batched: with the run's other packets below)
      if (length < 0 || (!batched && !sealOne(batch, k, key, counter, length, aead as TransportAead))) {
        fail(batch, k, "encrypt-failed");
        continue;
      }
      batch.length[k] = length;
      batch.counter[k] = counter;
      batch.drop[k] = null;
      const out = batch.outBuf[k]!;
      const at = batch.outAt[k]! + PAYLOAD;
      if (batched) queueOp(batch, batched, true, k, key, out, at, length - PAYLOAD - TAG, out, at, counter);
      ok++;
    }
    if (batched) ok -= flushOps(batch, batched, true);
    // The key and the counters belong to one keypair only if the slot did not change meanwhile.
    if (table.generation(slot) !== generation) {
      for (let k = i; k < end; k++) {
        if (batch.drop[k] === null) batch.outBuf[k]!.fill(0, batch.outAt[k]!, batch.outAt[k]! + batch.length[k]!);
        fail(batch, k, "expired-keypair");
      }
      ok = 0;
    }
    sealed += ok;
    i = end;
  }
  return sealed;
}

/**
 * Packet k's header and padded plaintext at its output (the AEAD still to run); returns the
 * datagram length, or −1 when the output has no room for it. `remote`: int32 bits.
 */
function prepareSeal(batch: TransportBatch, k: number, remote: number, counter: number, mtu: number): number {
  const input = batch.inBuf[k]!;
  const from = batch.inAt[k]!;
  const n = batch.inLength[k]!;
  const out = batch.outBuf[k]!;
  const at = batch.outAt[k]!;
  // P := P ‖ 0^(16·⌈‖P‖/16⌉ − ‖P‖), capped at the MTU (padding.ts)
  const padded = paddedLength(n, mtu);
  const total = PAYLOAD + padded + TAG;
  if (total > batch.outRoom[k]!) return -1;
  writeTransportHeader(out, remote, counter, at);
  const to = at + PAYLOAD;
  // The packet may already sit at its place (a caller that reads into its datagram buffers).
  if (input !== out) out.set(input.subarray(from, from + n), to);
  else if (from !== to) out.copyWithin(to, from, from + n);
  for (let j = to + n; j < to + padded; j++) out[j] = 0; // < 16 bytes: no call
  return total;
}

/** The per-packet AEAD on packet k's prepared output ({@link prepareSeal}); false when it failed. */
function sealOne(batch: TransportBatch, k: number, key: Uint8Array, counter: number, total: number, aead: TransportAead): boolean {
  const out = batch.outBuf[k]!;
  const at = batch.outAt[k]! + PAYLOAD;
  return aead.seal(key, counter, out.subarray(at, at + total - PAYLOAD - TAG), out, at) >= 0;
}

/**
 * Adds packet `k`'s AEAD operation to the batch's pending ones: `length` bytes at `input[inAt]`
 * into `output[outAt]` with `key`. The pending operations run first if they address other buffers
 * (a {@link BatchTransportAead} call takes one arena per role).
 */
function queueOp(
  batch: TransportBatch, aead: BatchTransportAead, seal: boolean, k: number, key: Uint8Array,
  input: Uint8Array, inAt: number, length: number, output: Uint8Array, outAt: number, counter: number,
): void {
  // The AEAD sees whole buffers: keep it inside this packet's own views.
  if (inAt < 0 || inAt + length > input.length || outAt < 0 || outAt + (seal ? length + TAG : length - TAG) > output.length) {
    if (seal) {
      fail(batch, k, "encrypt-failed");
      batch.flushFailures++;
    } else batch.length[k] = -1;
    return;
  }
  const ops = batch.ops;
  const arenas = batch.arenas;
  const keys = arenas.arena(0, key);
  const inArena = arenas.arena(1, input);
  const outArena = arenas.arena(2, output);
  const p = arenas.pending;
  if (p !== null && (p[0] !== keys || p[1] !== inArena || p[2] !== outArena)) batch.flushFailures += flushOps(batch, aead, seal);
  if (arenas.pending === null) arenas.pending = [keys, inArena, outArena];
  const j = ops.count++;
  ops.set(j, arenas.base(1) + inAt, length, arenas.base(2) + outAt, arenas.base(0), counter);
  batch.opPacket[j] = k;
}

/**
 * Runs the pending operations in one call. A failed one (−1) drops its packet as encrypt-failed
 * (seal) or decrypt-failed (open); open results are left in `batch.length` for the second pass.
 * @returns how many failed, with those of earlier flushes since the last call
 */
function flushOps(batch: TransportBatch, aead: BatchTransportAead, seal: boolean): number {
  const ops = batch.ops;
  let failed = batch.flushFailures;
  batch.flushFailures = 0;
  const p = batch.arenas.pending;
  if (ops.count === 0 || p === null) return failed;
  if (seal) aead.sealBatch(p[0], p[1], p[2], ops);
  else aead.openBatch(p[0], p[1], p[2], ops);
  for (let j = 0; j < ops.count; j++) {
    const k = batch.opPacket[j]!;
    const r = ops.result[j]!;
    if (seal) {
      if (r < 0) {
        fail(batch, k, "encrypt-failed");
        failed++;
      }
    } else batch.length[k] = r; // −1: the tag did not verify
  }
  ops.count = 0;
  batch.arenas.pending = null;
  return failed;
}

/**
 * Opens `batch.count` transport datagrams (P := AEAD-DECRYPT(Trecv, msg.counter, msg.packet, ε)) into
 * `batch.output`, checks the replay window after authentication, then the inner packet: its length
 * from its IP header and its source address, which must route back to the slot's peer:
 * `routes.lookup(packet, "src") === peers[table.peer(slot)]`.
 * Handshake and cookie messages are the caller's: they are dropped here as "unknown-type".
 * @returns the number of inner packets to deliver (drop null, length > 0)
 */
export function openBatch<T>(
  table: SessionTable,
  batch: TransportBatch,
  now: number,
  aead: AnyTransportAead,
  routes: AllowedIps<T>,
  peers: ArrayLike<T | undefined>,
): number {
  if (isBatchAead(aead)) return openBatched(table, batch, now, aead, routes, peers);
  let delivered = 0;
  for (let i = 0; i < batch.count; i++) {
    const counter = openHead(table, batch, i, now);
    if (counter < 0) continue;
    // P := AEAD-DECRYPT(Trecv, msg.counter, msg.packet, ε)
    const d = batch.inBuf[i]!;
    const at = batch.inAt[i]!;
    const len = batch.inLength[i]!;
    const n = openRoom(batch, i) ? aead.open(table.receiveKey(batch.slot[i]!), counter, d.subarray(at + PAYLOAD, at + len), batch.outBuf[i]!, batch.outAt[i]!) : -1;
    if (openTail(table, batch, i, counter, n, routes, peers)) delivered++;
  }
  return delivered;
}

/** Whether datagram `i`'s output has room for its plaintext (datagram − header − tag). */
function openRoom(batch: TransportBatch, i: number): boolean {
  return batch.inLength[i]! - PAYLOAD - TAG <= batch.outRoom[i]!;
}

/**
 * {@link openBatch} with a {@link BatchTransportAead}: every datagram's checks up to the AEAD, the
 * AEAD for all of them in one call (per group of datagrams in the same buffers), then in order the
 * replay window and the inner-packet checks — the same rules in the same order per datagram.
 */
function openBatched<T>(
  table: SessionTable,
  batch: TransportBatch,
  now: number,
  aead: BatchTransportAead,
  routes: AllowedIps<T>,
  peers: ArrayLike<T | undefined>,
): number {
  batch.ops.count = 0;
  batch.arenas.pending = null;
  batch.flushFailures = 0;
  for (let i = 0; i < batch.count; i++) {
    const counter = openHead(table, batch, i, now);
    if (counter < 0) continue;
    batch.counter[i] = counter; // read back below (the AEAD result goes to batch.length)
    if (!openRoom(batch, i)) continue; // length stays −1: dropped as decrypt-failed below
    // P := AEAD-DECRYPT(Trecv, msg.counter, msg.packet, ε), queued
    const at = batch.inAt[i]!;
    queueOp(batch, aead, false, i, table.receiveKey(batch.slot[i]!), batch.inBuf[i]!, at + PAYLOAD, batch.inLength[i]! - PAYLOAD, batch.outBuf[i]!, batch.outAt[i]!, counter);
  }
  flushOps(batch, aead, false);
  let delivered = 0;
  for (let i = 0; i < batch.count; i++) {
    if (batch.counter[i]! < 0) continue; // dropped before the AEAD
    const counter = batch.counter[i]!;
    batch.counter[i] = -1;
    if (openTail(table, batch, i, counter, batch.length[i]!, routes, peers)) delivered++;
  }
  return delivered;
}

/**
 * Datagram `i`'s checks before the AEAD: size and type, receiver index → slot, age, counter limit.
 * Sets slot/generation (or the drop); returns the message counter, or −1 when dropped.
 */
function openHead(table: SessionTable, batch: TransportBatch, i: number, now: number): number {
  const d = batch.inBuf[i]!;
  const at = batch.inAt[i]!;
  const len = batch.inLength[i]!;
  batch.slot[i] = -1;
  batch.authenticated[i] = 0;
  batch.counter[i] = -1;
  batch.length[i] = -1;
  if (len < TRANSPORT_MIN_SIZE) {
    batch.drop[i] = len >= 4 && readU32(d, at) !== MESSAGE_TRANSPORT ? "unknown-type" : "truncated";
    return -1;
  }
  if (readU32(d, at) !== MESSAGE_TRANSPORT) {
    batch.drop[i] = "unknown-type";
    return -1;
  }
  if (len > MAX_SEGMENT_SIZE) {
    batch.drop[i] = "oversized";
    return -1;
  }
  const slot = table.lookup(readU32(d, at + TransportLayout.receiver));
  if (slot < 0) {
    batch.drop[i] = "unknown-index";
    return -1;
  }
  const generation = table.generation(slot);
  batch.slot[i] = slot;
  batch.generation[i] = generation;
  if ((generation & 1) === 0 || table.isExpired(slot, now)) {
    batch.drop[i] = "expired-keypair";
    return -1;
  }
  const counter = readCounter(d, at + TransportLayout.counter);
  if (counter < 0 || counter >= COUNTER_LIMIT) {
    batch.drop[i] = "counter-limit";
    return -1;
  }
  return counter;
}

/**
 * Datagram `i`'s checks after the AEAD gave `n` (plaintext bytes, −1: the tag did not verify): the
 * replay window, then the inner packet's length and source. Returns true when it is to be delivered.
 */
function openTail<T>(table: SessionTable, batch: TransportBatch, i: number, counter: number, n: number, routes: AllowedIps<T>, peers: ArrayLike<T | undefined>): boolean {
  batch.length[i] = -1;
  if (n < 0) {
    batch.drop[i] = "decrypt-failed";
    return false;
  }
  const slot = batch.slot[i]!;
  const out = batch.outBuf[i]!;
  const at = batch.outAt[i]!;
  // Replay check after authentication, in the slot's one window, if the slot still holds the keypair.
  const r = table.acceptCounter(slot, batch.generation[i]!, counter);
  if (r !== COUNTER_ACCEPTED) {
    out.fill(0, at, at + n);
    batch.drop[i] = r === COUNTER_REPLAYED ? "replay" : "expired-keypair";
    return false;
  }
  batch.authenticated[i] = 1;
  batch.counter[i] = counter;
  batch.length[i] = n;
  if (n === 0) {
    batch.drop[i] = null; // keepalive
    return false;
  }
  const length = innerLength(out, n, at);
  if (length < 0) {
    batch.drop[i] = "invalid-inner-packet";
    return false;
  }
  batch.length[i] = length;
  // Cryptokey routing (whitepaper §2): the inner source must be one of the sender's allowed IPs.
  const owner = peers[table.peer(slot)];
  if (owner === undefined || routes.lookup(out, "src", at, n) !== owner) {
    batch.drop[i] = "source-not-allowed";
    return false;
  }
  batch.drop[i] = null;
  return true;
}

function fail(batch: TransportBatch, k: number, reason: DropReason): void {
  batch.drop[k] = reason;
  batch.length[k] = -1;
  batch.counter[k] = -1;
}
