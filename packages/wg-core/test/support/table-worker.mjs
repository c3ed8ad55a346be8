// A thread with a view of a wg-core SessionTable (test/support/threads.ts starts it): attaches the
// table from its handles and runs one task with the core's transport module, on its own clock
// (`now` from the task), then posts one reply. Tasks:
//   open   { handles, datagrams, now, start?, batch? } → { accepted: number[], drops: {reason: count} }
//   seal   { handles, slot, generation, now, packets } → { counters: number[], drops: {reason: count} }
//   lookup { handles, indices } → { slots: number[] }
import { workerData, parentPort } from "node:worker_threads";

const { AllowedIps, SessionTable, TransportBatch, nodeTransportAead, openBatch, sealBatch } = await import(workerData.core);
const task = workerData.task;
const table = SessionTable.attach(task.handles);
const count = (drops, r) => void (drops[r] = (drops[r] ?? 0) + 1);

if (task.start !== undefined) {
  // Wait for the go signal, so that several threads start at the same moment.
  const flag = new Int32Array(task.start);
  Atomics.add(flag, 1, 1);
  while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0, 5);
}

if (task.kind === "open") {
  const routes = new AllowedIps();
  routes.insert("10.0.0.0/8", "peer");
  const peers = ["peer"];
  const size = task.batch ?? 16;
  const b = new TransportBatch(size);
  const accepted = [];
  const drops = {};
  for (let i = 0; i < task.datagrams.length; i += size) {
    b.count = Math.min(size, task.datagrams.length - i);
    for (let k = 0; k < b.count; k++) {
      b.setInput(k, task.datagrams[i + k]);
      b.setOutput(k, new Uint8Array(task.datagrams[i + k].length));
    }
    openBatch(table, b, task.now, nodeTransportAead, routes, peers);
    for (let k = 0; k < b.count; k++) {
      if (b.drop[k] === null) accepted.push(b.counter[k]);
      else count(drops, b.drop[k]);
    }
  }
  parentPort.postMessage({ accepted, drops });
} else if (task.kind === "seal") {
  const b = new TransportBatch(task.packets.length);
  b.count = task.packets.length;
  for (let k = 0; k < b.count; k++) {
    b.setInput(k, task.packets[k]);
    b.setOutput(k, new Uint8Array(task.packets[k].length + 64));
    b.slot[k] = task.slot;
    b.generation[k] = task.generation;
  }
  sealBatch(table, b, task.now, nodeTransportAead, 0);
  const counters = [];
  const drops = {};
  for (let k = 0; k < b.count; k++) {
    if (b.drop[k] === null) counters.push(b.counter[k]);
    else count(drops, b.drop[k]);
  }
  parentPort.postMessage({ counters, drops });
} else if (task.kind === "lookup") {
  parentPort.postMessage({ slots: task.indices.map((i) => table.lookup(i)) });
}
