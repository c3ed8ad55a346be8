/**
 * Small process helpers for the macro benchmark: run a command and capture it, start a long-lived
 * process, read a process's CPU time and memory from /proc. Linux only (the harness needs root and
 * network namespaces anyway).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

/** Runs a command to completion; throws with its stderr when it fails (unless `allowFail`). */
export function run(cmd: string, args: readonly string[], opts: { allowFail?: boolean; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", input: opts.input ?? "", maxBuffer: 64 << 20 });
  if (r.error) {
    if (opts.allowFail) return "";
    throw r.error;
  }
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr.trim()}`);
  }
  return r.stdout;
}

/** Runs a command inside a network namespace (`ip netns exec NS ...`). */
export function nsRun(ns: string, args: readonly string[], opts: { allowFail?: boolean; input?: string } = {}): string {
  return run("ip", ["netns", "exec", ns, ...args], opts);
}

/** Runs a command asynchronously and resolves with its stdout (and exit code). */
export function runAsync(cmd: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    p.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    p.on("error", (e) => resolve({ code: -1, stdout, stderr: stderr + String(e) }));
    p.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A long-lived child (daemon, iperf3 server) whose stderr tail is kept for error messages. */
export interface Background {
  readonly proc: ChildProcess;
  readonly pid: number;
  log(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

/** Starts `cmd args` in the background with extra environment variables. */
export function background(cmd: string, args: readonly string[], env: Record<string, string> = {}): Background {
  const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let tail = "";
  const keep = (d: Buffer): void => {
    tail = (tail + d.toString("utf8")).slice(-4000);
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  let done = false;
  const closed = new Promise<void>((resolve) => proc.on("close", () => ((done = true), resolve())));
  proc.on("error", (e) => {
    tail += String(e);
    done = true;
  });
  return {
    proc,
    pid: proc.pid ?? -1,
    log: () => tail,
    exited: () => done || proc.exitCode !== null,
    async stop() {
      if (done || proc.exitCode !== null) return;
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 3000);
      await closed;
      clearTimeout(t);
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Clock ticks per second for /proc/<pid>/stat (sysconf(_SC_CLK_TCK)); 100 on every Linux we run. */
const CLK_TCK = Number(run("getconf", ["CLK_TCK"], { allowFail: true }).trim()) || 100;

/** User + system CPU seconds of a whole process (all its threads), or NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.system;
}

/** User and system (kernel, in its system calls) CPU seconds of a whole process; NaN when it is gone. */
export function cpuTimes(pid: number): { user: number; system: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) may contain spaces: parse after its closing parenthesis. utime/stime are 14/15.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { user: Number(rest[11]) / CLK_TCK, system: Number(rest[12]) / CLK_TCK };
  } catch {
    return { user: Number.NaN, system: Number.NaN };
  }
}

/**
 * Memory (MiB) of a process from /proc/<pid>/status: resident (VmRSS), peak resident (VmHWM) and
 * the anonymous part of the resident set (RssAnon: heaps and stacks, without the pages of the
 * executable and libraries that every process running the same binary shares).
 */
export function memory(pid: number): { rssMiB: number; hwmMiB: number; anonMiB: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    return { rssMiB: kb("VmRSS") / 1024, hwmMiB: kb("VmHWM") / 1024, anonMiB: kb("RssAnon") / 1024 };
  } catch {
    return { rssMiB: Number.NaN, hwmMiB: Number.NaN, anonMiB: Number.NaN };
  }
}

/** Whether a binary is on PATH. */
export function have(bin: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${bin}`], { encoding: "utf8" }).status === 0;
}

/** Median of the finite values (NaN when there are none). */
export function median(xs: readonly number[]): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}
