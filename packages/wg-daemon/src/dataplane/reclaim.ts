/**
 * Giving a stopped worker pair's memory back. The native side of a Worker (its C++ object, message
 * ports, loop) is freed only when the main thread's GC collects the JS Worker object, and an idle
 * main thread allocates too little to run one for minutes: so after a stop, one full collection,
 * then glibc's `malloc_trim(0)` for the pages that frees. Measured in benchmarks/README.md
 * (section 5, "start/stop cycles").
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { libc } from "../libc.js";

let gc: (() => void) | null | undefined;

/** A full main-thread GC (V8's `gc`, exposed once at first use), then malloc_trim(0). */
export function reclaimMemory(): void {
  if (gc === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      gc = runInNewContext("gc") as () => void;
    } catch {
      gc = null;
    }
  }
  gc?.();
  libc().mallocTrim();
}
