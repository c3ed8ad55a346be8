/**
 * The main thread's I/O (dataplane/main-loop.ts) over real fds without root: a FIFO stands in for
 * the TUN (no virtio header), a UDP socket on 127.0.0.1 for the peer. What a lone packet relies on:
 * each read reaches the sink at once as a view, `send` reuses the destination's sockaddr, a
 * transport datagram arrives as a view and anything else as a copy, the source endpoint is reused.
 */
import { execFileSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { libc } from "../src/libc.js";
import { MainLoop } from "../src/dataplane/main-loop.js";
import { SOCKADDR6, openUdp, readSockaddr } from "../src/dataplane/udp.js";
import { until } from "./support/lab.js";

const SOON = { ms: 2500, everyMs: 5 };

describe("MainLoop (FIFO as the TUN, UDP on loopback)", () => {
  const dir = mkdtempSync(join(tmpdir(), "wgts-main-loop-"));
  let tunFd = -1;
  let udpFd = -1;
  let port = 0;
  const peer = createSocket("udp4");
  const atPeer: { data: Buffer; port: number }[] = [];
  const tunnel: { bytes: number[]; view: boolean }[] = [];
  const datagrams: { bytes: number[]; view: boolean; from: { address: string; port: number } }[] = [];
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
    loop = new MainLoop(
      { tunFd, udpFd, offload: false, udpGro: false, mtu: 1500 },
      {
        tunnel(packets, count) {
          for (let i = 0; i < count; i++) {
            const p = packets[i]!;
            tunnel.push({ bytes: [...p], view: p.buffer.byteLength > p.length });
            // What the Engine does with a lone packet: sealed and sent inside this call.
            loop.send(p, { address: "127.0.0.1", port: peer.address().port });
          }
        },
        datagram(d, from) {
          datagrams.push({ bytes: [...d], view: d.buffer.byteLength > d.length, from });
        },
        gone() {},
      },
    );
    loop.start();
  });

  afterAll(() => {
    loop.close();
    closeSync(tunFd);
    libc().close(udpFd);
    peer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("hands each TUN read to the sink as a view of the read buffer, and sends from inside the call", async () => {
    writeSync(tunFd, Buffer.from([0x45, 1, 2, 3]));
    await until(() => atPeer.length === 1, SOON);
    writeSync(tunFd, Buffer.from([0x45, 9, 9]));
    await until(() => atPeer.length === 2, SOON);
    expect(tunnel).toEqual([
      { bytes: [0x45, 1, 2, 3], view: true },
      { bytes: [0x45, 9, 9], view: true },
    ]);
    expect(atPeer.map((d) => [...d.data])).toEqual([
      [0x45, 1, 2, 3],
      [0x45, 9, 9],
    ]);
    expect(atPeer[0]!.port).toBe(port);
    expect(loop.takeCount()).toBe(2);
    // A destination that is not an IP address is refused, and the next good one is written afresh.
    expect(loop.send(new Uint8Array(1), { address: "peer.example", port: 1 })).toBe(-1);
    expect(loop.send(new Uint8Array([7]), { address: "127.0.0.1", port: peer.address().port })).toBe(1);
    await until(() => atPeer.length === 3, SOON);
  });

  it("gives transport datagrams as views, other messages as copies, and one endpoint object per source", async () => {
    const send = (bytes: number[]): Promise<void> =>
      new Promise((resolve, reject) => peer.send(Buffer.from(bytes), port, "127.0.0.1", (e) => (e ? reject(e) : resolve())));
    await send([4, 0, 0, 0, 1]);
    await until(() => datagrams.length === 1, SOON);
    await send([1, 0, 0, 0, 2]);
    await until(() => datagrams.length === 2, SOON);
    expect(datagrams.map((d) => [d.bytes, d.view])).toEqual([
      [[4, 0, 0, 0, 1], true],
      [[1, 0, 0, 0, 2], false],
    ]);
    expect(datagrams[0]!.from).toEqual({ address: "127.0.0.1", port: peer.address().port });
    expect(datagrams[1]!.from).toBe(datagrams[0]!.from);
  });
});
