/**
 * The batched transport AEAD wg-ts uses when it can: `native/prebuilt/<platform>-<arch>/wg_aead.node`,
 * a small N-API addon (native/src/wg_aead.c) that runs ChaCha20-Poly1305 for a whole
 * {@link AeadBatch} in one call through the OpenSSL inside the running `node` binary (EVP API, no
 * libcrypto of its own). `pnpm bench` measures it against node:crypto per packet, @noble/ciphers and
 * WebAssembly (benchmarks/src/micro-aead.ts).
 *
 * {@link loadBatchAead} never fails: where the addon cannot load (no prebuilt file for this CPU or
 * OS, a runtime without N-API or without OpenSSL's symbols, a wrong answer on the load-time check)
 * it returns the TypeScript batch over node:crypto and a one-line reason for the caller to log once.
 * Each thread that calls it gets its own addon instance (its own cipher context).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import {
  AeadBatch,
  aeadBatchCount,
  type BatchTransportAead,
  batchTransportAead,
  type ChaChaPolyBackend,
  type DhPrivate,
  type DhPublic,
  nodeTransportAead,
  nodeX25519,
  type TransportAead,
  type X25519Backend,
} from "@wg-ts/core";
import { sum16Ranges, type SumRanges } from "./dataplane/checksum.js";

/** What the addon exports (see native/src/wg_aead.c). */
export interface WgAeadAddon {
  /**
   * Runs `count` operations; `nonces` (12 bytes per operation) replaces the counter nonces and `aad`
   * is authenticated by every operation when given. Returns how many succeeded; results in `results`.
   */
  seal(keys: Uint8Array, input: Uint8Array, output: Uint8Array, desc: Int32Array, counters: Float64Array, results: Int32Array, count: number, nonces?: Uint8Array, aad?: Uint8Array): number;
  open(keys: Uint8Array, input: Uint8Array, output: Uint8Array, desc: Int32Array, counters: Float64Array, results: Int32Array, count: number, nonces?: Uint8Array, aad?: Uint8Array): number;
  readonly tagLength: number;
  /** The Internet checksum of consecutive ranges (native/src/csum.c; {@link SumRanges}). */
  sum16Ranges?: SumRanges;
  /** Loads a 32-byte X25519 private key, writes its public key; an opaque handle, or null (native/src/x25519.c). */
  x25519Private?(privateKey: Uint8Array, publicKeyOut: Uint8Array): object | null;
  /** X25519(handle's key, publicKey) into `out` (32 bytes); false when OpenSSL refuses (low-order key: all-zero result). */
  x25519Derive?(handle: object, publicKey: Uint8Array, out: Uint8Array): boolean;
  /** The data plane's system calls and fd watches (native/src/io.c; dataplane/sys.ts). */
  ioRead?(fd: number, addr: number, n: number): number;
  ioWrite?(fd: number, addr: number, n: number): number;
  ioRecvmmsg?(fd: number, vec: number, vlen: number, flags: number): number;
  ioSendmmsg?(fd: number, vec: number, vlen: number, flags: number): number;
  ioSendmsg?(fd: number, msg: number, flags: number): number;
  ioSendto?(fd: number, addr: number, n: number, flags: number, to: number, tolen: number): number;
  watch?(fd: number, onReadable: () => void): object;
  watchStart?(handle: object): void;
  watchStop?(handle: object): void;
  watchClose?(handle: object): void;
}

/** The outcome of {@link loadBatchAead}. */
export interface BatchAeadChoice {
  readonly aead: BatchTransportAead;
  /** True when `aead` is the native addon. */
  readonly native: boolean;
  /** Why the addon is not used (one log line), or null. */
  readonly reason: string | null;
  /** The addon itself (explicit nonces and AAD: for known-answer tests), or null. */
  readonly addon: WgAeadAddon | null;
  /** The range checksum for TSO segmentation: the addon's, or the TypeScript one where it is not used. */
  readonly sums: SumRanges;
}

export interface LoadBatchAeadOptions {
  /** Default: process.platform / process.arch. */
  readonly platform?: string;
  readonly arch?: string;
  /** The .node file to load instead of the prebuilt one for platform-arch. */
  readonly path?: string;
  /** What to use when the addon does not load (default: node:crypto per packet). */
  readonly fallback?: TransportAead;
}

/** Where the prebuilt addon for `platform-arch` lives (the package's native/prebuilt/, shipped in the tarball). */
export function prebuiltAeadPath(platform: string, arch: string): string {
  // src/ and dist/ are both one level below the package root.
  return fileURLToPath(new URL(`../native/prebuilt/${platform}-${arch}/wg_aead.node`, import.meta.url));
}

const require = createRequire(import.meta.url);

/**
 * Loads this thread's instance of the addon (`options.path`, else the prebuilt file for
 * platform-arch), or says in a few words why it cannot.
 */
export function loadAddon(options: LoadBatchAeadOptions = {}): { addon: WgAeadAddon; reason: null } | { addon: null; reason: string } {
  const platform = options.platform ?? process.platform;
  const arch = options.arch ?? process.arch;
  const path = options.path ?? prebuiltAeadPath(platform, arch);
  if (!existsSync(path)) return { addon: null, reason: `no prebuilt addon for ${platform}-${arch}` };
  let addon: WgAeadAddon;
  try {
    addon = require(path) as WgAeadAddon;
  } catch (e) {
    return { addon: null, reason: `${path} did not load: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}` };
  }
  if (typeof addon?.seal !== "function" || typeof addon.open !== "function") return { addon: null, reason: `${path} is not wg_aead` };
  return { addon, reason: null };
}

/** Loads the native batch AEAD, or explains in one line why the fallback is used. */
export function loadBatchAead(options: LoadBatchAeadOptions = {}): BatchAeadChoice {
  const fallback = options.fallback ?? nodeTransportAead;
  const degrade = (why: string): BatchAeadChoice => ({
    aead: batchTransportAead(fallback),
    native: false,
    reason: `native AEAD not used (${why}); using ${fallback.name} per packet`,
    addon: null,
    sums: sum16Ranges,
  });
  const loaded = loadAddon(options);
  if (loaded.addon === null) return degrade(loaded.reason);
  const addon = loaded.addon;
  const aead = nativeBatchAead(addon);
  const problem = selfCheck(aead);
  if (problem !== null) return degrade(`the addon failed its load-time check: ${problem}`);
  return { aead, native: true, reason: null, addon, sums: nativeSumRanges(addon) ?? sum16Ranges };
}

/**
 * The addon's range checksum, or null when it has none or it disagrees with the TypeScript one on a
 * load-time check (odd and even ranges, a short tail).
 */
export function nativeSumRanges(addon: WgAeadAddon): SumRanges | null {
  const f = addon.sum16Ranges;
  if (typeof f !== "function") return null;
  const probe = Uint8Array.from({ length: 301 }, (_, i) => (i * 151 + 7) & 0xff);
  const a = new Float64Array(8);
  const b = new Float64Array(8);
  const n = f(probe, 3, 301, 45, a);
  if (n !== sum16Ranges(probe, 3, 301, 45, b) || a.some((x, i) => x !== b[i])) return null;
  return f;
}

/** The addon as a {@link BatchTransportAead}. */
export function nativeBatchAead(addon: WgAeadAddon): BatchTransportAead {
  return {
    name: "native EVP batch",
    sealBatch: (keys, input, output, b) => addon.seal(keys, input, output, b.desc, b.counter, b.result, aeadBatchCount(b)),
    openBatch: (keys, input, output, b) => addon.open(keys, input, output, b.desc, b.counter, b.result, aeadBatchCount(b)),
  };
}

/**
 * The addon as a per-packet {@link TransportAead} (counter nonces), for the main thread's Device: one
 * call per packet over the addon's one cipher context, where node:crypto creates a cipher object
 * per packet — the larger cost for a lone packet after a quiet spell (measured in
 * benchmarks/README.md, section 7, "Lone-packet latency"). The addon checks every range and returns
 * −1, as the contract wants. Its `chaChaPoly` ({@link nativeChaChaPoly}) runs the handshake's AEADs.
 */
export function nativeTransportAead(addon: WgAeadAddon): TransportAead {
  const desc = new Int32Array(4);
  const counters = new Float64Array(1);
  const result = new Int32Array(1);
  const one = (seal: boolean, key: Uint8Array, counter: number, input: Uint8Array, out: Uint8Array, outOffset: number): number => {
    if (key.length !== 32 || !Number.isSafeInteger(outOffset) || outOffset < 0 || outOffset > 0x7fffffff) return -1;
    if (input.length > 0x7fffffff) return -1;
    desc[0] = 0;
    desc[1] = input.length;
    desc[2] = outOffset;
    desc[3] = 0;
    counters[0] = counter;
    result[0] = -1;
    (seal ? addon.seal : addon.open)(key, input, out, desc, counters, result, 1);
    return result[0]!;
  };
  return {
    name: "native EVP",
    chaChaPoly: nativeChaChaPoly(addon),
    seal: (key, counter, plaintext, out, outOffset) => one(true, key, counter, plaintext, out, outOffset),
    open: (key, counter, ciphertext, out, outOffset) => one(false, key, counter, ciphertext, out, outOffset),
  };
}

/**
 * The transport AEAD for a Device on this thread: the addon per packet ({@link nativeTransportAead})
 * when {@link loadBatchAead} can use it, else node:crypto, with the one-line reason to log.
 */
export function loadTransportAead(options: LoadBatchAeadOptions = {}): { aead: TransportAead; x25519: X25519Backend; reason: string | null } {
  const choice = loadBatchAead(options);
  if (choice.addon !== null) {
    const x25519 = nativeX25519(choice.addon);
    return { aead: nativeTransportAead(choice.addon), x25519: x25519 ?? nodeX25519, reason: x25519 === null ? "native X25519 not used (failed its load-time check); using node:crypto" : null };
  }
  return { aead: options.fallback ?? nodeTransportAead, x25519: nodeX25519, reason: choice.reason };
}

const hexBytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
/** RFC 7748 §6.1: Alice's private key and public key, Bob's public key, their shared secret. */
const RFC7748_DH = {
  alicePrivate: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
  alicePublic: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  bobPublic: "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
  shared: "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
};

/**
 * The addon's X25519 (native/src/x25519.c) as the handshake's {@link X25519Backend}: node:crypto's
 * KeyObjects cost ~16 % of a handshake on Node 20 on top of the curve arithmetic (benchmarks/README.md,
 * section 18). Null when the addon has none or it fails a load-time check: RFC 7748 §6.1's keys
 * and shared secret, and a low-order (all-zero) public key refused.
 */
export function nativeX25519(addon: WgAeadAddon): X25519Backend | null {
  const load = addon.x25519Private?.bind(addon);
  const derive = addon.x25519Derive?.bind(addon);
  if (load === undefined || derive === undefined) return null;
  const backend: X25519Backend = {
    name: "native EVP",
    privateKey(bytes: Uint8Array): DhPrivate {
      if (bytes.length !== 32) throw new RangeError("X25519 private key must be 32 bytes");
      const publicKey = new Uint8Array(32);
      const handle = load(bytes, publicKey);
      if (handle === null) throw new Error("X25519 private key refused");
      return {
        publicKey,
        dh(other: DhPublic): Uint8Array | null {
          if (other.bytes.length !== 32) return null;
          const out = new Uint8Array(32);
          return derive(handle, other.bytes, out) ? out : null;
        },
        toString: () => "<redacted>",
        toJSON: () => "<redacted>",
      } as DhPrivate;
    },
    publicKey: (bytes: Uint8Array): DhPublic => ({ bytes: bytes.slice() }),
  };
  try {
    const alice = backend.privateKey(hexBytes(RFC7748_DH.alicePrivate));
    const shared = alice.dh(backend.publicKey(hexBytes(RFC7748_DH.bobPublic)));
    const ok =
      Buffer.from(alice.publicKey).toString("hex") === RFC7748_DH.alicePublic &&
      shared !== null &&
      Buffer.from(shared).toString("hex") === RFC7748_DH.shared &&
      alice.dh(backend.publicKey(new Uint8Array(32))) === null;
    return ok ? backend : null;
  } catch {
    return null;
  }
}

/**
 * The addon as a one-operation {@link ChaChaPolyBackend} (explicit 12-byte nonce and AAD): the
 * handshake's AEAD(κ, 0, …, H), and the published vectors against the same C path the batches take.
 */
export function nativeChaChaPoly(addon: WgAeadAddon): ChaChaPolyBackend {
  const desc = new Int32Array(4);
  const counter = new Float64Array(1);
  const result = new Int32Array(1);
  const one = (seal: boolean, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, input: Uint8Array, out: Uint8Array, outOffset: number): number => {
    if (key.length !== 32 || nonce.length !== 12 || !Number.isSafeInteger(outOffset) || outOffset < 0 || outOffset > 0x7fffffff) return -1;
    if (input.length > 0x7fffffff) return -1;
    desc[0] = 0;
    desc[1] = input.length;
    desc[2] = outOffset;
    desc[3] = 0;
    (seal ? addon.seal : addon.open)(key, input, out, desc, counter, result, 1, nonce, aad);
    return result[0]!;
  };
  return {
    name: "native EVP",
    seal: (key, nonce, aad, plaintext, out, outOffset) => one(true, key, nonce, aad, plaintext, out, outOffset),
    open: (key, nonce, aad, ciphertext, out, outOffset) => one(false, key, nonce, aad, ciphertext, out, outOffset),
  };
}

/**
 * Seals and opens two packets under two keys, compares with node:crypto and checks that a forged tag
 * is refused; returns what went wrong, or null. Guards against an OpenSSL that resolves but differs.
 */
function selfCheck(aead: BatchTransportAead): string | null {
  try {
    const keys = new Uint8Array(64).map((_, i) => (i * 7 + 3) & 0xff);
    const plain = new Uint8Array(100).map((_, i) => (i * 13 + 1) & 0xff);
    const sealed = new Uint8Array(2 * 116);
    const b = new AeadBatch(2);
    b.count = 2;
    b.set(0, 0, 100, 0, 0, 2 ** 32 + 5);
    b.set(1, 0, 37, 116, 32, 1);
    if (aead.sealBatch(keys, plain, sealed, b) !== 2 || b.result[0] !== 116 || b.result[1] !== 53) return "seal failed";
    const expected = new Uint8Array(116);
    nodeTransportAead.seal(keys.subarray(0, 32), 2 ** 32 + 5, plain, expected, 0);
    if (!expected.every((x, i) => x === sealed[i])) return "ciphertext differs from node:crypto";
    nodeTransportAead.seal(keys.subarray(32), 1, plain.subarray(0, 37), expected, 0);
    if (!expected.subarray(0, 53).every((x, i) => x === sealed[116 + i])) return "ciphertext differs from node:crypto";
    const back = new Uint8Array(100);
    b.set(0, 0, 116, 0, 0, 2 ** 32 + 5);
    b.count = 1;
    if (aead.openBatch(keys, sealed, back, b) !== 1 || !back.every((x, i) => x === plain[i])) return "open failed";
    sealed[115]! ^= 1;
    back.fill(0);
    const opened = aead.openBatch(keys, sealed, back, b);
    if (opened !== 0 || b.result.at(0) !== -1 || back.some((x) => x !== 0)) return "a forged tag was accepted";
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
