/**
 * Key encodings used at the daemon's edges: base64 (wg-quick configs, `wg genkey`) and
 * lowercase hex (UAPI). Keys are 32-byte Uint8Arrays; nothing here logs or stringifies them.
 */
import { randomFillSync } from "node:crypto";
import { KeyFormatError, clampPrivateKey, publicKeyOf } from "@wg-ts/core";

export const KEY_LEN = 32;

/** wg-core's KeyFormatError (the message never contains the key material), with `wg`'s own words. */
export { KeyFormatError };

const B64_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$/;
const HEX_KEY = /^[0-9a-f]{64}$/;

/** Parses a base64 key exactly as `wg` does (44 chars, canonical padding). */
export function parseBase64Key(text: string): Uint8Array {
  if (!B64_KEY.test(text)) throw new KeyFormatError("Key is not the correct length or format");
  return new Uint8Array(Buffer.from(text, "base64"));
}

/** Parses a 64-digit lowercase hex key (UAPI wire format). */
export function parseHexKey(text: string): Uint8Array {
  if (!HEX_KEY.test(text)) throw new KeyFormatError("Key is not the correct length or format");
  return new Uint8Array(Buffer.from(text, "hex"));
}

export function toBase64(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("base64");
}

export function toHex(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("hex");
}

/** A fresh clamped X25519 private key (`wg genkey`). */
export function generatePrivateKey(): Uint8Array {
  return clampPrivateKey(randomFillSync(new Uint8Array(KEY_LEN)));
}

/** 32 random bytes (`wg genpsk`). */
export function generatePresharedKey(): Uint8Array {
  return randomFillSync(new Uint8Array(KEY_LEN));
}

/** The public key of a private key (`wg pubkey`). */
export function publicKey(privateKey: Uint8Array): Uint8Array {
  return publicKeyOf(privateKey);
}
