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

/** The transport's AEAD: one packet per call, or a batch per call (told apart by `sealBatch`). */
export type AnyTransportAead = TransportAead | BatchTransportAead;
const isBatchAead = (a: AnyTransportAead): a is BatchTransportAead => "sealBatch" in a;

/**
 * N packets and their results, owned and reused by the caller (allocate once per thread).
 * Seal: fill `input` (inner IP packets), `output` (datagram buffers with room for
 * {@link sealedLength}; an input may be the view of its output at offset 16: sealed in place), `slot`
 * and `generation` (the keypair to seal with); results in `length`,
 * `counter`, `drop`. Open: fill `input` (transport datagrams) and `output` (buffers with room for
 * datagram length − 32); results in every other field.
 */
export class TransportBatch {
  /** Packets in this batch (≤ capacity). */
  count = 0;
  readonly input: Uint8Array[];
  readonly output: Uint8Array[];
  /** Seal: in. Open: out, the slot that authenticated the datagram (−1 if none). */
  readonly slot: Int32Array;
  /** Seal: in, the slot's generation the caller means. Open: out. */
  readonly generation: Int32Array;
  /** Out. Seal: datagram bytes written. Open: inner packet bytes at the start of `output` (0: keepalive). −1 on a drop before that. */
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
  /** @internal Fixed-length views over whole buffers (the AEAD addresses bytes by offset in them). */
  readonly arenas = new ArenaViews();
  /** @internal The arenas of the pending {@link ops} (keys, input, output). */
  pending: [Uint8Array, Uint8Array, Uint8Array] | null = null;
  /** @internal Operations that failed in flushes made by {@link queueOp} itself (reported by the next {@link flushOps}). */
  flushFailures = 0;

  constructor(readonly capacity: number) {
    this.input = new Array<Uint8Array>(capacity).fill(EMPTY);
    this.output = new Array<Uint8Array>(capacity).fill(EMPTY);
    this.slot = new Int32Array(capacity);
    this.generation = new Int32Array(capacity);
    this.length = new Int32Array(capacity);
    this.counter = new Float64Array(capacity);
    this.authenticated = new Uint8Array(capacity);
    this.drop = new Array<DropReason | null>(capacity).fill(null);
    this.ops = new AeadBatch(capacity);
    this.opPacket = new Int32Array(capacity);
  }
}

/**
 * A fixed-length Uint8Array over the whole buffer behind a view, so that the view's bytes are at
 * `view.byteOffset` in it: what a {@link BatchTransportAead} takes (one arena, offsets). A few
 * buffers are in use per batch (the table's key bytes, the datagram and packet buffers): the last
 * ones are kept, re-made when a growable buffer has grown past them.
 */
class ArenaViews {
  readonly #views: Uint8Array[] = [];
  /** Each view's buffer, kept beside it (reading `.buffer` is a getter: this runs three times a packet). */
  readonly #buffers: ArrayBufferLike[] = [];
  of(view: Uint8Array): Uint8Array {
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

const EMPTY = new Uint8Array(0);

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
      const out = batch.output[k]!;
      const length = batched ? prepareSeal(remote, counter, batch.input[k]!, out, mtu) : sealOne(key, remote, counter, batch.input[k]!, out, mtu, aead as TransportAead);
      if (length < 0) {
        fail(batch, k, "encrypt-failed");
        continue;
      }
      batch.length[k] = length;
      batch.counter[k] = counter;
      batch.drop[k] = null;
      // msg.packet := AEAD(Tsend, Nsend, P, ε) — sealed in place, with the run's other packets below
      if (batched) queueOp(batch, batched, true, k, key, out, TransportLayout.payload, length - TransportLayout.payload - TAG, out, TransportLayout.payload, counter);
      ok++;
    }
    if (batched) ok -= flushOps(batch, batched, true);
    // The key and the counters belong to one keypair only if the slot did not change meanwhile.
    if (table.generation(slot) !== generation) {
      for (let k = i; k < end; k++) {
        if (batch.drop[k] === null) batch.output[k]!.fill(0, 0, batch.length[k]!);
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
 * Header and padded plaintext into `out` (the AEAD still to run); returns the datagram length or −1.
 * `remote`: int32 bits.
 */
function prepareSeal(remote: number, counter: number, packet: Uint8Array, out: Uint8Array, mtu: number): number {
  // P := P ‖ 0^(16·⌈‖P‖/16⌉ − ‖P‖), capped at the MTU (padding.ts)
  const padded = paddedLength(packet.length, mtu);
  const total = TransportLayout.payload + padded + TAG;
  if (out.length < total) return -1;
  writeTransportHeader(out, remote, counter);
  // The packet may already sit at its place in `out` (a caller that reads into its datagram buffers).
  if (packet.buffer !== out.buffer || packet.byteOffset !== out.byteOffset + TransportLayout.payload) out.set(packet, TransportLayout.payload);
  for (let j = TransportLayout.payload + packet.length; j < TransportLayout.payload + padded; j++) out[j] = 0; // < 16 bytes
  return total;
}

/** {@link prepareSeal}, then the per-packet AEAD; returns the datagram length or −1. */
function sealOne(key: Uint8Array, remote: number, counter: number, packet: Uint8Array, out: Uint8Array, mtu: number, aead: TransportAead): number {
  const total = prepareSeal(remote, counter, packet, out, mtu);
  if (total < 0) return -1;
  // msg.packet := AEAD(Tsend, Nsend, P, ε) — sealed in place
  const plain = out.subarray(TransportLayout.payload, total - TAG);
  return aead.seal(key, counter, plain, out, TransportLayout.payload) < 0 ? -1 : total;
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
  const keys = batch.arenas.of(key);
  const inArena = batch.arenas.of(input);
  const outArena = batch.arenas.of(output);
  const p = batch.pending;
  if (p !== null && (p[0] !== keys || p[1] !== inArena || p[2] !== outArena)) batch.flushFailures += flushOps(batch, aead, seal);
  if (batch.pending === null) batch.pending = [keys, inArena, outArena];
  const j = ops.count++;
  ops.set(j, input.byteOffset + inAt, length, output.byteOffset + outAt, key.byteOffset, counter);
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
  const p = batch.pending;
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
  batch.pending = null;
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
    const slot = batch.slot[i]!;
    const n = aead.open(table.receiveKey(slot), counter, batch.input[i]!.subarray(TransportLayout.payload), batch.output[i]!, 0);
    if (openTail(table, batch, i, counter, n, routes, peers)) delivered++;
  }
  return delivered;
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
  batch.pending = null;
  batch.flushFailures = 0;
  for (let i = 0; i < batch.count; i++) {
    const counter = openHead(table, batch, i, now);
    if (counter < 0) continue;
    batch.counter[i] = counter; // read back below (the AEAD result goes to batch.length)
    const d = batch.input[i]!;
    // P := AEAD-DECRYPT(Trecv, msg.counter, msg.packet, ε), queued
    queueOp(batch, aead, false, i, table.receiveKey(batch.slot[i]!), d, TransportLayout.payload, d.length - TransportLayout.payload, batch.output[i]!, 0, counter);
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
  const d = batch.input[i]!;
  batch.slot[i] = -1;
  batch.authenticated[i] = 0;
  batch.counter[i] = -1;
  batch.length[i] = -1;
  if (d.length < TRANSPORT_MIN_SIZE) {
    batch.drop[i] = d.length >= 4 && readU32(d, 0) !== MESSAGE_TRANSPORT ? "unknown-type" : "truncated";
    return -1;
  }
  if (readU32(d, 0) !== MESSAGE_TRANSPORT) {
    batch.drop[i] = "unknown-type";
    return -1;
  }
  if (d.length > MAX_SEGMENT_SIZE) {
    batch.drop[i] = "oversized";
    return -1;
  }
  const slot = table.lookup(readU32(d, TransportLayout.receiver));
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
  const counter = readCounter(d, TransportLayout.counter);
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
  const out = batch.output[i]!;
  // Replay check after authentication, in the slot's one window, if the slot still holds the keypair.
  const r = table.acceptCounter(slot, batch.generation[i]!, counter);
  if (r !== COUNTER_ACCEPTED) {
    out.fill(0, 0, n);
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
  const length = innerLength(out, n);
  if (length < 0) {
    batch.drop[i] = "invalid-inner-packet";
    return false;
  }
  batch.length[i] = length;
  // Cryptokey routing (whitepaper §2): the inner source must be one of the sender's allowed IPs.
  const owner = peers[table.peer(slot)];
  if (owner === undefined || routes.lookup(out, "src") !== owner) {
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
