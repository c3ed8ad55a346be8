/**
 * A data-plane worker thread, started by dataplane/workers.ts under load (at once with
 * WG_TS_WORKERS=always). It runs one pipeline — tx.ts (TUN → sealBatch → UDP) or rx.ts (UDP →
 * openBatch → TUN) — over the Linux devices (devices.ts: koffi calls on the fds) in a loop that
 * never returns to its own event loop: an empty read (EAGAIN) waits in poll(2) with a 250 ms
 * timeout, so a stop request is seen within it (workers.ts's `blocking` option, which the daemon
 * never sets, blocks in read/recvmmsg instead).
 *
 * Both pipelines attach the wg-core Device's session table (SessionTable.attach: the same keys, send
 * counters and replay windows as the core's, in shared memory) and run wg-core's transport.ts on
 * it: one implementation of the transport rules (index, age, counter limit, AEAD, replay window,
 * inner length, allowed-IPs source), whichever thread runs it. The AEAD is the native addon, a
 * whole batch per call (native-aead.ts loadBatchAead, this thread's own instance; node:crypto per
 * packet where it cannot load). No worker keeps a key, a counter or a window of its own: stopping
 * or crashing loses nothing.
 */
import { parentPort, workerData } from "node:worker_threads";
import { loadBatchAead } from "../native-aead.js";
import { EBADFD } from "../libc.js";
import { LinuxTun, LinuxUdp, POLL_TIMEOUT_MS, type PollableDevice } from "./devices.js";
import { PipelineContext, type StepResult } from "./pipeline.js";
import { RxPipeline } from "./rx.js";
import { KP, ST, type WorkerEvent, type WorkerInit } from "./shared.js";
import { TxPipeline } from "./tx.js";

const init = workerData as WorkerInit;
const control = new Int32Array(init.control);
const post = (e: WorkerEvent): void => parentPort?.postMessage(e);
const native = loadBatchAead();
const ctx = new PipelineContext(init, init.role, native.aead, post, "worker", native.sums);
const tun = new LinuxTun(init.tunFd);
const udp = new LinuxUdp(init.udpFd, init.blocking);
const stopped = (): boolean => Atomics.load(control, KP.stop) === 1;

/**
 * Runs `step` until stopped; after `init.spin` empty steps in a row, runs `idle` (the tx pipeline's
 * staged packets) and waits for `device` to be readable, at most the time `idle` returns.
 */
function run(step: () => StepResult, device: PollableDevice, idle: () => number = () => POLL_TIMEOUT_MS): void {
  let empty = 0;
  while (!stopped()) {
    const r = step();
    if (ctx.events.pending) ctx.events.drain(post);
    if (r === "gone") {
      post({ kind: "gone", errno: EBADFD }); // `ip link del`: the daemon shuts down (dataplane/io.ts: Tun.read rejects)
      return;
    }
    if (r === "busy") empty = 0;
    else if (++empty > init.spin) {
      device.wait(idle());
      ctx.stats.f[ST.syscalls]!++;
      empty = 0;
    }
  }
}

post({ kind: "ready", role: init.role });
// The main thread keeps reading the fds until both workers are ready, then hands them over.
while (Atomics.load(control, KP.go) === 0 && !stopped()) Atomics.wait(control, KP.go, 0, POLL_TIMEOUT_MS);
if (init.role === "tx") {
  const tx = new TxPipeline(ctx, init, tun, udp);
  run(() => tx.step(), tun, () => tx.idle());
  tx.close();
} else {
  const rx = new RxPipeline(ctx, init, tun, udp);
  run(() => rx.step(), udp);
}
