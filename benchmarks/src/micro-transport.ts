/**
 * The main-thread transport path through two in-memory Devices (whitepaper §5.4.6): packets per
 * second of `encapsulate` (route lookup, counter, padding, header, AEAD seal, action) and of
 * `decapsulate` (index lookup, expiry, AEAD open, replay window, inner length, allowed-IPs source
 * check, timers, action), at 64 and 1420 bytes, node:crypto AEAD.
 *
 * Each round builds a fresh pair (handshake untimed), times A sealing K packets, then B opening
 * those K datagrams (each counter once: the replay window sees real traffic). With `--baseline`,
 * the same rounds run for another build of @wg-ts/core (e.g. the last commit's dist), interleaved
 * round by round in this process, so "before" and "after" share the machine's noise.
 *
 *   node benchmarks/dist/micro-transport.js [--baseline /path/to/wg-core/dist/index.js] [--rounds 7] [--packets 20000]
 *                                           [--aead node|noble|copy]   (copy: no crypto, the core's own cost)
 *                                           [--clock wall|cpu]         (cpu: process CPU time, for busy machines)
 */
import { randomFillSync } from "node:crypto";
import { pathToFileURL } from "node:url";
import * as current from "@wg-ts/core";

interface Endpoint {
  address: string;
  port: number;
}
interface Action {
  kind: string;
  datagram?: Uint8Array;
  packet?: Uint8Array;
  reason?: string;
}
interface DeviceLike {
  publicKey: { bytes: Uint8Array } | null;
  addPeer(config: { publicKey: Uint8Array; endpoint: Endpoint; allowedIps: string[] }, now: number): unknown;
  encapsulate(packet: Uint8Array, now: number, out: Action[]): void;
  decapsulate(datagram: Uint8Array, from: Endpoint, now: number, out: Action[]): void;
}
export type DeviceCtor = new (options: { privateKey: Uint8Array; random: (out: Uint8Array) => void; aead?: current.TransportAead }) => DeviceLike;

/**
 * A stand-in AEAD that copies and writes a zero tag (`--aead copy`): no cryptography, so the rows
 * show what the core adds around the AEAD (lookups, counters, replay window, allocations, actions).
 */
export const copyAead: current.TransportAead = {
  name: "copy (no crypto)",
  seal(_key, _counter, plaintext, out, outOffset) {
    out.set(plaintext, outOffset);
    out.fill(0, outOffset + plaintext.length, outOffset + plaintext.length + 16);
    return plaintext.length + 16;
  },
  open(_key, _counter, ciphertext, out, outOffset) {
    const n = ciphertext.length - 16;
    if (n < 0) return -1;
    out.set(ciphertext.subarray(0, n), outOffset);
    return n;
  },
};

const EP_A: Endpoint = { address: "192.0.2.1", port: 51820 };
const EP_B: Endpoint = { address: "192.0.2.2", port: 51820 };
const random = (out: Uint8Array): void => void randomFillSync(out);

function privateKey(): Uint8Array {
  const k = randomFillSync(new Uint8Array(32));
  k[0]! &= 248;
  k[31] = (k[31]! & 127) | 64;
  return k;
}

/** An IPv4 packet of `size` bytes, 10.0.0.1 → 10.0.0.2. */
function ipv4(size: number): Uint8Array {
  const p = new Uint8Array(size);
  p[0] = 0x45;
  p[2] = size >>> 8;
  p[3] = size & 0xff;
  p[8] = 64;
  p[9] = 17;
  p.set([10, 0, 0, 1], 12);
  p.set([10, 0, 0, 2], 16);
  return p;
}

/** One round: a fresh session, then ns per packet for sealing and for opening `k` packets. */
export function transportRound(Device: DeviceCtor, size: number, k: number, aead?: current.TransportAead): { sealNs: number; openNs: number } {
  const a = new Device({ privateKey: privateKey(), random, ...(aead === undefined ? {} : { aead }) });
  const b = new Device({ privateKey: privateKey(), random, ...(aead === undefined ? {} : { aead }) });
  const now = 1_700_000_000_000;
  a.addPeer({ publicKey: b.publicKey!.bytes, endpoint: EP_B, allowedIps: ["10.0.0.2/32"] }, now);
  b.addPeer({ publicKey: a.publicKey!.bytes, endpoint: EP_A, allowedIps: ["10.0.0.1/32"] }, now);
  const packet = ipv4(size);
  // Handshake: initiation → response → A's staged packet (confirms B's keypair).
  const pump = (from: DeviceLike, to: DeviceLike, ep: Endpoint, acts: Action[]): Action[] => {
    const next: Action[] = [];
    for (const x of acts) if (x.kind === "toNetwork") to.decapsulate(x.datagram!, ep, now, next);
    return next;
  };
  let acts: Action[] = [];
  a.encapsulate(packet, now, acts);
  acts = pump(a, b, EP_A, acts);
  acts = pump(b, a, EP_B, acts);
  const confirmed = pump(a, b, EP_A, acts);
  if (!confirmed.some((x) => x.kind === "toTunnel")) throw new Error("transport bench: no session");

  const datagrams: Uint8Array[] = new Array(k);
  const out: Action[] = [];
  const t0 = clock();
  for (let i = 0; i < k; i++) {
    out.length = 0;
    a.encapsulate(packet, now, out);
    datagrams[i] = out[0]!.datagram!;
  }
  const t1 = clock();
  let delivered = 0;
  for (let i = 0; i < k; i++) {
    out.length = 0;
    b.decapsulate(datagrams[i]!, EP_A, now, out);
    if (out[0]?.kind === "toTunnel") delivered++;
  }
  const t2 = clock();
  if (delivered !== k) throw new Error(`transport bench: ${delivered}/${k} delivered`);
  return { sealNs: (t1 - t0) / k, openNs: (t2 - t1) / k };
}

/**
 * Nanoseconds: wall time, or with `--clock cpu` the process's CPU time (user + system, µs
 * resolution) — less disturbed by other processes on a shared machine (time spent preempted).
 */
let clock = (): number => Number(process.hrtime.bigint());
const cpuClock = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

async function main(argv: string[]): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const rounds = Number(arg("--rounds") ?? 7);
  const k = Number(arg("--packets") ?? 20_000);
  const aeadName = arg("--aead") ?? "node:crypto";
  if (arg("--clock") === "cpu") clock = cpuClock;
  const aead = aeadName === "copy" ? copyAead : aeadName === "noble" ? current.nobleTransportAead : current.nodeTransportAead;
  const impls: [string, DeviceCtor][] = [["current", current.Device as unknown as DeviceCtor]];
  const base = arg("--baseline");
  if (base !== undefined) {
    const mod = (await import(pathToFileURL(base).href)) as { Device: DeviceCtor };
    impls.unshift(["baseline", mod.Device]);
  }
  console.log(`transport: Device encapsulate/decapsulate, AEAD ${aead.name}, ${clock === cpuClock ? "CPU" : "wall"} time, node ${process.version}, ${k} packets × ${rounds} rounds (median), interleaved`);
  console.log("impl      size   encap ns/pkt  encap pkt/s   decap ns/pkt  decap pkt/s");
  for (const size of [64, 1420]) {
    const seal = impls.map(() => [] as number[]);
    const open = impls.map(() => [] as number[]);
    for (const [, D] of impls) transportRound(D, size, Math.ceil(k / 4), aead); // warm-up
    for (let r = 0; r < rounds; r++) {
      impls.forEach(([, D], i) => {
        const t = transportRound(D, size, k, aead);
        seal[i]!.push(t.sealNs);
        open[i]!.push(t.openNs);
      });
    }
    impls.forEach(([name], i) => {
      const s = median(seal[i]!);
      const o = median(open[i]!);
      console.log(
        `${name.padEnd(9)} ${String(size).padStart(4)}   ${s.toFixed(0).padStart(12)}  ${Math.round(1e9 / s).toLocaleString("en-US").padStart(11)}   ${o.toFixed(0).padStart(12)}  ${Math.round(1e9 / o).toLocaleString("en-US").padStart(11)}`,
      );
    });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
