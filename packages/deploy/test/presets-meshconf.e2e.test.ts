/**
 * `wg-deploy mesh` end to end: a wg-meshconf database built with the CLI (addpeer) and with a
 * spreadsheet-style edit + `init`, `genconfig`, then every generated file brought up by the real
 * `wg-ts up` in its own namespace. The three namespaces meet on a bridge inside a fourth namespace
 * (the "internet" of this test; nothing touches the host's network). Every peer pings every other.
 */
import { appendFileSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanLeftovers, dump, ping, run, sh, tempDir, wgTs } from "../../wg-daemon/test/support/lab.js";

const WG_DEPLOY = fileURLToPath(new URL("../bin/wg-deploy.js", import.meta.url));
const NET = "wgmesh-net";
const SITES = [
  { ns: "wgmesh-1", iface: "wgmsh1", underlay: "10.78.0.1", overlay: "10.79.0.1", port: "51811" },
  { ns: "wgmesh-2", iface: "wgmsh2", underlay: "10.78.0.2", overlay: "10.79.0.2", port: "51812" },
  { ns: "wgmesh-3", iface: "wgmsh3", underlay: "10.78.0.3", overlay: "10.79.0.3", port: "51813" },
] as const;
const dir = tempDir("wg-meshconf-e2e-");
const database = `${dir}/database.csv`;

function wgDeploy(...args: string[]): { status: number; stdout: string; stderr: string } {
  return run(process.execPath, [WG_DEPLOY, ...args]);
}

function cleanup(): void {
  for (const site of SITES) wgTs(site.ns, ["down", `${dir}/output/${site.iface}.conf`]);
  cleanLeftovers([NET, ...SITES.map((s) => s.ns)], SITES.map((s) => s.iface));
}

beforeAll(() => {
  cleanLeftovers([NET, ...SITES.map((s) => s.ns)], SITES.map((s) => s.iface));
  sh("ip", ["netns", "add", NET]);
  sh("ip", ["-n", NET, "link", "add", "br0", "type", "bridge"]);
  sh("ip", ["-n", NET, "link", "set", "br0", "up"]);
  for (const [i, site] of SITES.entries()) {
    sh("ip", ["netns", "add", site.ns]);
    sh("ip", ["link", "add", `wgmsh${i}u`, "netns", site.ns, "type", "veth", "peer", "name", `wgmsh${i}b`, "netns", NET]);
    sh("ip", ["-n", NET, "link", "set", `wgmsh${i}b`, "master", "br0", "up"]);
    sh("ip", ["-n", site.ns, "link", "set", "lo", "up"]);
    sh("ip", ["-n", site.ns, "addr", "add", `${site.underlay}/24`, "dev", `wgmsh${i}u`]);
    sh("ip", ["-n", site.ns, "link", "set", `wgmsh${i}u`, "up"]);
  }
}, 60_000);

afterAll(() => {
  cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe("wg-deploy mesh -> wg-ts", () => {
  it("builds the database with addpeer and a spreadsheet edit + init", () => {
    for (const site of SITES.slice(0, 2)) {
      const r = wgDeploy("mesh", "-d", database, "addpeer", site.iface, "--address", `${site.overlay}/24`, "--endpoint", site.underlay, "--listenport", site.port);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(/[A-Za-z0-9+/]{43}=/); // no key printed
    }
    // what a spreadsheet would save: a row without PrivateKey and ListenPort, unquoted, LF
    const third = SITES[2];
    appendFileSync(database, `${third.iface},${third.overlay}/24,${third.underlay},,,,,,,,,,,,,\n`);
    const init = wgDeploy("mesh", "-d", database, "init");
    expect(init.status, init.stderr).toBe(0);
    const rows = readFileSync(database, "utf8").split("\r\n");
    expect(rows[3]).toMatch(new RegExp(`^"${third.iface}","10\\.79\\.0\\.3/24","10\\.78\\.0\\.3","","51820","","","[A-Za-z0-9+/]{43}=",`));
    const update = wgDeploy("mesh", "-d", database, "updatepeer", third.iface, "--listenport", third.port);
    expect(update.status, update.stderr).toBe(0);
  });

  it("genconfig files come up under wg-ts and every peer reaches every other", () => {
    const gen = wgDeploy("mesh", "-d", database, "genconfig", "-o", `${dir}/output`);
    expect(gen.status, gen.stderr).toBe(0);
    for (const site of SITES) {
      const up = wgTs(site.ns, ["up", `${dir}/output/${site.iface}.conf`]);
      expect(up.status, up.stderr).toBe(0);
    }
    for (const from of SITES) {
      for (const to of SITES) {
        if (from === to) continue;
        expect(ping(from.ns, to.overlay, { count: 3, wait: 5 }), `${from.iface} -> ${to.iface}`).toBe(true);
      }
    }
    // the stock wg tool, through wg-ts's UAPI socket: each interface has the two others, with handshakes
    const keys = new Set(SITES.map((s) => sh("wg", ["pubkey"], { input: readFileSync(`${dir}/output/${s.iface}.conf`, "utf8").match(/^PrivateKey = (\S+)$/m)?.[1] ?? "" }).trim()));
    for (const site of SITES) {
      const state = dump(site.ns, site.iface);
      expect(state.listenPort).toBe(Number(site.port));
      expect(state.peers).toHaveLength(2);
      for (const peer of state.peers) {
        expect(keys.has(peer.pub)).toBe(true);
        expect(peer.handshake).toBeGreaterThan(0);
        expect(peer.allowed).toMatch(/^10\.79\.0\.\d\/32$/); // a shared /24: host routes, not the /24 twice
      }
    }
  });
});
