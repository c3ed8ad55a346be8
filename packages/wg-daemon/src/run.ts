/**
 * Running external tools (`ip`, `nft`, `sysctl`, hooks) the way wg-quick does: each command is
 * echoed as `[#] cmd args` to the log, and a failure carries the tool's stderr.
 */
import { execFile } from "node:child_process";

export interface RunResult {
  stdout: string;
  stderr: string;
}

export type Runner = (cmd: string, args: readonly string[], opts?: { input?: string; quiet?: boolean }) => Promise<RunResult>;

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`\`${command}' failed${code === null ? "" : ` (exit ${code})`}${stderr.trim() ? `: ${stderr.trim()}` : ""}`);
  }
}

function quote(a: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** A Runner that executes for real and echoes `[#] ...` through `log` unless `quiet`. */
export function makeRunner(log: (line: string) => void, env?: NodeJS.ProcessEnv): Runner {
  return (cmd, args, opts = {}) => {
    const line = [cmd, ...args].map(quote).join(" ");
    if (!opts.quiet) log(`[#] ${line}`);
    return new Promise((resolve, reject) => {
      const child = execFile(cmd, [...args], { env: env ?? undefined, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) {
          const code = typeof err.code === "number" ? err.code : null;
          reject(new CommandError(line, code, String(stderr || (typeof err.code === "string" ? err.code : ""))));
        } else resolve({ stdout: String(stdout), stderr: String(stderr) });
      });
      if (opts.input !== undefined) child.stdin?.end(opts.input);
      else child.stdin?.end();
    });
  };
}
