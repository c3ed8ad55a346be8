/**
 * Real first boots for the e2e tests: a Debian 12 userspace with systemd as PID 1 and real cloud-init
 * (NoCloud), one `systemd-nspawn -b` container per instance, each in a network namespace of the
 * test's own. Root only. What cannot exist here has a stand-in in the test's "internet" namespace
 * (documentation ranges only, never the host's network): object storage ({@link startObjectStore}:
 * serves the synthesized folder over HTTP, or HTTPS with a test CA the image is given; optionally
 * refusing a file a few times, or every client but one address), the package mirror (a `file:` apt
 * repository inside the image, built with the rootfs: ./boot-rootfs.sh), and in each test what its
 * cloud's user-data asks of the platform (Scaleway's metadata API; nothing for AWS's). Shared checks
 * of what every booted gateway must show ({@link expectCloudInitDone}, {@link expectWgTsUnitFromUserData},
 * {@link expectRestartAndKillRecovered}, {@link expectDaemonLogWithoutKeys}, {@link expectRebootRecovers})
 * live here too, with the synth step as an operator runs it ({@link synthesize}) and the user-data
 * as apply renders it ({@link applyInterpolations}): ../scaleway-boot.e2e.test.ts and
 * ../aws-boot.e2e.test.ts use them.
 *
 * The rootfs tarball is cached in $WG_TS_TEST_CACHE (default /var/cache/wg-ts-test), keyed by the
 * builder script and the mirror's package list; building it takes ~2 minutes (debootstrap from
 * deb.debian.org), unpacking it ~2 s.
 *
 * Container limits (say so where a test would rely on them): device allow-lists and raised rlimits
 * are not enforced (cgroups v1, no host systemd); `--capability=CAP_NET_ADMIN` and
 * `--bind=/dev/net/tun` are what wg-ts needs. There is no host systemd/machined, hence
 * `--register=no --keep-unit`; each container runs in its own subtree of the name=systemd hierarchy.
 * Two differences from a VM that the harness evens out: nspawn mounts /proc/sys read-only (with
 * --network-namespace-path, /proc/sys/net too), so {@link PROC_SYS_NET_UNIT} re-binds /proc/sys/net
 * read-write early in boot (net sysctls are per network namespace: the host's are untouched); and
 * /sys/class/net shows the host's devices, not the namespace's (the renderers use `ip -j`, not sysfs).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { UPLINK_TABLE } from "../../src/cloud/first-boot.js";
import { buildNodeRuntime, NODE_RUNTIME_FILE } from "../../src/cloud/node-runtime.js";
import { MAIN_FILE } from "../../src/cloud/synth-dir.js";
import type { NodePlan } from "../../src/plan/types.js";
import type { TerraformDocument } from "../../src/terraform/document.js";
import { evaluateTemplate } from "../../src/terraform/evaluate.js";
import type { WireGuardSecrets } from "../../src/terraform/secrets.js";
import { readSecrets } from "./terraform.js";

export const BOOT_CACHE = process.env["WG_TS_TEST_CACHE"] ?? "/var/cache/wg-ts-test";
const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, "../../../..");
const WG_DEPLOY = join(REPO, "packages/deploy/bin/wg-deploy.js");
/** The unit file wg-ts' package installs (the user-data copies it from the installed package). */
export const WG_TS_UNIT_SOURCE = join(REPO, "packages/wg-daemon/systemd/wg-ts@.service");
const ROOTFS_SCRIPT = join(HERE, "boot-rootfs.sh");
const CGROUP_ROOT = "/sys/fs/cgroup/systemd/wg-ts-boot";

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function sh(command: string, options: { timeoutMs?: number } = {}): Run {
  const r = spawnSync("sh", ["-c", command], { encoding: "utf8", timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

export function must(command: string, options: { timeoutMs?: number } = {}): string {
  const r = sh(command, options);
  if (r.status !== 0) throw new Error(`${command}: status ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Host tools the boot tests need, with the Debian packages that provide them. */
const HOST_TOOLS: Record<string, string> = { "systemd-nspawn": "systemd-container", debootstrap: "debootstrap", "dpkg-scanpackages": "dpkg-dev", zstd: "zstd", nsenter: "util-linux" };

/** Throws naming every missing tool (those above and `extra`: tool -> Debian package) and the apt-get line that installs them. */
export function requireHostTools(extra: Record<string, string> = {}): void {
  const tools = { ...HOST_TOOLS, ...extra };
  const missing = Object.keys(tools).filter((tool) => sh(`command -v ${tool}`).status !== 0);
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((t) => tools[t]))].join(" ");
    throw new Error(`boot tests need ${missing.join(", ")}: apt-get install -y --no-install-recommends ${packages}`);
  }
}

/**
 * The cached rootfs tarball whose mirror holds `packages` (built on first use, under a lock so two
 * runs do not build it twice). Returns its path and whether this call built it.
 */
export function bootRootfs(packages: readonly string[], log: (line: string) => void = () => {}): { path: string; built: boolean; seconds: number } {
  const sorted = [...new Set(packages)].sort();
  const key = createHash("sha256").update(readFileSync(ROOTFS_SCRIPT)).update(`\n${sorted.join(" ")}`).digest("hex").slice(0, 16);
  const path = join(BOOT_CACHE, `rootfs-${key}.tar.zst`);
  if (existsSync(path)) return { path, built: false, seconds: 0 };
  mkdirSync(BOOT_CACHE, { recursive: true });
  log(`building ${path} (debootstrap bookworm + mirror of ${sorted.join(" ")})`);
  const started = Date.now();
  const build = 'out=$1 script=$2; shift 2; test -e "$out" || bash "$script" "$out" "$@"';
  const r = spawnSync("flock", [join(BOOT_CACHE, "rootfs.lock"), "sh", "-c", build, "sh", path, ROOTFS_SCRIPT, ...sorted], { encoding: "utf8", timeout: 15 * 60_000 });
  if (r.status !== 0 || !existsSync(path)) throw new Error(`boot-rootfs.sh failed: ${r.stderr}${r.stdout}`);
  return { path, built: true, seconds: (Date.now() - started) / 1000 };
}

/** A network namespace the test owns: `ip netns add`, removed by `remove()`. */
export class Netns {
  constructor(readonly name: string) {
    sh(`ip netns del ${name} 2>/dev/null`);
    must(`ip netns add ${name} && ip -n ${name} link set lo up`);
  }
  run(command: string, options: { timeoutMs?: number } = {}): Run {
    return sh(`ip netns exec ${this.name} sh -c ${quote(command)}`, options);
  }
  must(command: string): string {
    return must(`ip netns exec ${this.name} sh -c ${quote(command)}`);
  }
  remove(): void {
    sh(`ip netns del ${this.name} 2>/dev/null`);
  }
}

export function quote(text: string): string {
  return `'${text.replaceAll("'", `'"'"'`)}'`;
}

/** A long-running helper process the test started (stand-in servers); killed by pid. */
export function startProcess(command: string, args: string[], logFile: string): ChildProcess {
  const out = openSync(logFile, "a");
  const child = spawn(command, args, { stdio: ["ignore", out, out] });
  closeSync(out);
  return child;
}

/** Early-boot unit of the harness (not of the product): /proc/sys/net writable, as on a VM. */
export const PROC_SYS_NET_UNIT = [
  "[Unit]",
  "Description=boot-test harness: /proc/sys/net read-write as on a VM (systemd-nspawn mounts it read-only)",
  "DefaultDependencies=no",
  "Before=sysinit.target systemd-sysctl.service",
  "",
  "[Service]",
  "Type=oneshot",
  "RemainAfterExit=yes",
  "ExecStart=/bin/sh -c 'mount --bind /proc/sys/net /proc/sys/net && mount -o remount,bind,rw /proc/sys/net'",
  "",
  "[Install]",
  "WantedBy=sysinit.target",
  "",
].join("\n");

/** One booted instance: a container over its own copy of the rootfs, in network namespace `ns`. */
export class Container {
  #nspawn: ChildProcess | undefined;
  #exited: Promise<number | null> = Promise.resolve(null);
  readonly root: string;
  readonly consoleLog: string;
  readonly cgroup: string;

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly ns: Netns,
  ) {
    this.root = join(dir, "root");
    this.consoleLog = join(dir, "console.log");
    this.cgroup = join(CGROUP_ROOT, name);
  }

  /**
   * Unpacks the rootfs and seeds NoCloud with `metaData` and `userData` (cloud-init reads them at
   * first boot); `image` may then change the image (a stand-in's CA, /etc/hosts) before it boots.
   */
  prepare(rootfsTarball: string, metaData: string, userData: string, image: (root: string) => void = () => {}): number {
    const started = Date.now();
    rmSync(this.root, { recursive: true, force: true });
    mkdirSync(this.root, { recursive: true });
    must(`tar -C ${this.root} -I zstd -xf ${rootfsTarball}`);
    const seed = join(this.root, "var/lib/cloud/seed/nocloud");
    mkdirSync(seed, { recursive: true });
    writeFileSync(join(seed, "meta-data"), metaData);
    writeFileSync(join(seed, "user-data"), userData, { mode: 0o600 });
    const units = join(this.root, "etc/systemd/system");
    writeFileSync(join(units, "wg-ts-test-proc-sys-net.service"), PROC_SYS_NET_UNIT);
    mkdirSync(join(units, "sysinit.target.wants"), { recursive: true });
    symlinkSync("../wg-ts-test-proc-sys-net.service", join(units, "sysinit.target.wants", "wg-ts-test-proc-sys-net.service"));
    image(this.root);
    return (Date.now() - started) / 1000;
  }

  /** Starts systemd in the container (returns once nspawn runs; see waitRunning). */
  start(): void {
    mkdirSync(this.cgroup, { recursive: true });
    const args = [
      "-D",
      this.root,
      "-b",
      "--register=no",
      "--keep-unit",
      `--network-namespace-path=/run/netns/${this.ns.name}`,
      "--capability=CAP_NET_ADMIN",
      "--bind=/dev/net/tun",
      "--console=pipe",
      `--machine=${this.name}`,
    ];
    const out = openSync(this.consoleLog, "a");
    // Moves itself into the container's own cgroup, then becomes nspawn (whose payload inherits it).
    const child = spawn("sh", ["-c", 'echo $$ > "$1/cgroup.procs" && shift && exec systemd-nspawn "$@"', "sh", this.cgroup, ...args], { stdio: ["ignore", out, out] });
    closeSync(out);
    this.#nspawn = child;
    this.#exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  }

  get running(): boolean {
    return this.#nspawn !== undefined && this.#nspawn.exitCode === null && this.#nspawn.signalCode === null;
  }

  /** Host pid of the container's PID 1 (systemd), found below nspawn. */
  pid1(): number | undefined {
    const nspawn = this.#nspawn?.pid;
    if (nspawn === undefined) return undefined;
    const queue = [nspawn];
    while (queue.length > 0) {
      const pid = queue.shift() as number;
      let status = "";
      try {
        status = readFileSync(`/proc/${pid}/status`, "utf8");
      } catch {
        continue;
      }
      if (/^NSpid:\s+\d+\s+1$/m.test(status)) return pid;
      for (const task of safeList(`/proc/${pid}/task`)) {
        try {
          for (const c of readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim().split(/\s+/)) if (c) queue.push(Number(c));
        } catch {
          // gone
        }
      }
    }
    return undefined;
  }

  /** Runs `command` (sh) inside the container: all its namespaces (nsenter -a). */
  exec(command: string, options: { timeoutMs?: number } = {}): Run {
    const pid = this.pid1();
    if (pid === undefined) return { status: null, stdout: "", stderr: `${this.name}: not running` };
    const r = spawnSync("nsenter", ["-t", String(pid), "-a", "sh", "-c", command], { encoding: "utf8", timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 });
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  }

  must(command: string, options: { timeoutMs?: number } = {}): string {
    const r = this.exec(command, options);
    if (r.status !== 0) throw new Error(`${this.name}: ${command}: status ${r.status}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** Waits until systemd reports the boot finished (running or degraded); returns the state. */
  async waitBooted(timeoutMs: number): Promise<string> {
    return waitFor(
      `${this.name} to finish booting`,
      () => {
        if (!this.running) throw new Error(`${this.name}: nspawn exited during boot (see ${this.consoleLog})`);
        const state = this.exec("systemctl is-system-running", { timeoutMs: 10_000 }).stdout.trim();
        return ["running", "degraded"].includes(state) ? state : undefined;
      },
      timeoutMs,
    );
  }

  /**
   * Waits for cloud-init to finish (done or error) and systemd to finish booting; returns seconds
   * since `startedAt` (ms) to cloud-init's end and systemd's own startup time.
   */
  async waitFirstBoot(startedAt: number, timeoutMs = 600_000): Promise<{ cloud_init_done_s: number; boot_to_running_s: number }> {
    await waitFor(`${this.name}: cloud-init done`, () => (/^status: (done|error)/m.test(this.exec("cloud-init status").stdout) ? true : undefined), timeoutMs, 1000);
    const cloudInitDone = (Date.now() - startedAt) / 1000;
    await this.waitBooted(60_000);
    const startup = Number(this.exec("systemd-analyze | sed -n 's/.*Startup finished in \\([0-9.]*\\)s.*/\\1/p'").stdout.trim() || "NaN");
    return { cloud_init_done_s: cloudInitDone, boot_to_running_s: startup };
  }

  /** `systemctl reboot` inside; nspawn exits (it does not restart by itself); `between()` runs; started again. */
  async reboot(between: () => void): Promise<void> {
    this.exec("systemctl reboot", { timeoutMs: 10_000 });
    await this.waitExit(60_000);
    between();
    this.start();
  }

  async waitExit(timeoutMs: number): Promise<void> {
    const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs));
    if ((await Promise.race([this.#exited, timer])) === "timeout") {
      this.#nspawn?.kill("SIGKILL");
      await this.#exited;
    }
  }

  /** Powers off (or kills, after 30 s) and removes the cgroup; the rootfs copy stays for post-mortems. */
  async stop(): Promise<void> {
    if (this.running) {
      this.exec("systemctl poweroff", { timeoutMs: 10_000 });
      await this.waitExit(30_000);
    }
    sh(`rmdir ${this.cgroup} 2>/dev/null`);
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** `systemctl show` properties of a unit as a record. */
export function unitProperties(container: Container, unit: string, properties: readonly string[]): Record<string, string> {
  const out = container.must(`systemctl show ${unit} ${properties.map((p) => `-p ${p}`).join(" ")}`);
  return Object.fromEntries(
    out
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

/** The Node.js runtime tarball `synth` ships (./node-runtime.ts), cached in {@link BOOT_CACHE}: built from the npm registry once. */
export function cachedNodeRuntime(log: (line: string) => void): string {
  const runtime = join(BOOT_CACHE, NODE_RUNTIME_FILE);
  if (!existsSync(runtime)) {
    mkdirSync(BOOT_CACHE, { recursive: true });
    buildNodeRuntime(runtime, { log });
  }
  return runtime;
}

/**
 * `wg-deploy synth --target TARGET --out OUT ARGS…` as an operator runs it (packs the built
 * workspace), with the cached runtime; returns the WireGuard keys it wrote.
 */
export function synthesize(target: string, out: string, args: readonly string[], log: (line: string) => void): WireGuardSecrets {
  const synth = spawnSync("node", [WG_DEPLOY, "synth", "--target", target, "--out", out, "--node-runtime", cachedNodeRuntime(log), ...args], { encoding: "utf8" });
  if (synth.status !== 0) throw new Error(`wg-deploy synth --target ${target} failed: ${synth.stderr}`);
  return readSecrets(out);
}

/** main.tf.json of the synthesized folder `out`. */
export function synthesizedDocument(out: string): TerraformDocument {
  return JSON.parse(readFileSync(join(out, MAIN_FILE), "utf8")) as TerraformDocument;
}

/** The rootfs ({@link bootRootfs}) whose mirror holds every package the `plans`' user-data installs, and curl and ca-certificates for its downloads. */
export function userDataRootfs(plans: readonly (NodePlan | undefined)[], log: (line: string) => void): { path: string; built: boolean; seconds: number } {
  return bootRootfs([...plans.flatMap((p) => p?.packages ?? []), "curl", "ca-certificates"], log);
}

/** The value apply gives `filesha256("${path.module}/FILE")` for the synthesized folder `out`; undefined for other expressions. */
function fileSha256Interpolation(out: string, expression: string): string | undefined {
  const m = /^filesha256\("\$\{path\.module\}\/([\w.-]+)"\)$/.exec(expression);
  return m ? createHash("sha256").update(readFileSync(join(out, m[1] as string))).digest("hex") : undefined;
}

/**
 * `template` (a Terraform template string of the synthesized folder `out`) as apply would render it
 * here: `value` gives an interpolation's value (undefined: not one it knows), the folder's files
 * give `filesha256(…)`; any other interpolation is an error naming `what`.
 */
export function applyInterpolations(out: string, template: string, what: string, value: (expression: string) => string | undefined): string {
  return evaluateTemplate(template, (expression) => {
    const known = value(expression) ?? fileSha256Interpolation(out, expression);
    if (known === undefined) throw new Error(`${what}: no value for the interpolation ${expression}`);
    return known;
  });
}

/** What the object storage stand-in serves, where, and how (see {@link startObjectStore}). */
export interface ObjectStore {
  /** The namespace it listens in (one of the test's own) and its address there. */
  readonly ns: Netns;
  readonly address: string;
  /** The folder served (the synthesized one). */
  readonly dir: string;
  /** Its request log: one line `CLIENT_ADDRESS "GET /FILE HTTP/1.1" STATUS -` per request. */
  readonly logFile: string;
  /** `file` is answered 503 to each client's first `times` requests (briefly unavailable). */
  readonly failFirst?: { readonly file: string; readonly times: number };
  /** HTTPS on port 443 with this certificate chain and key (PEM files); else plain HTTP on port 80. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Only these client addresses get a file, others 403 (a bucket policy on `aws:SourceIp`). */
  readonly allowFrom?: readonly string[];
}

/** Object storage stand-in (Python's http.server in `store.ns`), killed by pid through the returned handle. */
export function startObjectStore(store: ObjectStore): ChildProcess {
  const script = `
import functools, http.server, json, ssl, sys
CONF = json.loads(${JSON.stringify(JSON.stringify({ failFile: `/${store.failFirst?.file ?? ""}`, failTimes: store.failFirst?.times ?? 0, allow: store.allowFrom ?? null, tls: store.tls ?? null }))})
FAIL_FILE, FAIL_TIMES, ALLOW, TLS = CONF["failFile"], CONF["failTimes"], CONF["allow"], CONF["tls"]
failures = {}
class H(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        client = self.client_address[0]
        if ALLOW is not None and client not in ALLOW:
            self.send_error(403, "stand-in: AccessDenied (source address)"); return
        if self.path == FAIL_FILE:
            n = failures.get(client, 0)
            failures[client] = n + 1
            if n < FAIL_TIMES:
                self.send_error(503, "stand-in: briefly unavailable"); return
        super().do_GET()
    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\\n" % (self.client_address[0], fmt % args)); sys.stderr.flush()
server = http.server.ThreadingHTTPServer((${JSON.stringify(store.address)}, 443 if TLS else 80), functools.partial(H, directory=${JSON.stringify(store.dir)}))
if TLS:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS["cert"], TLS["key"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
`;
  return startProcess("ip", ["netns", "exec", store.ns.name, "python3", "-c", script], store.logFile);
}

/** `wg show IFACE latest-handshakes` in `c`: public key -> unix seconds (0 = none yet). */
export function latestHandshakes(c: Container, iface = "wg0"): Map<string, number> {
  return new Map(
    c
      .exec(`wg show ${iface} latest-handshakes`)
      .stdout.trim()
      .split("\n")
      .filter((l) => l.includes("\t"))
      .map((l) => [l.split("\t")[0] as string, Number(l.split("\t")[1])]),
  );
}

/** Waits until `c` has a handshake newer than `since` (unix s) with every one of `peers` (public keys). */
export async function handshakesSince(c: Container, peers: readonly string[], since: number, timeoutMs = 90_000): Promise<void> {
  await waitFor(`${c.name}: handshakes with ${peers.length} peers after ${since}`, () => (peers.every((p) => (latestHandshakes(c).get(p) ?? 0) >= since) ? true : undefined), timeoutMs, 1000);
}

export const unixNow = () => Math.floor(Date.now() / 1000);

/** cloud-init finished its first boot with `status: done`, no error in result.json, and no unit failed. */
export function expectCloudInitDone(c: Container): void {
  expect(c.must("cloud-init status --long")).toMatch(/^status: done$/m);
  const result = JSON.parse(c.must("cat /run/cloud-init/result.json")) as { v1: { errors: unknown[] } };
  expect(result.v1.errors).toEqual([]);
  expect(c.exec("systemctl --failed --no-legend --plain").stdout.trim()).toBe("");
}

/**
 * wg-ts runs as the wg-ts@wg0 unit the user-data installed (the package's unit file, unchanged), on
 * Node.js 24 from the deployment's bucket (/usr/local/bin/node; no Debian nodejs, no NodeSource),
 * with the WireGuard tools and nftables from apt.
 */
export function expectWgTsUnitFromUserData(c: Container): void {
  expect(c.exec("systemctl is-active wg-ts@wg0").stdout.trim()).toBe("active");
  expect(c.exec("systemctl is-enabled wg-ts@wg0").stdout.trim()).toBe("enabled");
  const props = unitProperties(c, "wg-ts@wg0", ["FragmentPath", "ExecMainPID", "Restart"]);
  expect(props["FragmentPath"]).toBe("/etc/systemd/system/wg-ts@.service");
  expect(props["Restart"]).toBe("on-failure");
  expect(c.must("cat /etc/systemd/system/wg-ts@.service")).toBe(readFileSync(WG_TS_UNIT_SOURCE, "utf8"));
  expect(c.must(`readlink -f /proc/${props["ExecMainPID"]}/exe`).trim()).toBe("/usr/local/bin/node");
  expect(c.must("/usr/local/bin/node --version")).toMatch(/^v24\./);
  expect(c.must("command -v wg-ts").trim()).toBe("/usr/local/bin/wg-ts");
  expect(c.exec("dpkg -s nodejs").status).not.toBe(0);
  expect(c.exec("ls /etc/apt/sources.list.d/").stdout).not.toContain("nodesource");
  expect(c.exec("dpkg -s wireguard-tools nftables").status).toBe(0);
  expect(c.must("journalctl -o cat --no-pager")).toMatch(/wg-ts-node: node v24\.\d+\.\d+, npm \d+/);
}

/**
 * `systemctl restart wg-ts@wg0`, then `kill -9` of the daemon: systemd starts it again (Restart=),
 * and after each `tunnelBack(since)` resolves (new handshakes).
 */
export async function expectRestartAndKillRecovered(c: Container, tunnelBack: (since: number) => Promise<void>): Promise<void> {
  const before = unitProperties(c, "wg-ts@wg0", ["ExecMainPID", "NRestarts"]);
  const t1 = unixNow();
  c.must("systemctl restart wg-ts@wg0");
  const afterRestart = unitProperties(c, "wg-ts@wg0", ["ExecMainPID", "ActiveState"]);
  expect(afterRestart["ActiveState"]).toBe("active");
  expect(afterRestart["ExecMainPID"]).not.toBe(before["ExecMainPID"]);
  await tunnelBack(t1);

  const t2 = unixNow();
  c.must(`kill -9 ${afterRestart["ExecMainPID"]}`);
  const recovered = await waitFor(
    `${c.name}: wg-ts@wg0 restarted by systemd`,
    () => {
      const p = unitProperties(c, "wg-ts@wg0", ["ExecMainPID", "NRestarts", "ActiveState"]);
      return p["ActiveState"] === "active" && p["ExecMainPID"] !== afterRestart["ExecMainPID"] && p["ExecMainPID"] !== "0" ? p : undefined;
    },
    30_000,
  );
  expect(Number(recovered["NRestarts"])).toBe(Number(before["NRestarts"]) + 1);
  await tunnelBack(t2);
  expect(c.must("journalctl -u wg-ts@wg0 -o cat --no-pager")).toMatch(/status=9\/KILL|signal=KILL/);
}

/** `journalctl -u wg-ts@wg0` carries the daemon's log (its `[#] ip …` trace); no private key in the whole journal. */
export function expectDaemonLogWithoutKeys(c: Container, privateKeys: readonly string[]): void {
  expect(c.must("journalctl -u wg-ts@wg0 -o cat --no-pager")).toMatch(/\[#\] ip /);
  const journal = c.must("journalctl -o cat --no-pager");
  for (const key of privateKeys) expect(journal.includes(key)).toBe(false);
}

/** A private NIC of a booted instance: its device in the instance's namespace and the plan's address. */
export interface BootNic {
  readonly device: string;
  readonly address: string;
}

/**
 * A reboot, and what it proves: `systemctl reboot`, the namespace reset as a power cycle resets the
 * machine (it outlives the container: no nft rules, policy rules, routes, forwarding, NIC addresses;
 * `uplink` re-addresses the uplink as the platform's DHCP would), systemd boots it again; wg-ts and
 * wg-ts-network come back active with forwarding, the firewall and every NIC addressed, and
 * `tunnelBack(since)` resolves. Returns seconds to `running` and to the tunnel.
 */
export async function expectRebootRecovers(
  c: Container,
  reboot: { readonly nics: readonly BootNic[]; readonly uplink: () => void; readonly tunnelBack: (since: number) => Promise<void> },
): Promise<{ reboot_to_running_s: number; reboot_to_handshakes_s: number }> {
  const t0 = unixNow();
  const started = Date.now();
  await c.reboot(() => {
    c.ns.must("nft flush ruleset");
    c.ns.must("ip rule flush && ip rule add priority 32766 lookup main && ip rule add priority 32767 lookup default");
    c.ns.must(`ip -4 route flush table main && ip -4 route flush table ${UPLINK_TABLE}`);
    c.ns.must("sysctl -q -w net.ipv4.ip_forward=0");
    for (const nic of reboot.nics) c.ns.must(`ip -4 address flush dev ${nic.device} && ip link set ${nic.device} down`);
    c.ns.must("ip link set lo up");
    reboot.uplink();
  });
  expect(await c.waitBooted(120_000)).toBe("running");
  const running = (Date.now() - started) / 1000;
  expect(c.exec("systemctl is-active wg-ts@wg0 wg-ts-network").stdout.trim().split("\n")).toEqual(["active", "active"]);
  expect(c.must("sysctl -n net.ipv4.ip_forward").trim()).toBe("1");
  expect(c.must("nft list ruleset")).toContain("table inet wgts_filter");
  for (const nic of reboot.nics) expect(c.must(`ip -4 -o address show dev ${nic.device}`)).toContain(`inet ${nic.address}`);
  await reboot.tunnelBack(t0);
  return { reboot_to_running_s: running, reboot_to_handshakes_s: (Date.now() - started) / 1000 };
}

/**
 * afterAll of a boot test: unless WG_TS_BOOT_HOLD=1 (everything left running, said on `log`),
 * `before()` (e.g. the test's own peers down), the containers powered off, the stand-ins killed, the
 * namespaces removed, and `work` removed unless WG_TS_BOOT_KEEP=1.
 */
export async function tearDownBoot(boot: {
  readonly containers: readonly Container[];
  readonly servers: readonly { kill: () => void }[];
  readonly namespaces: readonly Netns[];
  readonly work: string;
  readonly log: (line: string) => void;
  readonly before?: () => void;
}): Promise<void> {
  if (process.env["WG_TS_BOOT_HOLD"] === "1") {
    boot.log(`WG_TS_BOOT_HOLD=1: left running: containers (pids ${boot.containers.map((c) => c.pid1()).join(" ")}), namespaces ${boot.namespaces.map((n) => n.name).join(" ")}, ${boot.work}`);
    return;
  }
  boot.before?.();
  await Promise.all(boot.containers.map((c) => c.stop()));
  for (const s of boot.servers) s.kill();
  for (const ns of boot.namespaces) ns.remove();
  if (process.env["WG_TS_BOOT_KEEP"] !== "1") rmSync(boot.work, { recursive: true, force: true });
  else boot.log(`kept ${boot.work}`);
}
