/**
 * Giving memory back after one-off work. The native side of a stopped Worker (its C++ object,
 * message ports, loop) is freed only when the main thread's GC collects the JS Worker object, and an
 * idle main thread allocates too little to run one for minutes: so after a stop, one full collection,
 * then glibc's `malloc_trim(0)` for the pages that frees (benchmarks/README.md, section 5,
 * "start/stop cycles"). After the start-up warm-up (warmup.ts) the collection also compacts: it
 * moves the survivors out of the pages the throwaway tunnels left sparse, which V8's own heuristics
 * leave in place, and returns those pages (benchmarks/README.md, section 24).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { libc } from "../libc.js";

let gc: (() => void) | null | undefined;

/** A full main-thread GC (V8's `gc`, exposed once at first use), compacting if asked, then malloc_trim(0). */
export function reclaimMemory(o: { compact?: boolean } = {}): void {
  if (gc === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      gc = runInNewContext("gc") as () => void;
    } catch {
      gc = null;
    }
  }
  if (gc && o.compact === true) {
    setFlagsFromString("--compact-on-every-full-gc");
    try {
      gc();
    } finally {
      setFlagsFromString("--no-compact-on-every-full-gc");
    }
  } else gc?.();
  libc().mallocTrim();
}
