/**
 * Micro benchmarks of wg-core's hot paths, each alternative side by side in one process:
 *
 *   - transport AEAD seal and open at 64 B and 1420 B for every candidate (micro-aead.ts): per packet
 *     (node:crypto, @noble/ciphers, libsodium WASM) and batched (TS over node:crypto, the native
 *     addon ×1/×16/×64) — the numbers behind `defaultTransportAead` and the batched AEAD;
 *   - allowed-IPs (cryptokey routing, whitepaper §2) lookups per second on a 1000-prefix table;
 *   - X25519 DH and public-key derivation as crypto.ts does them (the handshake's main cost);
 *   - handshakes per second (initiation + response + confirmation), when @wg-ts/core has a Device.
 *
 * Method: a warm-up of fixed size, then ROUNDS rounds of a fixed iteration count, each timed by the
 * process's CPU time (process.cpuUsage: µs resolution, so rounds last tens of ms); the rounds of the
 * alternatives are interleaved (A B A B …) so a noisy neighbour hits both alike, and the median
 * round is reported. Machines here are shared: compare rows of one run, never against stored numbers.
 *
 *   node benchmarks/dist/micro.js [--json] [--quick]
 */
import { randomFillSync } from "node:crypto";
import { pathToFileURL } from "node:url";
import { AllowedIps, dh, parseCidr, publicKeyOf } from "@wg-ts/core";
import { aeadCandidates, aeadCases } from "./micro-aead.js";
import { handshakeBench } from "./micro-handshake.js";
import { loadTransportAead, pooledRandom } from "@wg-ts/daemon";

/** One row of results. `opsPerSec` is the median round; `mbPerSec` counts plaintext bytes. */
export interface MicroResult {
  readonly benchmark: "seal" | "open" | "allowed-ips lookup" | "x25519" | "handshake";
  readonly implementation: string;
  /** Packet size in bytes (seal/open), table size in prefixes (lookups), or null. */
  readonly size: number | null;
  readonly iterations: number;
  readonly rounds: number;
  readonly opsPerSec: number;
  readonly nsPerOp: number;
  readonly mbPerSec: number | null;
  readonly note?: string;
}

export interface MicroOptions {
  /** Fewer iterations (for smoke tests). */
  readonly quick?: boolean;
  /** Print the table to stdout as well (default true). */
  readonly print?: boolean;
}

const ROUNDS = 5;

export interface Case {
  readonly benchmark: MicroResult["benchmark"];
  readonly implementation: string;
  readonly size: number | null;
  readonly iterations: number;
  readonly bytesPerOp: number | null;
  /** Runs `n` operations. */
  readonly run: (n: number) => void;
  readonly note?: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * CPU time of this process (user + system, all its threads) in ns. Rounds are timed by CPU time,
 * not wall time: on this shared 2-core machine a neighbour's load otherwise counts as ours (the
 * work measured here is single-threaded; GC helper threads' time is part of the cost).
 */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/** Runs the cases' rounds interleaved and returns one result per case. */
function measure(cases: readonly Case[], warmupFraction: number): MicroResult[] {
  for (const c of cases) c.run(Math.max(1, Math.floor(c.iterations * warmupFraction)));
  const times = cases.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    cases.forEach((c, i) => {
      const t0 = cpuNs();
      c.run(c.iterations);
      times[i]!.push(cpuNs() - t0);
    });
  }
  return cases.map((c, i) => {
    const ns = median(times[i]!) / c.iterations;
    const opsPerSec = 1e9 / ns;
    return {
      benchmark: c.benchmark,
      implementation: c.implementation,
      size: c.size,
      iterations: c.iterations,
      rounds: ROUNDS,
      opsPerSec: Math.round(opsPerSec),
      nsPerOp: Math.round(ns),
      mbPerSec: c.bytesPerOp === null ? null : Math.round(((opsPerSec * c.bytesPerOp) / 1e6) * 10) / 10,
      ...(c.note === undefined ? {} : { note: c.note }),
    };
  });
}

/**
 * Seeded PRNG (mulberry32): the same table every run. The same generator as the tests'
 * packages/wg-core/test/support/prng.ts, kept as a copy on purpose: benchmarks is a built program
 * (rootDir src) and must not import test code, and a test PRNG has no place in @wg-ts/core's API.
 */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function lookupCase(family: 4 | 6, prefixes: number, iterations: number): Case {
  const rand = mulberry32(family * 1000 + prefixes);
  const byte = (): number => Math.floor(rand() * 256);
  const table = new AllowedIps<number>();
  const inserted: Uint8Array[] = [];
  for (let i = 0; i < prefixes; i++) {
    let cidr: string;
    if (family === 4) {
      cidr = `10.${byte()}.${byte()}.${byte()}/${16 + Math.floor(rand() * 17)}`;
    } else {
      const g = (): string => Math.floor(rand() * 65536).toString(16);
      cidr = `fd00:${g()}:${g()}:${g()}::/${48 + Math.floor(rand() * 17)}`;
    }
    table.insert(cidr, i);
    inserted.push(parseCidr(cidr).bytes);
  }
  // 256 packets (64 B) addressed into random table prefixes (last bytes random), like tunnel traffic.
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 256; i++) {
    const p = new Uint8Array(64);
    const dst = Uint8Array.from(inserted[Math.floor(rand() * inserted.length)]!);
    for (let j = family === 4 ? 3 : 8; j < dst.length; j++) dst[j] = byte();
    p[0] = family === 4 ? 0x45 : 0x60;
    p.set(dst, family === 4 ? 16 : 24);
    packets.push(p);
  }
  let sink = 0;
  return {
    benchmark: "allowed-ips lookup",
    implementation: `trie, IPv${family}`,
    size: prefixes,
    iterations,
    bytesPerOp: null,
    run: (n) => {
      for (let i = 0; i < n; i++) sink += table.lookup(packets[i & 255]!, "dst") ?? 0;
      if (sink === -1) console.log(sink); // keep the result alive
    },
  };
}

/** X25519 (RFC 7748 §5), the handshake's dominant cost, as crypto.ts computes it. */
function x25519Cases(iterations: number): Case[] {
  const priv = randomFillSync(new Uint8Array(32));
  const pub = publicKeyOf(randomFillSync(new Uint8Array(32)));
  if (dh(priv, pub) === null) throw new Error("x25519: dh failed");
  return [
    {
      benchmark: "x25519",
      implementation: "crypto.ts dh",
      size: null,
      iterations,
      bytesPerOp: null,
      run: (n) => {
        for (let i = 0; i < n; i++) dh(priv, pub);
      },
    },
    {
      benchmark: "x25519",
      implementation: "crypto.ts publicKeyOf",
      size: null,
      iterations,
      bytesPerOp: null,
      run: (n) => {
        for (let i = 0; i < n; i++) publicKeyOf(priv);
      },
    },
  ];
}

/** Formats results as a fixed-width table. */
export function microTable(results: readonly MicroResult[]): string {
  const header = ["benchmark", "implementation", "size", "ops/s", "ns/op", "MB/s"];
  const rows = results.map((r) => [
    r.benchmark,
    r.implementation,
    r.size === null ? "" : String(r.size),
    r.opsPerSec.toLocaleString("en-US"),
    r.nsPerOp.toLocaleString("en-US"),
    r.mbPerSec === null ? "" : r.mbPerSec.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
  const notes = results.filter((r) => r.note !== undefined).map((r) => `  ${r.benchmark} ${r.implementation}: ${r.note}`);
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line), ...notes].join("\n");
}

/**
 * The AEAD rows as one line per implementation: µs per packet and GB/s of plaintext (10^9 bytes/s)
 * for seal and open at 64 B and 1420 B.
 */
export function aeadTable(results: readonly MicroResult[]): string {
  const rows = results.filter((r) => r.benchmark === "seal" || r.benchmark === "open");
  const names = [...new Set(rows.map((r) => r.implementation))];
  const cols: [MicroResult["benchmark"], number][] = [
    ["seal", 64],
    ["open", 64],
    ["seal", 1420],
    ["open", 1420],
  ];
  const cell = (name: string, b: MicroResult["benchmark"], size: number): string => {
    const r = rows.find((x) => x.implementation === name && x.benchmark === b && x.size === size);
    return r === undefined ? "—" : `${(r.nsPerOp / 1000).toFixed(2)} µs ${((r.opsPerSec * size) / 1e9).toFixed(3)} GB/s`;
  };
  const header = ["AEAD (µs/packet, GB/s)", ...cols.map(([b, s]) => `${b} ${s} B`)];
  const body = names.map((name) => [name, ...cols.map(([b, s]) => cell(name, b, s))]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

/** Runs every micro benchmark and returns one row per (benchmark, implementation, size). */
export async function runMicro(options: MicroOptions = {}): Promise<MicroResult[]> {
  const q = options.quick === true ? 0.05 : 1;
  const n = (x: number): number => Math.max(10, Math.floor(x * q));
  const candidates = await aeadCandidates();
  const small = aeadCases(candidates, 64, n(40_000), n(256_000));
  const large = aeadCases(candidates, 1420, n(8_000), n(64_000));
  const results: MicroResult[] = [
    ...measure(small.seal, 0.25),
    ...measure(small.open, 0.25),
    ...measure(large.seal, 0.25),
    ...measure(large.open, 0.25),
    ...measure([lookupCase(4, 1000, n(400_000)), lookupCase(6, 1000, n(400_000))], 0.25),
    ...measure(x25519Cases(n(2000)), 0.2),
  ];
  // wg-core's defaults (randomFillSync per draw, node:crypto transport AEAD and X25519), and the Devices
  // as the daemon makes them (engine.ts: pooled small draws, the native AEAD and X25519 where they load).
  const hs = await handshakeBench(n(300));
  const daemonChoice = loadTransportAead();
  const daemonHs = await handshakeBench(n(300), {
    label: "Device ↔ Device, as the daemon",
    random: pooledRandom(),
    aead: daemonChoice.aead,
    x25519: daemonChoice.x25519,
  });
  // Warm-up: 5× a round (1,500 handshakes). V8 optimizes a handshake's functions, each run once per
  // handshake, only after ~1,000 of them (Node 20: the first 300 ran at 1,400–1,650/s, then ~2,500/s);
  // a daemon under a handshake flood runs them optimized (benchmarks/README.md, section 20).
  if (hs !== null && daemonHs !== null) results.push(...measure([hs, daemonHs], 5));
  if (options.print !== false) {
    console.log(`micro: median of ${ROUNDS} interleaved rounds after warm-up, CPU time (node ${process.version}, OpenSSL ${process.versions.openssl})`);
    console.log(microTable(results));
    console.log("");
    console.log(aeadTable(results));
    for (const note of candidates.notes) console.log(`  aead: ${note}`);
    if (hs === null) console.log("  handshake: no Device handshake API in @wg-ts/core yet; row left out");
  }
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const json = process.argv.includes("--json");
  runMicro({ quick: process.argv.includes("--quick"), print: !json }).then(
    (results) => {
      if (json) console.log(JSON.stringify(results, null, 2));
    },
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exitCode = 1;
    },
  );
}
