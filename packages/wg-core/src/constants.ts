/**
 * Protocol constants. Two sections:
 *
 *  1. Specification constants, named as in the whitepaper §6.1 ("Preliminaries", table of
 *     timer and message limits). Times are in milliseconds because `now` is in milliseconds.
 *  2. Implementation constants, the same choices wireguard-go makes in device/constants.go
 *     (queue sizes, under-load detection, peer limits). They are not part of the protocol.
 *
 * Message counters are carried as JavaScript numbers. The specification allows counters up to
 * 2^64 − 2^13 − 1, but a number is exact only below 2^53 (Number.MAX_SAFE_INTEGER + 1). A session
 * is rekeyed after 120 s and rejected after 180 s; at 10^9 packets per second a session would reach
 * 1.8·10^11 ≈ 2^37.4 messages, far from 2^53. So in practice counters never approach 2^53, and a
 * counter ≥ 2^53 (which only a forged or corrupted header can carry — it fails authentication
 * anyway) is rejected before any arithmetic: see {@link MAX_SAFE_COUNTER}.
 */

// ---------------------------------------------------------------------------------------------
// 1. Specification constants (whitepaper §6.1)
// ---------------------------------------------------------------------------------------------

/** Rekey-After-Messages: 2^60 messages. Exceeds 2^53, so it is never reached with number counters. */
export const REKEY_AFTER_MESSAGES = 2 ** 60;
/** Reject-After-Messages: 2^64 − 2^13 − 1 (not representable exactly; see {@link MAX_SAFE_COUNTER}). */
export const REJECT_AFTER_MESSAGES = 2 ** 64 - 2 ** 13 - 1;
/** Rekey-After-Time: 120 s. */
export const REKEY_AFTER_TIME = 120_000;
/** Reject-After-Time: 180 s. */
export const REJECT_AFTER_TIME = 180_000;
/** Rekey-Attempt-Time: 90 s. */
export const REKEY_ATTEMPT_TIME = 90_000;
/** Rekey-Timeout: 5 s. */
export const REKEY_TIMEOUT = 5_000;
/** Keepalive-Timeout: 10 s. */
export const KEEPALIVE_TIMEOUT = 10_000;
/** Cookie refresh time (whitepaper §5.4.7: the cookie secret changes every two minutes). */
export const COOKIE_REFRESH_TIME = 120_000;

/** Noise protocol name (whitepaper §5.4): Construction. */
export const CONSTRUCTION = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
/** Identifier (whitepaper §5.4). */
export const IDENTIFIER = "WireGuard v1 zx2c4 Jason@zx2c4.com";
/** LABEL-MAC1 (whitepaper §5.4.4). */
export const LABEL_MAC1 = "mac1----";
/** LABEL-COOKIE (whitepaper §5.4.7). */
export const LABEL_COOKIE = "cookie--";

/** Transport plaintext is padded to a multiple of 16 bytes (whitepaper §5.4.6). */
export const PADDING_MULTIPLE = 16;

// ---------------------------------------------------------------------------------------------
// 2. Implementation constants (wireguard-go device/constants.go)
// ---------------------------------------------------------------------------------------------

/**
 * Largest exactly representable counter, 2^53 − 1. Both REKEY_AFTER_MESSAGES and
 * REJECT_AFTER_MESSAGES lie above it, so number counters use the two limits below instead.
 */
export const MAX_SAFE_COUNTER = Number.MAX_SAFE_INTEGER;
/**
 * Effective Reject-After-Messages for number counters: 2^53 − 2^13 − 1, the specification's
 * 2^64 − 2^13 − 1 with 64 replaced by 53 (the replay window still fits below it). A counter must be
 * < this to be sent or accepted; a received counter ≥ 2^53 is dropped before decryption.
 */
export const COUNTER_LIMIT = 2 ** 53 - 2 ** 13 - 1;
/**
 * Effective Rekey-After-Messages for number counters: 2^49, keeping the specification's ratio to
 * the reject limit (2^60 is 1/16 of 2^64). Unreachable in practice, like the original.
 */
export const REKEY_COUNTER_LIMIT = 2 ** 49;

/** Give up a handshake after this many retransmissions (RekeyAttemptTime / RekeyTimeout = 18). */
export const MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME / REKEY_TIMEOUT;
/** Retransmission jitter is uniform in [0, 334) ms (wireguard-go RekeyTimeoutJitterMaxMs). */
export const REKEY_TIMEOUT_JITTER_MAX_MS = 334;
/** Initiations from one peer arriving faster than this are ignored (HandshakeInitationRate, 1 s / 50). */
export const HANDSHAKE_INITIATION_RATE = 20;
/** Once under load, stay under load this long (UnderLoadAfterTime). */
export const UNDER_LOAD_AFTER_TIME = 1_000;
/**
 * Handshake messages per second above which the device considers itself under load. wireguard-go
 * uses a handshake queue depth of QueueHandshakeSize / 8 = 128; a sans-I/O core has no queue, so
 * it counts handshake messages per second instead.
 */
export const UNDER_LOAD_HANDSHAKES_PER_SECOND = 128;
/** Packets staged per peer while waiting for a session (QueueStagedSize). */
export const QUEUE_STAGED_SIZE = 128;
/** Maximum number of configured peers (MaxPeers). */
export const MAX_PEERS = 1 << 16;
/** Largest UDP payload (MaxSegmentSize). */
export const MAX_SEGMENT_SIZE = (1 << 16) - 1;

/** Rate limiter (wireguard-go ratelimiter): handshake packets per second and burst per source. */
export const RATELIMIT_PACKETS_PER_SECOND = 20;
export const RATELIMIT_PACKETS_BURSTABLE = 5;
/** Rate limiter entries idle longer than this are collected. */
export const RATELIMIT_GARBAGE_COLLECT_TIME = 1_000;
