/**
 * The data plane's system calls and fd watches (dataplane/sys.ts), one contract for both
 * implementations — the addon's N-API functions (native/src/io.c) and koffi's — over real fds
 * without root: a FIFO, and a UDP socket on loopback with a node:dgram peer. Each call returns the
 * system call's result or −errno; a watch calls back when its fd is readable, not while stopped,
 * again once restarted, never once closed.
 */
import { execFileSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MSG_DONTWAIT, libc } from "../src/libc.js";
import { loadAddon } from "../src/native-aead.js";
import { koffiSys, nativeSys, sys, sysChoice, type Sys } from "../src/dataplane/sys.js";
import { SOCKADDR6, openUdp, readSockaddr, writeSockaddr } from "../src/dataplane/udp.js";
import { sleep, until } from "./support/lab.js";

const EBADF = 9;
const EAGAIN = 11;
const EINVAL = 22;
const SOON = { ms: 2500, everyMs: 5 };

const loaded = loadAddon();
const native = loaded.addon === null ? null : nativeSys(loaded.addon);

/** One struct mmsghdr + iovec + sockaddr_in6 over `data` (LP64 layout, as udp.ts MmsgBatch). */
function oneMessage(data: Buffer): { hdr: Buffer; name: Buffer; hdrAddr: number; keep: Buffer[] } {
  const c = libc();
  const hdr = Buffer.alloc(64);
  const iov = Buffer.alloc(16);
  const name = Buffer.alloc(SOCKADDR6);
  iov.writeBigUInt64LE(BigInt(c.addressOf(data)), 0);
  iov.writeBigUInt64LE(BigInt(data.length), 8);
  hdr.writeBigUInt64LE(BigInt(c.addressOf(name)), 0); // msg_name
  hdr.writeUInt32LE(SOCKADDR6, 8); // msg_namelen
  hdr.writeBigUInt64LE(BigInt(c.addressOf(iov)), 16); // msg_iov
  hdr.writeBigUInt64LE(1n, 24); // msg_iovlen
  return { hdr, name, hdrAddr: c.addressOf(hdr), keep: [iov, data] };
}

const impls: [string, () => Sys][] = [["koffi", koffiSys]];
// The addon ships prebuilt for linux-x64 (native-aead.test.ts requires it to load there); elsewhere only koffi is tested.
if (native !== null) impls.push(["native", () => native]);

describe.each(impls)("Sys over %s", (_name, make) => {
  const s = make();
  const dir = mkdtempSync(join(tmpdir(), "wgts-sys-"));
  const peer = createSocket("udp4");
  const atPeer: Buffer[] = [];
  let fifo = -1;
  let udp = -1;
  let port = 0;
  const buf = Buffer.alloc(2048);
  let bufAddr = 0;

  beforeAll(async () => {
    execFileSync("mkfifo", [join(dir, "fifo")]);
    fifo = openSync(join(dir, "fifo"), constants.O_RDWR | constants.O_NONBLOCK);
    udp = openUdp({ port: 0 });
    const c = libc();
    bufAddr = c.addressOf(buf);
    const name = Buffer.alloc(SOCKADDR6);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(SOCKADDR6);
    expect(c.getsockname(udp, c.addressOf(name), c.addressOf(len))).toBe(0);
    port = readSockaddr(name, 0).port;
    await new Promise<void>((resolve) => peer.bind(0, "127.0.0.1", resolve));
    peer.on("message", (data) => atPeer.push(data));
  });

  afterAll(() => {
    closeSync(fifo);
    libc().close(udp);
    peer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("read and write: bytes moved, −EAGAIN on an empty non-blocking fd, −EBADF on a closed one", () => {
    expect(s.read(fifo, bufAddr, buf.length)).toBe(-EAGAIN);
    Buffer.from("hello").copy(buf);
    expect(s.write(fifo, bufAddr, 5)).toBe(5);
    buf.fill(0);
    expect(s.read(fifo, bufAddr, buf.length)).toBe(5);
    expect(buf.subarray(0, 5).toString()).toBe("hello");
    expect(s.read(-1, bufAddr, 1)).toBe(-EBADF);
    expect(s.write(-1, bufAddr, 1)).toBe(-EBADF);
  });

  it("sendto, sendmsg and sendmmsg reach the peer; recvmmsg takes a datagram with its source, −EAGAIN when none is queued", async () => {
    const to = Buffer.alloc(SOCKADDR6);
    writeSockaddr(to, 0, "127.0.0.1", peer.address().port);
    const c = libc();
    const d1 = Buffer.from("one");
    expect(s.sendto(udp, c.addressOf(d1), d1.length, 0, c.addressOf(to), SOCKADDR6)).toBe(3);
    const m2 = oneMessage(Buffer.from("two!"));
    to.copy(m2.name);
    expect(s.sendmsg(udp, m2.hdrAddr, 0)).toBe(4);
    const m3 = oneMessage(Buffer.from("three"));
    to.copy(m3.name);
    expect(s.sendmmsg(udp, m3.hdrAddr, 1, 0)).toBe(1);
    await until(() => atPeer.length === 3, SOON);
    expect(atPeer.map((b) => b.toString())).toEqual(["one", "two!", "three"]);

    const into = oneMessage(Buffer.alloc(64));
    expect(s.recvmmsg(udp, into.hdrAddr, 1, MSG_DONTWAIT)).toBe(-EAGAIN);
    peer.send("back", port, "127.0.0.1");
    let got = -EAGAIN;
    await until(() => (got = s.recvmmsg(udp, into.hdrAddr, 1, MSG_DONTWAIT)) !== -EAGAIN, SOON);
    expect(got).toBe(1);
    expect(into.hdr.readUInt32LE(56)).toBe(4); // msg_len
    expect(into.keep[1]!.subarray(0, 4).toString()).toBe("back");
    expect(readSockaddr(into.name, 0)).toEqual({ address: "127.0.0.1", port: peer.address().port });
    expect(s.sendto(-1, c.addressOf(d1), 1, 0, c.addressOf(to), SOCKADDR6)).toBe(-EBADF);
  });

  it("a watch calls back on a readable fd; not while stopped; again once restarted; never once closed", async () => {
    let calls = 0;
    const w = s.watch(fifo, () => {
      calls++;
      while (s.read(fifo, bufAddr, buf.length) > 0); // drained: the level-triggered poll goes quiet
    });
    try {
      writeSync(fifo, "a");
      await until(() => calls === 1, SOON);
      w.stop();
      writeSync(fifo, "b");
      await sleep(100);
      expect(calls).toBe(1);
      w.start();
      await until(() => calls === 2, SOON);
      w.close();
      writeSync(fifo, "c");
      await sleep(100);
      expect(calls).toBe(2);
      w.start(); // a closed watch stays closed (koffi: a no-op too)
      await sleep(50);
      expect(calls).toBe(2);
    } finally {
      w.close();
      while (s.read(fifo, bufAddr, buf.length) > 0); // what the closed watch left
    }
  });
});

// skipIf: the addon loads on linux-x64, where native-aead.test.ts requires it; elsewhere there is no native side to test.
describe.skipIf(native === null)("the addon's system calls: bad arguments", () => {
  const addon = loaded.addon!;
  it("a call whose arguments are not numbers gives −EINVAL without a system call", () => {
    expect(addon.ioRead!("x" as unknown as number, 0, 0)).toBe(-EINVAL);
    expect((addon.ioSendto as unknown as (...a: unknown[]) => number)(1, 2)).toBe(-EINVAL);
  });

  it("watch refuses what is not an fd and a function; the watch calls refuse what is not a watch handle", () => {
    expect(() => addon.watch!(-1, () => {})).toThrow(TypeError);
    expect(() => addon.watch!(0, "f" as unknown as () => void)).toThrow(TypeError);
    expect(() => addon.watchStart!({})).toThrow(/not a watch handle/);
    expect(() => addon.watchClose!(addon.x25519Private!(new Uint8Array(32).fill(7), new Uint8Array(32))!)).toThrow(/not a watch handle/);
  });

  it("where the addon loads, this thread's choice is the addon", () => {
    expect(sysChoice().reason).toBeNull();
    expect(sys().kind).toBe("native");
  });
});
