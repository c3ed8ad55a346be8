/**
 * wg-deploy mesh (wg-meshconf compatible): the CSV database, validation messages, the verbs, and the
 * generated wg-quick files checked by the real wg-quick parser (`wg-quick strip`), the real `wg pubkey`
 * and wg-ts's own config parser.
 */
import { execFileSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatMeshDatabase, MESH_COLUMNS, parseMeshDatabase } from "../src/mesh/database.js";
import { renderMeshConfig } from "../src/mesh/genconfig.js";
import { runMesh } from "../src/mesh/command.js";
import { validateMesh } from "../src/mesh/validate.js";
// wg-ts's own wg-quick parser (the deploy package does not depend on the daemon; the test reads its source).
import { parseConfig } from "../../wg-daemon/src/config.js";

const FIXTURE = new URL("./fixtures/mesh-wg-meshconf.csv", import.meta.url);
const fixtureText = readFileSync(FIXTURE, "utf8");


function wgPubkey(privateKey: string): string {
  return execFileSync("wg", ["pubkey"], { input: `${privateKey}\n` }).toString().trim();
}

/** Runs `wg-quick strip` on a copy named like an interface; returns what wg(8) would get. */
function wgQuickStrip(configPath: string, dir: string, iface: string): string {
  const copy = join(dir, `${iface}.conf`);
  copyFileSync(configPath, copy);
  return execFileSync("wg-quick", ["strip", copy], { stdio: ["ignore", "pipe", "pipe"] }).toString();
}

/** Cells of the fixture: Name -> column -> value. */
function fixtureCells(): Map<string, Record<string, string>> {
  const db = parseMeshDatabase(fixtureText);
  return new Map(db.rows.map((r) => [r.cells["Name"] ?? "", r.cells]));
}

let dir: string;
let out: string[];
let err: string[];
const io = () => ({
  stdout: (t: string) => void out.push(t),
  stderr: (t: string) => void err.push(t),
  random: (b: Uint8Array) => void randomFillSync(b),
  cwd: dir,
});
const mesh = (...args: string[]) => runMesh(args, io());
const dbPath = () => join(dir, "database.csv");
const mode = (path: string) => statSync(path).mode & 0o777;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "wg-mesh-"));
  out = [];
  err = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("database (wg-meshconf CSV)", () => {
  it("reads a wg-meshconf file and writes it back byte for byte", () => {
    expect(fixtureText).toContain('"Name","Address","Endpoint","AllowedIPs","ListenPort"'); // the fixture is the real format
    expect(fixtureText.split("\r\n")).toHaveLength(6); // header + 4 peers + final CRLF
    const db = parseMeshDatabase(fixtureText, "fixture.csv");
    expect(db.rows.map((r) => r.cells["Name"])).toEqual(["tokyo1", "germany1", "canada1", "shanghai1"]);
    expect(db.rows[1]?.cells["PostUp"]).toBe('logger "germany1, up"');
    expect(db.rows[1]?.cells["Address"]).toBe("10.2.0.1/16,fd00:2::1/64");
    expect(formatMeshDatabase(db)).toBe(fixtureText);
  });

  it("reads what a spreadsheet saves (BOM, LF, no quotes, other column order) and writes the canonical form", () => {
    const cells = fixtureCells().get("tokyo1") ?? {};
    const order = ["PrivateKey", "Name", "Endpoint", "Address", "ListenPort"];
    const text = `\uFEFF${order.join(",")}\n${order.map((c) => cells[c]).join(",")}\n`;
    const written = formatMeshDatabase(parseMeshDatabase(text));
    expect(written.split("\r\n")[0]).toBe(MESH_COLUMNS.map((c) => `"${c}"`).join(","));
    expect(written.split("\r\n")[1]).toBe(fixtureText.split("\r\n")[1]);
  });

  it("reads a file whose appended rows end with LF while the others end with CRLF", () => {
    const appended = `${fixtureText}"extra1","10.9.0.1/16","extra1.example","","51820","","","","","","","","","","",""\n`;
    const db = parseMeshDatabase(appended);
    expect(db.rows.map((r) => [r.cells["Name"], r.cells["SaveConfig"]])).toContainEqual(["extra1", ""]);
    expect(formatMeshDatabase(db).startsWith(fixtureText)).toBe(true);
  });

  it("keeps columns it does not know (forks' PresharedKeys)", () => {
    const text = `"Name","Address","PresharedKeys"\r\n"a","10.0.0.1/24","x:y:z"\r\n`;
    const written = formatMeshDatabase(parseMeshDatabase(text));
    expect(written.split("\r\n")[0]?.endsWith(',"SaveConfig","PresharedKeys"')).toBe(true);
    expect(written).toContain('"x:y:z"');
  });

  it("names the row of a malformed file", () => {
    expect(() => parseMeshDatabase(`"Name","Address"\r\n"a","10.0.0.1/24","x","y"\r\n`, "db.csv")).toThrow(/db\.csv row 2: 4 fields but the header has 2 columns/);
    expect(() => parseMeshDatabase(`"Address"\r\n"10.0.0.1/24"\r\n`, "db.csv")).toThrow(/db\.csv row 1: no "Name" column/);
    expect(() => parseMeshDatabase(`"Name","Name"\r\n`, "db.csv")).toThrow(/row 1, column Name: the column appears twice/);
    expect(() => parseMeshDatabase(`"Name"\r\n"a\r\n`, "db.csv")).toThrow(/db\.csv: not a valid CSV file/);
  });
});

describe("validation messages name the row and the column", () => {
  const header = MESH_COLUMNS.join(",");
  const key = () => execFileSync("wg", ["genkey"]).toString().trim();
  const row = (values: Partial<Record<(typeof MESH_COLUMNS)[number], string>>) =>
    MESH_COLUMNS.map((c) => `"${(values[c] ?? "").replaceAll('"', '""')}"`).join(",");
  const problemsOf = (...rows: string[]) =>
    validateMesh(parseMeshDatabase([header, ...rows].join("\n"))).problems.map((p) => `row ${p.row} ${p.column}: ${p.message}`);

  it("bad key, bad address, bad CIDR, bad port, duplicate name", () => {
    const good = { Name: "a", Address: "10.0.0.1/24", ListenPort: "51820", PrivateKey: key() };
    const secret = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const problems = problemsOf(
      row(good),
      row({ ...good, Name: "b", Address: "10.0.0.2/24", PrivateKey: secret }),
      row({ ...good, Name: "c", Address: "10.0.300.3/24" }),
      row({ ...good, Name: "d", Address: "10.0.0.4/33" }),
      row({ ...good, Name: "e", Address: "10.0.0.5/24", ListenPort: "70000" }),
      row({ ...good, Address: "10.0.0.6/24" }),
      row({ ...good, Name: "g", Address: "10.0.0.7/24", Endpoint: "g.example:51820" }),
      row({ ...good, Name: "h", Address: "10.0.0.8/24", PostUp: "echo x # y" }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^row 3 PrivateKey: private key: expected 44 characters/),
      'row 4 Address: "10.0.300.3/24" is not an IPv4 or IPv6 address',
      'row 5 Address: "10.0.0.4/33" has a bad prefix length (0-32 for IPv4)',
      'row 6 ListenPort: "70000" is not a port (1-65535)',
      'row 7 Name: duplicate name: "a" is already the name of row 2',
      'row 8 Endpoint: "g.example:51820": write the host only; the port is taken from ListenPort',
      "row 9 PostUp: '#' starts a comment in wg-quick files: the command would be cut there",
    ]);
    expect(problems.join("\n")).not.toContain(secret.slice(0, 20)); // the key is never echoed
  });

  it("Endpoint: a host name or an address (IPv6 with or without brackets), never a port", () => {
    const endpoints = ["tokyo1.com", "192.0.2.1", "fd00::1", "[fd00::2]", "[fe80::1%eth0]", "[192.0.2.2]", "bad_host", "[fd00::3]:51820", "h.example:99999"];
    const validated = validateMesh(
      parseMeshDatabase([header, ...endpoints.map((e, i) => row({ Name: `p${i}`, Address: `10.0.0.${i + 1}/24`, Endpoint: e, PrivateKey: key() }))].join("\n")),
    );
    expect(validated.peers.map((p) => p.endpoint)).toEqual(["tokyo1.com", "192.0.2.1", "fd00::1", "fd00::2", "fe80::1%eth0"]);
    expect(validated.problems.map((p) => `row ${p.row} ${p.column}: ${p.message}`)).toEqual([
      'row 7 Endpoint: "[192.0.2.2]" is not a host name or an IP address',
      'row 8 Endpoint: "bad_host" is not a host name or an IP address',
      'row 9 Endpoint: "[fd00::3]:51820": write the host only; the port is taken from ListenPort',
      'row 10 Endpoint: "h.example:99999": write the host only; the port is taken from ListenPort',
    ]);
  });

  it("a prefix routed to two peers", () => {
    const problems = problemsOf(
      row({ Name: "a", Address: "10.0.0.1/32", AllowedIPs: "0.0.0.0/0", PrivateKey: key() }),
      row({ Name: "b", Address: "10.0.0.2/32", AllowedIPs: "0.0.0.0/0,10.5.0.0/16", PrivateKey: key() }),
    );
    expect(problems).toEqual(["row 3 AllowedIPs: 0.0.0.0/0 is also routed to a (row 2); WireGuard sends a prefix to one peer only"]);
  });

  it("a line break inside a cell", () => {
    const problems = problemsOf(row({ Name: "a", Address: "10.0.0.1/24", PostUp: "true\n[Peer]" }));
    expect(problems).toEqual(["row 2 PostUp: line breaks are not allowed (the value goes on one line of a wg-quick file)"]);
  });
});

describe("genconfig", () => {
  it("writes one 0600 file per peer that wg-quick and wg-ts accept, listing every other peer", async () => {
    writeFileSync(dbPath(), fixtureText);
    expect(await mesh("genconfig", "-o", "configs")).toBe(0);
    const outDir = join(dir, "configs");
    const files = readdirSync(outDir).sort();
    expect(files).toEqual(["canada1.conf", "germany1.conf", "shanghai1.conf", "tokyo1.conf"]);
    const cells = fixtureCells();
    const endpoints: Record<string, string> = {
      tokyo1: "tokyo1.com:51820",
      germany1: "germany1.com:51821",
      canada1: "203.0.113.7:51820",
      shanghai1: "[2001:db8::4]:51820",
    };
    const allowed: Record<string, string> = {
      tokyo1: "10.1.0.1/16",
      germany1: "10.2.0.1/16, fd00:2::1/64, 192.168.20.0/24, 192.168.21.0/24",
      canada1: "10.3.0.1/16",
      shanghai1: "10.4.0.1/16",
    };
    for (const [index, file] of files.entries()) {
      const path = join(outDir, file);
      const self = file.replace(/\.conf$/, "");
      expect(mode(path)).toBe(0o600);
      const text = readFileSync(path, "utf8");
      // the real wg-quick parser: what it passes to wg(8)
      const stripped = wgQuickStrip(path, dir, `wgm${index}`);
      expect(stripped).toContain(`PrivateKey = ${cells.get(self)?.["PrivateKey"]}`);
      expect(stripped).not.toMatch(/^Address|^MTU|^DNS|^Table|^PostUp|^SaveConfig/m); // wg-quick consumed its own keys
      const peerBlocks = text.split("\n[Peer]\n").slice(1);
      expect(peerBlocks).toHaveLength(3);
      for (const [name, rowCells] of cells) {
        if (name === self) continue;
        const block = peerBlocks.find((b) => b.startsWith(`# Name: ${name}\n`));
        expect(block, `${file} lists ${name}`).toBeDefined();
        expect(block).toContain(`PublicKey = ${wgPubkey(rowCells["PrivateKey"] ?? "")}\n`);
        expect(block).toContain(`Endpoint = ${endpoints[name]}\n`);
        expect(block).toContain(`AllowedIPs = ${allowed[name]}\n`);
        expect(block?.includes("PersistentKeepalive = 25")).toBe(name === "germany1");
        expect(stripped).toContain(`PublicKey = ${wgPubkey(rowCells["PrivateKey"] ?? "")}`);
        expect(text).not.toContain(rowCells["PrivateKey"] ?? "<none>"); // other peers' secrets stay out
      }
      expect(parseConfig(text, file).peers).toHaveLength(3);
    }
    const germany = readFileSync(join(outDir, "germany1.conf"), "utf8");
    expect(germany).toMatch(/^\[Interface\]\n# Name: germany1\nAddress = 10\.2\.0\.1\/16, fd00:2::1\/64\nPrivateKey = \S+\nListenPort = 51821\nMTU = 1380\nPostUp = logger "germany1, up"\nSaveConfig = true\n\n\[Peer\]/);
    const canada = readFileSync(join(outDir, "canada1.conf"), "utf8");
    expect(canada).toContain("ListenPort = 51820\nFwMark = 0x1234\nDNS = 10.3.0.53,corp.example\nTable = off\n");
    expect(wgQuickStrip(join(outDir, "canada1.conf"), dir, "wgmc")).toContain("FwMark = 0x1234");
  });

  it("genconfig NAME writes only that peer; unknown names and missing keys are errors", async () => {
    writeFileSync(dbPath(), fixtureText);
    expect(await mesh("genconfig", "canada1")).toBe(0);
    expect(readdirSync(join(dir, "output"))).toEqual(["canada1.conf"]);
    writeFileSync(join(dir, "afile"), "");
    expect(await mesh("genconfig", "-o", "afile")).toBe(1);
    expect(err.join("")).toMatch(/afile: output path already exists and is not a directory/);
    expect(await mesh("genconfig", "nobody")).toBe(1);
    expect(err.join("")).toContain("peer nobody does not exist");
    writeFileSync(dbPath(), fixtureText.replace(/"[A-Za-z0-9+/]{43}="/, '""'));
    expect(await mesh("genconfig", "-o", "o2")).toBe(1);
    expect(err.join("")).toContain("row 2 (tokyo1), column PrivateKey: missing: run `init`");
    expect(existsSync(join(dir, "o2"))).toBe(false);
  });

  it("peers sharing one subnet get host routes (wg-meshconf's verbatim /16 would route it to one peer only)", async () => {
    for (const [name, address] of [["host1", "10.10.10.1/16"], ["host2", "10.10.10.2/16"], ["host3", "10.10.10.3/16"]] as const) {
      expect(await mesh("addpeer", name, "--address", address, "--endpoint", `${name}.example`)).toBe(0);
    }
    expect(await mesh("genconfig")).toBe(0);
    const host1 = readFileSync(join(dir, "output", "host1.conf"), "utf8");
    expect(host1).toContain("Address = 10.10.10.1/16\n");
    expect(host1).toContain("AllowedIPs = 10.10.10.2/32\n");
    expect(host1).toContain("AllowedIPs = 10.10.10.3/32\n");
    wgQuickStrip(join(dir, "output", "host1.conf"), dir, "wgmh1");
  });
});

describe("verbs", () => {
  it("init creates an empty 0600 database, then fills in ListenPort and missing private keys only", async () => {
    expect(await mesh("init")).toBe(0);
    expect(out.join("")).toContain(`Empty database file ${dbPath()} has been created`);
    expect(readFileSync(dbPath(), "utf8")).toBe(`${MESH_COLUMNS.map((c) => `"${c}"`).join(",")}\r\n`);
    expect(mode(dbPath())).toBe(0o600);

    const keptKey = fixtureCells().get("tokyo1")?.["PrivateKey"] ?? "";
    writeFileSync(dbPath(), `Name,Address,Endpoint,PrivateKey\na,10.0.0.1/24,a.example,${keptKey}\nb,10.0.0.2/24,b.example,\n`, { mode: 0o644 });
    expect(await mesh("init")).toBe(0);
    const db = parseMeshDatabase(readFileSync(dbPath(), "utf8"));
    expect(db.rows.map((r) => r.cells["ListenPort"])).toEqual(["51820", "51820"]);
    expect(db.rows[0]?.cells["PrivateKey"]).toBe(keptKey);
    const generated = db.rows[1]?.cells["PrivateKey"] ?? "";
    expect(generated).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(wgPubkey(generated)).toMatch(/^[A-Za-z0-9+/]{43}=$/); // wg accepts the generated key
    expect(mode(dbPath())).toBe(0o600);
    expect(out.join("") + err.join("")).not.toContain(generated); // init never prints keys
  });

  it("init refuses rows it cannot complete and leaves the file unchanged", async () => {
    const text = "Name,Address,Endpoint\na,,a.example\nb,10.0.0.2/24,b.example\n";
    writeFileSync(dbPath(), text);
    expect(await mesh("init")).toBe(1);
    expect(err.join("")).toContain("database.csv row 2 (a), column Address: missing");
    expect(readFileSync(dbPath(), "utf8")).toBe(text);
  });

  it("addpeer, updatepeer, delpeer, showpeers (-d, repeated --address, defaults)", async () => {
    const db = join(dir, "mesh.csv");
    expect(await mesh("-d", db, "addpeer", "tokyo1", "--address", "10.1.0.1/16", "--address", "fd00:1::1/64", "--endpoint", "tokyo1.com")).toBe(0);
    expect(await mesh("-d", db, "addpeer", "germany1", "--address", "10.2.0.1/16", "--endpoint", "germany1.com", "--saveconfig", "--mtu", "1380")).toBe(0);
    expect(mode(db)).toBe(0o600);
    let rows = parseMeshDatabase(readFileSync(db, "utf8")).rows;
    expect(rows[0]?.cells).toMatchObject({ Name: "tokyo1", Address: "10.1.0.1/16,fd00:1::1/64", ListenPort: "51820", SaveConfig: "" });
    expect(rows[1]?.cells).toMatchObject({ SaveConfig: "True", MTU: "1380" });
    expect(out.join("") + err.join("")).toBe(""); // nothing printed, keys included

    expect(await mesh("-d", db, "updatepeer", "tokyo1", "--endpoint", "tokyo321.com", "--listenport", "51999")).toBe(0);
    rows = parseMeshDatabase(readFileSync(db, "utf8")).rows;
    expect(rows[0]?.cells).toMatchObject({ Endpoint: "tokyo321.com", ListenPort: "51999", Address: "10.1.0.1/16,fd00:1::1/64" });

    expect(await mesh("-d", db, "showpeers")).toBe(0);
    const full = out.join("");
    expect(full).toContain("| FwMark |"); // all columns by default
    expect(full).toContain(wgPubkey(rows[0]?.cells["PrivateKey"] ?? ""));
    out.length = 0;
    expect(await mesh("-d", db, "showpeers", "-s")).toBe(0);
    const simple = out.join("");
    expect(simple).not.toContain("FwMark");
    expect(simple).toContain("| MTU ");
    out.length = 0;
    expect(await mesh("-d", db, "showpeers", "germany1", "--simplify")).toBe(0);
    expect(out.join("")).not.toContain("tokyo");

    expect(await mesh("-d", db, "delpeer", "tokyo1")).toBe(0);
    expect(parseMeshDatabase(readFileSync(db, "utf8")).rows.map((r) => r.cells["Name"])).toEqual(["germany1"]);
  });

  it("bad arguments: a message naming the column, exit 1, database unchanged", async () => {
    expect(await mesh("addpeer", "a", "--address", "10.0.0.1/24")).toBe(0);
    const before = readFileSync(dbPath(), "utf8");
    const cases: [string[], RegExp][] = [
      [["addpeer", "a", "--address", "10.0.0.9/24"], /peer a already exists/],
      [["addpeer", "b", "--address", "10.0.0.2/24", "--listenport", "x"], /row 3 \(b\), column ListenPort: "x" is not a port/],
      [["addpeer", "b", "--address", "10.0.0.2/99"], /column Address: "10\.0\.0\.2\/99" has a bad prefix length/],
      [["addpeer", "b", "--address", "10.0.0.2/24", "--privatekey", "not-a-key"], /column PrivateKey: private key: expected 44 characters/],
      [["addpeer", "b"], /required option '--address <address>' not specified/],
      [["updatepeer", "zz", "--mtu", "1400"], /peer zz does not exist/],
      [["updatepeer", "a", "--mtu", "9"], /column MTU: "9" is not an MTU/],
      [["delpeer", "zz"], /peer zz does not exist/],
      [["showpeers", "zz"], /peer zz does not exist/],
    ];
    for (const [args, message] of cases) {
      err.length = 0;
      expect(await mesh(...args), args.join(" ")).toBe(1);
      expect(err.join(""), args.join(" ")).toMatch(message);
      expect(readFileSync(dbPath(), "utf8")).toBe(before);
    }
  });
});

describe("renderMeshConfig", () => {
  it("omits Endpoint for a peer without one and keeps wg-meshconf's section layout", () => {
    const key = "ICZ1ZJnxciMjuqPShy3MaxluUI0aKkZxPFTy8W6ms0M=";
    const key2 = "WF50LvBXfdovDM0GNfFcv4tNCP90Gh2UOlz8p4DUJXc=";
    const db = parseMeshDatabase(`Name,Address,PrivateKey,ListenPort\na,10.0.0.1/24,${key},51820\nb,10.0.1.1/24,${key2},\n`);
    const { peers, problems } = validateMesh(db, { requirePrivateKeys: true });
    expect(problems).toEqual([]);
    const [a, b] = peers;
    if (a === undefined || b === undefined) throw new Error("two peers expected");
    const text = renderMeshConfig(a, peers);
    expect(text.split("\n").slice(0, 5)).toEqual(["[Interface]", "# Name: a", "Address = 10.0.0.1/24", `PrivateKey = ${key}`, "ListenPort = 51820"]);
    expect(text).toContain("\n\n[Peer]\n# Name: b\nPublicKey = ");
    expect(text).not.toContain("Endpoint");
    expect(renderMeshConfig(b, peers)).not.toContain("ListenPort"); // b listens on a random port
  });
});
