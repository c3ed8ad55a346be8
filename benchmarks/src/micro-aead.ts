/**
 * Transport AEAD candidates side by side (issue 14, "Batched AEAD"): seal and open of 64-byte and
 * 1420-byte packets, ChaCha20-Poly1305 with the transport nonce and empty AAD (whitepaper §5.4.6):
 *
 *   - per packet: node:crypto (a cipher object per packet: wg-core's default), @noble/ciphers (pure JS),
 *     libsodium-wrappers (libsodium compiled to WebAssembly; a devDependency of benchmarks only);
 *   - batched (wg-core aead-batch.ts): the TypeScript batch over node:crypto, and the native addon
 *     over node's own OpenSSL (wg-daemon native-aead.ts) with 1, 16 and 64 packets per call.
 *
 * One operation is one packet in every row (ops/s = packets/s). Batches are out of place, from one
 * input arena into one output arena, one key, fixed descriptors (what a transport loop would fill
 * once per batch is not timed). Every candidate is checked against node:crypto before it is timed.
 */
import { randomFillSync } from "node:crypto";
import { AeadBatch, batchTransportAead, type BatchTransportAead, nobleTransportAead, nodeTransportAead, type TransportAead } from "@wg-ts/core";
import { loadBatchAead } from "@wg-ts/daemon/native-aead";
import type { Case } from "./micro.js";

/** The libsodium-wrappers functions used here (loaded lazily: the benchmark runs without it). */
interface Sodium {
  crypto_aead_chacha20poly1305_ietf_encrypt(m: Uint8Array, ad: null, nsec: null, npub: Uint8Array, key: Uint8Array): Uint8Array;
  crypto_aead_chacha20poly1305_ietf_decrypt(nsec: null, c: Uint8Array, ad: null, npub: Uint8Array, key: Uint8Array): Uint8Array;
}

/** What the AEAD rows had available: the native addon's load outcome and WASM's. */
export interface AeadCandidates {
  /** `fast`: timed with the batched iteration count (else the per-packet one). */
  readonly batched: { readonly label: string; readonly aead: BatchTransportAead; readonly sizes: readonly number[]; readonly fast: boolean }[];
  readonly perPacket: readonly TransportAead[];
  readonly sodium: Sodium | null;
  readonly notes: readonly string[];
}

/** Loads every candidate that loads here; `notes` says what is missing and why. */
export async function aeadCandidates(): Promise<AeadCandidates> {
  const notes: string[] = [];
  const native = loadBatchAead();
  if (native.reason !== null) notes.push(native.reason);
  let sodium: Sodium | null = null;
  try {
    const mod = (await import("libsodium-wrappers")) as unknown as { default: Sodium & { ready: Promise<void> } };
    await mod.default.ready;
    sodium = mod.default;
  } catch (e) {
    notes.push(`libsodium-wrappers (WASM) not measured: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
  }
  return {
    batched: [
      { label: "TS batch over node:crypto", aead: batchTransportAead(nodeTransportAead), sizes: [64], fast: false },
      ...(native.native ? [{ label: "native EVP batch", aead: native.aead, sizes: [1, 16, 64], fast: true }] : []),
    ],
    perPacket: [nodeTransportAead, nobleTransportAead],
    sodium,
    notes,
  };
}

const nonceOf = (nonce: Uint8Array, view: DataView, counter: number): Uint8Array => {
  view.setUint32(4, counter >>> 0, true);
  view.setUint32(8, Math.floor(counter / 2 ** 32), true);
  return nonce;
};

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

/**
 * Seal and open cases of every candidate at `size` bytes. `perPacketIterations` for the per-packet
 * rows; batched rows run `batchedIterations` packets (rounded to whole batches).
 */
export function aeadCases(c: AeadCandidates, size: number, perPacketIterations: number, batchedIterations: number): { seal: Case[]; open: Case[] } {
  const key = randomFillSync(new Uint8Array(32));
  const plaintext = randomFillSync(new Uint8Array(size));
  const sealed = new Uint8Array(size + 16);
  if (nodeTransportAead.seal(key, 1, plaintext, sealed, 0) !== size + 16) throw new Error("seal failed");
  const seal: Case[] = [];
  const open: Case[] = [];
  const row = (benchmark: "seal" | "open", implementation: string, iterations: number, run: (n: number) => void): Case => ({
    benchmark,
    implementation,
    size,
    iterations,
    bytesPerOp: size,
    run,
  });

  for (const aead of c.perPacket) {
    const out = new Uint8Array(size + 16);
    let counter = 0;
    seal.push(
      row("seal", `${aead.name} per packet`, perPacketIterations, (n) => {
        for (let i = 0; i < n; i++) if (aead.seal(key, counter++, plaintext, out, 0) < 0) throw new Error("seal failed");
      }),
    );
    const back = new Uint8Array(size);
    open.push(
      row("open", `${aead.name} per packet`, perPacketIterations, (n) => {
        for (let i = 0; i < n; i++) if (aead.open(key, 1, sealed, back, 0) !== size) throw new Error("open failed");
      }),
    );
  }

  if (c.sodium !== null) {
    const sodium = c.sodium;
    const nonce = new Uint8Array(12);
    const view = new DataView(nonce.buffer);
    if (!same(sodium.crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, null, null, nonceOf(nonce, view, 1), key), sealed)) {
      throw new Error("libsodium-wrappers disagrees with node:crypto");
    }
    let counter = 0;
    seal.push(
      row("seal", "libsodium.js WASM per packet", perPacketIterations, (n) => {
        for (let i = 0; i < n; i++) sodium.crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, null, null, nonceOf(nonce, view, counter++), key);
      }),
    );
    open.push(
      row("open", "libsodium.js WASM per packet", perPacketIterations, (n) => {
        for (let i = 0; i < n; i++) if (sodium.crypto_aead_chacha20poly1305_ietf_decrypt(null, sealed, null, nonceOf(nonce, view, 1), key).length !== size) throw new Error("open failed");
      }),
    );
  }

  for (const { label, aead, sizes, fast } of c.batched) {
    for (const b of sizes) {
      const input = new Uint8Array(b * size);
      for (let i = 0; i < b; i++) input.set(plaintext, i * size);
      const output = new Uint8Array(b * (size + 16));
      const sb = new AeadBatch(b);
      sb.count = b;
      for (let i = 0; i < b; i++) sb.set(i, i * size, size, i * (size + 16), 0, 1);
      if (aead.sealBatch(key, input, output, sb) !== b || !same(output.subarray(0, size + 16), sealed)) throw new Error(`${aead.name} disagrees with node:crypto`);
      const back = new Uint8Array(b * size);
      const ob = new AeadBatch(b);
      ob.count = b;
      for (let i = 0; i < b; i++) ob.set(i, i * (size + 16), size + 16, i * size, 0, 1);
      const calls = Math.max(1, Math.round((fast ? batchedIterations : perPacketIterations) / b));
      const name = `${label} ×${b}`;
      seal.push(
        row("seal", name, calls * b, (n) => {
          for (let i = 0; i < n; i += b) if (aead.sealBatch(key, input, output, sb) !== b) throw new Error("seal failed");
        }),
      );
      if (fast && b === 64 && size === 1420) {
        // The cipher's own speed here and now: the same 64 packets' bytes as ONE operation (a row
        // per packet-equivalent), so per-packet costs (key/nonce setup, Poly1305 key, short tails) vanish.
        const whole = new Uint8Array(b * size + 16);
        const one = new AeadBatch(1);
        one.count = 1;
        one.set(0, 0, b * size, 0, 0, 1);
        seal.push(
          row("seal", `ceiling: ${b}×${size} B as one operation`, calls * b, (n) => {
            for (let i = 0; i < n; i += b) if (aead.sealBatch(key, input, whole, one) !== 1) throw new Error("seal failed");
          }),
        );
      }
      open.push(
        row("open", name, calls * b, (n) => {
          for (let i = 0; i < n; i += b) if (aead.openBatch(key, output, back, ob) !== b) throw new Error("open failed");
        }),
      );
    }
  }
  return { seal, open };
}
