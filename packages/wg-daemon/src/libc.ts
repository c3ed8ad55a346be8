/**
 * The few libc calls Node does not expose, through koffi: ioctl (TUNSETIFF) and setsockopt
 * (SO_MARK). Loaded lazily so unit tests that never touch a TUN do not load the FFI.
 */
import koffi from "koffi";

interface AsyncFn {
  async(...args: unknown[]): void;
}

interface Libc {
  poll: AsyncFn;
  ioctl(fd: number, req: number, arg: Buffer): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  const lib = koffi.load("libc.so.6");
  libc = {
    poll: lib.func("int poll(_Inout_ uint8_t *fds, unsigned long nfds, int timeout)") as unknown as AsyncFn,
    ioctl: lib.func("int ioctl(int fd, unsigned long req, _Inout_ uint8_t *arg)") as Libc["ioctl"],
    setsockopt: lib.func(
      "int setsockopt(int fd, int level, int name, const uint8_t *value, uint32_t len)",
    ) as Libc["setsockopt"],
  };
  return libc;
}

/** Error with the C errno, e.g. `TUNSETIFF: errno 16`. */
export class SyscallError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`${call} failed: errno ${errno}`);
  }
}

export function ioctl(fd: number, req: number, arg: Buffer, what: string): void {
  const lc = load();
  if (lc.ioctl(fd, req, arg) < 0) throw new SyscallError(what, koffi.errno());
}

export const SOL_SOCKET = 1;
export const SO_MARK = 36;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;

export function setsockoptInt(fd: number, level: number, name: number, value: number, what: string): void {
  const lc = load();
  const buf = Buffer.alloc(4);
  buf.writeUInt32LE(value >>> 0);
  if (lc.setsockopt(fd, level, name, buf, 4) < 0) throw new SyscallError(what, koffi.errno());
}

const POLLIN = 0x1;

/**
 * Waits (on a koffi worker thread, never the event loop) until `fd` is readable or `timeoutMs`
 * passes. Resolves with the revents bits (0 on timeout).
 */
export function pollIn(fd: number, timeoutMs: number): Promise<number> {
  const lc = load();
  const pfd = Buffer.alloc(8);
  pfd.writeInt32LE(fd, 0);
  pfd.writeInt16LE(POLLIN, 4);
  return new Promise((resolve, reject) => {
    lc.poll.async(pfd, 1, timeoutMs, (err: unknown, n: number) => {
      if (err) reject(err as Error);
      else if (n < 0) reject(new SyscallError("poll", koffi.errno()));
      else resolve(n === 0 ? 0 : pfd.readInt16LE(6));
    });
  });
}
