/**
 * WireGuard keys for the Scaleway target, kept out of main.tf.json.
 *
 * `wg-deploy synth` keeps them in `<dir>/wireguard.secrets.json`, a Terraform variables file
 * (`-var-file=wireguard.secrets.json`) created with mode 0600 and ignored by git (`*.secrets.json`):
 *
 *     { "wireguard_private_keys": { "<gateway>": "<base64>" }, "wireguard_public_keys": { … } }
 *
 * main.tf.json declares `wireguard_private_keys` as a sensitive variable, so the private keys only
 * travel in Terraform's state and in the instances' user-data (both secret), never in the
 * configuration or in a non-sensitive output. The file is reused on later runs: re-synthesizing
 * never rotates keys behind a running network. Keys are generated with @wg-ts/core (`wg genkey`).
 */
import { randomFillSync } from "node:crypto";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { PrivateKey } from "@wg-ts/core";

export const SECRETS_FILE = "wireguard.secrets.json";

/** The contents of {@link SECRETS_FILE}. */
export interface WireGuardSecrets {
  readonly wireguard_private_keys: Readonly<Record<string, string>>;
  readonly wireguard_public_keys: Readonly<Record<string, string>>;
}

/** Fills its argument with secure random bytes. */
export type RandomSource = (out: Uint8Array) => void;

/** Keys for `gateways`: existing ones kept, missing ones generated, public keys recomputed. */
export function completeSecrets(gateways: readonly string[], existing: WireGuardSecrets | undefined, random: RandomSource): WireGuardSecrets {
  const privateKeys: Record<string, string> = {};
  const publicKeys: Record<string, string> = {};
  for (const gateway of [...gateways].sort()) {
    const known = existing?.wireguard_private_keys[gateway];
    const key = known !== undefined ? PrivateKey.fromBase64(known, `${SECRETS_FILE}: private key of ${gateway}`) : PrivateKey.generate(random);
    privateKeys[gateway] = key.toBase64();
    publicKeys[gateway] = key.publicKey().toBase64();
    key.wipe();
  }
  return { wireguard_private_keys: privateKeys, wireguard_public_keys: publicKeys };
}

/**
 * Reads `path` if it exists (refusing a file readable by others), completes it for `gateways` and
 * writes it back with mode 0600. Returns the public keys only.
 */
export function ensureSecretsFile(path: string, gateways: readonly string[], random: RandomSource = randomFillSync): Readonly<Record<string, string>> {
  let existing: WireGuardSecrets | undefined;
  if (existsSync(path)) {
    if ((statSync(path).mode & 0o077) !== 0) throw new Error(`${path} is readable by other users: chmod 600 it first`);
    existing = JSON.parse(readFileSync(path, "utf8")) as WireGuardSecrets;
  }
  const secrets = completeSecrets(gateways, existing, random);
  writeFileSync(path, JSON.stringify(secrets, null, 2) + "\n", { mode: 0o600 });
  chmodSync(path, 0o600);
  return secrets.wireguard_public_keys;
}
