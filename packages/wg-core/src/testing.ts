/**
 * "@wg-ts/core/testing": handshake pieces for tests that forge or answer protocol messages from
 * outside the core (the daemon's control-gate.test.ts and support/hostile/blaster.mjs, which runs
 * on dist/). Not an API: nothing in the daemon, deploy or the benchmarks builds on it.
 */
export { COOKIE_REPLY_SIZE, INITIATION_SIZE, RESPONSE_SIZE } from "./messages.js";
export { CookieGenerator } from "./cookie.js";
export { createInitiation, localIdentity, PeerHandshake } from "./handshake.js";
