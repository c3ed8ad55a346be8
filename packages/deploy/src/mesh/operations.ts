/**
 * The database edits behind wg-meshconf's verbs: init, addpeer, updatepeer, delpeer. Pure functions
 * from a database to a new one (no files, no clock); randomness for new keys is passed in.
 * Each result is validated: a command never writes a database it could not generate configs from
 * later, except for keys left empty (init fills them).
 */
import { PrivateKey } from "@wg-ts/core";
import { cell, type MeshDatabase, type MeshRow } from "./database.js";
import { DEFAULT_LISTEN_PORT, MeshValidationError, validateMesh } from "./validate.js";

/** Fills `out` with cryptographically secure random bytes (node: `crypto.randomFillSync`). */
export type RandomFill = (out: Uint8Array) => void;

/** Values given on the command line for one peer (wg-meshconf's addpeer/updatepeer options). */
export interface PeerValues {
  address?: string[];
  endpoint?: string;
  allowedips?: string[];
  privatekey?: string;
  listenport?: string;
  persistentkeepalive?: string;
  fwmark?: string;
  dns?: string;
  mtu?: string;
  table?: string;
  preup?: string;
  postup?: string;
  predown?: string;
  postdown?: string;
  saveconfig?: boolean;
}

/** Database column of each option. */
export const OPTION_COLUMNS: Record<keyof PeerValues, string> = {
  address: "Address",
  endpoint: "Endpoint",
  allowedips: "AllowedIPs",
  privatekey: "PrivateKey",
  listenport: "ListenPort",
  persistentkeepalive: "PersistentKeepalive",
  fwmark: "FwMark",
  dns: "DNS",
  mtu: "MTU",
  table: "Table",
  preup: "PreUp",
  postup: "PostUp",
  predown: "PreDown",
  postdown: "PostDown",
  saveconfig: "SaveConfig",
};

/** A command that cannot be done (unknown peer, existing name). */
export class MeshCommandError extends Error {
  override name = "MeshCommandError";
}

function newKey(random: RandomFill): string {
  const key = PrivateKey.generate(random);
  const text = key.toBase64();
  key.wipe();
  return text;
}

function applyValues(row: MeshRow, values: PeerValues): void {
  for (const [option, column] of Object.entries(OPTION_COLUMNS) as [keyof PeerValues, string][]) {
    const value = values[option];
    if (value === undefined) continue;
    if (Array.isArray(value)) row.cells[column] = value.join(",");
    else if (typeof value === "boolean") row.cells[column] = value ? "True" : "False";
    else row.cells[column] = value;
  }
}

function copyDatabase(db: MeshDatabase): MeshDatabase {
  return { extraColumns: [...db.extraColumns], rows: db.rows.map((row) => ({ row: row.row, cells: { ...row.cells } })) };
}

function findRow(db: MeshDatabase, name: string): MeshRow | undefined {
  return db.rows.find((row) => cell(row, "Name").trim() === name);
}

function check(db: MeshDatabase, file: string): MeshDatabase {
  const { problems } = validateMesh(db);
  if (problems.length > 0) throw new MeshValidationError(file, problems);
  return db;
}

/**
 * wg-meshconf `init` on an existing database: sets ListenPort to 51820 and generates a PrivateKey
 * wherever they are empty; everything else must already be valid (Address cannot be generated).
 */
export function initDatabase(db: MeshDatabase, random: RandomFill, file: string): MeshDatabase {
  const next = copyDatabase(db);
  check(next, file); // empty keys are not problems here: they are what init fills in
  for (const row of next.rows) {
    if (cell(row, "ListenPort").trim() === "") row.cells["ListenPort"] = String(DEFAULT_LISTEN_PORT);
    if (cell(row, "PrivateKey").trim() === "") row.cells["PrivateKey"] = newKey(random);
  }
  return check(next, file);
}

/**
 * wg-meshconf `addpeer NAME --address …`: a new row; ListenPort defaults to 51820 and the private
 * key is generated unless given.
 */
export function addPeer(db: MeshDatabase, name: string, values: PeerValues, random: RandomFill, file: string): MeshDatabase {
  if (findRow(db, name) !== undefined) throw new MeshCommandError(`peer ${name} already exists in ${file} (use updatepeer to change it)`);
  if ((values.address ?? []).length === 0) throw new MeshCommandError("addpeer: --address is required (repeat it for several addresses)");
  const next = copyDatabase(db);
  const row: MeshRow = { row: nextRowNumber(next), cells: { Name: name } };
  applyValues(row, { listenport: String(DEFAULT_LISTEN_PORT), ...values });
  if (cell(row, "PrivateKey") === "") row.cells["PrivateKey"] = newKey(random);
  next.rows.push(row);
  return check(next, file);
}

/** wg-meshconf `updatepeer NAME …`: overwrites the given values of an existing row. */
export function updatePeer(db: MeshDatabase, name: string, values: PeerValues, file: string): MeshDatabase {
  const next = copyDatabase(db);
  const row = findRow(next, name);
  if (row === undefined) throw new MeshCommandError(`peer ${name} does not exist in ${file}`);
  applyValues(row, values);
  return check(next, file);
}

/** wg-meshconf `delpeer NAME`. */
export function deletePeer(db: MeshDatabase, name: string, file: string): MeshDatabase {
  const row = findRow(db, name);
  if (row === undefined) throw new MeshCommandError(`peer ${name} does not exist in ${file}`);
  return { extraColumns: [...db.extraColumns], rows: db.rows.filter((r) => r !== row).map((r) => ({ row: r.row, cells: { ...r.cells } })) };
}

function nextRowNumber(db: MeshDatabase): number {
  return db.rows.reduce((max, row) => Math.max(max, row.row), 1) + 1;
}
