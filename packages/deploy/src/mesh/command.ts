/**
 * `wg-deploy mesh`: wg-meshconf's command line (k4yt3x/wg-meshconf 2.5), on the same CSV database.
 *
 *     wg-deploy mesh [-d database.csv] init
 *     wg-deploy mesh addpeer NAME --address 10.1.0.1/16 [--address …] [--endpoint host] [--allowedips cidr …]
 *                    [--privatekey KEY] [--listenport 51820] [--persistentkeepalive S] [--fwmark M] [--dns D]
 *                    [--mtu N] [--table T] [--preup C] [--postup C] [--predown C] [--postdown C] [--saveconfig]
 *     wg-deploy mesh updatepeer NAME [same options]
 *     wg-deploy mesh delpeer NAME
 *     wg-deploy mesh showpeers [NAME] [-s|--simplify] [-v|--verbose]   (all columns unless -s)
 *     wg-deploy mesh genconfig [NAME] [-o output]
 *
 * Differences from wg-meshconf: errors (unknown peer, existing name, bad value) exit with status 1
 * and name the row and column instead of printing a notice or a Python traceback; `init` does not
 * insist on an Endpoint (a peer behind NAT has none; the others then just do not dial it); the
 * `--with-psk` extension of some forks is not supported.
 */
import { randomFillSync } from "node:crypto";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { INTERFACE_NAME as WG_QUICK_INTERFACE_NAME } from "@wg-ts/daemon/config";
import { Command, Option } from "commander";
import { DEFAULT_DATABASE, emptyDatabase, MeshDatabaseError, readMeshDatabase, writeMeshDatabase, type MeshDatabase } from "./database.js";
import { genconfigProblems, writeMeshConfigs } from "./genconfig.js";
import { addPeer, deletePeer, initDatabase, MeshCommandError, updatePeer, type PeerValues, type RandomFill } from "./operations.js";
import { showPeers } from "./showpeers.js";
import { MeshValidationError, validateMesh } from "./validate.js";

/** Where the mesh command writes and reads (wg-deploy's `DeployIo` fits). */
export interface MeshIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** directory relative paths are resolved against */
  readonly cwd: string;
  /** randomness for new private keys; default `crypto.randomFillSync` */
  readonly random?: RandomFill;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** The options shared by addpeer and updatepeer (names and help as in wg-meshconf). */
function addPeerOptions(command: Command, forAdd: boolean): Command {
  const address = new Option("--address <address>", "address of the server (repeat for several)").argParser(collect);
  return command
    .addOption(forAdd ? address.makeOptionMandatory() : address)
    .option("--endpoint <endpoint>", "peer's public endpoint address (host only; the port is --listenport)")
    .addOption(new Option("--allowedips <cidr>", "additional allowed IP addresses (repeat for several)").argParser(collect))
    .option("--privatekey <key>", "private key of server interface (generated if omitted)")
    .addOption(new Option("--listenport <port>", "port to listen on").default(forAdd ? "51820" : undefined))
    .option("--persistentkeepalive <seconds>", "set persistent keepalive interval")
    .option("--fwmark <mark>", "fwmark for outgoing packets")
    .option("--dns <dns>", "server interface DNS servers")
    .option("--mtu <mtu>", "server interface MTU")
    .option("--table <table>", "server routing table")
    .option("--preup <command>", "command to run before interface is up")
    .option("--postup <command>", "command to run after interface is up")
    .option("--predown <command>", "command to run before interface is down")
    .option("--postdown <command>", "command to run after interface is down")
    .option("--saveconfig", "save server interface to config upon shutdown");
}

function peerValues(options: Record<string, unknown>): PeerValues {
  const values: PeerValues = {};
  for (const key of ["endpoint", "privatekey", "listenport", "persistentkeepalive", "fwmark", "dns", "mtu", "table", "preup", "postup", "predown", "postdown"] as const) {
    const value = options[key];
    if (typeof value === "string") values[key] = value;
  }
  if (Array.isArray(options["address"])) values.address = options["address"] as string[];
  if (Array.isArray(options["allowedips"])) values.allowedips = options["allowedips"] as string[];
  if (options["saveconfig"] === true) values.saveconfig = true;
  return values;
}

/**
 * Builds the `mesh` command. Errors are thrown as commander errors (exit status 1, message already
 * written to `io.stderr`) for the caller's `parseAsync` to turn into an exit status.
 */
export function meshCommand(io: MeshIo): Command {
  const random: RandomFill = io.random ?? ((out) => void randomFillSync(out));
  const mesh = new Command("mesh")
    .description("wg-meshconf-compatible full-mesh configuration: a CSV database of peers -> one wg-quick file per peer")
    .option("-d, --database <path>", "path where the database file is stored", DEFAULT_DATABASE);

  const databasePath = (command: Command): string => resolve(io.cwd, String(command.optsWithGlobals()["database"] ?? DEFAULT_DATABASE));

  const load = async (path: string): Promise<MeshDatabase> => (await readMeshDatabase(path)) ?? emptyDatabase();

  /** Runs an action; known user errors become a one-line message and exit status 1. */
  const run =
    <A extends unknown[]>(action: (this: Command, ...args: A) => Promise<void>) =>
    async function (this: Command, ...args: A): Promise<void> {
      try {
        await action.apply(this, args);
      } catch (error) {
        if (error instanceof MeshValidationError || error instanceof MeshCommandError || error instanceof MeshDatabaseError || isFileError(error)) {
          this.error(`wg-deploy mesh: ${(error as Error).message}`, { exitCode: 1, code: "wg-deploy.mesh" });
        }
        throw error;
      }
    };

  mesh
    .command("init")
    .description("create an empty database, or fill in the missing ListenPorts and private keys")
    .action(
      run(async function (this: Command) {
        const path = databasePath(this);
        const db = await readMeshDatabase(path);
        if (db === undefined) {
          await writeMeshDatabase(path, emptyDatabase());
          io.stdout(`Empty database file ${path} has been created\n`);
          return;
        }
        await writeMeshDatabase(path, initDatabase(db, random, path));
      }),
    );

  addPeerOptions(mesh.command("addpeer").argument("<name>", "Name used to identify this node"), true)
    .description("add a peer (a private key is generated unless --privatekey is given)")
    .action(
      run(async function (this: Command, name: string, options: Record<string, unknown>) {
        const path = databasePath(this);
        await writeMeshDatabase(path, addPeer(await load(path), name, peerValues(options), random, path));
      }),
    );

  addPeerOptions(mesh.command("updatepeer").argument("<name>", "Name used to identify this node"), false)
    .description("overwrite the given values of an existing peer")
    .action(
      run(async function (this: Command, name: string, options: Record<string, unknown>) {
        const path = databasePath(this);
        await writeMeshDatabase(path, updatePeer(await load(path), name, peerValues(options), path));
      }),
    );

  mesh
    .command("delpeer")
    .argument("<name>", "Name of peer to delete")
    .description("delete a peer")
    .action(
      run(async function (this: Command, name: string) {
        const path = databasePath(this);
        await writeMeshDatabase(path, deletePeer(await load(path), name, path));
      }),
    );

  mesh
    .command("showpeers")
    .argument("[name]", "Name of the peer to query")
    .option("-s, --simplify", "omit the columns that are empty for every peer")
    .option("-v, --verbose", "display all columns despite they hold empty values (the default)")
    .description("print the peers as a table (the database's own view: includes private keys)")
    .action(
      run(async function (this: Command, name: string | undefined, options: { simplify?: boolean; verbose?: boolean }) {
        const path = databasePath(this);
        const db = await load(path);
        if (name !== undefined && !db.rows.some((row) => (row.cells["Name"] ?? "").trim() === name)) {
          throw new MeshCommandError(`peer ${name} does not exist in ${path}`);
        }
        io.stdout(showPeers(db, { ...(name === undefined ? {} : { name }), simplify: options.simplify === true && options.verbose !== true }));
      }),
    );

  mesh
    .command("genconfig")
    .argument("[name]", "Name of the peer to generate configuration for; all peers if omitted")
    .option("-o, --output <dir>", "configuration file output directory", "output")
    .description("write <name>.conf (mode 0600) for each peer, listing every other peer")
    .action(
      run(async function (this: Command, name: string | undefined, options: { output: string }) {
        const path = databasePath(this);
        const db = await readMeshDatabase(path);
        if (db === undefined) throw new MeshCommandError(`${path} does not exist (create it with init or addpeer)`);
        const { peers, problems } = validateMesh(db, { requirePrivateKeys: true });
        problems.push(...genconfigProblems(peers));
        if (problems.length > 0) throw new MeshValidationError(path, problems);
        const selected = name === undefined ? peers : peers.filter((peer) => peer.name === name);
        if (selected.length === 0) throw new MeshCommandError(name === undefined ? `${path} has no peers` : `peer ${name} does not exist in ${path}`);
        const output = resolve(io.cwd, options.output);
        const existing = await stat(output).catch(() => undefined);
        if (existing !== undefined && !existing.isDirectory()) throw new MeshCommandError(`${output}: output path already exists and is not a directory`);
        for (const peer of selected) {
          if (!WG_QUICK_INTERFACE_NAME.test(peer.name)) {
            io.stderr(`note: wg-quick names the interface after the file; rename ${peer.name}.conf to a name of 1-15 characters [a-zA-Z0-9_=+.-] when installing it\n`);
          }
        }
        for (const file of await writeMeshConfigs(output, selected, peers)) io.stderr(`wrote ${file}\n`);
      }),
    );

  for (const command of [mesh, ...mesh.commands]) {
    command.configureOutput({ writeOut: (text) => io.stdout(text), writeErr: (text) => io.stderr(text) }).exitOverride();
  }
  return mesh;
}

function isFileError(error: unknown): boolean {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === "string" && (error as NodeJS.ErrnoException).syscall !== undefined;
}

/**
 * Runs `mesh` with the arguments after it (e.g. `["addpeer", "a", "--address", "10.0.0.1/24"]`).
 * @returns the exit status (0 on success)
 */
export async function runMesh(args: readonly string[], io: MeshIo): Promise<number> {
  const command = meshCommand(io);
  try {
    await command.parseAsync([...args], { from: "user" });
    return 0;
  } catch (error) {
    const exitCode = (error as { exitCode?: unknown }).exitCode;
    if (typeof exitCode === "number") return exitCode;
    throw error;
  }
}
