/**
 * The network side of the engine: a batch-aware UDP bind (wireguard-go conn/conn.go's Bind). The
 * Linux one is the data plane's (dataplane/io.ts over dataplane/udp.ts: one dual-stack AF_INET6 socket with
 * UDP_GRO; on the main thread recvmmsg in and one sendto per datagram out, IPv4 peers as
 * IPv4-mapped addresses — the worker threads use the same socket with recvmmsg and UDP GSO);
 * test/support/memory-devices.ts has an in-memory pair for unit tests.
 */
import type { Endpoint } from "@wg-ts/core";

export interface Datagram {
  datagram: Uint8Array;
  endpoint: Endpoint;
}

export interface Bind {
  /** Binds `port` for IPv4 and IPv6 (0 = any free port); returns the port. */
  open(port: number): Promise<number>;
  readonly port: number;
  /** Sets SO_MARK on every socket (0 clears it). */
  setMark(mark: number): void;
  send(batch: readonly Datagram[], count?: number): void;
  /** Receives batches; the array is reused after the callback returns. */
  onBatch: (batch: Datagram[], count: number) => void;
  close(): void;
}
