/**
 * Which program runs the gateways' tunnels in the lab, behind one switch (`-o wireguard=…` or
 * WG_DEPLOY_WIREGUARD):
 *   - "wg-ts" (default): `wg-ts up <file>`, this repository's userspace WireGuard;
 *   - "wireguard-go": `wg-quick up <file>` falling back to Debian's wireguard-go (the reference), or to
 *     the binary WG_DEPLOY_WIREGUARD_GO names.
 * Both read the same wg-quick file (Table = off + PostUp routes) rendered from the node plan.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CommandError } from "./shell.js";

export type TunnelImplementationName = "wg-ts" | "wireguard-go";
export const TUNNEL_IMPLEMENTATIONS: readonly TunnelImplementationName[] = ["wg-ts", "wireguard-go"];

export interface TunnelImplementation {
  readonly name: TunnelImplementationName;
  /** Executables (or, with `file`, plain files such as Node scripts) that must exist, with their provider. */
  readonly requires: readonly { readonly command: string; readonly provider: string; readonly file?: boolean }[];
  upCommand(configPath: string): string[];
  downCommand(configPath: string): string[];
  readonly env: Readonly<Record<string, string>>;
}

/** This repository's wg-ts launcher (packages/wg-daemon/bin/wg-ts.js), or WG_DEPLOY_WG_TS. */
export function wgTsLauncher(env: Readonly<Record<string, string | undefined>>): string {
  return env["WG_DEPLOY_WG_TS"] ?? fileURLToPath(new URL("../../../wg-daemon/bin/wg-ts.js", import.meta.url));
}

/** The implementation called `name`, or a clear error. */
export function tunnelImplementation(name: string, env: Readonly<Record<string, string | undefined>>): TunnelImplementation {
  switch (name) {
    case "wg-ts": {
      const launcher = wgTsLauncher(env);
      const built = fileURLToPath(new URL("../../../wg-daemon/dist/cli.js", import.meta.url));
      return {
        name,
        requires: [
          { command: launcher, provider: "packages/wg-daemon", file: true },
          ...(env["WG_DEPLOY_WG_TS"] === undefined ? [{ command: built, provider: "packages/wg-daemon: run `pnpm build`", file: true }] : []),
          { command: "wg", provider: "wireguard-tools" },
        ],
        upCommand: (config) => [process.execPath, launcher, "up", config],
        downCommand: (config) => [process.execPath, launcher, "down", config],
        env: {},
      };
    }
    case "wireguard-go": {
      // WG_DEPLOY_WIREGUARD_GO: another wireguard-go binary (a path), as wg-quick's userspace implementation.
      const binary = env["WG_DEPLOY_WIREGUARD_GO"] ?? "wireguard-go";
      return {
        name,
        requires: [
          { command: "wg-quick", provider: "wireguard-tools" },
          { command: "wg", provider: "wireguard-tools" },
          { command: binary, provider: "wireguard-go", ...(binary.includes("/") ? { file: true } : {}) },
        ],
        upCommand: (config) => ["wg-quick", "up", config],
        downCommand: (config) => ["wg-quick", "down", config],
        // Debian's wireguard-go refuses to run on Linux without it.
        env: { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1", WG_QUICK_USERSPACE_IMPLEMENTATION: binary },
      };
    }
    default:
      throw new Error(`unknown WireGuard implementation "${name}" (known: ${TUNNEL_IMPLEMENTATIONS.join(", ")})`);
  }
}

/** POSIX-shell quoting of one word. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs `argv` with stdout and stderr appended to `logPath` and waits for it to EXIT (not for its
 * pipes to close: `wg-ts up` and `wg-quick up` leave a detached daemon that inherits them).
 * Rejects with the log's tail when the exit status is not 0.
 */
export function runLogged(argv: readonly string[], logPath: string, env: Readonly<Record<string, string>>, timeoutMs = 30_000): Promise<void> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error("runLogged: empty command"));
  const before = existsSync(logPath) ? readFileSync(logPath).length : 0;
  const fd = openSync(logPath, "a", 0o600);
  return new Promise<void>((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["ignore", fd, fd], env: { ...process.env, ...env } });
    closeSync(fd);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const tail = readFileSync(logPath).subarray(before).toString("utf8").trim().split("\n").slice(-15).join("\n");
      reject(new CommandError(argv, code, `${signal ? `killed by ${signal}` : ""}${tail ? `\n${tail}` : ""} (log: ${logPath})`));
    });
  });
}
