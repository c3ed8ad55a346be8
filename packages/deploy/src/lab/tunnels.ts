/**
 * The gateways' tunnels in the lab: each started from its wg-quick file inside the gateway's
 * namespace by the implementation `LabContext.implementationFor` names, output to its tunnel log.
 *
 * UAPI sockets live in /var/run/wireguard, shared by every namespace: stopping a tunnel waits for its
 * daemon to let go of the socket, and a socket nobody listens on (a daemon killed -9) is removed.
 */
import { existsSync, mkdirSync, unlinkSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { LabContext } from "./context.js";
import { ensureUp, existingNamespaces, waitForHandshakes } from "./health.js";
import { namespaceOf } from "./layout.js";
import { succeeds } from "./shell.js";
import { runLogged } from "./wireguard.js";

/** Where wg(8) and the daemons keep UAPI sockets (shared by every namespace). */
const UAPI_DIR = "/var/run/wireguard";

export async function startTunnel(lab: LabContext, gateway: string): Promise<void> {
  const plan = lab.plan(gateway);
  if (!plan.wireguard) throw new Error(`${gateway} has no WireGuard plan`);
  const ifname = plan.wireguard.interfaceName;
  await removeStaleSocket(ifname);
  const log = lab.tunnelLog(gateway, ifname);
  mkdirSync(join(log, ".."), { recursive: true, mode: 0o711 });
  const implementation = lab.implementationFor(gateway);
  await runLogged(["ip", "netns", "exec", namespaceOf(lab.layout, gateway), ...implementation.upCommand(lab.configPath(gateway, ifname))], log, implementation.env, 60_000);
}

export async function stopTunnel(lab: LabContext, gateway: string): Promise<void> {
  const plan = lab.plan(gateway);
  if (!plan.wireguard) return;
  const ifname = plan.wireguard.interfaceName;
  const ns = namespaceOf(lab.layout, gateway);
  const config = lab.configPath(gateway, ifname);
  if ((await existingNamespaces(lab)).includes(ns) && existsSync(config) && (await succeeds(["ip", "-n", ns, "link", "show", ifname]))) {
    try {
      const implementation = lab.implementationFor(gateway);
      await runLogged(["ip", "netns", "exec", ns, ...implementation.downCommand(config)], lab.tunnelLog(gateway, ifname), implementation.env, 15_000);
    } catch (error) {
      lab.progress(`${gateway}: ${lab.implementationFor(gateway).name} down failed (${(error as Error).message.split("\n")[0]}); killing it`);
    }
  }
  // A daemon whose device vanished exits by itself; one killed -9 leaves its socket behind.
  for (let i = 0; i < 40 && existsSync(join(UAPI_DIR, `${ifname}.sock`)) && !(await socketIsStale(ifname)); i++) await sleep(50);
  await removeStaleSocket(ifname);
}

/** Restarts a gateway's tunnel (down, then up from the same file: PostUp brings its routes back). */
export async function restartTunnel(lab: LabContext, gateway: string): Promise<void> {
  lab.gateway(gateway);
  ensureUp(lab);
  lab.progress(`${gateway}: stopping ${lab.implementationFor(gateway).name}`);
  await stopTunnel(lab, gateway);
  lab.progress(`${gateway}: starting ${lab.implementationFor(gateway).name}`);
  await startTunnel(lab, gateway);
  lab.progress(`${gateway}: waiting for handshakes`);
  await waitForHandshakes(lab, [gateway]);
  lab.progress(`${gateway}: tunnel up`);
}

/** True if nobody listens on the UAPI socket of `ifname` (or it does not exist). */
function socketIsStale(ifname: string): Promise<boolean> {
  const path = join(UAPI_DIR, `${ifname}.sock`);
  if (!existsSync(path)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

/** Deletes the UAPI socket of `ifname` if nothing listens on it any more. */
export async function removeStaleSocket(ifname: string): Promise<void> {
  const path = join(UAPI_DIR, `${ifname}.sock`);
  if (!existsSync(path) || !(await socketIsStale(ifname))) return;
  try {
    unlinkSync(path);
  } catch {
    // gone meanwhile
  }
}
