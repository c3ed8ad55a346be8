/**
 * Real first boots for the e2e tests: a Debian 12 userspace with systemd as PID 1 and real cloud-init
 * (NoCloud), one `systemd-nspawn -b` container per instance, each in a network namespace of the
 * test's own. Root only. What cannot exist here has a stand-in in the test's "internet" namespace
 * (documentation ranges only, never the host's network): the metadata API on 169.254.42.42, object
 * storage on 198.51.100.80:80 (serves a folder over plain HTTP), and the package mirror (a `file:`
 * apt repository inside the image, built with the rootfs: ./boot-rootfs.sh).
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
 * /sys/class/net shows the host's devices, not the namespace's (the renderers use `ip`, not sysfs).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const BOOT_CACHE = process.env["WG_TS_TEST_CACHE"] ?? "/var/cache/wg-ts-test";
const HERE = dirname(fileURLToPath(import.meta.url));
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

/** Throws naming every missing tool and the apt-get line that installs them. */
export function requireHostTools(): void {
  const missing = Object.keys(HOST_TOOLS).filter((tool) => sh(`command -v ${tool}`).status !== 0);
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((t) => HOST_TOOLS[t]))].join(" ");
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

  /** Unpacks the rootfs and seeds NoCloud with `metaData` and `userData` (cloud-init reads them at first boot). */
  prepare(rootfsTarball: string, metaData: string, userData: string): number {
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
