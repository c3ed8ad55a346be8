/**
 * The core's randomness (wg-core `RandomSource`) for the daemon: small requests — the 4-byte local
 * indices and rekey jitter the Device draws, public values — are served from a block of CSPRNG bytes
 * refilled every {@link POOL_BYTES} bytes; anything larger (private keys, cookie secrets, nonces) is
 * drawn directly and never kept here. The Device draws jitter for almost every lone data packet
 * (the new-handshake timer is re-armed after every reply), and one `randomFillSync` after a quiet
 * spell costs far more than a read from the block (measured in benchmarks/README.md, section 7,
 * "Lone-packet latency").
 *
 * Initial state: an empty block (the first small request fills it). Every byte handed out is used once.
 */
import { randomFillSync } from "node:crypto";

/** Requests of at most this many bytes come from the block. */
export const SMALL_REQUEST = 8;
const POOL_BYTES = 512;

/** A RandomSource over `fill` (default: node:crypto's CSPRNG) that batches small requests. */
export function pooledRandom(fill: (out: Uint8Array) => void = (b) => void randomFillSync(b)): (out: Uint8Array) => void {
  const pool = new Uint8Array(POOL_BYTES);
  let at = POOL_BYTES;
  return (out) => {
    const n = out.length;
    if (n > SMALL_REQUEST) return fill(out);
    if (at + n > POOL_BYTES) {
      fill(pool);
      at = 0;
    }
    out.set(pool.subarray(at, at + n));
    pool.fill(0, at, at + n);
    at += n;
  };
}
