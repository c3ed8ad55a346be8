/** @wg-ts/core — the WireGuard protocol, sans-I/O. See docs/architecture.md for the contract. */
export * from "./crypto.js";
