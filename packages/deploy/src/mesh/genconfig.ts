/**
 * wg-quick configuration files for a mesh: one per peer, listing every other peer.
 *
 * Same layout as wg-meshconf's `genconfig`:
 *
 *     [Interface]
 *     # Name: tokyo1
 *     Address = 10.1.0.1/16
 *     PrivateKey = …
 *     ListenPort = 51820            (then FwMark, DNS, MTU, Table, PreUp, PostUp, PreDown, PostDown, SaveConfig when set)
 *
 *     [Peer]
 *     # Name: germany1
 *     PublicKey = …                 (derived from germany1's PrivateKey)
 *     Endpoint = germany1.com:51820 (germany1's Endpoint and ListenPort; omitted if it has no Endpoint)
 *     AllowedIPs = 10.2.0.1/16      (germany1's Address and AllowedIPs, see validate.ts `meshRoutes`)
 *     PersistentKeepalive = 25      (germany1's PersistentKeepalive, when set)
 *
 * Differences from wg-meshconf, each fixing a file wg-quick would reject or misroute: IPv6 endpoints
 * are bracketed, SaveConfig is written `true`/`false`, peers sharing a subnet get host routes.
 */
import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { formatEndpoint } from "@wg-ts/daemon/config";
import { formatWgQuick, type WgQuickSection } from "@wg-ts/daemon/format";
import { writePrivateFile } from "./database.js";
import { DEFAULT_LISTEN_PORT, meshRoutes, type MeshPeer, type MeshProblem } from "./validate.js";

/** Problems that only matter when generating configs (the database itself may hold them). */
export function genconfigProblems(peers: readonly MeshPeer[]): MeshProblem[] {
  return peers
    .filter((peer) => peer.endpoint !== undefined && peer.listenPort === undefined)
    .map((peer) => ({
      row: peer.row,
      peer: peer.name,
      column: "ListenPort",
      message: "empty, but the peer has an Endpoint: the others need its port (run `init` to set the default 51820)",
    }));
}

/**
 * Renders the wg-quick file of `self` (with wg-ts's wg-quick writer).
 * @param peers every peer of the mesh (self included; it is skipped in the [Peer] list), all with private keys
 */
export function renderMeshConfig(self: MeshPeer, peers: readonly MeshPeer[]): string {
  const routes = meshRoutes(peers);
  if (self.privateKey === undefined) throw new Error(`${self.name}: no private key (validate with requirePrivateKeys first)`);
  const sections: WgQuickSection[] = [
    {
      header: "Interface",
      lines: [
        { comment: `Name: ${self.name}` },
        { key: "Address", value: self.addresses.map((a) => a.text).join(", ") },
        { key: "PrivateKey", value: self.privateKey.toBase64() },
        { key: "ListenPort", value: self.listenPort },
        { key: "FwMark", value: self.fwMark },
        { key: "DNS", value: self.dns },
        { key: "MTU", value: self.mtu },
        { key: "Table", value: self.table },
        { key: "PreUp", value: self.preUp },
        { key: "PostUp", value: self.postUp },
        { key: "PreDown", value: self.preDown },
        { key: "PostDown", value: self.postDown },
        { key: "SaveConfig", value: self.saveConfig },
      ],
    },
  ];
  for (const peer of peers) {
    if (peer === self) continue;
    if (peer.privateKey === undefined) throw new Error(`${peer.name}: no private key (validate with requirePrivateKeys first)`);
    const allowed = routes.get(peer) ?? [];
    sections.push({
      header: "Peer",
      lines: [
        { comment: `Name: ${peer.name}` },
        { key: "PublicKey", value: peer.privateKey.publicKey().toBase64() },
        { key: "Endpoint", value: peer.endpoint === undefined ? undefined : formatEndpoint({ host: peer.endpoint, port: peer.listenPort ?? DEFAULT_LISTEN_PORT }) },
        { key: "AllowedIPs", value: allowed.length > 0 ? allowed.join(", ") : undefined },
        { key: "PersistentKeepalive", value: peer.persistentKeepalive },
      ],
    });
  }
  return formatWgQuick(sections);
}

/**
 * Writes `<dir>/<name>.conf` (mode 0600) for each selected peer; creates `dir` if needed.
 * @returns the paths written, in peer order
 */
export async function writeMeshConfigs(dir: string, selected: readonly MeshPeer[], peers: readonly MeshPeer[]): Promise<string[]> {
  const info = await stat(dir).catch(() => undefined);
  if (info !== undefined && !info.isDirectory()) throw new Error(`${dir}: output path already exists and is not a directory`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  for (const peer of selected) {
    const path = join(dir, `${peer.name}.conf`);
    await writePrivateFile(path, renderMeshConfig(peer, peers));
    written.push(path);
  }
  return written;
}
