/**
 * The tunnel side of the engine: a batch-aware TUN device (wireguard-go tun/tun.go's Device),
 * delivering like {@link Bind}: the device calls {@link Tun.onBatch} from its own read event, so a
 * packet goes from the read to the core and out in one call, with no promise or queue in between.
 * The Linux one is the data plane's (dataplane/io.ts over dataplane/tun.ts: IFF_VNET_HDR, offloads,
 * the main thread while light, worker threads under load); test/support/memory-devices.ts has an
 * in-memory one for unit tests.
 */
import { closeSync, openSync, readSync } from "node:fs";

export interface Tun {
  readonly name: string;
  /**
   * Receives inner IP packets read from the kernel (a TSO super-packet arrives as its segments in
   * one batch). The array is reused after the callback returns, and the packets may be views of
   * the device's read buffer, valid only during the call: keep a copy (wg-core's encapsulate does,
   * for the packets it stages).
   */
  onBatch: (packets: Uint8Array[], count: number) => void;
  /** Called once when the interface is gone (`ip link del`): nothing is read any more. */
  onGone: (reason: Error) => void;
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

/**
 * The MTU of network interface `name`, read from sysfs each call (0 when unreadable). The file stays
 * open between calls and is read again from offset 0 (sysfs regenerates it on every read from the
 * start): one pread instead of open/fstat/read/close, for a caller that asks every 100 ms.
 */
export class LinkMtu {
  #fd = -1;
  readonly #buf = Buffer.alloc(16);

  constructor(readonly name: string) {}

  read(): number {
    try {
      if (this.#fd < 0) this.#fd = openSync(`/sys/class/net/${this.name}/mtu`, "r");
      const n = readSync(this.#fd, this.#buf, 0, this.#buf.length, 0);
      return Number(this.#buf.toString("latin1", 0, n).trim()) || 0;
    } catch {
      this.close(); // the link went away (or never was): open again next time
      return 0;
    }
  }

  close(): void {
    if (this.#fd < 0) return;
    try {
      closeSync(this.#fd);
    } catch {
      // already gone
    }
    this.#fd = -1;
  }
}
