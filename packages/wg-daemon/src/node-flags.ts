/**
 * The Node flags a daemon process runs with. `--v8-pool-size`: V8's background threads (TurboFan
 * compiles, GC helpers), one less than the cores (at least 1, at most Node's default 4). Node's 4
 * outnumber a small gateway's cores: while a fresh daemon compiles its packet path they compete
 * with its main thread for the CPU, and the first pings waited 2–20 ms; with one thread per daemon
 * on 2 cores, a third as long, and no measurable cost under load (benchmarks/README.md, section 18).
 *
 * `--single-threaded-gc`: V8 collects garbage on the thread that allocates, never with or waiting for its
 * helper threads — while traffic is light those run as SCHED_IDLE (dataplane/tiering.ts, only with
 * this flag): a main thread waiting for a helper's share of a collection while every core was busy
 * spun for seconds (benchmarks/README.md, section 22).
 *
 * `--max-semi-space-size=1`: a young generation of 1 MiB semi-spaces from the start — the main thread
 * sees light traffic only (workers have their own limit, dataplane/workers.ts), and V8 sizes the young
 * generation when the heap is set up: set later (daemon.ts still does, for other entry points) it
 * grew to 8 MiB anyway. Idle RSS of a fresh daemon, 4 samples each (benchmarks/README.md, section 23):
 * 60.3–60.9 MiB instead of 61.3–62.5; 62.4–62.7 instead of 64.7–66.5 after the start-up warm-up (warmup.ts).
 *
 * `wg-ts up` passes them to the daemon it starts; `wg-ts up --foreground` (systemd's wg-ts@.service)
 * runs the daemon in its own process, where they can only be set at start: the launcher re-executes
 * itself once with them — execve(2), so the PID (systemd's main PID), stdio and environment stay.
 * The pool size and the semi-space are not added when NODE_OPTIONS sets them; no flag when the command line has it.
 */
import { availableParallelism } from "node:os";
import { F_SETFD, libc } from "./libc.js";

/** V8 garbage-collects on the allocating thread alone (see above; dataplane/tiering.ts checks for it). */
export const SINGLE_THREADED_GC = "--single-threaded-gc";

/** The main thread's young generation: 1 MiB semi-spaces (see above). */
export const SEMI_SPACE = "--max-semi-space-size=1";

/** The flags for a daemon process (the pool size and the semi-space unless NODE_OPTIONS sets them). */
export function daemonNodeFlags(nodeOptions: string | undefined = process.env["NODE_OPTIONS"], cores: number = availableParallelism()): string[] {
  const pool = nodeOptions?.includes("--v8-pool-size") === true ? [] : [`--v8-pool-size=${Math.max(1, Math.min(4, cores - 1))}`];
  const semi = nodeOptions?.includes("--max-semi-space-size") === true ? [] : [SEMI_SPACE];
  return [...pool, SINGLE_THREADED_GC, ...semi];
}

/**
 * The command line to re-execute `wg-ts up --foreground` with (node's path first, then node's own
 * flags and the ones of `flags` it lacks), or null when this is another command or none is lacking.
 * @param argv process.argv (node, script, command …)
 * @param execArgv process.execArgv (the flags node itself was given)
 */
export function foregroundReexecArgs(argv: readonly string[], execArgv: readonly string[], flags: readonly string[] = daemonNodeFlags()): string[] | null {
  const foreground = argv[2] === "up" && argv.slice(3).some((a) => a === "--foreground" || a === "-f");
  const name = (flag: string): string => flag.split("=")[0]!;
  const missing = flags.filter((f) => !execArgv.some((a) => name(a) === name(f)));
  if (!foreground || missing.length === 0) return null;
  return [argv[0]!, ...execArgv, ...missing, ...argv.slice(1)];
}

/** Re-executes this process with {@link foregroundReexecArgs} when it gives any; returns if not (or if execve fails). */
export function reexecForegroundDaemon(): void {
  const args = foregroundReexecArgs(process.argv, process.execArgv);
  if (args === null) return;
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ""}`);
  const c = libc();
  // Node marks stdin/stdout/stderr close-on-exec at start (libuv's uv_disable_stdio_inheritance):
  // they must survive this exec, or the new image would start without them (and reuse 0–2).
  for (let fd = 0; fd <= 2; fd++) c.fcntl(fd, F_SETFD, 0);
  c.execve(process.execPath, args, env); // returns only on failure: run on without the flags
}
