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
 * Batch-shaped from the start: a caller-owned {@link TransportBatch} carries N packets in and N
 * results out, no closures or arrays per packet; the AEAD is the {@link TransportAead} per packet
 * today, a batched native one later. Stateless: everything lives in the table and the batch.
 * Never throws for any input bytes: failures are per-packet {@link DropReason}s.
 */
import type { DropReason } from "./actions.js";
import type { TransportAead } from "./aead.js";
import type { AllowedIps } from "./allowed-ips.js";
import { COUNTER_LIMIT, MAX_SEGMENT_SIZE } from "./constants.js";
import { innerLength } from "./inner-ip.js";
import { MESSAGE_TRANSPORT, readCounter, readU32, TRANSPORT_MIN_SIZE, TransportLayout, writeTransportHeader } from "./messages.js";
import { paddedLength } from "./padding.js";
import { COUNTER_ACCEPTED, COUNTER_REPLAYED, type SessionTable } from "./session-table.js";

const TAG = 16;

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

  constructor(readonly capacity: number) {
    this.input = new Array<Uint8Array>(capacity).fill(EMPTY);
    this.output = new Array<Uint8Array>(capacity).fill(EMPTY);
    this.slot = new Int32Array(capacity);
    this.generation = new Int32Array(capacity);
    this.length = new Int32Array(capacity);
    this.counter = new Float64Array(capacity);
    this.authenticated = new Uint8Array(capacity);
    this.drop = new Array<DropReason | null>(capacity).fill(null);
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
  aead: TransportAead,
  mtu: number,
): number {
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
      const length = sealOne(key, remote, counter, batch.input[k]!, batch.output[k]!, mtu, aead);
      if (length < 0) {
        fail(batch, k, "encrypt-failed");
        continue;
      }
      batch.length[k] = length;
      batch.counter[k] = counter;
      batch.drop[k] = null;
      ok++;
    }
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

/** Header, padded plaintext and AEAD into `out`; returns the datagram length or −1. `remote`: int32 bits. */
function sealOne(key: Uint8Array, remote: number, counter: number, packet: Uint8Array, out: Uint8Array, mtu: number, aead: TransportAead): number {
  // P := P ‖ 0^(16·⌈‖P‖/16⌉ − ‖P‖), capped at the MTU (padding.ts)
  const padded = paddedLength(packet.length, mtu);
  const total = TransportLayout.payload + padded + TAG;
  if (out.length < total) return -1;
  writeTransportHeader(out, remote, counter);
  // The packet may already sit at its place in `out` (a caller that reads into its datagram buffers).
  if (packet.buffer !== out.buffer || packet.byteOffset !== out.byteOffset + TransportLayout.payload) out.set(packet, TransportLayout.payload);
  for (let j = TransportLayout.payload + packet.length; j < TransportLayout.payload + padded; j++) out[j] = 0; // < 16 bytes
  // msg.packet := AEAD(Tsend, Nsend, P, ε) — sealed in place
  const plain = out.subarray(TransportLayout.payload, TransportLayout.payload + padded);
  return aead.seal(key, counter, plain, out, TransportLayout.payload) < 0 ? -1 : total;
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
  aead: TransportAead,
  routes: AllowedIps<T>,
  peers: ArrayLike<T | undefined>,
): number {
  let delivered = 0;
  for (let i = 0; i < batch.count; i++) {
    const d = batch.input[i]!;
    batch.slot[i] = -1;
    batch.authenticated[i] = 0;
    batch.counter[i] = -1;
    batch.length[i] = -1;
    if (d.length < TRANSPORT_MIN_SIZE) {
      batch.drop[i] = d.length >= 4 && readU32(d, 0) !== MESSAGE_TRANSPORT ? "unknown-type" : "truncated";
      continue;
    }
    if (readU32(d, 0) !== MESSAGE_TRANSPORT) {
      batch.drop[i] = "unknown-type";
      continue;
    }
    if (d.length > MAX_SEGMENT_SIZE) {
      batch.drop[i] = "oversized";
      continue;
    }
    const slot = table.lookup(readU32(d, TransportLayout.receiver));
    if (slot < 0) {
      batch.drop[i] = "unknown-index";
      continue;
    }
    const generation = table.generation(slot);
    batch.slot[i] = slot;
    batch.generation[i] = generation;
    if ((generation & 1) === 0 || table.isExpired(slot, now)) {
      batch.drop[i] = "expired-keypair";
      continue;
    }
    const counter = readCounter(d, TransportLayout.counter);
    if (counter < 0 || counter >= COUNTER_LIMIT) {
      batch.drop[i] = "counter-limit";
      continue;
    }
    // P := AEAD-DECRYPT(Trecv, msg.counter, msg.packet, ε)
    const out = batch.output[i]!;
    const n = aead.open(table.receiveKey(slot), counter, d.subarray(TransportLayout.payload), out, 0);
    if (n < 0) {
      batch.drop[i] = "decrypt-failed";
      continue;
    }
    // Replay check after authentication, in the slot's one window, if the slot still holds the keypair.
    const r = table.acceptCounter(slot, generation, counter);
    if (r !== COUNTER_ACCEPTED) {
      out.fill(0, 0, n);
      batch.drop[i] = r === COUNTER_REPLAYED ? "replay" : "expired-keypair";
      continue;
    }
    batch.authenticated[i] = 1;
    batch.counter[i] = counter;
    batch.length[i] = n;
    if (n === 0) {
      batch.drop[i] = null; // keepalive
      continue;
    }
    const length = innerLength(out, n);
    if (length < 0) {
      batch.drop[i] = "invalid-inner-packet";
      continue;
    }
    batch.length[i] = length;
    // Cryptokey routing (whitepaper §2): the inner source must be one of the sender's allowed IPs.
    const owner = peers[table.peer(slot)];
    if (owner === undefined || routes.lookup(out, "src") !== owner) {
      batch.drop[i] = "source-not-allowed";
      continue;
    }
    batch.drop[i] = null;
    delivered++;
  }
  return delivered;
}

function fail(batch: TransportBatch, k: number, reason: DropReason): void {
  batch.drop[k] = reason;
  batch.length[k] = -1;
  batch.counter[k] = -1;
}
