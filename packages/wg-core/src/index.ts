/**
 * @wg-ts/core — the WireGuard protocol, sans-I/O. See docs/architecture.md for the contract.
 *
 * The public surface: what @wg-ts/daemon, @wg-ts/deploy and the benchmarks import, named one by
 * one. Handshake internals, message layouts and the Device's own pieces (send.ts, receive.ts,
 * index-table.ts, …) stay inside; wg-core's tests import them by relative path.
 */

// The Device: one interface, bytes and `now` in, actions out; the types of its signatures
export { Device } from "./device.js";
export { DeviceConfigError, type DeviceOptions, type PeerConfig, type PeerUpdate, type RandomSource } from "./device-config.js";
export { Peer } from "./peer.js";
export type { Action, DropReason } from "./actions.js";
export {
  addressBytes,
  type Endpoint,
  type EndpointProblem,
  type EndpointText,
  formatEndpointText,
  parseEndpointHost,
  parseEndpointText,
} from "./endpoint.js";

// Keys: base64 key objects (wg genkey / pubkey) and raw Curve25519 (dh: the benchmarks)
export { KeyFormatError, PresharedKey, PrivateKey, PublicKey } from "./keys.js";
export { clampPrivateKey, dh, type DhPrivate, type DhPublic, isZero, nodeX25519, publicKeyOf, type X25519Backend } from "./crypto.js";

// IP addresses, prefixes and cryptokey routing: the project's one parser of address text
export {
  AllowedIps,
  type Cidr,
  CidrFormatError,
  formatAddress,
  formatCidr,
  type IpPrefix,
  parseCidr,
  parseIpAddress,
  parseIpPrefix,
} from "./allowed-ips.js";

// Transport ChaCha20-Poly1305 backends, one packet or a batch (the daemon's native addon plugs in here)
export { type ChaChaPolyBackend, nobleTransportAead, nodeChaChaPoly, nodeTransportAead, type TransportAead } from "./aead.js";
export { AeadBatch, aeadBatchCount, type BatchTransportAead, batchTransportAead } from "./aead-batch.js";

// The shared session table and the transport rules other threads run on it (the daemon's fast path)
export { SessionTable, type SessionTableHandles } from "./session-table.js";
export { StagedQueue } from "./staged.js";
export { openBatch, sealBatch, slotCanSend, TransportBatch } from "./transport.js";
export { MAX_PEERS } from "./constants.js";

// The daemon's control-thread gate: classify a datagram, check MAC1 before any handshake work
export { classifyMessage } from "./messages.js";
export { checkMac1, mac1Key } from "./cookie.js";

// Timer constants (whitepaper §6): the daemon's staged queues (REKEY_TIMEOUT) and deploy's simulator tests
export { KEEPALIVE_TIMEOUT, REJECT_AFTER_TIME, REKEY_AFTER_TIME, REKEY_TIMEOUT, REKEY_TIMEOUT_JITTER_MAX_MS } from "./constants.js";

// Handshake pieces for tests that forge messages are in the "@wg-ts/core/testing" entry point (testing.ts).
