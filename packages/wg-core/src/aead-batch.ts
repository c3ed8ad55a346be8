/**
 * The transport-data AEAD (whitepaper §5.4.6, RFC 8439 §2.8) for N packets in one call: the shape a
 * transport module hands a batch of packets — possibly under different keys — to one AEAD call,
 * with caller-owned buffers and nothing allocated per packet.
 *
 * A batch is three caller-owned arenas and an {@link AeadBatch} of descriptors:
 *  - `keys`: 32-byte keys, each at a byte offset (e.g. the session table's shared key bytes);
 *  - `input`, `output`: packet bytes (the same Uint8Array for in-place operation);
 *  - per operation i: input offset and length, output offset, key offset (`desc`, 4 × Int32),
 *    the counter (`counter`, a Float64 integer < 2^53, the nonce's low 64 bits), and the result
 *    (`result`: bytes written, or −1).
 * Offsets count bytes from the start of each Uint8Array view (not of its ArrayBuffer).
 *
 * Seal writes ciphertext ‖ 16-byte tag (input length + 16 bytes) at the output offset; open reads
 * ciphertext ‖ tag and writes the plaintext (input length − 16 bytes) only if the tag verifies — a
 * failed open leaves its output range untouched. An operation's output range may be its own input
 * range exactly, start before it, or not overlap it (the {@link TransportAead} rule). Operations run
 * in order 0 … count−1. Per-operation failures (bad tag, offsets out of range, a counter that is not
 * an integer in [0, 2^53), no room) give −1 for that operation and never throw; only a malformed call
 * (`count` outside [0, capacity]) throws a RangeError.
 *
 * Two implementations: {@link batchTransportAead} over any per-packet {@link TransportAead} (the
 * portable fallback), and wg-ts's native addon over the OpenSSL inside `node`
 * (packages/wg-daemon/src/native-aead.ts), chosen by `pnpm bench` (benchmarks/src/micro-aead.ts).
 */
import type { TransportAead } from "./aead.js";
import { AEAD_TAG_LENGTH, KEY_LENGTH } from "./crypto.js";

/** Int32 slots per operation in {@link AeadBatch.desc}. */
export const AEAD_BATCH_STRIDE = 4;

/** Descriptors of up to `capacity` AEAD operations; allocate once per thread and reuse. */
export class AeadBatch {
  /** Operations in this batch, 0 … capacity. */
  count = 0;
  /** In: per operation i, at 4i: input offset, input length, output offset, key offset. */
  readonly desc: Int32Array;
  /** In: per operation, the message counter (nonce = 32 zero bits ‖ 64-bit LE counter). */
  readonly counter: Float64Array;
  /** Out: per operation, bytes written (seal: input length + 16; open: input length − 16), or −1. */
  readonly result: Int32Array;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) throw new RangeError(`AeadBatch capacity ${capacity}`);
    this.desc = new Int32Array(AEAD_BATCH_STRIDE * capacity);
    this.counter = new Float64Array(capacity);
    this.result = new Int32Array(capacity);
  }

  /** Describes operation `i` (no checks here: the AEAD checks every range). */
  set(i: number, inputOffset: number, inputLength: number, outputOffset: number, keyOffset: number, counter: number): void {
    const d = AEAD_BATCH_STRIDE * i;
    this.desc[d] = inputOffset;
    this.desc[d + 1] = inputLength;
    this.desc[d + 2] = outputOffset;
    this.desc[d + 3] = keyOffset;
    this.counter[i] = counter;
  }
}

export interface BatchTransportAead {
  /** Short name for benchmarks and logs. */
  readonly name: string;
  /**
   * Seals operations 0 … batch.count−1: input[inOff, +len) → output[outOff, +len+16).
   * @param keys arena of 32-byte sending keys (addressed by key offset)
   * @param input plaintext arena
   * @param output ciphertext arena (may be `input`)
   * @returns the number of operations that succeeded; per-operation results in `batch.result`
   */
  sealBatch(keys: Uint8Array, input: Uint8Array, output: Uint8Array, batch: AeadBatch): number;
  /**
   * Verifies and decrypts operations 0 … batch.count−1: input[inOff, +len) (ciphertext ‖ tag) →
   * output[outOff, +len−16), written only when the tag verifies.
   * @returns the number of operations that authenticated; per-operation results in `batch.result`
   */
  openBatch(keys: Uint8Array, input: Uint8Array, output: Uint8Array, batch: AeadBatch): number;
}

/** `batch.count` as an integer in [0, capacity], or a RangeError (the one malformed call). */
export function aeadBatchCount(batch: AeadBatch): number {
  const n = batch.count;
  if (!Number.isInteger(n) || n < 0 || n > batch.capacity) throw new RangeError(`AeadBatch count ${n} outside [0, ${batch.capacity}]`);
  return n;
}

const EMPTY = new Uint8Array(0);

/**
 * The batch contract over a per-packet {@link TransportAead}: one call per operation, key views
 * reused while consecutive operations share a key offset. Allocates what the per-packet AEAD
 * allocates, plus an input view per operation.
 */
export function batchTransportAead(aead: TransportAead): BatchTransportAead {
  const run = (seal: boolean, keys: Uint8Array, input: Uint8Array, output: Uint8Array, batch: AeadBatch): number => {
    const n = aeadBatchCount(batch);
    const { desc, counter, result } = batch;
    let ok = 0;
    let keyOffset = Number.NaN;
    let key: Uint8Array = EMPTY;
    for (let i = 0; i < n; i++) {
      const d = AEAD_BATCH_STRIDE * i;
      const inOffset = desc[d]!;
      const inLength = desc[d + 1]!;
      const ko = desc[d + 3]!;
      if (ko !== keyOffset) {
        keyOffset = ko;
        key = ko >= 0 && ko + KEY_LENGTH <= keys.length ? keys.subarray(ko, ko + KEY_LENGTH) : EMPTY;
      }
      if (inOffset < 0 || inLength < 0 || inOffset + inLength > input.length || (!seal && inLength < AEAD_TAG_LENGTH)) {
        result[i] = -1;
        continue;
      }
      const bytes = input.subarray(inOffset, inOffset + inLength);
      const r = seal ? aead.seal(key, counter[i]!, bytes, output, desc[d + 2]!) : aead.open(key, counter[i]!, bytes, output, desc[d + 2]!);
      result[i] = r;
      if (r >= 0) ok++;
    }
    return ok;
  };
  return {
    name: `${aead.name} per packet`,
    sealBatch: (keys, input, output, batch) => run(true, keys, input, output, batch),
    openBatch: (keys, input, output, batch) => run(false, keys, input, output, batch),
  };
}
