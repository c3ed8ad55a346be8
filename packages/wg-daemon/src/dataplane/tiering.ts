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
 * Only where V8 has that flag (V8 ≤ 11: Node 20's 11.3). Newer V8 (Node 24's 13.6) counts
 * invocations instead (`--invocation-count-for-maglev`/`-turbofan`) and reports an unknown flag on
 * stderr: there the defaults stay (not measured yet).
 */
import { setFlagsFromString } from "node:v8";

/** V8's default `--interrupt-budget` in the V8 versions that have the flag (Node 20's V8 11.3). */
export const V8_INTERRUPT_BUDGET = 67584;
/** The budget while the main thread carries the traffic alone. */
export const LIGHT_INTERRUPT_BUDGET = 256;
/** Whether this V8 tiers up by `--interrupt-budget` (V8 ≤ 11). */
export const HAS_INTERRUPT_BUDGET = Number(process.versions.v8.split(".")[0]) <= 11;

let enabled = false;

/** Lowers the tier-up budget from now on while traffic is light (the daemon calls this once it runs). */
export function tierUpEarly(): void {
  if (!HAS_INTERRUPT_BUDGET) return;
  enabled = true;
  setFlagsFromString(`--interrupt-budget=${LIGHT_INTERRUPT_BUDGET}`);
}

/** The workers start (`false`: V8's default budget) or have stopped (`true`: the light budget again, if enabled). */
export function lightTraffic(light: boolean): void {
  if (enabled) setFlagsFromString(`--interrupt-budget=${light ? LIGHT_INTERRUPT_BUDGET : V8_INTERRUPT_BUDGET}`);
}
