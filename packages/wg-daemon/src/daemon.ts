/**
 * The daemon proper (what `wireguard-go IFNAME` is): creates the TUN, the UDP bind, the
 * engine and the UAPI socket, then runs until asked to stop, the TUN disappears
 * (`ip link del`), or the UAPI socket file is deleted (`rm /var/run/wireguard/IFNAME.sock`,
 * the way wg-quick stops userspace implementations). On the way out it removes what it
 * created: the socket file and (by closing the fd) the TUN interface.
 */
import { execFile } from "node:child_process";
import { setFlagsFromString } from "node:v8";
import { lightBudgets, tierUpEarly } from "./dataplane/tiering.js";
import type { Engine } from "./engine.js";
import type { WorkerPolicy } from "./dataplane/io.js";
import { openTunnel } from "./tunnel.js";
import { WARMUP_ROUND_TRIPS, warmUp } from "./warmup.js";
import { sysChoice } from "./dataplane/sys.js";
import { socketPath, UapiServer } from "./uapi.js";

export interface DaemonOptions {
  name: string;
  log: (msg: string) => void;
  /** directory of the UAPI socket (default /var/run/wireguard) */
  uapiDir?: string;
  /** When the data plane's worker threads run (default auto: under load only; see dataplane/io.ts). */
  workers?: WorkerPolicy;
  /** Datagrams per UDP GSO send at most (default 44; env WG_TS_GSO_SEGMENTS). */
  gsoSegments?: number;
  /** Lone pings through two throwaway tunnels before the UAPI socket answers (warmup.ts; default WARMUP_ROUND_TRIPS, 0: none; env WG_TS_WARMUP). */
  warmUpRoundTrips?: number;
  /** Test only (cli.ts: WG_TS_TEST_RX_CRASH_AFTER_REPLAYS under NODE_ENV=test): the rx worker throws after this many replay drops. */
  testCrashAfterReplays?: number;
}

export interface RunningDaemon {
  readonly name: string;
  readonly engine: Engine;
  readonly uapi: UapiServer;
  /** What the data plane's workers carry, for the SIGUSR1 line ("workers=on … peers=2 worker-tx-packets=…"). */
  readonly fastStatus: () => string;
  /** Resolves with the reason once the daemon has stopped and cleaned up. */
  readonly stopped: Promise<string>;
  stop(reason?: string): void;
}

/** Inner packet size the data plane's worker buffers hold (TSO segments are split to the link MTU). */
const FAST_MTU = 1500;

export async function startDaemon(opts: DaemonOptions): Promise<RunningDaemon> {
  const { name, log } = opts;
  const path = socketPath(name, opts.uapiDir);
  // The data plane (dataplane/io.ts: TUN offload, recvmmsg/sendmmsg, UDP GSO/GRO, the main thread while
  // traffic is light, worker threads under load). Worker buffers are sized for the largest usual
  // inner MTU (the link's MTU is set later by `up`). The main thread sees light traffic only (the
  // workers take the load): a small young generation keeps its RSS near the idle value (V8 does
  // not give a grown heap back). `wg-ts up` starts the daemon with it (node-flags.ts), which works
  // best; this is for a process started otherwise.
  setFlagsFromString("--max-semi-space-size=1");
  const { fast, engine } = await openTunnel(
    name,
    {
      mtu: FAST_MTU,
      ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
      ...(opts.gsoSegments !== undefined ? { gsoSegments: opts.gsoSegments } : {}),
      ...(opts.testCrashAfterReplays !== undefined ? { crashAfterReplays: opts.testCrashAfterReplays } : {}),
    },
    log,
  );
  const tun = fast.tun;
  const fastStatus = (): string => fast.status();
  // bin/wg-ts.js loads the modules with the optimizing compiler off (idle memory): hot code from
  // here on, the data-plane workers above all, is optimized again.
  setFlagsFromString("--opt");
  // Functions first run from here on (the packet path: no packet has passed yet) are compiled
  // straight to baseline (Sparkplug) code instead of being interpreted until they have run often
  // enough: at a packet every 50 ms that took ~15 packets, each ~0.5 ms slower; costs ~0.6 MiB of
  // idle RSS (benchmarks/README.md, section 10).
  setFlagsFromString("--always-sparkplug");
  // The packet path compiled before the first packet (warmup.ts), on the budgets of light traffic,
  // with V8's helper threads at their normal priority: they run the warm-up's compiles (idled, they
  // would wait for the busy main thread's CPU: the kernel may place them there).
  const rounds = opts.warmUpRoundTrips ?? WARMUP_ROUND_TRIPS;
  if (rounds > 0) {
    lightBudgets();
    try {
      const w = await warmUp(rounds);
      log(`${name}: packet path warmed up (${w.roundTrips} round trips through two throwaway tunnels in ${w.ms} ms)`);
    } catch (e) {
      log(`${name}: packet path not warmed up (${(e as Error).message})`);
    }
  }
  // While the main thread alone moves the packets, V8 optimizes their path after a few of them
  // instead of thousands (dataplane/tiering.ts; the workers restore V8's default while they run).
  tierUpEarly();
  const uapi = new UapiServer(path, engine, log);
  try {
    await uapi.listen();
    await engine.start(0);
  } catch (e) {
    uapi.close(false);
    engine.stop();
    tun.close();
    throw e;
  }

  let resolveStopped!: (reason: string) => void;
  const stopped = new Promise<string>((r) => (resolveStopped = r));
  let stopping = false;
  const stop = (reason = "stopped"): void => {
    if (stopping) return;
    stopping = true;
    unwatch();
    const unlink = uapi.stillPresent();
    uapi.close(unlink);
    const drops = engine.dropSummary();
    log(`${name}: shutting down (${reason})${drops ? `; drops: ${drops}` : ""}`);
    // Delete the link first: a worker's next TUN read fails with EBADFD (and a read blocked in
    // workers.ts's `blocking` mode wakes, which closing the fd alone does not do), then close
    // everything.
    execFile("ip", ["link", "delete", "dev", name], () => {
      engine.stop();
      resolveStopped(reason);
    });
  };
  const unwatch = uapi.watchRemoval(() => stop("UAPI socket removed"));
  void engine.done.then((err) => {
    if (err) stop(`TUN gone: ${err.message}`);
  });
  const io = sysChoice().reason;
  if (io !== null) log(`${name}: ${io}`);
  log(`${name}: daemon started (pid ${process.pid})`);
  return { name, engine, uapi, stopped, stop, fastStatus };
}
