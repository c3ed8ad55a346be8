/** Durations on the command line and in scenario files: a number of seconds, or "250ms", "90s", "10m", "1.5h", "1d". */

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of `text` (a bare number is seconds). Throws naming `what` on anything else. */
export function parseDuration(text: string | number, what: string): number {
  if (typeof text === "number") {
    if (!Number.isFinite(text) || text < 0) throw new Error(`${what}: ${text} is not a duration`);
    return text * 1000;
  }
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) throw new Error(`${what}: "${text}" is not a duration (e.g. 500ms, 90s, 10m, 2h)`);
  return Number(m[1]) * (UNITS[m[2] ?? "s"] ?? 1000);
}

/** A probability given as 0.05 or "5%". */
export function parseProbability(text: string | number, what: string): number {
  const m = typeof text === "number" ? null : /^\s*([0-9]+(?:\.[0-9]+)?)\s*(%)?\s*$/.exec(text);
  const p = typeof text === "number" ? text : m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(p >= 0 && p <= 1)) throw new Error(`${what}: "${text}" is not a probability (0..1 or 0%..100%)`);
  return p;
}

/** "2h 05m 03.250s" style, for tables. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const total = Math.round(ms / 1000);
  const m = Math.floor(total / 60);
  const s = total % 60;
  return m < 60 ? `${m}m${String(s).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
