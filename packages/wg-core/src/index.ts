/** @wg-ts/core — the WireGuard protocol, sans-I/O. See docs/architecture.md for the contract. */
export * from "./crypto.js";
export * from "./keys.js";
export * from "./replay.js";
export * from "./allowed-ips.js";
export * from "./aead.js";
export * from "./tai64n.js";
export * from "./constants.js";
export * from "./messages.js";
export * from "./endpoint.js";
export * from "./handshake.js";
export * from "./cookie.js";
export * from "./ratelimiter.js";
export * from "./keypair.js";
export * from "./timers.js";
export * from "./actions.js";
export * from "./peer.js";
export * from "./device.js";
