/** @wg-ts/daemon — TUN + UDP + UAPI around one wg-core Device; wg-quick configs and routes. */
export * from "./config.js";
export * from "./keys.js";
export * from "./tun.js";
export * from "./bind.js";
export * from "./engine.js";
export * from "./uapi-protocol.js";
export { UapiServer, uapiRequest, answerErrno, isAlive, socketPath, UAPI_DIR, type UapiHandler } from "./uapi.js";
export * from "./daemon.js";
export * from "./quick.js";
export * from "./netconf.js";
export * from "./format.js";
export * from "./run.js";
export * from "./native-aead.js";
export { pooledRandom } from "./random.js";
export { main, program, type CliIo } from "./cli.js";
