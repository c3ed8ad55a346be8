/**
 * What of the lab exists and answers right now: its namespaces, the handshakes of its tunnels, and
 * whether it is healthy (the test `up` uses to do nothing on a lab that is already up).
 *
 * Read-only except for `waitForHandshakes`, whose pings over the overlay start the handshakes.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { LabContext } from "./context.js";
import { namespaceOf } from "./layout.js";
import { existingLabNamespaces } from "./namespaces.js";
import { postgresBinDir, postgresReady } from "./postgres.js";
import { runIn, succeeds } from "./shell.js";
import { readRecord } from "./state.js";

/** How long `up` waits for every gateway pair to complete a handshake. */
const HANDSHAKE_TIMEOUT_MS = 20_000;

/**
 * The lab's namespaces that exist now: those of this topology's layout plus those a previous run
 * recorded. Never any other namespace, even with the same prefix (other tests use `wgts-…` too).
 */
export async function existingNamespaces(lab: LabContext): Promise<string[]> {
  let recorded: readonly string[] = [];
  try {
    recorded = readRecord(lab.layout.stateDir)?.namespaces ?? [];
  } catch {
    // a corrupt lab.json must not stop `down`: the layout's names still apply
  }
  const ours = new Set([...lab.layout.namespaces.values(), ...recorded]);
  return (await existingLabNamespaces()).filter((ns) => ours.has(ns));
}

/** Throws unless lab.json records a complete lab. */
export function ensureUp(lab: LabContext): void {
  if (readRecord(lab.layout.stateDir)?.status !== "up") throw new Error(`the lab is not up (no complete lab in ${lab.layout.stateDir}); run \`wg-deploy up\``);
}

/** True if every namespace exists, every tunnel answers UAPI and the database is ready. */
export async function healthy(lab: LabContext): Promise<boolean> {
  const existing = new Set(await existingLabNamespaces());
  if (![...lab.layout.namespaces.values()].every((ns) => existing.has(ns))) return false;
  for (const gateway of lab.topology.gateways) {
    const ifname = lab.plan(gateway.name).wireguard?.interfaceName ?? "";
    if (!(await succeeds(["wg", "show", ifname], { timeoutMs: 5000 }))) return false;
  }
  const bin = postgresBinDir(lab.settings.io.env);
  for (const plan of lab.plans.values()) {
    for (const service of plan.services) {
      if (service.kind === "postgresql" && (bin === undefined || !(await postgresReady(namespaceOf(lab.layout, plan.node), bin, service.listenAddress, service.port)))) return false;
    }
  }
  return true;
}

/** Latest handshake (epoch seconds) per peer public key of a gateway's device; empty if it does not answer. */
export async function latestHandshakes(lab: LabContext, gateway: string): Promise<Map<string, number>> {
  const ifname = lab.plan(gateway).wireguard?.interfaceName ?? "";
  try {
    const { stdout } = await runIn(namespaceOf(lab.layout, gateway), ["wg", "show", ifname, "latest-handshakes"], { timeoutMs: 5000 });
    return new Map(
      stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((line): [string, number] => {
          const [key, when] = line.split("\t");
          return [key ?? "", Number(when ?? 0)];
        }),
    );
  } catch {
    return new Map();
  }
}

/**
 * Waits until every gateway of `gateways` (default: all) has a handshake with each of its peers.
 * Pings over the overlay kick the handshakes off instead of waiting for the first keepalive.
 */
export async function waitForHandshakes(lab: LabContext, gateways: readonly string[] = lab.topology.gateways.map((g) => g.name), since = 0): Promise<void> {
  const deadline = Date.now() + HANDSHAKE_TIMEOUT_MS;
  const pending = () =>
    gateways.flatMap((name) => {
      const gateway = lab.gateway(name);
      return gateway.peers.map((peer) => [gateway, peer] as const);
    });
  for (;;) {
    const missing: string[] = [];
    for (const [gateway, peer] of pending()) {
      const handshakes = await latestHandshakes(lab, gateway.name);
      const peerKey = lab.secrets.keys[peer]?.publicKey ?? "";
      if (!((handshakes.get(peerKey) ?? 0) > since)) {
        missing.push(`${gateway.name} <-> ${peer}`);
        const peerIp = lab.gateway(peer).overlayIp;
        await runIn(namespaceOf(lab.layout, gateway.name), ["ping", "-c", "1", "-W", "1", peerIp]).catch(() => undefined);
      }
    }
    if (missing.length === 0) return;
    if (Date.now() > deadline) throw new Error(`no WireGuard handshake after ${HANDSHAKE_TIMEOUT_MS / 1000} s: ${missing.join(", ")}`);
    await sleep(200);
  }
}
