// The local lab end to end: `wg-deploy up` builds the seed-000 network from network namespaces
// (wgts-*) with wg-ts on the gateways and a real PostgreSQL in rdb; the tests then send traffic only
// between those namespaces (documentation-range "internet" included) and `wg-deploy down` must
// leave nothing behind. Needs root, wg, nft, PostgreSQL 15, and `pnpm build` first.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = resolve(import.meta.dirname, "../../..");
const BIN = join(REPO, "packages/deploy/bin/wg-deploy.js");
const STATE_DIR = "/run/wg-ts-lab-e2e";
const ENV = { ...process.env, WG_DEPLOY_LAB_DIR: STATE_DIR, WG_DEPLOY_WIREGUARD: process.env["WG_DEPLOY_WIREGUARD"] ?? "wg-ts" };
const LAB_INTERFACES = ["wg-hub", "wg-s01", "wg-s02"];

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function runCommand(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolvePromise) => {
    execFile(file, args, { env: options.env ?? ENV, timeout: options.timeoutMs ?? 60_000, encoding: "utf8", maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

const wgDeploy = (args: string[], env: NodeJS.ProcessEnv = ENV, timeoutMs = 120_000) => runCommand(process.execPath, [BIN, ...args], { env, timeoutMs });
const inNs = (ns: string, args: string[], timeoutMs = 20_000) => runCommand("ip", ["netns", "exec", ns, ...args], { timeoutMs });

const LAB_NAMESPACES = ["bastion", "internet", "postgres-client", "rdb", "wireguard-hub", "wireguard-spoke-01", "wireguard-spoke-02"].map((n) => `wgts-${n}`);

/** The lab's namespaces that exist (other suites use other wgts-… names: not ours to judge). */
async function labNamespaces(): Promise<string[]> {
  const { stdout } = await runCommand("ip", ["netns", "list"]);
  return stdout.split("\n").map((l) => l.split(" ")[0] ?? "").filter((n) => LAB_NAMESPACES.includes(n));
}

/** Pids of processes whose command line mentions the lab's state dir or a lab WireGuard interface daemon. */
function labProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline = "";
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ");
    } catch {
      continue;
    }
    if (cmdline.includes(STATE_DIR) || LAB_INTERFACES.some((i) => cmdline.includes(`daemon ${i}`))) pids.push(Number(entry));
  }
  return pids;
}

/**
 * A TCP connect from `ns` to host:port with node. Prints "ok" once connected (with `readLine`:
 * "ok <first line the server sends>"), or "fail <error code>" / "fail timeout".
 */
const PROBE = `
const net = require("node:net");
const [host, port, timeout, readLine] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) });
s.setTimeout(Number(timeout), () => { console.log("fail timeout"); process.exit(0); });
s.on("connect", () => {
  if (readLine !== "1") { console.log("ok"); s.destroy(); return; }
  s.once("data", (d) => { console.log("ok " + d.toString().trim()); s.destroy(); });
});
s.on("error", (e) => { console.log("fail " + (e.code || e.message)); process.exit(0); });
`;
async function tcpProbe(ns: string, host: string, port: number, options: { timeoutMs?: number; readLine?: boolean } = {}): Promise<string> {
  const args = [process.execPath, "-e", PROBE, host, String(port), String(options.timeoutMs ?? 3000), options.readLine ? "1" : "0"];
  return (await inNs(ns, args)).stdout.trim();
}

/** Bytes received+sent by `ifname` (in `ns`) for the peer with public key `peerKey`. */
async function transfer(ns: string, ifname: string, peerKey: string): Promise<number> {
  const { stdout } = await inNs(ns, ["wg", "show", ifname, "transfer"]);
  const line = stdout.split("\n").find((l) => l.startsWith(peerKey));
  const [, rx, tx] = (line ?? "").split("\t");
  return Number(rx ?? 0) + Number(tx ?? 0);
}

async function publicKey(ns: string, ifname: string): Promise<string> {
  return (await inNs(ns, ["wg", "show", ifname, "public-key"])).stdout.trim();
}

const dbconnect = (sql: string) => wgDeploy(["exec", "postgres-client", "--", "dbconnect", "-X", "-A", "-t", "-c", sql], ENV, 40_000);

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** Pid of the wg-ts daemon serving `ifname` inside `ns`. */
async function daemonPid(ns: string, ifname: string): Promise<number | undefined> {
  const { stdout } = await runCommand("ip", ["netns", "pids", ns]);
  return stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .find((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        return cmd.includes(ifname) && (cmd.includes("daemon") || cmd.some((c) => c.endsWith("wireguard-go")));
      } catch {
        return false;
      }
    });
}

const canRun = process.getuid?.() === 0 && existsSync(join(REPO, "packages/deploy/dist/cli.js"));

// Skipped only outside CI (no root, or not built); in CI a missing prerequisite must fail.
describe.runIf(canRun || Boolean(process.env["CI"]))("wg-deploy lab (hub-spoke, WireGuard by wg-ts)", () => {
  let upResult: Result;
  const listeners: ChildProcess[] = [];

  beforeAll(async () => {
    await wgDeploy(["down"]);
    upResult = await wgDeploy(["up"]);
  });

  afterAll(async () => {
    for (const listener of listeners) if (listener.exitCode === null) listener.kill("SIGKILL");
    await wgDeploy(["down"]);
  });

  it("builds every namespace, shows progress, and a second `up` is a no-op", async () => {
    expect(upResult.stderr).toMatch(/\[ 1\/\d+\] this machine: check prerequisites/);
    expect(upResult.stderr).toContain("start wg-ts (wg-s02)");
    expect(upResult.code, upResult.stderr).toBe(0);
    expect((await labNamespaces()).sort()).toEqual([...LAB_NAMESPACES].sort());
    const again = await wgDeploy(["up"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("already up");
  });

  it("keeps secrets out of plain output and in 0600 files", async () => {
    const plain = await wgDeploy(["output"]);
    const json = await wgDeploy(["output", "--json"]);
    expect(plain.code, plain.stderr).toBe(0);
    const outputs = JSON.parse(json.stdout) as { database_password: string; public_ips: Record<string, string>; database_connection: { host: string } };
    expect(outputs.database_password.length).toBeGreaterThan(10);
    expect(plain.stdout).not.toContain(outputs.database_password);
    expect(plain.stdout).toContain("database_password: (sensitive value)");
    expect(outputs.public_ips["wireguard-hub"]).toBe("203.0.113.10");
    expect(outputs.database_connection.host).toBe("172.16.32.20");
    for (const file of ["secrets.json", "nodes/wireguard-hub/fs/etc/wireguard/wg-hub.conf", "nodes/postgres-client/fs/etc/wg-ts/pgpass"]) {
      expect(statSync(join(STATE_DIR, file)).mode & 0o777, file).toBe(0o600);
    }
    const status = await wgDeploy(["status"]);
    expect(status.stdout).not.toMatch(/private key: (?!\(hidden\))/);
  });

  it("shows every gateway's peers and handshakes (status) and draws what was built (diagram)", async () => {
    const status = await wgDeploy(["status"]);
    expect(status.code, status.stderr).toBe(0);
    for (const [gateway, ifname] of [["wireguard-hub", "wg-hub"], ["wireguard-spoke-01", "wg-s01"], ["wireguard-spoke-02", "wg-s02"]] as const) {
      const section = status.stdout.split("== ").find((s) => s.startsWith(gateway)) ?? "";
      expect(section).toContain(`interface: ${ifname}`);
      expect(section.match(/latest handshake: /g)).toHaveLength(2);
      expect(section.match(/^peer: .*\((wireguard-[a-z0-9-]+)\)$/gm)).toHaveLength(2);
    }
    const diagram = await wgDeploy(["diagram"]);
    expect(diagram.code, diagram.stderr).toBe(0);
    expect(diagram.stdout).toMatch(/wireguard-spoke-01 192\.168\.1\.2 +<==> wireguard-spoke-02 192\.168\.1\.3 +handshake \d+s ago/);
    expect(diagram.stdout).toMatch(/172\.16\.32\.20 +rdb +PostgreSQL :5432/);
  });

  it("runs a select from postgres-client through spoke-02 -> spoke-01 -> rdb, bytes crossing spoke-02's tunnel", async () => {
    const spoke01Key = await publicKey("wgts-wireguard-spoke-01", "wg-s01");
    const before = await transfer("wgts-wireguard-spoke-02", "wg-s02", spoke01Key);
    const result = await dbconnect("select inet_server_addr(), inet_client_addr(), current_user, current_database(), length(repeat('x', 200000))");
    expect(result.code, result.stderr).toBe(0);
    // The database sees spoke-01's address: spoke-02 masquerades into the tunnel, spoke-01 into its network.
    expect(result.stdout.trim()).toBe("172.16.32.20|172.16.32.10|dbadmin|appdb|200000");
    const big = await dbconnect("select repeat('x', 200000)");
    expect(big.code, big.stderr).toBe(0);
    const after = await transfer("wgts-wireguard-spoke-02", "wg-s02", spoke01Key);
    expect(after - before).toBeGreaterThan(200_000);
  });

  it("keeps the database unreachable from the internet, even with routes pointed at the gateways", async () => {
    // Positive control: the same probe reaches the database from the client.
    expect(await tcpProbe("wgts-postgres-client", "172.16.32.20", 5432)).toBe("ok");
    expect(await tcpProbe("wgts-internet", "172.16.32.20", 5432)).toMatch(/^fail (ENETUNREACH|EHOSTUNREACH)/);
    for (const gatewayIp of ["203.0.113.10", "203.0.113.11", "203.0.113.12"]) {
      await inNs("wgts-internet", ["ip", "route", "replace", "172.16.0.0/16", "via", gatewayIp]);
      try {
        expect(await tcpProbe("wgts-internet", "172.16.32.20", 5432, { timeoutMs: 2000 }), `via ${gatewayIp}`).toBe("fail timeout");
      } finally {
        await inNs("wgts-internet", ["ip", "route", "del", "172.16.0.0/16"]);
      }
    }
  });

  it("sends the spokes' internet traffic out through the hub's NAT", async () => {
    const listener = spawn(
      "ip",
      ["netns", "exec", "wgts-internet", process.execPath, "-e",
        `require("node:net").createServer((s) => { console.log(s.remoteAddress); s.end(s.remoteAddress + "\\n"); }).listen(8080, "198.51.100.1", () => console.log("listening"));`],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    listeners.push(listener);
    const seen: string[] = [];
    const lines = createInterface({ input: listener.stdout! });
    await new Promise<void>((ready) => lines.on("line", (line) => (line === "listening" ? ready() : seen.push(line))));
    for (const ns of ["wgts-postgres-client", "wgts-wireguard-spoke-01", "wgts-wireguard-spoke-02"]) {
      expect(await tcpProbe(ns, "198.51.100.1", 8080, { readLine: true }), ns).toBe("ok 203.0.113.10");
    }
    await waitFor("the listener's log", async () => seen.length >= 3, 3000);
    expect(seen).toEqual(["203.0.113.10", "203.0.113.10", "203.0.113.10"]);
    listener.kill("SIGTERM");
  });

  it("recovers after a gateway's wg-ts is killed and `wg-deploy restart` starts it again", async () => {
    const pid = await daemonPid("wgts-wireguard-spoke-01", "wg-s01");
    expect(pid).toBeDefined();
    process.kill(pid ?? 0, "SIGKILL");
    await waitFor("wg-s01 to vanish", async () => (await inNs("wgts-wireguard-spoke-01", ["ip", "link", "show", "wg-s01"])).code !== 0, 5000);
    expect((await inNs("wgts-postgres-client", ["ping", "-c", "1", "-W", "1", "172.16.32.20"])).code).not.toBe(0);
    const restart = await wgDeploy(["restart", "wireguard-spoke-01"]);
    expect(restart.code, restart.stderr).toBe(0);
    expect(await daemonPid("wgts-wireguard-spoke-01", "wg-s01")).not.toBe(pid);
    const result = await dbconnect("select 'back'");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe("back");
  });

  it("restarts spoke-01's tunnel by itself (wg-monitor) when the hub stops answering", async () => {
    const pid = await daemonPid("wgts-wireguard-spoke-01", "wg-s01");
    expect(pid).toBeDefined();
    process.kill(pid ?? 0, "SIGKILL");
    // wg-monitor probes every 10 s and restarts after 3 failures.
    await waitFor("wg-monitor to bring wg-s01 back", async () => {
      const now = await daemonPid("wgts-wireguard-spoke-01", "wg-s01");
      return now !== undefined && now !== pid && (await inNs("wgts-postgres-client", ["ping", "-c", "1", "-W", "1", "172.16.32.20"])).code === 0;
    }, 50_000);
    const log = readFileSync(join(STATE_DIR, "nodes/wireguard-spoke-01/fs/var/log/wireguard-monitor.log"), "utf8");
    expect(log).toMatch(/192\.168\.1\.1 unreachable \(3\/3\)\n.*restarting the tunnel/);
    const result = await dbconnect("select 'monitored'");
    expect(result.stdout.trim(), result.stderr).toBe("monitored");
  });

  it("names the missing prerequisite and its host before building anything", async () => {
    await wgDeploy(["down"]);
    const failed = await wgDeploy(["up"], { ...ENV, WG_DEPLOY_PG_BIN: "/nonexistent/pg/bin" });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/step "check prerequisites" failed on this machine: missing prerequisites:/);
    expect(failed.stderr).toContain("`/nonexistent/pg/bin/initdb` (postgresql) needed on rdb");
    expect(await labNamespaces()).toEqual([]);
    expect(existsSync(STATE_DIR)).toBe(false);
  });

  it("fails clearly and rolls back when a gateway cannot start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wg-deploy-e2e-"));
    const broken = join(dir, "broken-wg-ts.js");
    writeFileSync(broken, `console.error("simulated wg-ts failure"); process.exit(3);\n`);
    try {
      const failed = await wgDeploy(["up"], { ...ENV, WG_DEPLOY_WG_TS: broken });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/step "start wg-ts \(wg-hub\)" failed on wireguard-hub: .*simulated wg-ts failure/s);
      expect(failed.stderr).toContain("rolling back");
      expect(await labNamespaces()).toEqual([]);
      expect(existsSync(STATE_DIR)).toBe(false);
      expect(labProcesses()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("`down` leaves no namespace, process, socket or state file, and is idempotent", async () => {
    const up = await wgDeploy(["up"]);
    expect(up.code, up.stderr).toBe(0);
    expect(labProcesses().length).toBeGreaterThan(3);
    const down = await wgDeploy(["down"]);
    expect(down.code, down.stderr).toBe(0);
    expect(await labNamespaces()).toEqual([]);
    expect(labProcesses()).toEqual([]);
    expect(existsSync(STATE_DIR)).toBe(false);
    for (const ifname of LAB_INTERFACES) expect(existsSync(`/var/run/wireguard/${ifname}.sock`), ifname).toBe(false);
    const again = await wgDeploy(["down"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("nothing to remove");
  });
});
