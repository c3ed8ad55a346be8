/**
 * The batched transport AEAD (wg-core aead-batch.ts) of the native addon (native/src/wg_aead.c over
 * node's own OpenSSL): the contract suite the TypeScript batches also run (wg-core
 * test/support/aead-batch-contract.ts), byte-identical to node:crypto; the published vectors (RFC 8439, Wycheproof) against the addon's
 * C path; two worker threads at once; the fallback when the addon cannot load; and the committed
 * prebuilt file against a fresh build (where a compiler is installed).
 */
import { spawnSync } from "node:child_process";
import { createCipheriv, randomFillSync } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { type Action, AeadBatch, type BatchTransportAead, batchTransportAead, Device, nobleTransportAead, nodeTransportAead, nodeX25519, PrivateKey } from "@wg-ts/core";
import { describe, expect, it } from "vitest";
import { batchAeadContract, referenceSeal as reference } from "../../wg-core/test/support/aead-batch-contract.js";
import { mulberry32 } from "../../wg-core/test/support/prng.js";
import { x25519Contract } from "../../wg-core/test/support/x25519-contract.js";
import { loadBatchAead, loadTransportAead, nativeChaChaPoly, nativeTransportAead, nativeX25519, prebuiltAeadPath } from "../src/native-aead.js";

const loaded = loadBatchAead();
const onLinuxX64 = process.platform === "linux" && process.arch === "x64";
// The TypeScript batches run the same contract in wg-core (test/aead-batch.test.ts).
const implementations: BatchTransportAead[] = loaded.native ? [loaded.aead] : [];
const h = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

it("the prebuilt addon loads here (linux-x64, Node's own OpenSSL)", () => {
  if (!onLinuxX64) return;
  expect(loaded.reason).toBeNull();
  expect(loaded.native).toBe(true);
});


describe.each(implementations)("BatchTransportAead $name", (aead) => batchAeadContract(aead));

// ---------------------------------------------------------------------------------------------
// Published vectors against the addon's C path (explicit nonce and AAD)
// ---------------------------------------------------------------------------------------------

function load<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../../test-vectors/${name}`, import.meta.url), "utf8")) as T;
}
interface AeadKat {
  name: string;
  key: string;
  nonce: string;
  aad: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
}
interface WycheproofAead {
  tcId: number;
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: "valid" | "invalid" | "acceptable";
}

// Skipped only where the addon cannot load (not linux-x64): on linux-x64 the test above requires it to load.
describe.skipIf(!loaded.native)("native addon: published ChaCha20-Poly1305 vectors", () => {
  const b = nativeChaChaPoly(loaded.addon!);
  const seal = (key: string, nonce: string, aad: string, msg: string): string => {
    const out = new Uint8Array(msg.length / 2 + 16);
    return b.seal(h(key), h(nonce), h(aad), h(msg), out, 0) === out.length ? hex(out) : "failed";
  };
  const open = (key: string, nonce: string, aad: string, sealed: string): string | null => {
    const out = new Uint8Array(Math.max(0, sealed.length / 2 - 16)).fill(0xee);
    const n = b.open(h(key), h(nonce), h(aad), h(sealed), out, 0);
    if (n < 0) expect(out.every((x) => x === 0xee)).toBe(true);
    return n < 0 ? null : hex(out.subarray(0, n));
  };

  it.each(load<{ tests: AeadKat[] }>("rfc8439-chacha20-poly1305.json").tests)("$name (RFC 8439)", (t) => {
    expect(seal(t.key, t.nonce, t.aad, t.plaintext)).toBe(t.ciphertext + t.tag);
    expect(open(t.key, t.nonce, t.aad, t.ciphertext + t.tag)).toBe(t.plaintext);
    const forged = h(t.ciphertext + t.tag);
    forged[forged.length - 1]! ^= 0x80;
    expect(open(t.key, t.nonce, t.aad, hex(forged))).toBeNull();
    if (t.aad.length > 0) expect(open(t.key, t.nonce, "", t.ciphertext + t.tag)).toBeNull();
  });

  const wycheproof = load<{ wycheproof: { testGroups: { tests: WycheproofAead[] }[] } }>("wycheproof-chacha20-poly1305.json");
  const cases = wycheproof.wycheproof.testGroups.flatMap((g) => g.tests);
  it(`Wycheproof chacha20_poly1305_test.json: ${cases.length} cases`, () => {
    for (const t of cases) {
      const opened = open(t.key, t.iv, t.aad, t.ct + t.tag);
      if (t.result === "valid") {
        expect(opened, `tcId ${t.tcId}`).toBe(t.msg);
        expect(seal(t.key, t.iv, t.aad, t.msg), `tcId ${t.tcId}`).toBe(t.ct + t.tag);
      } else {
        expect(opened, `tcId ${t.tcId} must be rejected`).toBeNull();
      }
    }
    expect(cases.some((t) => t.result === "invalid")).toBe(true);
  });

  // The addon composes the AEAD from ChaCha20 and Poly1305 (wg_aead.c): every padding case of
  // RFC 8439 §2.8 — message and AAD lengths around the 16-byte Poly1305 and 64-byte ChaCha20 blocks.
  it("every message length 0–200 and 1370–1470 with AAD of 0–40 bytes: byte for byte node:crypto; any flipped bit fails", () => {
    const rnd = mulberry32(21);
    const lengths = [...Array.from({ length: 201 }, (_, i) => i), ...Array.from({ length: 101 }, (_, i) => 1370 + i)];
    for (const len of lengths) {
      const aadLen = len % 41;
      const key = hex(randomFillSync(new Uint8Array(32)));
      const nonce = hex(randomFillSync(new Uint8Array(12)));
      const aad = hex(randomFillSync(new Uint8Array(aadLen)));
      const msg = hex(randomFillSync(new Uint8Array(len)));
      const c = createCipheriv("chacha20-poly1305", h(key), h(nonce), { authTagLength: 16 });
      if (aadLen > 0) c.setAAD(h(aad), { plaintextLength: len });
      const expected = hex(Buffer.concat([c.update(h(msg)), c.final(), c.getAuthTag()]));
      expect(seal(key, nonce, aad, msg), `length ${len}, AAD ${aadLen}`).toBe(expected);
      expect(open(key, nonce, aad, expected)).toBe(msg);
      const forged = h(expected);
      forged[Math.floor(rnd() * forged.length)]! ^= 1 << Math.floor(rnd() * 8);
      expect(open(key, nonce, aad, hex(forged)), `forged, length ${len}`).toBeNull();
      if (aadLen > 0) {
        const otherAad = h(aad);
        otherAad[Math.floor(rnd() * aadLen)]! ^= 1;
        expect(open(key, nonce, hex(otherAad), expected), `AAD changed, length ${len}`).toBeNull();
      }
    }
  });

  it("the RFC 8439 §2.8.2 sunscreen vector is in the file", () => {
    const v = load<{ tests: AeadKat[] }>("rfc8439-chacha20-poly1305.json").tests;
    expect(v.some((t) => t.nonce === "070000004041424344454647" && t.tag === "1ae10b594f09e26a7e902ecbd0600691")).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// X25519 of the addon (native/src/x25519.c): the handshake's DHs
// ---------------------------------------------------------------------------------------------

// Skipped only where the addon cannot load (not linux-x64): on linux-x64 the test above requires it to load.
describe.skipIf(!loaded.native)("nativeX25519", () => {
  const backend = loaded.addon ? nativeX25519(loaded.addon) : null;

  it("passes its load-time check here, and loadTransportAead hands it to the daemon's Device", () => {
    expect(backend?.name).toBe("native EVP");
    expect(loadTransportAead().x25519.name).toBe("native EVP");
  });

  describe("X25519Backend contract", () => x25519Contract(backend ?? nodeX25519));

  it("a Device on it and a Device on node:crypto complete handshakes both ways and carry a packet", () => {
    const random = (out: Uint8Array): void => void randomFillSync(out);
    const a = new Device({ privateKey: PrivateKey.generate(random), random, x25519: backend! });
    const b = new Device({ privateKey: PrivateKey.generate(random), random, x25519: nodeX25519 });
    const epA = { address: "192.0.2.1", port: 1 };
    const epB = { address: "192.0.2.2", port: 2 };
    a.addPeer({ publicKey: b.publicKey!.bytes, endpoint: epB, allowedIps: ["10.0.0.2/32"], presharedKey: new Uint8Array(32).fill(7) }, 0);
    b.addPeer({ publicKey: a.publicKey!.bytes, endpoint: epA, allowedIps: ["10.0.0.1/32"], presharedKey: new Uint8Array(32).fill(7) }, 0);
    const packet = (src: number, dst: number): Uint8Array => {
      const p = new Uint8Array(28);
      p.set([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, src, 10, 0, 0, dst]);
      return p;
    };
    const sent = (out: Action[]): Uint8Array[] => out.filter((x) => x.kind === "toNetwork").map((x) => x.datagram!);
    for (const [from, to, fromEp, toEp, src, dst, now] of [
      [a, b, epA, epB, 1, 2, 1_000],
      [b, a, epB, epA, 2, 1, 400_000], // after RejectAfterTime: a new handshake, b initiating
    ] as const) {
      const out: Action[] = [];
      from.encapsulate(packet(src, dst), now, out);
      const [initiation] = sent(out.splice(0));
      to.decapsulate(initiation!, fromEp, now, out);
      const [response] = sent(out.splice(0));
      expect(response?.[0]).toBe(2);
      from.decapsulate(response!, toEp, now, out);
      const data = sent(out.splice(0)).find((d) => d[0] === 4);
      to.decapsulate(data!, fromEp, now, out);
      expect(out.some((x) => x.kind === "toTunnel")).toBe(true);
    }
  });

  it("the addon refuses what is not its handle or not 32 bytes (TypeError), and a refused DH leaves zeros", () => {
    const addon = loaded.addon!;
    const pub = new Uint8Array(32);
    const handle = addon.x25519Private!(randomFillSync(new Uint8Array(32)), pub);
    expect(handle).not.toBeNull();
    const out = new Uint8Array(32).fill(0xee);
    expect(() => addon.x25519Derive!({}, pub, out)).toThrow(TypeError);
    expect(() => addon.x25519Derive!(handle!, new Uint8Array(31), out)).toThrow(TypeError);
    expect(() => addon.x25519Derive!(handle!, pub, new Uint8Array(16))).toThrow(TypeError);
    expect(() => addon.x25519Private!(new Uint8Array(31), pub)).toThrow(TypeError);
    expect(addon.x25519Derive!(handle!, new Uint8Array(32), out)).toBe(false); // u = 0: all-zero result
    expect(out.every((x) => x === 0)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Threads, fallback, the committed prebuilt file
// ---------------------------------------------------------------------------------------------

/** A worker that loads the addon itself and seals its batch `rounds` times, checking every round is identical. */
const WORKER = `
const { parentPort, workerData: w } = require("node:worker_threads");
const addon = require(w.path);
const keys = new Uint8Array(w.keys);
const n = w.lengths.length;
const desc = new Int32Array(4 * n), counters = new Float64Array(n), results = new Int32Array(n);
let inOff = 0, outOff = 0;
for (let i = 0; i < n; i++) {
  desc.set([inOff, w.lengths[i], outOff, w.keyOffset], 4 * i);
  counters[i] = w.counter + i;
  inOff += w.lengths[i]; outOff += w.lengths[i] + 16;
}
const first = new Uint8Array(outOff), out = new Uint8Array(outOff), back = new Uint8Array(inOff);
addon.seal(keys, w.plain, first, desc, counters, results, n);
let mismatches = 0, failures = 0;
const odesc = new Int32Array(4 * n);
for (let i = 0; i < n; i++) odesc.set([desc[4 * i + 2], w.lengths[i] + 16, desc[4 * i], w.keyOffset], 4 * i);
for (let r = 0; r < w.rounds; r++) {
  if (addon.seal(keys, w.plain, out, desc, counters, results, n) !== n) failures++;
  for (let j = 0; j < out.length; j += 97) if (out[j] !== first[j]) { mismatches++; break; }
  if (addon.open(keys, out, back, odesc, counters, results, n) !== n) failures++;
}
parentPort.postMessage({ sealed: first, mismatches, failures });
`;

// Skipped only where the addon cannot load (not linux-x64): on linux-x64 the test above requires it to load.
describe.skipIf(!loaded.native)("native addon in worker threads", () => {
  it("two workers and the main thread seal and open at once, each with its own context, all correct", async () => {
    const keys = new Uint8Array(new SharedArrayBuffer(64));
    randomFillSync(keys);
    const rand = mulberry32(3);
    const jobs = [0, 1].map((w) => {
      const lengths = Array.from({ length: 32 }, () => Math.floor(rand() * 1501));
      const plain = randomFillSync(new Uint8Array(lengths.reduce((a, b) => a + b, 0)));
      return { path: prebuiltAeadPath(process.platform, process.arch), keys: keys.buffer, keyOffset: 32 * w, lengths, plain, counter: 1000 * w, rounds: 3000 };
    });
    const runs = jobs.map(
      (job) =>
        new Promise<{ sealed: Uint8Array; mismatches: number; failures: number }>((resolve, reject) => {
          const worker = new Worker(WORKER, { eval: true, workerData: job });
          worker.once("message", resolve);
          worker.once("error", reject);
        }),
    );
    // Meanwhile the main thread's own instance works on a third key stream.
    const main = loaded.aead;
    const b = new AeadBatch(16);
    b.count = 16;
    const plain = randomFillSync(new Uint8Array(16 * 1420));
    const out = new Uint8Array(16 * 1436);
    for (let i = 0; i < 16; i++) b.set(i, i * 1420, 1420, i * 1436, 0, 5000 + i);
    for (let r = 0; r < 300; r++) expect(main.sealBatch(keys, plain, out, b)).toBe(16);
    const results = await Promise.all(runs);
    results.forEach((res, w) => {
      expect(res.failures).toBe(0);
      expect(res.mismatches).toBe(0);
      const job = jobs[w]!;
      let inOff = 0;
      let outOff = 0;
      job.lengths.forEach((len, i) => {
        const key = Uint8Array.from(keys.subarray(job.keyOffset, job.keyOffset + 32));
        expect(hex(res.sealed.subarray(outOff, outOff + len + 16))).toBe(hex(reference(key, job.counter + i, job.plain.subarray(inOff, inOff + len))));
        inOff += len;
        outOff += len + 16;
      });
    });
    expect(hex(out.subarray(1436, 2872))).toBe(hex(reference(keys.subarray(0, 32), 5001, plain.subarray(1420, 2840))));
  });
});

// ---------------------------------------------------------------------------------------------
// The addon per packet (the main thread's Device): wg-core's TransportAead contract vs node:crypto
// ---------------------------------------------------------------------------------------------

// Skipped only where the addon cannot load (not linux-x64): on linux-x64 the test above requires it to load.
describe.skipIf(!loaded.native)("nativeTransportAead (one packet per call)", () => {
  const aead = loaded.addon ? nativeTransportAead(loaded.addon) : nodeTransportAead;
  const rnd = mulberry32(14);

  it("seals byte for byte like node:crypto and opens its datagrams, 300 random sizes, counters and offsets", () => {
    for (let i = 0; i < 300; i++) {
      const key = randomFillSync(new Uint8Array(32));
      const size = i < 4 ? [0, 1, 1420, 65535][i]! : Math.floor(rnd() * 2000);
      const counter = i % 7 === 0 ? 2 ** 53 - 1 - i : Math.floor(rnd() * 2 ** 40);
      const pt = randomFillSync(new Uint8Array(size));
      const off = Math.floor(rnd() * 20);
      const mine = new Uint8Array(off + size + 16);
      const ref = new Uint8Array(off + size + 16);
      expect(aead.seal(key, counter, pt, mine, off)).toBe(size + 16);
      expect(nodeTransportAead.seal(key, counter, pt, ref, off)).toBe(size + 16);
      expect(hex(mine)).toBe(hex(ref));
      const back = new Uint8Array(size + 3);
      expect(aead.open(key, counter, ref.subarray(off), back, 3)).toBe(size);
      expect(hex(back.subarray(3))).toBe(hex(pt));
    }
  });

  it("works in place (the Device may open into the datagram's own buffer)", () => {
    const key = randomFillSync(new Uint8Array(32));
    const pt = randomFillSync(new Uint8Array(100));
    const buf = new Uint8Array(132);
    buf.set(pt, 16);
    expect(aead.seal(key, 5, buf.subarray(16, 116), buf, 16)).toBe(116);
    expect(aead.open(key, 5, buf.subarray(16, 132), buf, 0)).toBe(100);
    expect(hex(buf.subarray(0, 100))).toBe(hex(pt));
  });

  it("returns -1 (never throws) for a forged tag, a wrong counter or key, no room, bad offsets; out untouched on a failed open", () => {
    const key = randomFillSync(new Uint8Array(32));
    const sealed = new Uint8Array(80);
    expect(aead.seal(key, 9, new Uint8Array(64), sealed, 0)).toBe(80);
    const out = new Uint8Array(64).fill(0xaa);
    expect(aead.open(key, 10, sealed, out, 0)).toBe(-1);
    expect(aead.open(new Uint8Array(32), 9, sealed, out, 0)).toBe(-1);
    sealed[79]! ^= 1;
    expect(aead.open(key, 9, sealed, out, 0)).toBe(-1);
    expect(out.every((x) => x === 0xaa)).toBe(true);
    expect(aead.open(key, 9, new Uint8Array(15), out, 0)).toBe(-1);
    expect(aead.seal(key.subarray(1), 9, new Uint8Array(8), new Uint8Array(24), 0)).toBe(-1);
    expect(aead.seal(key, 9, new Uint8Array(64), new Uint8Array(79), 0)).toBe(-1);
    expect(aead.seal(key, 9, new Uint8Array(8), new Uint8Array(24), -1)).toBe(-1);
    expect(aead.seal(key, 9, new Uint8Array(8), new Uint8Array(24), 0.5)).toBe(-1);
    expect(aead.seal(key, 2 ** 53, new Uint8Array(8), new Uint8Array(24), 0)).toBe(-1);
  });

  it("runs the handshake's AEADs too: a Device on it and a Device on noble complete a handshake and a packet", () => {
    expect(aead.chaChaPoly?.name).toBe("native EVP");
    const random = (out: Uint8Array): void => void randomFillSync(out);
    const a = new Device({ privateKey: PrivateKey.generate(random), random, aead });
    const b = new Device({ privateKey: PrivateKey.generate(random), random, aead: nobleTransportAead });
    const epA = { address: "192.0.2.1", port: 51820 };
    const epB = { address: "192.0.2.2", port: 51820 };
    a.addPeer({ publicKey: b.publicKey!.bytes, endpoint: epB, allowedIps: ["10.0.0.2/32"] }, 0);
    b.addPeer({ publicKey: a.publicKey!.bytes, endpoint: epA, allowedIps: ["10.0.0.1/32"] }, 0);
    const out: Action[] = [];
    const take = (type: number): Uint8Array => {
      const d = out.find((x) => x.kind === "toNetwork" && x.datagram[0] === type);
      out.length = 0;
      if (d?.kind !== "toNetwork") throw new Error(`no message of type ${type}`);
      return d.datagram;
    };
    const packet = new Uint8Array(28);
    packet.set([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    a.encapsulate(packet, 1, out); // A seals msg.static and msg.timestamp with the addon, B opens them with noble
    b.decapsulate(take(1), epA, 1, out); // B seals msg.empty with noble, A opens it with the addon
    a.decapsulate(take(2), epB, 1, out);
    b.decapsulate(take(4), epA, 1, out);
    expect(out.map((x) => x.kind)).toContain("toTunnel");
  });

  it("loadTransportAead picks it here, and node:crypto with the reason where the addon is missing", () => {
    expect(loadTransportAead()).toMatchObject({ reason: null, aead: { name: "native EVP" } });
    const other = loadTransportAead({ platform: "linux", arch: "riscv64" });
    expect(other.aead).toBe(nodeTransportAead);
    expect(other.reason).toContain("no prebuilt addon for linux-riscv64");
  });
});

describe("loadBatchAead fallback", () => {
  const check = (aead: BatchTransportAead): void => {
    const keys = randomFillSync(new Uint8Array(32));
    const plain = randomFillSync(new Uint8Array(200));
    const out = new Uint8Array(216);
    const b = new AeadBatch(1);
    b.count = 1;
    b.set(0, 0, 200, 0, 0, 9);
    expect(aead.sealBatch(keys, plain, out, b)).toBe(1);
    expect(hex(out)).toBe(hex(reference(keys, 9, plain)));
  };

  it("no prebuilt file for this platform: node:crypto per packet, and one line saying why", () => {
    const c = loadBatchAead({ platform: "linux", arch: "riscv64" });
    expect(c.native).toBe(false);
    expect(c.addon).toBeNull();
    expect(c.reason).toBe("native AEAD not used (no prebuilt addon for linux-riscv64); using node:crypto per packet");
    expect(c.aead.name).toBe("node:crypto per packet");
    check(c.aead);
  });

  it("a file that does not load (another CPU's or a corrupt build): the loader's error in the reason", () => {
    const dir = mkdtempSync(join(tmpdir(), "wg-aead-test-"));
    try {
      const bogus = join(dir, "wg_aead.node");
      writeFileSync(bogus, randomFillSync(new Uint8Array(4096)));
      const c = loadBatchAead({ path: bogus, fallback: nobleTransportAead });
      expect(c.native).toBe(false);
      expect(c.reason).toMatch(/^native AEAD not used \(.*wg_aead\.node did not load: .+\); using noble per packet$/);
      expect(c.reason).not.toContain("\n");
      check(c.aead);
      expect(loadBatchAead({ path: join(dir, "missing.node") }).reason).toContain("no prebuilt addon");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The committed prebuilt file is exactly what native/build.mjs produces (needs g++, make and Node's headers). */
const haveToolchain =
  onLinuxX64 && process.env["WG_TS_SKIP_NATIVE_BUILD"] !== "1" && spawnSync("g++", ["--version"]).status === 0 && existsSync("/usr/include/node/node_api.h");
// Skipped without g++ and Node's headers (bootstrap installs neither; CI machines have both): a rebuild needs them.
describe.skipIf(!haveToolchain)("native/prebuilt", () => {
  it("is byte for byte what native/build.mjs builds from the source", () => {
    const script = fileURLToPath(new URL("../native/build.mjs", import.meta.url));
    const r = spawnSync(process.execPath, [script, "--check"], { encoding: "utf8" });
    expect(r.stderr + r.stdout).toContain("identical to the build");
    expect(r.status).toBe(0);
  }, 120_000);
});
