/**
 * The libc calls Node does not expose, through koffi (no native addon), for the data plane
 * (dataplane/*: {@link libc}, raw-address calls usable inside worker threads).
 *
 * Every pointer argument is passed as a raw address (`uintptr_t`) obtained with `addressOf`:
 * Node's ArrayBuffer backing stores never move, so a Buffer's address stays valid while the
 * Buffer is referenced. Loaded lazily (unit tests that never touch a TUN do not load the FFI)
 * and per thread (koffi works inside worker threads).
 *
 * Linux x86_64/aarch64 (LP64) layouts only.
 */
import koffi from "koffi";

export interface Libc {
  open(path: string, flags: number): number;
  close(fd: number): number;
  read(fd: number, addr: number, n: number): number;
  write(fd: number, addr: number, n: number): number;
  ioctl(fd: number, req: number, addr: number): number;
  ioctlInt(fd: number, req: number, arg: number): number;
  socket(domain: number, type: number, proto: number): number;
  /** socketpair(2): the two connected fds, or −1 and −1. */
  socketpair(domain: number, type: number, proto: number): [number, number];
  bind(fd: number, addr: number, len: number): number;
  setsockopt(fd: number, level: number, name: number, addr: number, len: number): number;
  recvmmsg(fd: number, vec: number, vlen: number, flags: number, timeout: number): number;
  sendmmsg(fd: number, vec: number, vlen: number, flags: number): number;
  sendmsg(fd: number, msg: number, flags: number): number;
  dup2(oldfd: number, newfd: number): number;
  shutdown(fd: number, how: number): number;
  getsockname(fd: number, addr: number, lenAddr: number): number;
  sendto(fd: number, buf: number, len: number, flags: number, to: number, tolen: number): number;
  poll(fds: number, nfds: number, timeoutMs: number): number;
  fcntl(fd: number, cmd: number, arg: number): number;
  /** glibc malloc_trim(0): gives free heap memory of every arena back to the kernel (after worker threads exit). */
  mallocTrim(): number;
  /** glibc mallopt(3), e.g. {@link M_MMAP_THRESHOLD}. */
  mallopt(param: number, value: number): number;
  /**
   * sched_setscheduler(2) of thread `tid` (Linux: per thread): SCHED_IDLE (it runs only on a CPU
   * nothing else wants) or back to SCHED_OTHER; 0 or −1.
   */
  setThreadIdle(tid: number, idle: boolean): number;
  /** execve(2): replaces this process (same PID); returns −1 only when it fails. */
  execve(path: string, argv: readonly string[], env: readonly string[]): number;
  /** Address of a Buffer's first byte. */
  addressOf(b: Uint8Array): number;
  errno(): number;
}

let cached: Libc | null = null;

export function libc(): Libc {
  if (cached) return cached;
  const lib = koffi.load("libc.so.6");
  const memcpyAddr = lib.func("uintptr_t memcpy(void *dst, const void *src, size_t n)");
  const read = lib.func("long read(int fd, uintptr_t buf, size_t n)");
  const write = lib.func("long write(int fd, uintptr_t buf, size_t n)");
  const ioctl = lib.func("int ioctl(int fd, unsigned long req, uintptr_t arg)");
  const ioctlInt = lib.func("int ioctl(int fd, unsigned long req, unsigned long arg)");
  const open = lib.func("int open(const char *path, int flags)");
  const close = lib.func("int close(int fd)");
  const socket = lib.func("int socket(int domain, int type, int proto)");
  const socketpair = lib.func("int socketpair(int domain, int type, int proto, uintptr_t sv)");
  const bind = lib.func("int bind(int fd, uintptr_t addr, uint32_t len)");
  const setsockopt = lib.func("int setsockopt(int fd, int level, int name, uintptr_t val, uint32_t len)");
  const recvmmsg = lib.func("int recvmmsg(int fd, uintptr_t vec, unsigned int vlen, int flags, uintptr_t timeout)");
  const sendmmsg = lib.func("int sendmmsg(int fd, uintptr_t vec, unsigned int vlen, int flags)");
  const sendmsg = lib.func("long sendmsg(int fd, uintptr_t msg, int flags)");
  const sendto = lib.func("long sendto(int fd, uintptr_t buf, size_t len, int flags, uintptr_t to, uint32_t tolen)");
  const dup2 = lib.func("int dup2(int oldfd, int newfd)");
  const shutdown = lib.func("int shutdown(int fd, int how)");
  const getsockname = lib.func("int getsockname(int fd, uintptr_t addr, uintptr_t len)");
  const poll = lib.func("int poll(uintptr_t fds, unsigned long nfds, int timeout)");
  const fcntl = lib.func("int fcntl(int fd, int cmd, int arg)");
  const mallocTrim = lib.func("int malloc_trim(size_t pad)");
  const mallopt = lib.func("int mallopt(int param, int value)");
  const execve = lib.func("int execve(const char *path, const char **argv, const char **envp)");
  const schedSetscheduler = lib.func("int sched_setscheduler(int pid, int policy, uintptr_t param)");
  /** struct sched_param { int sched_priority; }: 0 for both policies. */
  const schedParam = Buffer.alloc(8);
  cached = {
    open: (p, f) => open(p, f) as number,
    close: (fd) => close(fd) as number,
    read: (fd, a, n) => read(fd, a, n) as number,
    write: (fd, a, n) => write(fd, a, n) as number,
    ioctl: (fd, r, a) => ioctl(fd, r, a) as number,
    ioctlInt: (fd, r, a) => ioctlInt(fd, r, a) as number,
    socket: (d, t, p) => socket(d, t, p) as number,
    socketpair: (d, t, p) => {
      const sv = new Int32Array(2);
      return (socketpair(d, t, p, memcpyAddr(sv, sv, 0)) as number) < 0 ? [-1, -1] : [sv[0]!, sv[1]!];
    },
    bind: (fd, a, l) => bind(fd, a, l) as number,
    setsockopt: (fd, l, n, a, len) => setsockopt(fd, l, n, a, len) as number,
    recvmmsg: (fd, v, n, f, t) => recvmmsg(fd, v, n, f, t) as number,
    sendmmsg: (fd, v, n, f) => sendmmsg(fd, v, n, f) as number,
    sendmsg: (fd, m, f) => sendmsg(fd, m, f) as number,
    sendto: (fd, b, l, f, t, tl) => sendto(fd, b, l, f, t, tl) as number,
    dup2: (a, b) => dup2(a, b) as number,
    shutdown: (fd, how) => shutdown(fd, how) as number,
    getsockname: (fd, a, l) => getsockname(fd, a, l) as number,
    poll: (fds, n, t) => poll(fds, n, t) as number,
    fcntl: (fd, c, a) => fcntl(fd, c, a) as number,
    mallocTrim: () => mallocTrim(0) as number,
    mallopt: (p, v) => mallopt(p, v) as number,
    setThreadIdle: (tid, idle) => schedSetscheduler(tid, idle ? SCHED_IDLE : SCHED_OTHER, memcpyAddr(schedParam, schedParam, 0)) as number,
    execve: (path, argv, env) => execve(path, [...argv, null], [...env, null]) as number,
    addressOf: (b) => (memcpyAddr(b, b, 0) as number) + 0,
    errno: () => koffi.errno(),
  };
  return cached;
}

// <fcntl.h>, <sys/socket.h>, <netinet/in.h>, <linux/if_tun.h>, <linux/udp.h> (x86_64 values)
export const O_RDWR = 0o2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const F_SETFD = 2;
/** <sched.h> (Linux) */
export const SCHED_OTHER = 0;
export const SCHED_IDLE = 5;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_DGRAM = 2;
export const SOCK_SEQPACKET = 5;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SHUT_RDWR = 2;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SO_MARK = 36;
export const SOL_UDP = 17;
export const UDP_SEGMENT = 103;
export const UDP_GRO = 104;
export const MSG_DONTWAIT = 0x40;
export const MSG_WAITFORONE = 0x10000;
export const TUNSETIFF = 0x400454ca;
export const TUNSETOFFLOAD = 0x400454d0;
export const TUNSETVNETHDRSZ = 0x400454d8;
export const IFF_TUN = 0x0001;
export const IFF_NO_PI = 0x1000;
export const IFF_VNET_HDR = 0x4000;
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_TSO_ECN = 0x08;
export const EAGAIN = 11;
export const EINTR = 4;

/** What a TUN read returns once the interface has been deleted (`ip link del`). */
export const EBADFD = 77;
export const POLLIN = 0x1;
/** mallopt(3) parameters (<malloc.h>). */
export const M_TRIM_THRESHOLD = -1;
export const M_MMAP_THRESHOLD = -3;
