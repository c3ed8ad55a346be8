/**
 * The wg-meshconf database: a CSV file, one peer per row, that can be edited in a spreadsheet.
 *
 * Format (wg-meshconf >= 2.4, `database_manager.py`): a header row, then one row per peer; every field
 * is quoted (Python `csv.QUOTE_ALL`), records end with CRLF (Python's "excel" dialect), list columns
 * (Address, AllowedIPs) join their items with "," and no space, an empty field means "not set",
 * booleans are written `True`/`False`. Reading is lenient like Python's `csv.DictReader` (unquoted
 * fields, LF endings, a UTF-8 BOM from Excel, columns in any order); writing always produces the
 * canonical form above, so a file written by wg-meshconf reads and writes back byte for byte.
 * Columns other than the 16 known ones (e.g. `PresharedKeys` from forks) are kept, after the known ones.
 *
 * Cells stay strings here; {@link ./validate.ts} turns rows into typed peers.
 */
import { chmod, open, readFile, rename, unlink } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";

/** The columns wg-meshconf writes, in its order. */
export const MESH_COLUMNS = [
  "Name",
  "Address",
  "Endpoint",
  "AllowedIPs",
  "ListenPort",
  "PersistentKeepalive",
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
] as const;

export type MeshColumn = (typeof MESH_COLUMNS)[number];

/** Columns holding lists, written joined by "," (wg-meshconf KEY_TYPE `list`). */
export const LIST_COLUMNS: ReadonlySet<string> = new Set(["Address", "AllowedIPs"]);

/** wg-meshconf's default database file name. */
export const DEFAULT_DATABASE = "database.csv";

/** One peer row: cell values by column name ("" = not set), and where it was read from. */
export interface MeshRow {
  cells: Record<string, string>;
  /** spreadsheet row number (the header is row 1); 0 for a row added by a command */
  row: number;
}

export interface MeshDatabase {
  /** extra columns found in the file, kept after {@link MESH_COLUMNS} */
  extraColumns: string[];
  rows: MeshRow[];
}

/** A problem with the database file itself (not with one value); the message names file, row and column. */
export class MeshDatabaseError extends Error {
  override name = "MeshDatabaseError";
}

/** An empty database (what `init` writes when the file does not exist). */
export function emptyDatabase(): MeshDatabase {
  return { extraColumns: [], rows: [] };
}

/** Reads one cell ("" when the column is absent). */
export function cell(row: MeshRow, column: string): string {
  return row.cells[column] ?? "";
}

/** The items of a list cell ("10.0.0.1/24,fd00::1/64" -> two items); empty items are dropped. */
export function listCell(row: MeshRow, column: string): string[] {
  return cell(row, column)
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/**
 * Parses database text.
 * @param file name used in messages
 * @throws MeshDatabaseError naming the row (and column) that is malformed
 */
export function parseMeshDatabase(text: string, file = DEFAULT_DATABASE): MeshDatabase {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { bom: true, record_delimiter: ["\r\n", "\n", "\r"], relax_column_count: true, skip_empty_lines: true, info: true }) as unknown as typeof records;
  } catch (error) {
    const e = error as { lines?: number; message?: string };
    throw new MeshDatabaseError(`${file}: not a valid CSV file${e.lines ? ` (line ${e.lines})` : ""}: ${e.message ?? error}`);
  }
  const [header, ...body] = records;
  if (header === undefined) return emptyDatabase();
  const columns = header.record.map((name) => name.trim());
  const seen = new Set<string>();
  for (const [index, name] of columns.entries()) {
    if (name === "") throw new MeshDatabaseError(`${file} row 1, column ${index + 1}: the header has an empty column name`);
    if (seen.has(name)) throw new MeshDatabaseError(`${file} row 1, column ${name}: the column appears twice in the header`);
    seen.add(name);
  }
  if (!seen.has("Name")) {
    throw new MeshDatabaseError(`${file} row 1: no "Name" column; expected wg-meshconf's header ${MESH_COLUMNS.map((c) => `"${c}"`).join(",")}`);
  }
  const known = new Set<string>(MESH_COLUMNS);
  const extraColumns = columns.filter((name) => !known.has(name));
  const rows = body.map(({ record }, index): MeshRow => {
    const row = index + 2;
    if (record.length > columns.length && record.slice(columns.length).some((value) => value !== "")) {
      throw new MeshDatabaseError(`${file} row ${row}: ${record.length} fields but the header has ${columns.length} columns`);
    }
    const cells: Record<string, string> = {};
    columns.forEach((name, i) => {
      cells[name] = record[i] ?? "";
    });
    return { cells, row };
  });
  return { extraColumns, rows };
}

/** Writes the database in wg-meshconf's canonical form (header, all fields quoted, CRLF). */
export function formatMeshDatabase(db: MeshDatabase): string {
  const columns = [...MESH_COLUMNS, ...db.extraColumns];
  return stringify(
    db.rows.map((row) => columns.map((name) => cell(row, name))),
    { header: true, columns, quoted: true, quoted_empty: true, record_delimiter: "\r\n" },
  );
}

/** Reads the database file; `undefined` if it does not exist. */
export async function readMeshDatabase(path: string): Promise<MeshDatabase | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new MeshDatabaseError(`${path}: cannot read the database: ${(error as Error).message}`);
  }
  return parseMeshDatabase(text, path);
}

/**
 * Writes the database file with mode 0600 (it holds private keys): a temporary file in the same
 * directory, created 0600, then renamed over the old one.
 */
export async function writeMeshDatabase(path: string, db: MeshDatabase): Promise<void> {
  await writePrivateFile(path, formatMeshDatabase(db));
}

/** Writes `text` to `path` readable by its owner only (0600), atomically (temp file + rename). */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  const handle = await open(temporary, "wx", 0o600);
  try {
    await handle.writeFile(text, "utf8");
    await handle.chmod(0o600); // the umask may have removed bits, never added them: make it exact
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await chmod(path, 0o600);
}
