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

/**
 * Seed 001's situation with the mesh tool: the on-premise peer sits behind a NAT router (a namespace
 * that masquerades) and has no Endpoint in the database, so the cloud side cannot dial it; the cloud
 * row's PersistentKeepalive makes the on-premise side keep its NAT mapping open, and the cloud then
 * reaches it through that mapping.
 */
describe("wg-deploy mesh -> wg-ts, one peer behind NAT", () => {
  const INET = "wgnat-inet";
  const CLOUD = { ns: "wgnat-cloud", iface: "wgnatc", public: "10.81.0.10", overlay: "10.82.0.1", port: "51821" };
  const ROUTER = { ns: "wgnat-rtr", public: "10.81.0.20", inside: "192.168.77.1" };
  const PREM = { ns: "wgnat-prem", iface: "wgnatp", inside: "192.168.77.2", overlay: "10.82.0.2", port: "51822" };
  const natDir = tempDir("wg-meshconf-nat-");
  const db = `${natDir}/database.csv`;
  const namespaces = [INET, CLOUD.ns, ROUTER.ns, PREM.ns];
  const ifaces = [CLOUD.iface, PREM.iface];

  beforeAll(() => {
    cleanLeftovers(namespaces, ifaces);
    for (const ns of namespaces) {
      sh("ip", ["netns", "add", ns]);
      sh("ip", ["-n", ns, "link", "set", "lo", "up"]);
    }
    sh("ip", ["-n", INET, "link", "add", "br0", "type", "bridge"]);
    sh("ip", ["-n", INET, "link", "set", "br0", "up"]);
    const link = (ns: string, dev: string, peerNs: string, peerDev: string) =>
      sh("ip", ["link", "add", dev, "netns", ns, "type", "veth", "peer", "name", peerDev, "netns", peerNs]);
    link(CLOUD.ns, "wgnatcu", INET, "wgnatcb");
    link(ROUTER.ns, "wgnatru", INET, "wgnatrb");
    link(ROUTER.ns, "wgnatri", PREM.ns, "wgnatpu");
    for (const port of ["wgnatcb", "wgnatrb"]) sh("ip", ["-n", INET, "link", "set", port, "master", "br0", "up"]);
    const address = (ns: string, dev: string, cidr: string) => {
      sh("ip", ["-n", ns, "addr", "add", cidr, "dev", dev]);
      sh("ip", ["-n", ns, "link", "set", dev, "up"]);
    };
    address(CLOUD.ns, "wgnatcu", `${CLOUD.public}/24`);
    address(ROUTER.ns, "wgnatru", `${ROUTER.public}/24`);
    address(ROUTER.ns, "wgnatri", `${ROUTER.inside}/24`);
    address(PREM.ns, "wgnatpu", `${PREM.inside}/24`);
    sh("ip", ["-n", PREM.ns, "route", "add", "default", "via", ROUTER.inside]);
    sh("ip", ["netns", "exec", ROUTER.ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
    sh("ip", ["netns", "exec", ROUTER.ns, "nft", "-f", "-"], {
      input: `table ip nat { chain postrouting { type nat hook postrouting priority srcnat; oifname "wgnatru" masquerade; }; }\n`,
    });
  }, 60_000);

  afterAll(() => {
    for (const [site, ns] of [[CLOUD, CLOUD.ns], [PREM, PREM.ns]] as const) wgTs(ns, ["down", `${natDir}/output/${site.iface}.conf`]);
    cleanLeftovers(namespaces, ifaces);
    rmSync(natDir, { recursive: true, force: true });
  });

  it("the cloud reaches the NATed peer once its keepalives opened the mapping", async () => {
    const add = (...args: string[]) => {
      const r = wgDeploy("mesh", "-d", db, "addpeer", ...args);
      expect(r.status, r.stderr).toBe(0);
    };
    add(CLOUD.iface, "--address", `${CLOUD.overlay}/24`, "--endpoint", CLOUD.public, "--listenport", CLOUD.port, "--persistentkeepalive", "1");
    add(PREM.iface, "--address", `${PREM.overlay}/24`, "--listenport", PREM.port); // no endpoint: behind NAT
    const gen = wgDeploy("mesh", "-d", db, "genconfig", "-o", `${natDir}/output`);
    expect(gen.status, gen.stderr).toBe(0);
    const cloudConf = readFileSync(`${natDir}/output/${CLOUD.iface}.conf`, "utf8");
    const premConf = readFileSync(`${natDir}/output/${PREM.iface}.conf`, "utf8");
    expect(cloudConf).not.toContain("Endpoint");
    expect(premConf).toContain(`Endpoint = ${CLOUD.public}:${CLOUD.port}\nAllowedIPs = ${CLOUD.overlay}/32\nPersistentKeepalive = 1\n`);

    for (const [site, ns] of [[CLOUD, CLOUD.ns], [PREM, PREM.ns]] as const) {
      const up = wgTs(ns, ["up", `${natDir}/output/${site.iface}.conf`]);
      expect(up.status, up.stderr).toBe(0);
    }
    // no traffic from the test: the on-premise keepalives alone must show up at the cloud, from the router's address
    const deadline = Date.now() + 15_000;
    let endpoint = "(none)";
    while (Date.now() < deadline) {
      endpoint = dump(CLOUD.ns, CLOUD.iface).peers[0]?.endpoint ?? "(none)";
      if (endpoint !== "(none)") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(endpoint).toMatch(new RegExp(`^${ROUTER.public.replaceAll(".", "\\.")}:\\d+$`));
    expect(ping(CLOUD.ns, PREM.overlay, { count: 3, wait: 3 }), "cloud -> NATed peer").toBe(true);
    expect(ping(PREM.ns, CLOUD.overlay, { count: 1 }), "NATed peer -> cloud").toBe(true);
  });
});
