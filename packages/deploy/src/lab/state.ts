/**
 * The lab's state directory: what was built (lab.json) and its secrets (secrets.json, 0600: the
 * gateways' WireGuard keys and the database password). Default /run/wg-ts-lab (tmpfs: a reboot
 * forgets the lab together with its namespaces); override with WG_DEPLOY_LAB_DIR.
 *
 * The directory is 0711: only root lists or reads it, but PostgreSQL (user `postgres`) can reach
 * its own data directory inside.
 */
import { randomBytes, randomFillSync } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { PrivateKey } from "@wg-ts/core";

export const DEFAULT_STATE_DIR = "/run/wg-ts-lab";

/** The state directory from the environment. */
export function labStateDir(env: Readonly<Record<string, string | undefined>>): string {
  const dir = env["WG_DEPLOY_LAB_DIR"] ?? DEFAULT_STATE_DIR;
  if (!isAbsolute(dir) || dir === "/") throw new Error(`WG_DEPLOY_LAB_DIR must be an absolute path other than "/" (got "${dir}")`);
  return dir;
}

/** What lab.json records. */
export interface LabRecord {
  readonly topology: string;
  /** Which WireGuard implementation runs the gateways. */
  readonly wireguard: string;
  /** "building" until every step succeeded. */
  readonly status: "building" | "up";
  readonly namespaces: readonly string[];
  readonly startedAt: string;
}

export interface WireguardKeyPair {
  readonly privateKey: string;
  readonly publicKey: string;
}

/** secrets.json. */
export interface LabSecrets {
  readonly keys: Readonly<Record<string, WireguardKeyPair>>;
  readonly databasePassword: string;
}

const RECORD = "lab.json";
const SECRETS = "secrets.json";

/** Writes `content` to `path` atomically with `mode` (the mode is set before any byte is written). */
export function writeFileAtomic(path: string, content: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o711 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  chmodSync(dir, 0o711);
}

export function readRecord(dir: string): LabRecord | undefined {
  const path = join(dir, RECORD);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as LabRecord;
  } catch (error) {
    throw new Error(`${path} is not valid JSON (${(error as Error).message}); run \`wg-deploy down\` to clean up`);
  }
}

export function writeRecord(dir: string, record: LabRecord): void {
  writeFileAtomic(join(dir, RECORD), `${JSON.stringify(record, null, 2)}\n`, 0o600);
}

export function readSecrets(dir: string): LabSecrets {
  const path = join(dir, SECRETS);
  if (!existsSync(path)) throw new Error(`no lab secrets in ${dir}: is the lab up? (wg-deploy up)`);
  return JSON.parse(readFileSync(path, "utf8")) as LabSecrets;
}

/** Fresh keys for `gateways` and a fresh database password, written 0600. */
export function createSecrets(dir: string, gateways: readonly string[]): LabSecrets {
  const keys: Record<string, WireguardKeyPair> = {};
  for (const gateway of gateways) {
    const privateKey = PrivateKey.generate((out) => randomFillSync(out));
    keys[gateway] = { privateKey: privateKey.toBase64(), publicKey: privateKey.publicKey().toBase64() };
    privateKey.wipe();
  }
  // URL-safe, no characters that need quoting in pgpass or connection strings.
  const secrets: LabSecrets = { keys, databasePassword: randomBytes(18).toString("base64url") };
  writeFileAtomic(join(dir, SECRETS), `${JSON.stringify(secrets, null, 2)}\n`, 0o600);
  return secrets;
}
