/**
 * The `wg-ts` command table (commander). Each command is a thin call into the programmatic
 * API (quick.ts, daemon.ts, keys.ts, format.ts); this file is the only one that knows about
 * process streams, signals and exit codes.
 *
 *   wg-ts up <name|path.conf> [--foreground]   like wg-quick up (daemon detached unless -f)
 *   wg-ts down <name|path.conf>                like wg-quick down
 *   wg-ts strip <name|path.conf>               like wg-quick strip
 *   wg-ts daemon <ifname>                      the bare daemon (like `wireguard-go -f IFNAME`)
 *   wg-ts genkey | genpsk | pubkey             like wg
 *   wg-ts show [ifname|all|interfaces]         like wg show (through the UAPI socket)
 *   wg-ts showconf <ifname>                    like wg showconf
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { ConfigError } from "./config.js";
import { startDaemon, type DaemonOptions, type RunningDaemon } from "./daemon.js";
import { formatShow, formatShowconf } from "./format.js";
import { generatePresharedKey, generatePrivateKey, parseBase64Key, publicKey, toBase64 } from "./keys.js";
import { down, loadConfig, uapiGet, up, type QuickEnv } from "./quick.js";
import { daemonNodeFlags } from "./node-flags.js";
import { makeRunner } from "./run.js";
import { isAlive, socketPath, UAPI_DIR } from "./uapi.js";

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<string>;
}

const defaultIo: CliIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  },
};

const BIN = fileURLToPath(new URL("../bin/wg-ts.js", import.meta.url));
/** The package's version (package.json sits beside dist/ and src/). */
const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/**
 * Where a detached daemon logs: the journal when `up` itself runs under systemd (JOURNAL_STREAM),
 * else /var/log/wg-ts-IFNAME.log (0600). Never the caller's stderr pipe: a detached process holding
 * it open would make `$(wg-ts up x)` or a test harness wait forever (wireguard-go uses /dev/null).
 */
function daemonLogFd(name: string): number | "inherit" {
  if (process.env["JOURNAL_STREAM"]) return "inherit";
  return openSync(`/var/log/wg-ts-${name}.log`, "a", 0o600);
}

/** Starts `wg-ts daemon NAME` detached; resolves when it reports readiness on its stdout pipe. */
function launchDetached(name: string): Promise<{ stop: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const logFd = daemonLogFd(name);
    const child = spawn(process.execPath, [...daemonNodeFlags(), BIN, "daemon", name], {
      detached: true,
      cwd: "/",
      stdio: ["ignore", "pipe", logFd],
      // The data plane hardly uses the libuv pool (its poll handles live in the event loop, the
      // workers make their own calls), and every pool thread costs memory.
      env: { ...process.env, UV_THREADPOOL_SIZE: process.env["UV_THREADPOOL_SIZE"] ?? "2" },
    });
    if (typeof logFd === "number") closeSync(logFd);
    let out = "";
    const onExit = (code: number | null): void => {
      const msg = /^error: (.*)$/m.exec(out)?.[1];
      reject(new Error(msg ?? `daemon for ${name} exited (${code ?? "signal"}) before it was ready`));
    };
    child.once("exit", onExit);
    child.once("error", reject);
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (d: string) => {
      out += d;
      if (out.includes("ready\n")) {
        child.off("exit", onExit);
        child.stdout!.destroy();
        child.unref();
        resolve({
          stop: async () => {
            try {
              process.kill(child.pid!, "SIGTERM");
            } catch {
              /* already gone */
            }
          },
        });
      }
    });
  });
}

/**
 * The data plane the daemon runs, from the environment (a bad value is an error naming the variable):
 * - WG_TS_WORKERS=auto (default) | always | never: when the data plane's worker threads run.
 * - WG_TS_GSO_SEGMENTS=1–64: datagrams per UDP GSO send (default 44).
 * - WG_TS_WARMUP=0–100000: lone pings through two throwaway tunnels before the daemon answers, at
 *   most (warmup.ts: it stops once V8 has nothing left to compile; default 20000, 0: none).
 * - WG_TS_TEST_RX_CRASH_AFTER_REPLAYS=N, read only when NODE_ENV=test (never reached by accident):
 *   the rx worker throws once it has dropped N datagrams as replays (crash tests, fastpath-tiers.e2e).
 */
export function dataPlaneOptions(
  env: NodeJS.ProcessEnv,
): Pick<DaemonOptions, "workers" | "gsoSegments" | "warmUpRoundTrips" | "testCrashAfterReplays"> {
  const choice = <T extends string>(key: string, allowed: readonly T[], dflt: T): T => {
    const v = env[key];
    if (v === undefined || v === "") return dflt;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    throw new Error(`${key}=${v.slice(0, 32)}: expected one of ${allowed.join(", ")}`);
  };
  const int = (key: string, max: number, min = 1): number | undefined => {
    const v = env[key];
    if (v === undefined || v === "") return undefined;
    const n = Number(v);
    if (/^[0-9]+$/.test(v) && n >= min && n <= max) return n;
    throw new Error(`${key}=${v.slice(0, 32)}: expected an integer from ${min} to ${max}`);
  };
  const gso = int("WG_TS_GSO_SEGMENTS", 64);
  const warmUp = int("WG_TS_WARMUP", 100000, 0);
  const crash = env["NODE_ENV"] === "test" ? int("WG_TS_TEST_RX_CRASH_AFTER_REPLAYS", 1 << 30) : undefined;
  return {
    workers: choice("WG_TS_WORKERS", ["auto", "always", "never"] as const, "auto"),
    ...(gso !== undefined ? { gsoSegments: gso } : {}),
    ...(warmUp !== undefined ? { warmUpRoundTrips: warmUp } : {}),
    ...(crash !== undefined ? { testCrashAfterReplays: crash } : {}),
  };
}

/**
 * Ends a stopped daemon now: once stderr has flushed its last lines (a journal stream is
 * asynchronous), without waiting for reads still blocked on the libuv pool or worker threads to
 * wind down. `wg-ts down` waits for this exit.
 */
function exitSoon(code: number): void {
  setTimeout(() => process.exit(code), 1000).unref();
  process.stderr.write("", () => process.exit(code));
}

function logTo(io: CliIo): (line: string) => void {
  return (line) => io.stderr(line + "\n");
}

function quickEnv(io: CliIo, launch: QuickEnv["launch"]): QuickEnv {
  const log = logTo(io);
  return { log, run: makeRunner(log), launch };
}

function waitForSignal(daemon: RunningDaemon | undefined, io?: CliIo): Promise<string> {
  return new Promise((resolve) => {
    // SIGUSR1: log the drop counters (by reason) and UAPI errors, for diagnosis.
    process.on("SIGUSR1", () => {
      if (!daemon) return;
      const uapiErrors = [...daemon.uapi.errors].map(([e, n]) => `-${e}=${n}`).join(" ");
      const fast = `; fast path: ${daemon.fastStatus()}`;
      const m = process.memoryUsage();
      const mib = (n: number): string => (n / 1048576).toFixed(1);
      const memory = `; memory MiB: rss=${mib(m.rss)} heap=${mib(m.heapUsed)}/${mib(m.heapTotal)} external=${mib(m.external)} array-buffers=${mib(m.arrayBuffers)}`;
      io?.stderr(`${daemon.name}: drops: ${daemon.engine.dropSummary() || "none"}; uapi errors: ${uapiErrors || "none"}${fast}${memory}\n`);
    });
    const on = (sig: string): void => resolve(sig);
    process.once("SIGTERM", () => on("SIGTERM"));
    process.once("SIGINT", () => on("SIGINT"));
    process.on("SIGHUP", () => {});
    void daemon?.stopped.then((r) => resolve(r));
  });
}

async function cmdUp(target: string, foreground: boolean, io: CliIo): Promise<number> {
  dataPlaneOptions(process.env); // a bad WG_TS_* value fails here, before anything is created
  if (!foreground) {
    const name = await up(target, quickEnv(io, launchDetached));
    io.stderr(`[#] ${name} is up\n`);
    return 0;
  }
  let daemon: RunningDaemon | undefined;
  const env = quickEnv(io, async (name) => {
    daemon = await startDaemon({ name, log: logTo(io), ...dataPlaneOptions(process.env) });
    const d = daemon;
    return { stop: async () => d.stop("up failed") };
  });
  await up(target, env);
  const why = await waitForSignal(daemon, io);
  if (why === "SIGTERM" || why === "SIGINT") {
    io.stderr(`[#] ${why}: taking ${daemon?.name} down\n`);
    try {
      await down(target, env);
    } catch (e) {
      io.stderr(`wg-ts: ${(e as Error).message}\n`);
      daemon?.stop(why);
    }
    await daemon?.stopped;
    exitSoon(0);
    return 0;
  }
  // The daemon stopped on its own: `wg-ts down` elsewhere, `ip link del`, or the socket removed.
  exitSoon(0);
  return 0;
}

/**
 * The bare daemon. `announce`: report readiness (or the start-up error) on stdout for the
 * `wg-ts up` / `wg-ts-userspace` that launched it detached and waits on the pipe.
 */
async function cmdDaemon(name: string, io: CliIo, announce = true): Promise<number> {
  let daemon: RunningDaemon;
  try {
    daemon = await startDaemon({ name, log: logTo(io), ...dataPlaneOptions(process.env) });
  } catch (e) {
    // A waiting `wg-ts up` reads this from the pipe and shows it to the user.
    if (announce) io.stdout(`error: ${(e as Error).message}\n`);
    throw e;
  }
  if (announce) {
    // Tell the waiting launcher we are ready, then let go of the pipe.
    await new Promise<void>((r) => process.stdout.write("ready\n", () => r()));
    process.stdout.on("error", () => {}); // the reader is gone: never crash on EPIPE
  }
  const why = await waitForSignal(daemon, io);
  daemon.stop(why);
  await daemon.stopped;
  exitSoon(0);
  return 0;
}

function listInterfaces(): string[] {
  try {
    return readdirSync(UAPI_DIR)
      .filter((f) => f.endsWith(".sock"))
      .map((f) => f.slice(0, -5))
      .sort();
  } catch {
    return [];
  }
}

async function cmdShow(which: string | undefined, io: CliIo): Promise<number> {
  if (which === "interfaces") {
    const live: string[] = [];
    for (const n of listInterfaces()) if (await isAlive(socketPath(n))) live.push(n);
    io.stdout(live.length ? live.join(" ") + "\n" : "");
    return 0;
  }
  const names = which && which !== "all" ? [which] : listInterfaces();
  let first = true;
  let rc = 0;
  for (const n of names) {
    try {
      const get = await uapiGet(socketPath(n));
      io.stdout((first ? "" : "\n") + formatShow(n, get, Date.now()));
      first = false;
    } catch (e) {
      if (which && which !== "all") {
        io.stderr(`Unable to access interface ${n}: ${(e as Error).message}\n`);
        rc = 1;
      }
    }
  }
  return rc;
}

/** Builds the command table. Exposed for tests. */
export function program(io: CliIo, setCode: (code: number) => void): Command {
  const cmd = new Command("wg-ts")
    .description("userspace WireGuard: wg-quick compatible interfaces driven by the stock wg tool")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError()
    .version(VERSION);

  cmd
    .command("up")
    .description("bring up an interface from /etc/wireguard/NAME.conf or a path ending in NAME.conf")
    .argument("<config>", "interface name or path to NAME.conf")
    .option("-f, --foreground", "stay attached (for systemd Type=simple); SIGTERM takes the interface down")
    .action(async (config: string, opts: { foreground?: boolean }) => setCode(await cmdUp(config, opts.foreground ?? false, io)));

  cmd
    .command("down")
    .description("take an interface down, running PreDown/PostDown and removing its routes and rules")
    .argument("<config>", "interface name or path to NAME.conf")
    .action(async (config: string) => {
      const env = quickEnv(io, async () => {
        throw new Error("unreachable");
      });
      await down(config, env);
      setCode(0);
    });

  cmd
    .command("strip")
    .description("print the config without wg-quick-only keys (input for wg setconf)")
    .argument("<config>", "interface name or path to NAME.conf")
    .action((config: string) => {
      const loaded = loadConfig(config);
      io.stdout(loaded.config.stripped + "\n"); // as wg-quick: echo "$WG_CONFIG"
      setCode(0);
    });

  cmd
    .command("daemon")
    .description("run the bare daemon for IFNAME in the foreground (configure it with wg)")
    .argument("<ifname>")
    .action(async (name: string) => setCode(await cmdDaemon(name, io)));

  cmd
    .command("genkey")
    .description("print a new private key")
    .action(() => {
      const k = generatePrivateKey();
      io.stdout(toBase64(k) + "\n");
      k.fill(0);
      setCode(0);
    });

  cmd
    .command("genpsk")
    .description("print a new preshared key")
    .action(() => {
      const k = generatePresharedKey();
      io.stdout(toBase64(k) + "\n");
      k.fill(0);
      setCode(0);
    });

  cmd
    .command("pubkey")
    .description("read a private key on stdin, print its public key")
    .action(async () => {
      const text = (await io.readStdin()).trim();
      let k: Uint8Array;
      try {
        k = parseBase64Key(text);
      } catch {
        io.stderr("pubkey: Key is not the correct length or format\n");
        setCode(1);
        return;
      }
      io.stdout(toBase64(publicKey(k)) + "\n");
      k.fill(0);
      setCode(0);
    });

  cmd
    .command("show")
    .description("show interfaces (all, one, or `interfaces` for the names)")
    .argument("[ifname]")
    .action(async (name: string | undefined) => setCode(await cmdShow(name, io)));

  cmd
    .command("showconf")
    .description("print the running configuration of an interface (includes the private key)")
    .argument("<ifname>")
    .action(async (name: string) => {
      const get = await uapiGet(socketPath(name));
      io.stdout(formatShowconf(get));
      setCode(0);
    });

  return cmd;
}

/** wg-quick's rule for interface names (and the kernel's IFNAMSIZ). */
const INTERFACE_NAME = /^[a-zA-Z0-9_=+.-]{1,15}$/;

/**
 * `wg-ts-userspace [-f|--foreground] IFNAME`: wireguard-go's calling convention, for
 * `WG_QUICK_USERSPACE_IMPLEMENTATION=wg-ts-userspace wg-quick up wg0`. Without `-f` (or
 * WG_PROCESS_FOREGROUND=1) it starts the daemon detached and returns once the interface exists
 * and its UAPI socket answers; wg-quick then configures it with `wg` and `ip`. Exit 1 on usage
 * or start-up errors, as wireguard-go.
 */
export async function userspaceMain(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const args = argv.slice(2);
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) {
    io.stdout(`wg-ts-userspace v${VERSION} (wireguard-go calling convention)\n`);
    return 0;
  }
  let foreground = process.env["WG_PROCESS_FOREGROUND"] === "1";
  let name: string | undefined;
  if (args.length === 2 && (args[0] === "-f" || args[0] === "--foreground")) {
    foreground = true;
    name = args[1];
  } else if (args.length === 1 && !args[0]!.startsWith("-")) name = args[0];
  if (name === undefined || !INTERFACE_NAME.test(name)) {
    io.stderr(`Usage: wg-ts-userspace [-f/--foreground] INTERFACE-NAME\n`);
    return 1;
  }
  try {
    dataPlaneOptions(process.env);
    if (foreground) return await cmdDaemon(name, io, false);
    await launchDetached(name);
    return 0;
  } catch (e) {
    io.stderr(`wg-ts-userspace: ${(e as Error).message}\n`);
    return 1;
  }
}

/** Entry point: returns the exit code. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  let code = 0;
  const cmd = program(io, (c) => (code = c));
  try {
    await cmd.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof ConfigError) {
      io.stderr(`wg-ts: ${e.message}\n`);
      return 1;
    }
    io.stderr(`wg-ts: ${(e as Error).message}\n`);
    return 1;
  }
  return code;
}
