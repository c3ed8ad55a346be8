/**
 * The tunnel side of the engine: a batch-aware TUN device (wireguard-go tun/tun.go's Device). The
 * Linux one is the data plane's (dataplane/io.ts over dataplane/tun.ts: IFF_VNET_HDR, offloads, the main
 * thread while light, worker threads under load); test/support/memory-devices.ts has an in-memory
 * one for unit tests.
 */
import { readFileSync } from "node:fs";

export interface Tun {
  readonly name: string;
  /**
   * Waits for at least one packet, then fills `out` with every packet already received
   * (`out` is grown as needed) and returns how many. The packets are
   * views valid until the next `read` call.
   */
  read(out: Uint8Array[]): Promise<number>;
  /** Writes inner IP packets to the kernel; malformed ones are counted by the kernel, never thrown. */
  write(packets: readonly Uint8Array[], count?: number): void;
  /**
   * The interface's current MTU in bytes, 0 when unknown (wireguard-go tun.Device.MTU). The engine
   * hands it to the core, which caps transport padding at it; `ip link set mtu` (wg-quick, `wg-ts up`)
   * may change it at any time.
   */
  mtu?(): number;
  close(): void;
}

/** The MTU of network interface `name` (sysfs), 0 when unreadable. */
export function linkMtu(name: string): number {
  try {
    return Number(readFileSync(`/sys/class/net/${name}/mtu`, "utf8").trim()) || 0;
  } catch {
    return 0;
  }
}
