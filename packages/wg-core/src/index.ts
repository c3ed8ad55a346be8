/** @wg-ts/core — the WireGuard protocol, sans-I/O. See docs/architecture.md for the contract. */
export * from "./crypto.js";
export * from "./keys.js";
export * from "./replay.js";
export * from "./allowed-ips.js";
export * from "./aead.js";
export * from "./tai64n.js";
