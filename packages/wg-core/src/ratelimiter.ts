/**
 * Per-source token bucket for handshake messages under load (whitepaper §5.3; wireguard-go
 * ratelimiter/ratelimiter.go). Each source IP address (IPv6: its /64) owns a bucket that holds
 * at most RATELIMIT_PACKETS_BURSTABLE packets' worth of tokens and refills at
 * RATELIMIT_PACKETS_PER_SECOND. Initial state: no buckets; a new source starts full minus the
 * packet it just sent. Buckets idle for RATELIMIT_GARBAGE_COLLECT_TIME are collected on the next
 * call after that much time. Time comes from the caller (`now`, ms); nothing here reads a clock.
 */
import {
  RATELIMIT_GARBAGE_COLLECT_TIME,
  RATELIMIT_PACKETS_BURSTABLE,
  RATELIMIT_PACKETS_PER_SECOND,
} from "./constants.js";

/** Tokens are milliseconds of allowance; one packet costs this many. */
const PACKET_COST = 1000 / RATELIMIT_PACKETS_PER_SECOND;
const MAX_TOKENS = PACKET_COST * RATELIMIT_PACKETS_BURSTABLE;

interface Bucket {
  tokens: number;
  lastAt: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastCollectAt = Number.NEGATIVE_INFINITY;

  /** Number of tracked sources (for tests and diagnostics). */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Takes one packet's worth of tokens from the bucket of `address` (4 or 16 bytes).
   * @returns true when the packet may be processed
   */
  allow(address: Uint8Array, now: number): boolean {
    if (now - this.lastCollectAt >= RATELIMIT_GARBAGE_COLLECT_TIME) this.collect(now);
    const key = sourceKey(address);
    const b = this.buckets.get(key);
    if (b === undefined) {
      this.buckets.set(key, { tokens: MAX_TOKENS - PACKET_COST, lastAt: now });
      return true;
    }
    b.tokens = Math.min(MAX_TOKENS, b.tokens + Math.max(0, now - b.lastAt));
    b.lastAt = now;
    if (b.tokens >= PACKET_COST) {
      b.tokens -= PACKET_COST;
      return true;
    }
    return false;
  }

  /** Drops buckets idle for longer than RATELIMIT_GARBAGE_COLLECT_TIME. */
  collect(now: number): void {
    this.lastCollectAt = now;
    for (const [k, b] of this.buckets) if (now - b.lastAt > RATELIMIT_GARBAGE_COLLECT_TIME) this.buckets.delete(k);
  }
}

/** IPv4: all 4 bytes; IPv6: the /64 prefix (one host usually owns a whole /64). */
function sourceKey(address: Uint8Array): string {
  const n = address.length === 16 ? 8 : address.length;
  let s = n === 4 ? "4:" : "6:";
  for (let i = 0; i < n; i++) s += address[i]!.toString(16).padStart(2, "0");
  return s;
}
