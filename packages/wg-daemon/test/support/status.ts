/**
 * The daemon's status line: SIGUSR1 makes a detached `wg-ts` daemon log one line (src/cli.ts)
 * `IF: drops: a=1 b=2; uapi errors: -22=1; fast path: workers=on worker-starts=1 peers=1
 * worker-tx-packets=N worker-rx-packets=N main-tx-packets=N main-rx-packets=N; memory MiB: rss=…` ("none" for empty lists).
 * The e2e suites read it through {@link daemonStatus}.
 */
import { daemonLog, daemonPid, sleep } from "./lab.js";

/** One SIGUSR1 status line, parsed. */
export interface DaemonStatus {
  /** drop counters by reason (`no-route`, `replay`, …) */
  drops: Record<string, number>;
  /** UAPI errors by negative errno (`-22`) */
  uapiErrors: Record<string, number>;
  /** the fast path's fields as written (`workers=on worker-starts=1 …`) */
  fastPath: string;
  workers: "on" | "off";
  /** how often the workers were started */
  starts: number;
  /** peers published to the workers */
  peers: number;
  txPackets: number;
  rxPackets: number;
  /** the whole line */
  line: string;
}

/** `a=1 b=2` (or `none`) as a record. */
function counters(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (text === "none") return out;
  for (const kv of text.split(" ")) {
    const eq = kv.lastIndexOf("=");
    out[kv.slice(0, eq)] = Number(kv.slice(eq + 1));
  }
  return out;
}

/** The first status line of `iface` in `log`, or null. */
export function parseStatusLine(iface: string, log: string): DaemonStatus | null {
  const name = iface.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`^${name}: drops: (.*?); uapi errors: (.*?); fast path: (.*?); memory MiB: .*$`, "m").exec(log);
  if (!m) return null;
  const fast = counters(m[3]!); // its `workers=on|off` reads as NaN: see `workers`
  return {
    drops: counters(m[1]!),
    uapiErrors: counters(m[2]!),
    fastPath: m[3]!,
    workers: m[3]!.startsWith("workers=on") ? "on" : "off",
    starts: fast["worker-starts"] ?? NaN,
    peers: fast["peers"] ?? NaN,
    txPackets: fast["worker-tx-packets"] ?? NaN,
    rxPackets: fast["worker-rx-packets"] ?? NaN,
    line: m[0],
  };
}

/** Sends SIGUSR1 to the daemon of `iface` and returns the status line it logs (polled every 20 ms for up to `ms`). */
export async function daemonStatus(iface: string, ms = 5000): Promise<DaemonStatus> {
  const before = daemonLog(iface).length;
  process.kill(daemonPid(iface), "SIGUSR1");
  for (const end = Date.now() + ms; Date.now() < end; ) {
    await sleep(20);
    const s = parseStatusLine(iface, daemonLog(iface).slice(before));
    if (s) return s;
  }
  throw new Error(`${iface}: no SIGUSR1 status line in the log within ${ms} ms`);
}
