// The pipelines' event queue (src/dataplane/events.ts): what the packet path queues comes out as the
// WorkerEvents the main thread's hooks take, in order, with copies that later writes do not touch.
import { describe, expect, it } from "vitest";
import { EventQueue } from "../src/dataplane/events.js";
import type { WorkerEvent } from "../src/dataplane/shared.js";
import { SOCKADDR6, writeSockaddr } from "../src/dataplane/udp.js";

/** Two sockaddr_in6 slots, as a batch's names: an IPv4 sender (mapped) and an IPv6 one. */
function names(): Buffer {
  const b = Buffer.alloc(2 * SOCKADDR6);
  writeSockaddr(b, 0, "192.0.2.7", 51820);
  writeSockaddr(b, SOCKADDR6, "2001:db8::9", 40000);
  return b;
}

describe("EventQueue", () => {
  it("hands every kind of event over in the order queued, then is empty", () => {
    const q = new EventQueue();
    const n = names();
    const datagram = Uint8Array.of(1, 0, 0, 0, 9);
    const packet = Uint8Array.of(0x45, 0, 0, 20);
    q.received(3, 7, n, SOCKADDR6, true);
    q.control(datagram, n, 0);
    q.slow(packet);
    q.session(12);
    q.received(4, 9, n, 0, false);
    expect(q.pending).toBe(true);
    const out: WorkerEvent[] = [];
    q.drain((e) => out.push(e));
    expect(out).toEqual([
      { kind: "received", slot: 3, generation: 7, from: { address: "2001:db8::9", port: 40000 }, data: true },
      { kind: "control", datagram, from: { address: "192.0.2.7", port: 51820 } },
      { kind: "slow", packet },
      { kind: "session", peer: 12 },
      { kind: "received", slot: 4, generation: 9, from: { address: "192.0.2.7", port: 51820 }, data: false },
    ]);
    expect(q.pending).toBe(false);
    q.drain(() => expect.unreachable("nothing queued"));
  });

  it("keeps the sender as it was when queued (the batch's names are reused)", () => {
    const q = new EventQueue();
    const n = names();
    q.received(1, 1, n, 0, true);
    writeSockaddr(n, 0, "198.51.100.1", 1);
    const out: WorkerEvent[] = [];
    q.drain((e) => out.push(e));
    expect(out[0]).toMatchObject({ from: { address: "192.0.2.7", port: 51820 } });
  });

  it("is empty after a drain whose receiver threw, and queues anew", () => {
    const q = new EventQueue();
    q.session(1);
    q.session(2);
    expect(() => q.drain(() => { throw new Error("hook failed"); })).toThrow("hook failed");
    expect(q.pending).toBe(false);
    q.session(3);
    const out: WorkerEvent[] = [];
    q.drain((e) => out.push(e));
    expect(out).toEqual([{ kind: "session", peer: 3 }]);
  });
});
