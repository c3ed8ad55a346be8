/**
 * How soon V8 optimizes the packet path. While traffic is light, only the main thread moves
 * packets, a few per second: with V8's default budget (`--interrupt-budget`, bytes of bytecode a
 * function runs between tier-up checks) the path stays in baseline code for thousands of packets,
 * and a lone packet pays for it at every hop (benchmarks/README.md, sections 15 and 17). The daemon
 * lowers the budget then ({@link tierUpEarly}); under load the workers carry the traffic, and the
 * default is restored before they start: their hot loops optimized on immature feedback ran 8–22 %
 * more CPU per byte (section 17). V8 flags are per process, read whenever a function's budget is
 * reset, so the switch takes effect on every thread at once.
 *
 * The light setting also lowers `--invocation-count-for-osr`: V8 11 gives a function it has
 * optimized a budget of that many of its own bytecode lengths (its next check only matters for
 * on-stack replacement), and a function whose optimized code is thrown away (an eager deopt on
 * early feedback, weak objects at a full GC) keeps running down that budget in baseline code: up to
 * 500 calls before V8 looks at it again — a lone packet's path stayed slow for tens of seconds
 * (benchmarks/README.md, section 22).
 *
 * Only where V8 has that flag (V8 ≤ 11: Node 20's 11.3). Newer V8 (Node 24's 13.6) counts
 * invocations instead (`--invocation-count-for-maglev`/`-turbofan`) and reports an unknown flag on
 * stderr: there the defaults stay (not measured yet).
 *
 * The same switch runs the helper threads that compile that code as SCHED_IDLE while traffic is
 * light, on every V8 ({@link lightTraffic}) — only in a process whose garbage collector never waits
 * for them (node-flags.ts {@link SINGLE_THREADED_GC}, as the daemon runs): otherwise a collection
 * whose helper share is starved by busy cores spins the main thread.
 */
import { readdirSync, readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { libc } from "../libc.js";
import { SINGLE_THREADED_GC } from "../node-flags.js";

/** V8's default `--interrupt-budget` in the V8 versions that have the flag (Node 20's V8 11.3). */
export const V8_INTERRUPT_BUDGET = 67584;
/** The budget while the main thread carries the traffic alone. */
export const LIGHT_INTERRUPT_BUDGET = 256;
/** V8's default `--invocation-count-for-osr` (Node 20's V8 11.3). */
export const V8_INVOCATION_COUNT_FOR_OSR = 500;
/** The count while the main thread carries the traffic alone: a deoptimized function is looked at again within a few calls. */
export const LIGHT_INVOCATION_COUNT_FOR_OSR = 2;
/** Whether this V8 tiers up by `--interrupt-budget` (V8 ≤ 11). */
export const HAS_INTERRUPT_BUDGET = Number(process.versions.v8.split(".")[0]) <= 11;

let enabled = false;
/** The helper threads' ids, when their priority can be given back (root or CAP_SYS_NICE); else empty. */
let helpers: number[] = [];

/** CAP_SYS_NICE in this thread's effective capabilities: a SCHED_IDLE thread may be SCHED_OTHER again. */
function mayRaisePriority(): boolean {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    return m !== null && (BigInt(`0x${m[1]}`) & (1n << 23n)) !== 0n;
  } catch {
    return false;
  }
}

/**
 * The helper threads (V8's background compiler and GC threads, libuv's pool) as SCHED_IDLE or back
 * to SCHED_OTHER (a thread that refused, or has exited, keeps its own).
 */
function idleHelpers(idle: boolean): void {
  for (const tid of helpers) libc().setThreadIdle(tid, idle);
}

/**
 * From now on, while traffic is light: a lower tier-up budget (where V8 has one) and the helper
 * threads that exist now — every thread but the main one: the daemon calls this once it runs, before
 * any worker thread — as SCHED_IDLE (Linux, with {@link SINGLE_THREADED_GC}, where they can be given
 * back their priority).
 */
export function tierUpEarly(): void {
  if (process.platform === "linux" && process.execArgv.includes(SINGLE_THREADED_GC)) {
    helpers = mayRaisePriority() ? helperThreads() : [];
    idleHelpers(true);
  }
  if (!HAS_INTERRUPT_BUDGET) return;
  enabled = true;
  setBudgets(true);
}

/**
 * CPU time (ns) the process's threads other than the main one have run so far (Linux
 * /proc/self/task/TID/schedstat; 0 elsewhere): before any worker thread starts, V8's helpers — the
 * start-up warm-up (warmup.ts) watches them to see when its path has nothing left to compile.
 */
export function helperCpuNs(): number {
  let ns = 0;
  for (const tid of helperThreads()) {
    try {
      ns += Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "latin1").split(" ", 1)[0]);
    } catch {
      // the thread has exited
    }
  }
  return ns;
}

/** The ids of the process's threads other than the main one (Linux /proc/self/task; none elsewhere). */
function helperThreads(): number[] {
  try {
    return readdirSync("/proc/self/task").map(Number).filter((tid) => tid !== process.pid);
  } catch {
    return [];
  }
}

/**
 * Light traffic's tier-up budgets (where V8 has them) without idling the helpers: the daemon's
 * start-up warm-up (warmup.ts), whose compiles the helpers must run, before {@link tierUpEarly}.
 */
export function lightBudgets(): void {
  if (HAS_INTERRUPT_BUDGET) setBudgets(true);
}

/** The tier-up budgets of light traffic, or V8's defaults. */
function setBudgets(light: boolean): void {
  setFlagsFromString(`--interrupt-budget=${light ? LIGHT_INTERRUPT_BUDGET : V8_INTERRUPT_BUDGET}`);
  setFlagsFromString(`--invocation-count-for-osr=${light ? LIGHT_INVOCATION_COUNT_FOR_OSR : V8_INVOCATION_COUNT_FOR_OSR}`);
}

/**
 * The workers start (`false`: V8's default budgets, helpers SCHED_OTHER) or have stopped (`true`: the
 * light settings again). While the main thread carries the traffic alone, the helpers' compiles take
 * only the cores' idle time: a CPU running nothing but SCHED_IDLE threads counts as idle to the
 * scheduler, so a packet's next hop is never queued behind a compile (a fresh daemon's first pings:
 * benchmarks/README.md, sections 20–21). Under load they are SCHED_OTHER again: the workers' own
 * code tiers up on them.
 */
export function lightTraffic(light: boolean): void {
  idleHelpers(light);
  if (enabled) setBudgets(light);
}
