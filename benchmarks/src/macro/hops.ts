/**
 * Where a lone packet's round trip goes, hop by hop. While A pings B 50 ms apart, tcpdump listens on
 * A's tunnel interface, on the veth (A's end: what leaves A is what reaches B) and on B's tunnel
 * interface. Every capture is stamped by the same kernel clock, so per ping:
 *
 *   A tx      echo request seen on A's TUN (handed to A's daemon) → its datagram on the veth
 *   B rx      that datagram on the veth → the request on B's TUN (written by B's daemon)
 *   B kernel  request on B's TUN → reply on B's TUN (B's own stack answering)
 *   B tx      reply on B's TUN → its datagram on the veth
 *   A rx      that datagram → the reply on A's TUN
 *
 * The datagram of a hop is the last one in that direction before the packet reached the far TUN
 * (a handshake a packet waited for goes before it; keepalives, 32 bytes, are never it). Pings
 * missing from any capture are left out. Needs `tcpdump` (apt-get install -y tcpdump); the capture
 * taps cost both implementations alike.
 */
import { spawn } from "node:child_process";
import { median } from "./sys.js";

/** Median µs of each hop over the pings seen at every capture point, and how many those were. */
export interface Hops {
  aTx: number;
  bRx: number;
  bKernel: number;
  bTx: number;
  aRx: number;
  rtt: number;
  pings: number;
}

/** A tx / B rx / B kernel / B tx / A rx, µs. */
export function hopsText(h: Hops): string {
  return [h.aTx, h.bRx, h.bKernel, h.bTx, h.aRx].map((x) => (Number.isFinite(x) ? x.toFixed(0) : "—")).join("/");
}

export const NO_HOPS: Hops = Object.freeze({ aTx: NaN, bRx: NaN, bKernel: NaN, bTx: NaN, aRx: NaN, rtt: NaN, pings: 0 });

/** Hop by hop, the median over several rounds' medians; `pings` is their total. */
export function medianHops(rounds: readonly Hops[]): Hops {
  const m = (k: Exclude<keyof Hops, "pings">): number => median(rounds.map((h) => h[k]));
  return { aTx: m("aTx"), bRx: m("bRx"), bKernel: m("bKernel"), bTx: m("bTx"), aRx: m("aRx"), rtt: m("rtt"), pings: rounds.reduce((n, h) => n + h.pings, 0) };
}

/** The size of a keepalive datagram (whitepaper §5.4.6: header and tag around nothing). */
const KEEPALIVE_BYTES = 32;

/** Echo requests and replies of a TUN capture (`tcpdump -n -tt icmp`): seconds by "request:seq" / "reply:seq". */
export function parseIcmp(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^(\d+\.\d+) IP .*ICMP echo (request|reply), id \d+, seq (\d+),/gm)) {
    const key = `${m[2]}:${m[3]}`;
    if (!out.has(key)) out.set(key, Number(m[1]));
  }
  return out;
}

/** UDP datagrams of a veth capture (`tcpdump -n -tt udp`) from `fromAddress`, in capture order. */
export function parseUdp(text: string, fromAddress: string): { t: number; length: number }[] {
  const out: { t: number; length: number }[] = [];
  for (const m of text.matchAll(/^(\d+\.\d+) IP (\d+\.\d+\.\d+\.\d+)\.\d+ > [\d.]+: UDP, length (\d+)/gm)) {
    if (m[2] === fromAddress) out.push({ t: Number(m[1]), length: Number(m[3]) });
  }
  return out;
}

/** The last non-keepalive datagram in (after, before), or undefined. */
function lastBetween(ds: readonly { t: number; length: number }[], after: number, before: number): number | undefined {
  let found: number | undefined;
  for (const d of ds) {
    if (d.t <= after) continue;
    if (d.t >= before) break;
    if (d.length !== KEEPALIVE_BYTES) found = d.t;
  }
  return found;
}

/**
 * Hop medians (µs) from the three captures' text.
 * @param underlay A's and B's veth addresses (the datagrams' sources)
 */
export function hopsFromCaptures(aTun: string, veth: string, bTun: string, underlay: { a: string; b: string }): Hops {
  const a = parseIcmp(aTun);
  const b = parseIcmp(bTun);
  const ab = parseUdp(veth, underlay.a);
  const ba = parseUdp(veth, underlay.b);
  const hops: Record<Exclude<keyof Hops, "pings">, number[]> = { aTx: [], bRx: [], bKernel: [], bTx: [], aRx: [], rtt: [] };
  for (const [key, t0] of a) {
    if (!key.startsWith("request:")) continue;
    const seq = key.slice("request:".length);
    const t2 = b.get(`request:${seq}`);
    const t3 = b.get(`reply:${seq}`);
    const t5 = a.get(`reply:${seq}`);
    if (t2 === undefined || t3 === undefined || t5 === undefined) continue;
    const t1 = lastBetween(ab, t0, t2);
    const t4 = lastBetween(ba, t3, t5);
    if (t1 === undefined || t4 === undefined) continue;
    const us = (x: number): number => Math.round(x * 1e7) / 10; // seconds → µs, 0.1 µs
    hops.aTx.push(us(t1 - t0));
    hops.bRx.push(us(t2 - t1));
    hops.bKernel.push(us(t3 - t2));
    hops.bTx.push(us(t4 - t3));
    hops.aRx.push(us(t5 - t4));
    hops.rtt.push(us(t5 - t0));
  }
  return {
    aTx: median(hops.aTx),
    bRx: median(hops.bRx),
    bKernel: median(hops.bKernel),
    bTx: median(hops.bTx),
    aRx: median(hops.aRx),
    rtt: median(hops.rtt),
    pings: hops.rtt.length,
  };
}

/** A running `tcpdump` whose standard output is kept. */
interface Capture {
  ready: Promise<boolean>;
  stop(): Promise<string>;
}

function capture(ns: string, ifname: string, filter: string): Capture {
  const p = spawn("ip", ["netns", "exec", ns, "tcpdump", "-i", ifname, "-n", "-tt", "-l", "--immediate-mode", filter], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  p.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  const closed = new Promise<void>((resolve) => p.on("close", () => resolve()));
  const ready = new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), 5000);
    p.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
      if (err.includes("listening on")) {
        clearTimeout(t);
        resolve(true);
      }
    });
    p.on("error", () => resolve(false));
    void closed.then(() => resolve(false));
  });
  return {
    ready,
    async stop() {
      if (p.exitCode === null) p.kill("SIGINT");
      const t = setTimeout(() => p.kill("SIGKILL"), 3000);
      await closed;
      clearTimeout(t);
      return out;
    },
  };
}

export interface HopPoints {
  nsA: string;
  nsB: string;
  /** A's and B's tunnel interfaces. */
  tunA: string;
  tunB: string;
  /** A's end of the veth pair. */
  vethA: string;
  underlay: { a: string; b: string };
}

/**
 * Runs `pings` (A pinging B) with the three captures on and returns the hop medians; {@link NO_HOPS}
 * when a capture did not start (no tcpdump).
 */
export async function measureHops(points: HopPoints, pings: () => Promise<unknown>): Promise<Hops> {
  const caps = [
    capture(points.nsA, points.tunA, "icmp"),
    capture(points.nsA, points.vethA, "udp"),
    capture(points.nsB, points.tunB, "icmp"),
  ] as const;
  const ready = await Promise.all(caps.map((c) => c.ready));
  if (ready.includes(false)) {
    await Promise.all(caps.map((c) => c.stop()));
    return NO_HOPS;
  }
  await pings();
  await new Promise((r) => setTimeout(r, 200)); // the last reply reaches every capture
  const [aTun, veth, bTun] = await Promise.all(caps.map((c) => c.stop()));
  return hopsFromCaptures(aTun!, veth!, bTun!, points.underlay);
}
