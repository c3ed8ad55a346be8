/**
 * Which lab owns this machine's lab namespaces right now.
 *
 * Every preset lays its machines out as `wgts-<node>` and shares `wgts-internet` (and often
 * `wgts-bastion`), so only one lab can be up at a time, whatever its state dir. The owner is written
 * on the lab itself, as the alias of the internet bridge (`ip link set internet alias …`): it exists
 * exactly as long as the lab's internet does, and every state dir sees it.
 */
import { INTERNET_BRIDGE, NAMESPACE_PREFIX, INTERNET_NODE } from "./layout.js";
import { existingLabNamespaces } from "./namespaces.js";
import { run } from "./shell.js";

/** The lab that built the running internet namespace. */
export interface LabOwner {
  readonly topology: string;
  readonly stateDir: string;
}

const INTERNET_NAMESPACE = `${NAMESPACE_PREFIX}${INTERNET_NODE}`;
const ALIAS = /^wg-deploy lab topology=(\S+) state=(\S+)$/;

/** The alias text recording `owner` (state dirs never contain whitespace, see Lab). */
export function ownerAlias(owner: LabOwner): string {
  return `wg-deploy lab topology=${owner.topology} state=${owner.stateDir}`;
}

/** Parses an alias written by `ownerAlias`; undefined for anything else. */
export function parseOwnerAlias(alias: string): LabOwner | undefined {
  const match = ALIAS.exec(alias.trim());
  return match?.[1] !== undefined && match[2] !== undefined ? { topology: match[1], stateDir: match[2] } : undefined;
}

/** Marks the running internet namespace as built by `owner`. */
export async function markLabOwner(owner: LabOwner): Promise<void> {
  await run(["ip", "-n", INTERNET_NAMESPACE, "link", "set", INTERNET_BRIDGE, "alias", ownerAlias(owner)]);
}

/** The owner of the running lab, or undefined when no lab internet exists (or it carries no mark). */
export async function readLabOwner(): Promise<LabOwner | undefined> {
  if (!(await existingLabNamespaces()).includes(INTERNET_NAMESPACE)) return undefined;
  try {
    const { stdout } = await run(["ip", "-n", INTERNET_NAMESPACE, "-j", "link", "show", INTERNET_BRIDGE]);
    const [link] = JSON.parse(stdout) as { ifalias?: string }[];
    return link?.ifalias !== undefined ? parseOwnerAlias(link.ifalias) : undefined;
  } catch {
    return undefined;
  }
}
