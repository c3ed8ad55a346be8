/**
 * Opening a Linux TUN device through koffi, optionally with the virtio-net header and TSO
 * (IFF_VNET_HDR + TUNSETOFFLOAD): the kernel then hands us TCP "super-packets" of up to 64 KiB
 * with a {@link VNET_HDR_LEN}-byte virtio_net_hdr in front, which we split ourselves (gso.ts).
 * Every write must then carry a virtio_net_hdr too: zero or DATA_VALID for a single packet, a TCP
 * GSO header for a super-packet merged by gro.ts.
 */
import {
  IFF_NO_PI, IFF_TUN, IFF_VNET_HDR, O_CLOEXEC, O_RDWR, TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUNSETIFF,
  TUNSETOFFLOAD, libc,
} from "../libc.js";

/** sizeof(struct virtio_net_hdr) without mergeable buffers. */
export const VNET_HDR_LEN = 10;

export interface TunOptions {
  /** IFF_VNET_HDR + TUNSETOFFLOAD(CSUM|TSO4|TSO6). */
  offload: boolean;
}

/** Opens /dev/net/tun and attaches it to `name` (created if absent). Returns the fd. */
export function openTun(name: string, o: TunOptions): number {
  const c = libc();
  const fd = c.open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) throw new Error(`open /dev/net/tun: errno ${c.errno()}`);
  const ifr = Buffer.alloc(40); // struct ifreq: char name[16]; short flags; ...
  ifr.write(name, 0, 15, "ascii");
  ifr.writeUInt16LE(IFF_TUN | IFF_NO_PI | (o.offload ? IFF_VNET_HDR : 0), 16);
  if (c.ioctl(fd, TUNSETIFF, c.addressOf(ifr)) < 0) {
    const e = c.errno();
    c.close(fd);
    throw new Error(`TUNSETIFF ${name}: errno ${e}`);
  }
  if (o.offload && c.ioctlInt(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) {
    const e = c.errno();
    c.close(fd);
    throw new Error(`TUNSETOFFLOAD ${name}: errno ${e}`);
  }
  return fd;
}
