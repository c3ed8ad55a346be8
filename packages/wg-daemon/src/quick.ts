/**
 * `wg-ts up` / `wg-ts down`: wg-quick(8) for the userspace daemon.
 *
 * up:   read + validate the config (nothing is created when it is broken), resolve endpoint
 *       names, PreUp, start the daemon (detached child or in-process), configure it through
 *       its UAPI socket (like `wg setconf`), addresses, MTU + link up, DNS, routes (policy
 *       routing for /0), PostUp. Any failure after the interface exists tears it down again.
 * down: SaveConfig, PreDown, remove policy rules / nft table / DNS, delete the link (the daemon
 *       sees its TUN vanish, exits and removes its socket), PostDown.
 *
 * Nothing here reads argv, env or stdio, handles signals or exits: the CLI passes a log function, a
 * Runner and a launcher. `down` reads only `process.pid` (never wait for ourselves).
 */
import { lookup } from "node:dns/promises";
import { readFileSync, statSync, writeFileSync, renameSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ConfigError, configLabel, formatEndpoint, parseConfig, resolveConfigPath, type QuickConfig } from "./config.js";
import { formatShowconf } from "./format.js";
import { toHex } from "./keys.js";
import {
  addAddress,
  addRoutes,
  linkExists,
  removeDefaultRouting,
  setDns,
  setMtuUp,
  unsetDns,
} from "./netconf.js";
import type { Runner } from "./run.js";
import { socketOwners, waitForExit } from "./socket-owner.js";
import { answerErrno, isAlive, socketPath, uapiRequest } from "./uapi.js";
import { parseGet } from "./uapi-protocol.js";

export const DEFAULT_MTU = 1420;

export interface QuickEnv {
  log: (line: string) => void;
  run: Runner;
  /** where bare names are looked up (default /etc/wireguard) */
  configDir?: string;
  uapiDir?: string;
  /**
   * Starts the daemon for `name`; resolves once its UAPI socket accepts connections.
   * `stop` makes it exit (used to undo a failed `up`).
   */
  launch: (name: string) => Promise<{ stop: () => Promise<void> }>;
}

export interface LoadedConfig {
  path: string;
  name: string;
  label: string;
  config: QuickConfig;
  warnings: string[];
}

/** Reads and validates a config; throws Error/ConfigError with file, line and key. */
export function loadConfig(arg: string, configDir?: string): LoadedConfig {
  const { path, name } = resolveConfigPath(arg, configDir);
  const label = configLabel(path);
  let text: string;
  const warnings: string[] = [];
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error(`\`${path}' is not a regular file`);
    const dirMode = statSync(dirname(path)).mode;
    if ((st.mode & dirMode & 0o007) !== 0) warnings.push(`Warning: \`${path}' is world accessible`);
    else if ((st.mode & 0o077) !== 0) warnings.push(`Warning: \`${path}' is readable by group or others`);
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new Error(`\`${path}' does not exist`);
    if (code === "EACCES") throw new Error(`\`${path}' is not readable (permission denied)`);
    throw e;
  }
  const config = parseConfig(text, label);
  return { path, name, label, config, warnings };
}

function hook(cmd: string, name: string): string {
  return cmd.replaceAll("%i", name);
}

async function runHooks(env: QuickEnv, cmds: readonly string[], name: string): Promise<void> {
  for (const c of cmds) {
    const r = await env.run("bash", ["-c", hook(c, name)]);
    for (const line of (r.stdout + r.stderr).split("\n")) if (line) env.log(line);
  }
}

/** Resolves endpoint host names (like wg does before talking to the interface). */
export async function resolveEndpoints(loaded: LoadedConfig): Promise<(string | undefined)[]> {
  return Promise.all(
    loaded.config.peers.map(async (p) => {
      if (!p.endpoint) return undefined;
      const { host, port } = p.endpoint;
      try {
        const { address } = await lookup(host, { verbatim: true });
        return formatEndpoint({ address, port });
      } catch (e) {
        throw new ConfigError(loaded.label, p.line, "Endpoint", `cannot resolve \`${host}': ${(e as NodeJS.ErrnoException).code ?? "error"}`);
      }
    }),
  );
}

/** The UAPI `set=1` request equivalent to `wg setconf IFACE <(wg-quick strip ...)`. */
export function setconfRequest(config: QuickConfig, endpoints: readonly (string | undefined)[]): string {
  const lines = ["set=1"];
  const i = config.interface;
  lines.push(`private_key=${i.privateKey ? toHex(i.privateKey) : "0".repeat(64)}`);
  if (i.listenPort !== undefined) lines.push(`listen_port=${i.listenPort}`);
  if (i.fwMark !== undefined) lines.push(`fwmark=${i.fwMark}`);
  lines.push("replace_peers=true");
  config.peers.forEach((p, idx) => {
    lines.push(`public_key=${toHex(p.publicKey)}`);
    if (p.presharedKey) lines.push(`preshared_key=${toHex(p.presharedKey)}`);
    const ep = endpoints[idx];
    if (ep) lines.push(`endpoint=${ep}`);
    lines.push(`persistent_keepalive_interval=${p.persistentKeepalive ?? 0}`);
    lines.push("replace_allowed_ips=true");
    for (const a of p.allowedIps) lines.push(`allowed_ip=${a.includes("/") ? a : `${a}/${a.includes(":") ? 128 : 32}`}`);
  });
  return lines.join("\n") + "\n\n";
}

async function uapiSet(path: string, body: string): Promise<void> {
  const answer = await uapiRequest(path, body);
  const errno = answerErrno(answer);
  if (errno !== 0) throw new Error(`Unable to modify interface: errno ${errno}`);
}

export async function uapiGet(path: string): Promise<ReturnType<typeof parseGet>> {
  const answer = await uapiRequest(path, "get=1\n\n");
  const get = parseGet(answer);
  if (get.errno !== 0) throw new Error(`Unable to access interface: errno ${get.errno}`);
  return get;
}

/** `wg-ts up`. Returns the interface name. */
export async function up(arg: string, env: QuickEnv): Promise<string> {
  const loaded = loadConfig(arg, env.configDir);
  for (const w of loaded.warnings) env.log(w);
  const { name, config } = loaded;
  const sock = socketPath(name, env.uapiDir);
  if ((await isAlive(sock)) || (await linkExists(env.run, name))) throw new Error(`\`${name}' already exists`);
  const endpoints = await resolveEndpoints(loaded);

  await runHooks(env, config.interface.preUp, name);
  env.log(`[#] wg-ts daemon ${name}`);
  const daemon = await env.launch(name);
  try {
    await uapiSet(sock, setconfRequest(config, endpoints)).catch((e: Error) => {
      // EADDRINUSE: name the key the operator has to change, not just an errno.
      const port = config.interface.listenPort;
      if (port !== undefined && e.message.endsWith("errno -98"))
        throw new Error(`${loaded.label}: ListenPort = ${port}: the port is already in use (errno -98)`);
      throw e;
    });
    for (const a of config.interface.addresses) await addAddress(env.run, name, a);
    await setMtuUp(env.run, name, config.interface.mtu ?? DEFAULT_MTU);
    await setDns(env.run, name, config.interface.dns, config.interface.dnsSearch, env.log);
    const allowed = config.peers.flatMap((p) => p.allowedIps);
    await addRoutes(
      {
        run: env.run,
        name,
        table: config.interface.table,
        fwmark: config.interface.fwMark ?? 0,
        setFwmark: (mark) => uapiSet(sock, `set=1\nfwmark=${mark}\n\n`),
        addresses: config.interface.addresses,
        log: env.log,
      },
      allowed,
    );
    await runHooks(env, config.interface.postUp, name);
  } catch (e) {
    env.log(`[#] cleaning up ${name} after error`);
    await teardown(env, loaded, false).catch(() => undefined);
    await daemon.stop().catch(() => undefined);
    throw e;
  }
  return name;
}

/**
 * Removes rules, DNS and the link, then waits for the daemon process to exit (deleting the link
 * stops it, as with wireguard-go): when this returns, the TUN, the UAPI socket and the process are
 * gone. A daemon still running 5 s later gets SIGTERM, then SIGKILL, with a log line.
 */
async function teardown(env: QuickEnv, loaded: LoadedConfig, strict: boolean): Promise<void> {
  const { name, config } = loaded;
  const sock = socketPath(name, env.uapiDir);
  // `up --foreground` takes its own interface down: never wait for ourselves.
  const daemons = socketOwners(sock).filter((pid) => pid !== process.pid);
  try {
    const get = await uapiGet(sock);
    const fwmark = Number(get.device.get("fwmark") ?? 0);
    const hasDefault = get.peers.some((p) => (p.get("allowed_ip") ?? []).some((a) => a.endsWith("/0")));
    const table = config.interface.table;
    if ((table === undefined || table === "auto") && fwmark && hasDefault) await removeDefaultRouting(env.run, name, fwmark);
  } catch (e) {
    if (strict) throw e;
  }
  if (config.interface.dns.length || config.interface.dnsSearch.length) await unsetDns(env.run, name);
  if (await linkExists(env.run, name)) await env.run("ip", ["link", "delete", "dev", name]);
  for (let i = 0; i < 100 && (await isAlive(sock)); i++) await sleep(50);
  const killed = await waitForExit(daemons, DAEMON_EXIT_GRACE_MS, sleep);
  if (killed.length) env.log(`[!] ${name}: daemon ${killed.join(", ")} did not exit within ${DAEMON_EXIT_GRACE_MS / 1000} s of the link's removal: signalled`);
}

/** How long `down` lets a daemon exit by itself after its link is gone, before signalling it. */
const DAEMON_EXIT_GRACE_MS = 5000;

/** `wg-ts down`. */
export async function down(arg: string, env: Omit<QuickEnv, "launch">): Promise<string> {
  const loaded = loadConfig(arg, env.configDir);
  const { name, config } = loaded;
  const sock = socketPath(name, env.uapiDir);
  if (!(await isAlive(sock))) throw new Error(`\`${name}' is not a WireGuard interface`);
  if (config.interface.saveConfig) await saveConfig(env, loaded);
  await runHooks(env as QuickEnv, config.interface.preDown, name);
  await teardown(env as QuickEnv, loaded, false);
  await runHooks(env as QuickEnv, config.interface.postDown, name);
  return name;
}

/** SaveConfig = true: write the running configuration back (wg-quick's save_config). */
export async function saveConfig(env: Omit<QuickEnv, "launch">, loaded: LoadedConfig): Promise<void> {
  const { name, config, path } = loaded;
  const get = await uapiGet(socketPath(name, env.uapiDir));
  const i = config.interface;
  const head: string[] = ["[Interface]"];
  for (const a of i.addresses) head.push(`Address = ${a}`);
  if (i.dns.length || i.dnsSearch.length) head.push(`DNS = ${[...i.dns, ...i.dnsSearch].join(", ")}`);
  if (i.mtu !== undefined) head.push(`MTU = ${i.mtu}`);
  if (i.table !== undefined) head.push(`Table = ${i.table}`);
  for (const c of i.preUp) head.push(`PreUp = ${c}`);
  for (const c of i.postUp) head.push(`PostUp = ${c}`);
  for (const c of i.preDown) head.push(`PreDown = ${c}`);
  for (const c of i.postDown) head.push(`PostDown = ${c}`);
  head.push("SaveConfig = true");
  const body = formatShowconf(get).replace(/^\[Interface\]\n/, "");
  const tmp = `${path}.tmp-${Date.now()}`;
  env.log(`[#] saving configuration to ${path}`);
  writeFileSync(tmp, head.join("\n") + "\n" + body, { mode: 0o600 });
  renameSync(tmp, path);
}
