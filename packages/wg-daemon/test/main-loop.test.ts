/**
 * The main thread's driver of the pipelines (dataplane/main-loop.ts) over real fds without root: a
 * FIFO stands in for the TUN, a UDP socket on 127.0.0.1 for the peer. A readable fd wakes the loop,
 * which steps its pipeline until the fd is drained, sends what the tx pipeline batched, then
 * reports the burst; the first TUN packet of a wake-up is sent before the read that finds the TUN
 * empty, and the socket is not read again after a read that did not fill the batch; after the rx
 * pipeline's steps it looks at the TUN once more (what the kernel answered at once to the packets
 * written leaves in the same wake-up); `send` (wg-core's own datagrams) reuses the destination's sockaddr. The pipelines themselves are tested in pipeline.test.ts.
 */
import { execFileSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MSG_DONTWAIT, libc } from "../src/libc.js";
import { MainLoop } from "../src/dataplane/main-loop.js";
import type { StepResult } from "../src/dataplane/pipeline.js";
import { MmsgBatch, SOCKADDR6, openUdp, readSockaddr } from "../src/dataplane/udp.js";
import { until } from "./support/lab.js";

const SOON = { ms: 2500, everyMs: 5 };

describe("MainLoop (FIFO as the TUN, UDP on loopback)", () => {
  const dir = mkdtempSync(join(tmpdir(), "wgts-main-loop-"));
  let tunFd = -1;
  let udpFd = -1;
  let port = 0;
  const peer = createSocket("udp4");
  const atPeer: { data: Buffer; port: number }[] = [];
  /** What the loop did, in order: "tx:<bytes>", "tx:idle", "flush", "rx:<n>", "rx:idle", "burst". */
  const calls: string[] = [];
  const buf = Buffer.alloc(2048);
  let loop: MainLoop;

  beforeAll(async () => {
    execFileSync("mkfifo", [join(dir, "tun")]);
    tunFd = openSync(join(dir, "tun"), constants.O_RDWR | constants.O_NONBLOCK);
    udpFd = openUdp({ port: 0 });
    const name = Buffer.alloc(SOCKADDR6);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(SOCKADDR6);
    const c = libc();
    expect(c.getsockname(udpFd, c.addressOf(name), c.addressOf(len))).toBe(0);
    port = readSockaddr(name, 0).port;
    await new Promise<void>((resolve) => peer.bind(0, "127.0.0.1", resolve));
    peer.on("message", (data, rinfo) => atPeer.push({ data, port: rinfo.port }));
    // Stand-ins for the pipelines: each step reads one message (a FIFO read may take several writes at once).
    let batched = 0;
    const tx = {
      step(): StepResult {
        try {
          const n = readSync(tunFd, buf, 0, buf.length, null);
          calls.push(`tx:${n}`);
          batched++;
          return "busy";
        } catch {
          calls.push("tx:idle");
          return "idle";
        }
      },
      flush(): void {
        calls.push("flush");
        if (batched === 0) return;
        batched = 0;
        loop.send(new Uint8Array([1, 2, 3]), { address: "127.0.0.1", port: peer.address().port });
      },
    };
    const batch = new MmsgBatch(4, 64);
    const rx = {
      drained: true,
      step(): StepResult {
        const r = batch.recv(udpFd, 4, MSG_DONTWAIT);
        rx.drained = r < 4;
        calls.push(r <= 0 ? "rx:idle" : `rx:${batch.length(0)}`);
        // A datagram starting with 9 plays one whose inner packet this host answers at once (the
        // kernel handles a TUN write before the write returns): the answer is in the TUN right away.
        if (r > 0 && batch.data[0] === 9) writeSync(tunFd, Buffer.from([0x45, 9, 9]));
        return r <= 0 ? "idle" : "busy";
      },
    };
    loop = new MainLoop({ tunFd, udpFd }, { tx: () => tx, rx: () => rx, afterBurst: () => calls.push("burst"), gone() {} });
    loop.start(); // drains both fds once: an empty TUN still ends with a flush
    await until(() => calls.includes("rx:idle") && calls.at(-1) === "burst", SOON);
    calls.length = 0;
    atPeer.length = 0;
  });

  afterAll(() => {
    loop.close();
    closeSync(tunFd);
    libc().close(udpFd);
    peer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a readable TUN: the first packet leaves before the read that finds the TUN empty, the rest when drained, then the burst", async () => {
    writeSync(tunFd, Buffer.from([0x45, 1, 2, 3]));
    await until(() => atPeer.length === 1 && calls.includes("burst"), SOON);
    expect(calls).toEqual(["tx:4", "flush", "tx:idle", "flush", "burst"]);
    expect([...atPeer[0]!.data]).toEqual([1, 2, 3]);
    expect(atPeer[0]!.port).toBe(port);
  });

  it("a readable socket: a read that does not fill the batch empties it (no second read), the TUN once, then the burst", async () => {
    calls.length = 0;
    await new Promise<void>((resolve, reject) => peer.send(Buffer.from([4, 0, 0, 0, 1]), port, "127.0.0.1", (e) => (e ? reject(e) : resolve())));
    await until(() => calls.includes("burst"), SOON);
    expect(calls).toEqual(["rx:5", "tx:idle", "flush", "burst"]);
  });

  it("a socket holding more datagrams than the batch: read again until a read does not fill it", async () => {
    loop.stop();
    calls.length = 0;
    for (let i = 0; i < 5; i++) await new Promise<void>((resolve, reject) => peer.send(Buffer.from([4, 0, 0, 0, 2, i]), port, "127.0.0.1", (e) => (e ? reject(e) : resolve())));
    loop.start(); // drains the TUN (empty), then the socket: 4 datagrams, then 1
    await until(() => calls.filter((c) => c === "burst").length === 2, SOON);
    expect(calls).toEqual(["tx:idle", "flush", "burst", "rx:6", "rx:6", "tx:idle", "flush", "burst"]);
  });

  it("what this host answers at once to a received packet leaves in the same wake-up, before the burst is reported", async () => {
    calls.length = 0;
    const before = atPeer.length;
    await new Promise<void>((resolve, reject) => peer.send(Buffer.from([9, 0, 0, 0]), port, "127.0.0.1", (e) => (e ? reject(e) : resolve())));
    await until(() => calls.includes("burst") && atPeer.length === before + 1, SOON);
    expect(calls).toEqual(["rx:4", "tx:3", "flush", "tx:idle", "flush", "burst"]);
    expect([...atPeer.at(-1)!.data]).toEqual([1, 2, 3]);
  });

  it("send: a destination that is not an IP address is refused, the next good one written afresh", async () => {
    expect(loop.send(new Uint8Array(1), { address: "peer.example", port: 1 })).toBe(-1);
    const before = atPeer.length;
    expect(loop.send(new Uint8Array([7]), { address: "127.0.0.1", port: peer.address().port })).toBe(1);
    await until(() => atPeer.length === before + 1, SOON);
    expect([...atPeer.at(-1)!.data]).toEqual([7]);
  });
});
