/**
 * The few libc calls Node does not expose, through koffi: ioctl (TUNSETIFF) and setsockopt
 * (SO_MARK). Loaded lazily so unit tests that never touch a TUN do not load the FFI.
 */
import koffi from "koffi";

interface Libc {
  ioctl(fd: number, req: number, arg: Buffer): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  const lib = koffi.load("libc.so.6");
  libc = {
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

export function setsockoptInt(fd: number, level: number, name: number, value: number, what: string): void {
  const lc = load();
  const buf = Buffer.alloc(4);
  buf.writeUInt32LE(value >>> 0);
  if (lc.setsockopt(fd, level, name, buf, 4) < 0) throw new SyscallError(what, koffi.errno());
}
