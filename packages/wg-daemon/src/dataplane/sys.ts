/**
 * The data plane's hot system calls — read(2)/write(2) on the TUN, recvmmsg/sendmmsg/sendmsg/sendto
 * on the socket — and the main thread's readable-watches on both fds. Two implementations of one
 * contract, chosen once per thread by {@link sys}:
 *
 * - the native addon's direct N-API functions (native/src/io.c) where it loads: koffi's generic call
 *   path and its poll callback's event object cost a lone packet ~100 µs (12 %) per round trip over two
 *   daemons (benchmarks/README.md, section 19);
 * - koffi (libc.ts) elsewhere, as before.
 *
 * Every call returns the system call's result or −errno. Buffers are raw addresses (libc.ts
 * `addressOf`), kept alive by the caller. A watch calls `onReadable` with no arguments when the fd
 * is readable or has an error or hang-up (the read that follows tells which); it must be closed
 * before its fd is closed or replaced (libuv polls the fd until then).
 */
import koffi from "koffi";
import { libc } from "../libc.js";
import { loadAddon, type WgAeadAddon } from "../native-aead.js";

/** A readable-watch on an fd in this thread's event loop (started when made; once closed, every call is a no-op). */
export interface FdWatch {
  start(): void;
  stop(): void;
  /** Stops it for good and lets go of the callback. */
  close(): void;
}

export interface Sys {
  /** "native" (the addon) or "koffi". */
  readonly kind: "native" | "koffi";
  read(fd: number, addr: number, n: number): number;
  write(fd: number, addr: number, n: number): number;
  /** recvmmsg(2) without a timeout. */
  recvmmsg(fd: number, vec: number, vlen: number, flags: number): number;
  sendmmsg(fd: number, vec: number, vlen: number, flags: number): number;
  sendmsg(fd: number, msg: number, flags: number): number;
  sendto(fd: number, buf: number, len: number, flags: number, to: number, tolen: number): number;
  watch(fd: number, onReadable: () => void): FdWatch;
}

/** The koffi implementation (libc.ts; a failed call's errno read right after it). */
export function koffiSys(): Sys {
  const c = libc();
  const result = (r: number): number => (r < 0 ? -c.errno() : r);
  const readable = { readable: true };
  return {
    kind: "koffi",
    read: (fd, addr, n) => result(c.read(fd, addr, n)),
    write: (fd, addr, n) => result(c.write(fd, addr, n)),
    recvmmsg: (fd, vec, vlen, flags) => result(c.recvmmsg(fd, vec, vlen, flags, 0)),
    sendmmsg: (fd, vec, vlen, flags) => result(c.sendmmsg(fd, vec, vlen, flags)),
    sendmsg: (fd, msg, flags) => result(c.sendmsg(fd, msg, flags)),
    sendto: (fd, buf, len, flags, to, tolen) => result(c.sendto(fd, buf, len, flags, to, tolen)),
    watch(fd, onReadable) {
      const cb = (): void => onReadable();
      const h = koffi.node.poll(fd, readable, cb);
      let closed = false; // koffi's handle must not be used once closed
      return {
        start: () => closed || h.start(readable, cb),
        stop: () => closed || h.stop(),
        close: () => closed || ((closed = true), h.close()),
      };
    },
  };
}

const EBADF = 9;

/**
 * The addon's implementation, or null when the addon has none or it fails a load-time check (a
 * read and a write on fd −1 must give −EBADF).
 */
export function nativeSys(addon: WgAeadAddon): Sys | null {
  const { ioRead, ioWrite, ioRecvmmsg, ioSendmmsg, ioSendmsg, ioSendto, watch, watchStart, watchStop, watchClose } = addon;
  if (!ioRead || !ioWrite || !ioRecvmmsg || !ioSendmmsg || !ioSendmsg || !ioSendto || !watch || !watchStart || !watchStop || !watchClose) return null;
  if (ioRead(-1, 0, 0) !== -EBADF || ioWrite(-1, 0, 0) !== -EBADF) return null;
  return {
    kind: "native",
    read: ioRead,
    write: ioWrite,
    recvmmsg: ioRecvmmsg,
    sendmmsg: ioSendmmsg,
    sendmsg: ioSendmsg,
    sendto: ioSendto,
    watch(fd, onReadable) {
      const h = watch(fd, onReadable);
      watchStart(h);
      return { start: () => watchStart(h), stop: () => watchStop(h), close: () => watchClose(h) };
    },
  };
}

let chosen: { sys: Sys; reason: string | null } | null = null;

/** This thread's {@link Sys} (the addon's where it loads and passes its check, else koffi's) and why not native. */
export function sysChoice(): { sys: Sys; reason: string | null } {
  if (chosen !== null) return chosen;
  const loaded = loadAddon();
  const native = loaded.addon === null ? null : nativeSys(loaded.addon);
  const why = loaded.addon === null ? loaded.reason : "the addon failed its load-time check";
  chosen = native !== null ? { sys: native, reason: null } : { sys: koffiSys(), reason: `native system calls not used (${why}); using koffi` };
  return chosen;
}

/** This thread's {@link Sys}. */
export function sys(): Sys {
  return sysChoice().sys;
}
