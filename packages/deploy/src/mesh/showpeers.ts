/**
 * `showpeers`: the database as a text table, like wg-meshconf's (which prints a rich table).
 *
 * Columns follow wg-meshconf (Name, the interface attributes, then the peer attributes). Like
 * wg-meshconf it shows PrivateKey — the database is the user's own secret file and this verb is
 * its viewer — and, unlike wg-meshconf (whose PublicKey column is always empty), it fills PublicKey
 * from the private key. `simplify` drops the columns that are empty in every shown row.
 */
import { PrivateKey } from "@wg-ts/core";
import { cell, LIST_COLUMNS, listCell, type MeshDatabase, type MeshRow } from "./database.js";

/**
 * wg-meshconf's showpeers column order (INTERFACE_ATTRIBUTES then PEER_ATTRIBUTES): the database's
 * columns (database.ts MESH_COLUMNS) in another order, plus PublicKey. Both orders are wg-meshconf's, so both are spelled out.
 */
export const SHOWPEERS_COLUMNS = [
  "Name",
  "Address",
  "ListenPort",
  "FwMark",
  "PrivateKey",
  "DNS",
  "MTU",
  "Table",
  "PreUp",
  "PostUp",
  "PreDown",
  "PostDown",
  "SaveConfig",
  "PublicKey",
  "AllowedIPs",
  "Endpoint",
  "PersistentKeepalive",
] as const;

function publicKeyCell(row: MeshRow): string {
  try {
    return PrivateKey.fromBase64(cell(row, "PrivateKey").trim()).publicKey().toBase64();
  } catch {
    return "";
  }
}

function value(row: MeshRow, column: string): string {
  if (column === "PublicKey") return publicKeyCell(row);
  if (LIST_COLUMNS.has(column)) return listCell(row, column).join(",");
  return cell(row, column).trim();
}

/** Renders rows as a boxed text table. */
export function renderTable(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((name, i) => Math.max(name.length, ...rows.map((r) => (r[i] ?? "").length)));
  const rule = (char: string): string => `+${widths.map((w) => char.repeat(w + 2)).join("+")}+`;
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  const out = [rule("-"), line(columns), rule("=")];
  for (const row of rows) out.push(line(row), rule("-"));
  return `${out.join("\n")}\n`;
}

/**
 * The showpeers table.
 * @param name only this peer (the caller checks it exists)
 * @param simplify omit columns that are empty for every shown peer
 */
export function showPeers(db: MeshDatabase, options: { name?: string; simplify?: boolean } = {}): string {
  const rows = db.rows.filter((row) => options.name === undefined || cell(row, "Name").trim() === options.name);
  const table = rows.map((row) => SHOWPEERS_COLUMNS.map((column) => value(row, column)));
  const keep = SHOWPEERS_COLUMNS.map((column, i) => column === "Name" || !options.simplify || table.some((r) => r[i] !== ""));
  return renderTable(
    SHOWPEERS_COLUMNS.filter((_, i) => keep[i]),
    table.map((r) => r.filter((_, i) => keep[i])),
  );
}
