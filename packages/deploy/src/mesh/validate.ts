/**
 * Checks a wg-meshconf database row by row and turns it into typed {@link MeshPeer}s.
 *
 * Every problem names the file, the spreadsheet row, the peer and the column, e.g.
 * `database.csv row 3 (tokyo1), column ListenPort: "70000" is not a port (1-65535)`, and never the
 * value of a private key. Validation collects all problems instead of stopping at the first one, so a
 * spreadsheet can be fixed in one pass.
 *
 * What is accepted is what wg-quick(8) and wg(8) accept for the value's config key, plus two mesh
 * rules: names are unique and usable as file names (genconfig writes `<Name>.conf`), and no
 * AllowedIPs prefix is routed to two different peers (WireGuard would give it to only one of them).
 */
import { parseEndpointHost, parseEndpointText, PrivateKey } from "@wg-ts/core";
import { cell, listCell, type MeshDatabase, type MeshRow } from "./database.js";
import { hostPrefix, networkKey, parsePrefix, type Prefix } from "./ip.js";

/** wg-meshconf's and WireGuard's default ListenPort. */
export const DEFAULT_LISTEN_PORT = 51820;

/** A prefix with the text it was written as. */
export interface WrittenPrefix {
  text: string;
  prefix: Prefix;
}

/** One peer of the mesh, validated. Optional values are absent when their cell is empty. */
export interface MeshPeer {
  name: string;
  /** spreadsheet row (header = 1) */
  row: number;
  addresses: WrittenPrefix[];
  /** host name or IP address, without port (the port is {@link listenPort}) */
  endpoint?: string;
  allowedIps: WrittenPrefix[];
  listenPort?: number;
  persistentKeepalive?: number;
  fwMark?: string;
  privateKey?: PrivateKey;
  dns?: string;
  mtu?: number;
  table?: string;
  preUp?: string;
  postUp?: string;
  preDown?: string;
  postDown?: string;
  saveConfig?: boolean;
}

/** One problem found in one cell (or row). */
export interface MeshProblem {
  row: number;
  peer: string;
  column: string;
  message: string;
}

/** Formats a problem as `file row N (peer), column C: message`. */
export function formatProblem(file: string, problem: MeshProblem): string {
  const where = problem.row > 0 ? `row ${problem.row}` : "new row";
  const peer = problem.peer === "" ? "" : ` (${problem.peer})`;
  return `${file} ${where}${peer}, column ${problem.column}: ${problem.message}`;
}

/** Thrown by commands when validation fails; carries every problem. */
export class MeshValidationError extends Error {
  override name = "MeshValidationError";
  constructor(
    readonly file: string,
    readonly problems: readonly MeshProblem[],
  ) {
    super(problems.map((p) => formatProblem(file, p)).join("\n"));
  }
}

const PEER_NAME = /^[A-Za-z0-9_=+.@-]+$/;
const TABLE_NAME = /^(?:off|auto|\d+|[A-Za-z_][A-Za-z0-9_-]*)$/;

function integerIn(text: string, min: number, max: number): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= max ? value : undefined;
}

/** What {@link validateMesh} must insist on besides well-formed values. */
export interface ValidateOptions {
  /** every peer needs a PrivateKey (genconfig) — otherwise empty keys are fine (init fills them) */
  requirePrivateKeys?: boolean;
}

export interface ValidationResult {
  peers: MeshPeer[];
  problems: MeshProblem[];
}

/** Validates every row; `peers` holds the rows that had no problem. */
export function validateMesh(db: MeshDatabase, options: ValidateOptions = {}): ValidationResult {
  const peers: MeshPeer[] = [];
  const problems: MeshProblem[] = [];
  const firstRowOfName = new Map<string, number>();
  for (const row of db.rows) {
    const { peer, problems: rowProblems } = validateRow(row, options);
    const name = cell(row, "Name").trim();
    const first = firstRowOfName.get(name);
    if (name !== "" && first !== undefined) {
      rowProblems.push({ row: row.row, peer: name, column: "Name", message: `duplicate name: "${name}" is already the name of row ${first}` });
    } else if (name !== "") {
      firstRowOfName.set(name, row.row);
    }
    problems.push(...rowProblems);
    if (rowProblems.length === 0 && peer !== undefined) peers.push(peer);
  }
  problems.push(...findRoutingConflicts(peers));
  return { peers, problems };
}

/** Validates one row. */
export function validateRow(row: MeshRow, options: ValidateOptions = {}): { peer?: MeshPeer; problems: MeshProblem[] } {
  const name = cell(row, "Name").trim();
  const problems: MeshProblem[] = [];
  const problem = (column: string, message: string): void => {
    problems.push({ row: row.row, peer: name, column, message });
  };

  // A line break or '#' inside any value would change the meaning of the generated wg-quick file.
  for (const [column, value] of Object.entries(row.cells)) {
    if (/[\r\n]/.test(value)) problem(column, "line breaks are not allowed (the value goes on one line of a wg-quick file)");
  }

  if (name === "") problem("Name", "missing: every peer needs a name");
  else if (!PEER_NAME.test(name) || name === "." || name === "..") {
    problem("Name", `"${name}" cannot name a file <Name>.conf (use letters, digits and _ = + . @ -)`);
  }

  const addresses: WrittenPrefix[] = [];
  const addressItems = listCell(row, "Address");
  if (addressItems.length === 0) problem("Address", "missing: every peer needs at least one address (e.g. 10.0.0.1/24); it cannot be generated");
  for (const text of addressItems) {
    const prefix = parsePrefix(text);
    if ("error" in prefix) problem("Address", prefix.error);
    else addresses.push({ text, prefix });
  }

  const allowedIps: WrittenPrefix[] = [];
  for (const text of listCell(row, "AllowedIPs")) {
    const prefix = parsePrefix(text);
    if ("error" in prefix) problem("AllowedIPs", prefix.error);
    else allowedIps.push({ text, prefix });
  }

  const peer: MeshPeer = { name, row: row.row, addresses, allowedIps };

  const endpoint = cell(row, "Endpoint").trim();
  if (endpoint !== "") {
    // wg-core's endpoint parser: the host alone, or (a mistake here) host and port.
    const host = parseEndpointHost(endpoint);
    const withPort = parseEndpointText(endpoint);
    if (host !== null) peer.endpoint = host.host;
    else if (!("problem" in withPort) || withPort.problem === "port") {
      problem("Endpoint", `"${endpoint}": write the host only; the port is taken from ListenPort`);
    } else problem("Endpoint", `"${endpoint}" is not a host name or an IP address`);
  }

  const listenPort = cell(row, "ListenPort").trim();
  if (listenPort !== "") {
    const port = integerIn(listenPort, 1, 65535);
    if (port === undefined) problem("ListenPort", `"${listenPort}" is not a port (1-65535)`);
    else peer.listenPort = port;
  }

  const keepalive = cell(row, "PersistentKeepalive").trim();
  if (keepalive !== "") {
    const seconds = integerIn(keepalive, 0, 65535);
    if (seconds === undefined) problem("PersistentKeepalive", `"${keepalive}" is not a number of seconds (0-65535)`);
    else peer.persistentKeepalive = seconds;
  }

  const fwMark = cell(row, "FwMark").trim();
  if (fwMark !== "") {
    const valid =
      fwMark === "off" ||
      (/^0x[0-9a-fA-F]{1,8}$/.test(fwMark) ? true : integerIn(fwMark, 0, 0xffffffff) !== undefined);
    if (!valid) problem("FwMark", `"${fwMark}" is not a firewall mark (a 32-bit number, 0x hex, or off)`);
    else peer.fwMark = fwMark;
  }

  const privateKey = cell(row, "PrivateKey").trim();
  if (privateKey !== "") {
    try {
      peer.privateKey = PrivateKey.fromBase64(privateKey, "private key");
    } catch (error) {
      problem("PrivateKey", `${(error as Error).message} (expected \`wg genkey\` output)`);
    }
  } else if (options.requirePrivateKeys) {
    problem("PrivateKey", "missing: run `init` to generate the missing private keys");
  }

  const dns = cell(row, "DNS").trim();
  if (dns !== "") peer.dns = dns;

  const mtu = cell(row, "MTU").trim();
  if (mtu !== "") {
    const value = integerIn(mtu, 68, 65535);
    if (value === undefined) problem("MTU", `"${mtu}" is not an MTU (68-65535)`);
    else peer.mtu = value;
  }

  const table = cell(row, "Table").trim();
  if (table !== "") {
    if (!TABLE_NAME.test(table)) problem("Table", `"${table}" is not a routing table (off, auto, a number or a name)`);
    else peer.table = table;
  }

  for (const column of ["PreUp", "PostUp", "PreDown", "PostDown"] as const) {
    const command = cell(row, column).trim();
    if (command === "") continue;
    if (command.includes("#")) problem(column, "'#' starts a comment in wg-quick files: the command would be cut there");
    else if (column === "PreUp") peer.preUp = command;
    else if (column === "PostUp") peer.postUp = command;
    else if (column === "PreDown") peer.preDown = command;
    else peer.postDown = command;
  }

  const saveConfig = cell(row, "SaveConfig").trim();
  if (saveConfig !== "") {
    if (!/^(true|false)$/i.test(saveConfig)) problem("SaveConfig", `"${saveConfig}" is not True or False`);
    else peer.saveConfig = saveConfig.toLowerCase() === "true";
  }

  return problems.length === 0 ? { peer, problems } : { problems };
}

/**
 * The AllowedIPs each peer gets in the other peers' configs: its Address items, then its AllowedIPs.
 *
 * wg-meshconf copies an Address verbatim (`10.1.0.1/16` routes 10.1.0.0/16 to that peer), which is
 * right when every site has its own subnet (seed 002's tokyo1 10.1.0.1/16, germany1 10.2.0.1/16 …).
 * When peers share a subnet (host1 10.10.10.1/16, host2 10.10.10.2/16), the verbatim copies are the
 * same prefix, WireGuard keeps it for the last peer only and the others are unreachable; then the
 * Address contributes only its host prefix (/32, /128).
 */
export function meshRoutes(peers: readonly MeshPeer[]): Map<MeshPeer, string[]> {
  const claims = new Map<string, Set<MeshPeer>>();
  const claim = (prefix: Prefix, peer: MeshPeer): void => {
    const key = networkKey(prefix);
    const owners = claims.get(key) ?? new Set<MeshPeer>();
    owners.add(peer);
    claims.set(key, owners);
  };
  for (const peer of peers) for (const { prefix } of [...peer.addresses, ...peer.allowedIps]) claim(prefix, peer);
  const routes = new Map<MeshPeer, string[]>();
  for (const peer of peers) {
    const list = peer.addresses.map(({ text, prefix }) =>
      (claims.get(networkKey(prefix))?.size ?? 0) > 1 ? hostPrefix(prefix) : text,
    );
    routes.set(peer, [...list, ...peer.allowedIps.map(({ text }) => text)]);
  }
  return routes;
}

/** Prefixes that {@link meshRoutes} would still route to two peers. */
function findRoutingConflicts(peers: readonly MeshPeer[]): MeshProblem[] {
  const owner = new Map<string, MeshPeer>();
  const problems: MeshProblem[] = [];
  for (const [peer, routes] of meshRoutes(peers)) {
    for (const text of routes) {
      const prefix = parsePrefix(text);
      if ("error" in prefix) continue; // cannot happen: every item was parsed during validation
      const key = networkKey(prefix);
      const other = owner.get(key);
      if (other !== undefined && other !== peer) {
        const column = peer.addresses.some((a) => hostPrefix(a.prefix) === text || a.text === text) ? "Address" : "AllowedIPs";
        problems.push({
          row: peer.row,
          peer: peer.name,
          column,
          message: `${text} is also routed to ${other.name} (row ${other.row}); WireGuard sends a prefix to one peer only`,
        });
      } else owner.set(key, peer);
    }
  }
  return problems;
}
