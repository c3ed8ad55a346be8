/**
 * Running the lab's system commands (ip, nft, sysctl, wg, pg_ctl …), in the root namespace or in a
 * lab namespace. Failures become `CommandError`s that name the command and carry its stderr.
 */
import { execFile, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** A command that exited non-zero (or could not start). */
export class CommandError extends Error {
  override name = "CommandError";
  constructor(
    readonly command: readonly string[],
    readonly status: number | null,
    readonly stderr: string,
  ) {
    super(`\`${command.join(" ")}\` failed${status === null ? "" : ` (exit ${status})`}${stderr.trim() ? `: ${stderr.trim()}` : ""}`);
  }
}

export interface RunOptions {
  /** Text written to stdin. */
  readonly input?: string;
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** Milliseconds before the command is killed (default 30 s). */
  readonly timeoutMs?: number;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `argv` and resolves with its output; rejects with `CommandError` on failure. */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error("run: empty command"));
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024, encoding: "utf8" },
      (error, stdout, stderr) => {
        if (error) {
          const status = typeof error.code === "number" ? error.code : null;
          const why = error.killed ? `${stderr}\n(killed after ${options.timeoutMs ?? 30_000} ms)` : typeof error.code === "string" ? `${error.code} ${stderr}` : stderr;
          reject(new CommandError(argv, status, why));
        } else resolve({ stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** Runs `argv` inside network namespace `namespace`. */
export function runIn(namespace: string, argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run(["ip", "netns", "exec", namespace, ...argv], options);
}

/** Like `run` but resolves `false` instead of rejecting. */
export async function succeeds(argv: readonly string[], options: RunOptions = {}): Promise<boolean> {
  try {
    await run(argv, options);
    return true;
  } catch {
    return false;
  }
}

/** Starts `argv` detached from us (own process group, no stdio); returns its pid. */
export function spawnDetached(argv: readonly string[], env: Readonly<Record<string, string>> = {}): number {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error("spawnDetached: empty command");
  const child = spawn(file, args, { detached: true, stdio: "ignore", env: { ...process.env, ...env } });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${file}`);
  return child.pid;
}

/** Runs `argv` with our stdio (interactive `exec`); resolves to the exit status. */
export function runInteractive(argv: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<number> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error("runInteractive: empty command"));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: "inherit", env: { ...process.env, ...env } });
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** Full path of executable `name` on PATH (or absolute), or undefined. */
export function findExecutable(name: string, path = process.env["PATH"] ?? ""): string | undefined {
  const candidates = name.includes("/") ? [name] : path.split(delimiter).filter(Boolean).map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
