/**
 * `down` means down: `wg-ts down` returns only once the daemon process has exited and its TUN and
 * UAPI socket are gone, so an `up` right after it never meets a stale daemon. 20 cycles each with
 * the worker threads running (WG_TS_WORKERS=always) and without (never), traffic through a
 * wireguard-go peer in every cycle; and SIGTERM to `wg-ts up --foreground`.
 */
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, exists, labPair, linkExists, pairConf, pidsOf, ping, sh, tempDir, WG_TS, wgQuickGo, wgTs, writeConf } from "./support/lab.js";

const CYCLES = 20;

const dir = tempDir("wgts-ud-");
// a: wg-ts; b: wireguard-go
const lab = labPair({ ns: ["wgts-ud-a", "wgts-ud-b"], ifaces: ["wgud1a", "wgud1b"], n: 133, ports: [51133, 51134], dir });
const { ns: NS_A, iface: IF_A, conf: confA } = lab.a;
const { ns: NS_B, tunnel: B4, conf: confB } = lab.b;
writeConf(confA, pairConf(lab.a, lab.b));
writeConf(confB, pairConf(lab.b, lab.a));

const wgTsWith = (args: string[], env: NodeJS.ProcessEnv) => wgTs(NS_A, args, { ...process.env, ...env });
/** Every process that serves IF_A: detached daemons and foreground `up`s. */
const daemons = (): number[] => pidsOf(`wg-ts.js (daemon|up --foreground) .*${IF_A}(\\.conf)?$`);
const gone = (): boolean => daemons().length === 0 && !linkExists(NS_A, IF_A) && !exists(`/var/run/wireguard/${IF_A}.sock`);

beforeAll(() => {
  lab.create();
  const go = wgQuickGo(NS_B, "up", confB);
  expect(go.status, go.stderr).toBe(0);
});

afterAll(() => {
  wgTsWith(["down", confA], {});
  wgQuickGo(NS_B, "down", confB);
  lab.clean();
  rmSync(dir, { recursive: true, force: true }); // configs hold private keys
});

describe("wg-ts down means down", () => {
  for (const workers of ["always", "never"] as const) {
    it(`${CYCLES} x (up, traffic, down) with WG_TS_WORKERS=${workers}: each down returns with the daemon, link and socket gone`, () => {
      for (let i = 0; i < CYCLES; i++) {
        const up = wgTsWith(["up", confA], { WG_TS_WORKERS: workers });
        expect(up.status, `cycle ${i}: ${up.stderr}`).toBe(0);
        expect(daemons(), `cycle ${i}`).toHaveLength(1);
        expect(ping(NS_A, B4, { wait: 5 }), `cycle ${i}: ping`).toBe(true);
        const down = wgTsWith(["down", confA], {});
        expect(down.status, `cycle ${i}: ${down.stderr}`).toBe(0);
        expect(down.stderr).not.toMatch(/did not exit/); // it exited by itself, not by our signal
        // Checked at once: `down` has returned, nothing may linger.
        expect(daemons(), `cycle ${i}: daemon still running after down`).toEqual([]);
        expect(linkExists(NS_A, IF_A), `cycle ${i}`).toBe(false);
        expect(exists(`/var/run/wireguard/${IF_A}.sock`), `cycle ${i}`).toBe(false);
      }
    });
  }

  it("SIGTERM to `wg-ts up --foreground`: runs down and the process exits 0 with everything removed", async () => {
    const child = spawn("ip", ["netns", "exec", NS_A, process.execPath, WG_TS, "up", "--foreground", confA], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    child.stderr.on("data", (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    expect(await eventually(() => linkExists(NS_A, IF_A), 15_000), log).toBe(true);
    expect(await eventually(() => ping(NS_A, B4, { wait: 2 }), 10_000)).toBe(true);
    child.kill("SIGTERM");
    expect(await exited, log).toBe(0);
    expect(gone(), log).toBe(true);
    // The start-up warm-up ran before the UAPI socket answered (src/warmup.ts).
    expect(log).toMatch(new RegExp(`${IF_A}: packet path warmed up \\(\\d+ round trips through two throwaway tunnels in \\d+ ms\\)\\n(.*\\n)*${IF_A}: daemon started`));
  });

  it("with lo down the daemon says why it starts without the warm-up, and carries traffic; WG_TS_WARMUP=0 skips it", () => {
    try {
      sh("ip", ["-n", NS_A, "link", "set", "lo", "down"]);
      const up = wgTsWith(["up", confA], {});
      expect(up.status, up.stderr).toBe(0);
      expect(ping(NS_A, B4, { wait: 5 })).toBe(true);
      expect(wgTsWith(["down", confA], {}).status).toBe(0);
      const log = readFileSync(`/var/log/wg-ts-${IF_A}.log`, "utf8");
      // 127.0.0.1 is not there to bind (EADDRNOTAVAIL); nothing of the throwaway tunnels is left.
      expect(log).toMatch(new RegExp(`${IF_A}: packet path not warmed up \\(no answer through 127.0.0.1 within 1000 ms \\(0 round trips\\)\\)\\n${IF_A}: daemon started`));
    } finally {
      sh("ip", ["-n", NS_A, "link", "set", "lo", "up"]);
    }
    const before = readFileSync(`/var/log/wg-ts-${IF_A}.log`, "utf8").length;
    const up = wgTsWith(["up", confA], { WG_TS_WARMUP: "0" });
    expect(up.status, up.stderr).toBe(0);
    expect(wgTsWith(["down", confA], {}).status).toBe(0);
    const log = readFileSync(`/var/log/wg-ts-${IF_A}.log`, "utf8").slice(before);
    expect(log).toMatch(new RegExp(`${IF_A}: daemon started`));
    expect(log).not.toMatch(/warmed up/);
    const bad = wgTsWith(["up", confA], { WG_TS_WARMUP: "-1" });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/WG_TS_WARMUP=-1: expected an integer from 0 to 100000/);
    expect(gone()).toBe(true);
  });
});
