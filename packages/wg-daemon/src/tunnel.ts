/**
 * An interface's data path: the {@link Engine} (wg-core's Device, its timers, the UAPI's view) over
 * the fast data plane (dataplane/io.ts), wired to each other — the daemon's (daemon.ts) and the
 * start-up warm-up's throwaway pair (warmup.ts) alike.
 */
import { monotonicEpochMs } from "./clock.js";
import { Engine } from "./engine.js";
import { createFastIo, type FastIo, type FastIoOptions } from "./dataplane/io.js";

export interface Tunnel {
  readonly fast: FastIo;
  readonly engine: Engine;
}

/** Opens the data plane for `name` (the TUN unless `options.tunFd`, a UDP socket) and the Engine over it; not started. */
export async function openTunnel(name: string, options: FastIoOptions, log: (line: string) => void): Promise<Tunnel> {
  const fast = await createFastIo(name, options);
  const engine = new Engine({ tun: fast.tun, bind: fast.bind, log });
  fast.attach(engine.core.device, monotonicEpochMs, log);
  // A `wg set` that expires or replaces sessions must reach the workers before the next packet.
  engine.onConfigured = () => fast.sync();
  // `wg show` counts every packet up to now (the pipelines report their traffic every 20–100 ms).
  engine.beforeGet = () => fast.account();
  engine.extraDrops = () => fast.drops();
  return { fast, engine };
}
