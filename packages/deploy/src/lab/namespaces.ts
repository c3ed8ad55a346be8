/**
 * Network namespaces of the lab: create, list, stop every process inside, delete.
 * Only namespaces whose name starts with NAMESPACE_PREFIX are ever touched.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { NAMESPACE_PREFIX } from "./layout.js";
import { run, runIn } from "./shell.js";

/** Names of the existing namespaces with the lab's prefix (callers filter to their own layout). */
export async function existingLabNamespaces(): Promise<string[]> {
  const { stdout } = await run(["ip", "netns", "list"]);
  return stdout
    .split("\n")
    .map((line) => line.trim().split(/\s+/)[0] ?? "")
    .filter((name) => name.startsWith(NAMESPACE_PREFIX));
}

function assertLabNamespace(namespace: string): void {
  if (!namespace.startsWith(NAMESPACE_PREFIX)) throw new Error(`refusing to touch namespace "${namespace}": not a lab namespace`);
}

/** Creates `namespace` with loopback up and `sysctls` applied (before any other device exists). */
export async function createNamespace(namespace: string, sysctls: Readonly<Record<string, string>>): Promise<void> {
  assertLabNamespace(namespace);
  await run(["ip", "netns", "add", namespace]);
  await run(["ip", "-n", namespace, "link", "set", "lo", "up"]);
  const settings = Object.entries(sysctls).map(([key, value]) => `${key}=${value}`);
  if (settings.length > 0) await runIn(namespace, ["sysctl", "-q", "-w", ...settings]);
}

/** Pids of the processes living in `namespace`. */
export async function namespacePids(namespace: string): Promise<number[]> {
  try {
    const { stdout } = await run(["ip", "netns", "pids", namespace]);
    return stdout.split(/\s+/).filter(Boolean).map(Number).filter((pid) => pid !== process.pid);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM every process in `namespace`, SIGKILL what is left after `graceMs`. Returns how many were stopped. */
export async function stopNamespaceProcesses(namespace: string, graceMs = 3000): Promise<number> {
  assertLabNamespace(namespace);
  const pids = await namespacePids(namespace);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await sleep(50);
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  while (pids.some(alive) && Date.now() < deadline + 2000) await sleep(50);
  return pids.length;
}

/** Deletes `namespace` (its devices go with it). Missing namespaces are fine. */
export async function deleteNamespace(namespace: string): Promise<void> {
  assertLabNamespace(namespace);
  if (!(await existingLabNamespaces()).includes(namespace)) return;
  await run(["ip", "netns", "del", namespace]);
}
