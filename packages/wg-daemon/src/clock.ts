/**
 * The daemon's clock for wg-core: milliseconds since the Unix epoch, monotonic (the process's time
 * origin plus `performance.now()`). Each thread has its own time origin, read once per module
 * instance: the `performance.timeOrigin` getter costs more than `performance.now()` itself, on
 * every packet of the pipelines.
 */
export const TIME_ORIGIN = performance.timeOrigin;

export function monotonicEpochMs(): number {
  return TIME_ORIGIN + performance.now();
}

/**
 * `epochMs` in µs modulo 2^32, as an int32: an order of events across threads (each reads the
 * same epoch clock) in one word. Two such times compare with `((a − b) | 0) > 0` while they are
 * less than ~35 minutes apart.
 */
export function microsMod32(epochMs: number): number {
  return (Math.floor(epochMs * 1000) % 0x1_0000_0000) | 0;
}
