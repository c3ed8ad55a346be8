/**
 * Which process serves a UAPI socket, and waiting for it to exit: what `wg-ts down` needs to
 * return only once the daemon is gone (wg-ts, wireguard-go or any other userspace daemon alike).
 *
 * The kernel's own tables, as `ss -xlp` reads them: /proc/net/unix maps the socket path to the
 * listening socket's inode (for the caller's network namespace, the one `down` runs in), and the
 * process holding `socket:[inode]` among its /proc/PID/fd links is the daemon.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Inode of the listening UNIX socket bound to `path`, or undefined. */
function listeningInode(path: string): string | undefined {
  let table: string;
  try {
    table = readFileSync("/proc/net/unix", "utf8");
  } catch {
    return undefined;
  }
  // Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 = __SO_ACCEPTCON (listening).
  for (const line of table.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && f[7] === path && (parseInt(f[3]!, 16) & 0x10000) !== 0) return f[6];
  }
  return undefined;
}

/** PIDs of the processes that hold the listening socket of `path` (usually one). */
export function socketOwners(path: string): number[] {
  const inode = listeningInode(path);
  if (inode === undefined) return [];
  const target = `socket:[${inode}]`;
  const owners: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${entry}/fd/${fd}`) === target) {
          owners.push(Number(entry));
          break;
        }
      } catch {
        /* fd closed meanwhile */
      }
    }
  }
  return owners;
}

/** True while `pid` exists and has not exited (a zombie waiting for its reaper counts as exited). */
export function processRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // pid (comm) STATE ...: comm may hold spaces and parentheses; the state follows the last ')'.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/**
 * Waits until none of `pids` runs. After `graceMs`, the ones still running get SIGTERM, and
 * after another `graceMs` SIGKILL. Returns the PIDs that had to be signalled (empty: all exited
 * by themselves).
 */
export async function waitForExit(pids: readonly number[], graceMs: number, sleep: (ms: number) => Promise<void>): Promise<number[]> {
  const signalled = new Set<number>();
  const running = (): number[] => pids.filter(processRunning);
  for (const [signal, deadline] of [
    [undefined, graceMs],
    ["SIGTERM", graceMs],
    ["SIGKILL", graceMs],
  ] as const) {
    for (const pid of signal ? running() : []) {
      try {
        process.kill(pid, signal);
        signalled.add(pid);
      } catch {
        /* exited meanwhile */
      }
    }
    for (let waited = 0; running().length > 0 && waited < deadline; waited += 20) await sleep(20);
    if (running().length === 0) break;
  }
  return [...signalled];
}
