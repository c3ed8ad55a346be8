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
