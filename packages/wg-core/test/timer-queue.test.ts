// The deadline queue behind Device.nextTickAt and Device.tick (timers.ts TimerQueue): checked
// against the obvious walk over every peer, on the queue alone and on a Device with many peers.
import { describe, expect, it } from "vitest";
import { type Action, Device, type Peer, PrivateKey } from "../src/index.js";
import { dueTimers, nextDeadline, PeerTimers, TimerQueue } from "../src/timers.js";
import { icmpEcho } from "./support/ip.mjs";
import { mulberry32, seededRandom } from "./support/prng.js";

/** What the queue must agree with: the earliest deadline and the due owners, by walking them all. */
function walk<P>(entries: readonly { timers: PeerTimers; owner: P }[], now: number): { next: number; due: P[] } {
  let next = Infinity;
  const due: P[] = [];
  for (const e of entries) {
    const d = nextDeadline(e.timers);
    next = Math.min(next, d);
    if (d <= now) due.push(e.owner);
  }
  return { next, due };
}

describe("TimerQueue", () => {
  it("is empty at first, and ignores timers it does not hold", () => {
    const q = new TimerQueue<string>();
    const out: string[] = [];
    q.due(1e15, out);
    expect(q.next()).toBe(Infinity);
    expect(out).toEqual([]);
    const t = new PeerTimers();
    q.remove(t);
    t.retransmitHandshakeAt = 5;
    expect(q.next()).toBe(Infinity);
    // Removed while a change is still to be applied, and after.
    q.add(t, "t");
    t.sendKeepaliveAt = 3;
    q.remove(t);
    expect(q.next()).toBe(Infinity);
    q.add(t, "t");
    expect(q.next()).toBe(3);
    q.remove(t);
    t.sendKeepaliveAt = 1;
    q.due(1e15, out);
    expect(q.next()).toBe(Infinity);
    expect(out).toEqual([]);
  });

  it("onChange: called at the first deadline change after next() or due(), not again until one of them runs", () => {
    const q = new TimerQueue<string>();
    let calls = 0;
    q.onChange = () => calls++;
    const a = new PeerTimers();
    const b = new PeerTimers();
    q.add(a, "a"); // an added entry counts as changed
    q.add(b, "b");
    expect(calls).toBe(1);
    a.sendKeepaliveAt = 10;
    expect(calls).toBe(1);
    expect(q.next()).toBe(10);
    b.newHandshakeAt = 5;
    a.sendKeepaliveAt = 4;
    expect(calls).toBe(2);
    a.sendKeepaliveAt = 4; // unchanged: no change to tell
    expect(q.next()).toBe(4);
    a.sendKeepaliveAt = 4;
    expect(calls).toBe(2);
    q.due(0, []);
    b.newHandshakeAt = Infinity;
    expect(calls).toBe(3);
    q.remove(b);
    b.newHandshakeAt = 1; // not in the queue any more
    expect(q.next()).toBe(4);
    a.retransmitHandshakeAt = 2;
    expect(calls).toBe(4);
  });

  it("follows every deadline change, whoever makes it, and gives the due owners in the order added", () => {
    const rnd = mulberry32(17);
    const q = new TimerQueue<number>();
    const live: { timers: PeerTimers; owner: number }[] = [];
    const removed: PeerTimers[] = [];
    let owner = 0;
    let now = 0;
    const add = (): void => {
      const timers = new PeerTimers();
      if (rnd() < 0.5) timers.sendKeepaliveAt = now + Math.floor(rnd() * 5000); // armed before it is added
      q.add(timers, owner);
      live.push({ timers, owner: owner++ });
    };
    for (let i = 0; i < 500; i++) add();
    for (let step = 0; step < 10_000; step++) {
      const e = live[Math.floor(rnd() * live.length)]!;
      const t = e.timers;
      const r = rnd();
      if (r < 0.15) t.onDataSent(now, Math.floor(rnd() * 333));
      else if (r < 0.3) t.onDataReceived(now);
      else if (r < 0.4) t.onAnyAuthenticatedPacketSent();
      else if (r < 0.5) t.onAnyAuthenticatedPacketReceived();
      else if (r < 0.6) t.onHandshakeInitiated(now, Math.floor(rnd() * 333));
      else if (r < 0.65) t.onHandshakeComplete();
      else if (r < 0.7) t.onSessionDerived(now);
      else if (r < 0.75) t.persistentKeepaliveAt = now + Math.floor(rnd() * 30_000); // a direct write
      else if (r < 0.77) t.stop();
      else if (r < 0.79 && live.length > 1) {
        live.splice(live.indexOf(e), 1);
        q.remove(t);
        removed.push(t);
      } else if (r < 0.81) add();
      else if (r < 0.83 && removed.length > 0) removed[Math.floor(rnd() * removed.length)]!.zeroKeyMaterialAt = now; // not held any more
      else now += Math.floor(rnd() * 3000);
      if (step % 7 === 0) {
        const expected = walk(live, now);
        expect(q.next()).toBe(expected.next);
        const due: number[] = [];
        q.due(now, due);
        expect(due).toEqual(expected.due);
        // What a tick does to a due peer: its due timers fire (and may re-arm).
        for (const o of due) {
          const timers = live.find((x) => x.owner === o)!.timers;
          for (const bit of [1, 2, 4, 8, 16] as const) if (dueTimers(timers, now) & bit) timers.fire(bit, now);
        }
      }
    }
  });

  it("gives owners whose earliest deadlines are equal, or long past, all at once", () => {
    const q = new TimerQueue<number>();
    const all: PeerTimers[] = [];
    for (let i = 0; i < 1000; i++) {
      const t = new PeerTimers();
      t.retransmitHandshakeAt = i % 3 === 0 ? 100 : 200 + i;
      q.add(t, i);
      all.push(t);
    }
    const out: number[] = [];
    q.due(100, out);
    expect(out).toEqual([...all.keys()].filter((i) => i % 3 === 0));
    out.length = 0;
    q.due(1e9, out);
    expect(out).toEqual([...all.keys()]);
    for (const t of all) t.stop();
    expect(q.next()).toBe(Infinity);
  });
});

describe("Device timers with many peers", () => {
  it("nextTickAt and tick agree with a walk over every peer while peers are added, re-armed and removed", () => {
    const random = seededRandom(5);
    const rnd = mulberry32(6);
    const dev = new Device({ privateKey: PrivateKey.generate(random), random });
    let now = 1_700_000_000_000;
    let n = 0;
    const addPeer = (): void => {
      const i = n++;
      dev.addPeer(
        {
          publicKey: PrivateKey.generate(random).publicKey(),
          allowedIps: [`10.${i >> 8}.${i & 255}.0/24`],
          ...(rnd() < 0.8 ? { endpoint: { address: "192.0.2.1", port: 1000 + i } } : {}),
          persistentKeepalive: rnd() < 0.5 ? 0 : 1 + Math.floor(rnd() * 30),
        },
        now,
      );
    };
    for (let i = 0; i < 120; i++) addPeer();
    const removed: Peer[] = [];
    const out: Action[] = [];
    let ticks = 0;
    for (let step = 0; step < 1500; step++) {
      const peers = dev.peers();
      const peer = peers[Math.floor(rnd() * peers.length)]!;
      const r = rnd();
      if (r < 0.3) {
        // Stages a packet and sends an initiation: arms retransmit.
        const i = Number(peer.allowedIps[0]!.split(".")[1]) * 256 + Number(peer.allowedIps[0]!.split(".")[2]);
        dev.encapsulate(icmpEcho("10.255.255.1", `10.${i >> 8}.${i & 255}.9`), now, out);
      } else if (r < 0.4) dev.updatePeer(peer.publicKey, { persistentKeepalive: Math.floor(rnd() * 5) }, now);
      else if (r < 0.45) peer.timers.zeroKeyMaterialAt = now + Math.floor(rnd() * 20_000);
      else if (r < 0.48 && peers.length > 1) {
        dev.removePeer(peer.publicKey);
        removed.push(peer);
      } else if (r < 0.5) addPeer();
      else if (r < 0.52 && removed.length > 0) removed[Math.floor(rnd() * removed.length)]!.timers.retransmitHandshakeAt = now;
      else {
        now = rnd() < 0.5 ? Math.max(now, dev.nextTickAt()) : now + Math.floor(rnd() * 200);
        if (!Number.isFinite(now)) throw new Error("no timer armed");
        const current = dev.peers();
        const due = current.filter((p) => dueTimers(p.timers, now) !== 0);
        const before = new Map(current.map((p) => [p, nextDeadline(p.timers)]));
        out.length = 0;
        dev.tick(now, out);
        ticks++;
        // Every due peer was run (nothing due is left), the others were not touched, removed
        // peers never come up, and peers come in the order they were added.
        expect(current.filter((p) => dueTimers(p.timers, now) !== 0)).toEqual([]);
        expect(current.filter((p) => !due.includes(p) && nextDeadline(p.timers) !== before.get(p))).toEqual([]);
        const order = out.map((a) => (a.kind === "toNetwork" || a.kind === "drop" ? a.peer : undefined)).filter((p) => p !== undefined);
        expect(order.filter((p) => !due.includes(p))).toEqual([]);
        const ranks = order.map((p) => current.indexOf(p));
        expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
      }
      expect(dev.nextTickAt()).toBe(Math.min(...dev.peers().map((p) => nextDeadline(p.timers))));
    }
    expect(ticks).toBeGreaterThan(300);
    expect(removed.length).toBeGreaterThan(10);
  });
});
