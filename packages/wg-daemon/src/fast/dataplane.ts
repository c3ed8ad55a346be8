/**
 * The multi-threaded data plane: opens the TUN (with TSO offload) and a UDP socket through koffi
 * and runs one worker thread per direction (worker.ts). The main thread keeps wg-core's Device
 * (handshakes, timers, cryptokey routing) and publishes the current keypair to the workers through
 * shared memory with {@link FastDataPlane.setKeypair}.
 *
 * Prototype scope: one peer with a fixed IPv4 endpoint; handshake/cookie datagrams are counted as
 * "control" and dropped by the rx worker (see the report in benchmarks/README.md for the hooks a
 * full integration needs).
 */
import { Worker } from "node:worker_threads";
import { F_GETFL, F_SETFL, O_NONBLOCK, libc } from "./libc.js";
import { openTun } from "./tun.js";
import { openUdp4 } from "./udp.js";
import { KEYPAIR_WORDS, KP, STATS_WORDS, ST, type WorkerInit } from "./shared.js";

export interface FastDataPlaneOptions {
  /** TUN interface name (created if absent). */
  tunName: string;
  mtu: number;
  /** UDP listen port. */
  udpPort: number;
  /** The peer's IPv4 endpoint. */
  peer: { address: string; port: number };
  /** IFF_VNET_HDR + TSO (default true). */
  offload?: boolean;
  /** Datagrams per recvmmsg/sendmmsg (default 64). */
  batch?: number;
  /** SO_MARK for the UDP socket. */
  fwmark?: number;
  /**
   * Block in read(2)/recvmmsg(2) (true) or make the TUN non-blocking and wait in poll(2) with a
   * 250 ms timeout (false, default): same speed under load, and workers can be stopped.
   */
  blocking?: boolean;
  /** Coalesce received TCP segments into super-packets on TUN writes (default true; needs offload). */
  gro?: boolean;
  /** Send with UDP GSO (UDP_SEGMENT) instead of sendmmsg (default true). */
  udpGso?: boolean;
  /** Receive with UDP_GRO (default true). */
  udpGro?: boolean;
  /** Non-blocking mode: empty reads retried before sleeping in poll(2) (default 0). */
  spin?: number;
  /** SO_RCVBUF/SO_SNDBUF bytes (default 4 MiB). */
  socketBuffer?: number;
}

export interface Keypair {
  sendKey: Uint8Array;
  recvKey: Uint8Array;
  localIndex: number;
  remoteIndex: number;
  /** First send counter to use (the main thread may have used lower ones). */
  sendCounter?: number;
}

export interface DirectionStats {
  packets: number;
  bytes: number;
  batches: number;
  syscalls: number;
  superPackets: number;
  drops: number;
  errors: number;
  control: number;
}

export interface FastDataPlane {
  readonly tunFd: number;
  readonly udpFd: number;
  setKeypair(k: Keypair | null): void;
  /** Reserves `n` send counters for the main thread (e.g. a keepalive); returns the first. */
  reserveCounters(n: number): number;
  stats(): { tx: DirectionStats; rx: DirectionStats };
  close(): Promise<void>;
}

export async function startFastDataPlane(o: FastDataPlaneOptions): Promise<FastDataPlane> {
  const offload = o.offload ?? true;
  const tunFd = openTun(o.tunName, { offload });
  const udpGro = o.udpGro ?? true;
  const udpFd = openUdp4({ port: o.udpPort, bufferBytes: o.socketBuffer ?? 4 << 20, mark: o.fwmark ?? 0, gro: udpGro });
  const blocking = o.blocking ?? false;
  if (!blocking) {
    const c = libc();
    c.fcntl(tunFd, F_SETFL, c.fcntl(tunFd, F_GETFL, 0) | O_NONBLOCK);
  }
  const keypairs = new SharedArrayBuffer(KEYPAIR_WORDS * 4);
  const counters = new SharedArrayBuffer(8);
  const stats = new SharedArrayBuffer(2 * STATS_WORDS * 8);
  const words = new Int32Array(keypairs);
  const bytes = new Uint8Array(keypairs);
  const ctr = new BigInt64Array(counters);
  const base: Omit<WorkerInit, "role"> = {
    tunFd, udpFd, mtu: o.mtu, offload, batch: o.batch ?? 64, blocking, gro: o.gro ?? true, udpGso: o.udpGso ?? true, udpGro, spin: o.spin ?? 0, peer: o.peer, keypairs, counters, stats,
  };
  const url = new URL("./worker.js", import.meta.url);
  const workers = (["tx", "rx"] as const).map((role) => new Worker(url, { workerData: { ...base, role } }));
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.once("message", () => resolve());
          w.once("error", reject);
        }),
    ),
  );
  const read = (i: number): DirectionStats => {
    const f = new Float64Array(stats, i * STATS_WORDS * 8, STATS_WORDS);
    return {
      packets: f[ST.packets]!, bytes: f[ST.bytes]!, batches: f[ST.batches]!, syscalls: f[ST.syscalls]!,
      superPackets: f[ST.superPackets]!, drops: f[ST.drops]!, errors: f[ST.errors]!, control: f[ST.control]!,
    };
  };
  return {
    tunFd,
    udpFd,
    setKeypair(k) {
      Atomics.store(words, KP.valid, 0);
      if (k) {
        bytes.set(k.sendKey, KP.sendKey * 4);
        bytes.set(k.recvKey, KP.recvKey * 4);
        words[KP.localIndex] = k.localIndex | 0;
        words[KP.remoteIndex] = k.remoteIndex | 0;
        Atomics.store(ctr, 0, BigInt(k.sendCounter ?? 0));
        Atomics.store(words, KP.valid, 1);
      }
      Atomics.add(words, KP.generation, 1);
    },
    reserveCounters(n) {
      return Number(Atomics.add(ctr, 0, BigInt(n)));
    },
    stats: () => ({ tx: read(0), rx: read(1) }),
    async close() {
      Atomics.store(words, KP.stop, 1);
      if (blocking) {
        // Workers blocked in read/recvmmsg never return to JS: closing is only possible by exiting.
        for (const w of workers) w.unref();
      } else {
        await Promise.all(workers.map((w) => new Promise((r) => w.once("exit", r))));
      }
      const c = libc();
      c.close(tunFd);
      c.close(udpFd);
    },
  };
}
