/**
 * The mesh presets in the local lab, end to end with wg-ts on the gateways:
 *  - three-site-mesh (seed 003): every site's client reaches the two other sites through the
 *    tunnels, and the internet namespace sees all of their traffic coming from the exit (moly);
 *  - site-to-site (seed 001): the hosts on both sides reach each other through the one tunnel.
 * Traffic goes only between the lab's own namespaces (its "internet" is a namespace too). Each preset
 * is brought up with `wg-deploy up --topology …` and must leave nothing behind after `down`.
 * Needs root, `pnpm build` first.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { dump, inNs, ping, run, until } from "../../wg-daemon/test/support/lab.js";

const WG_DEPLOY = fileURLToPath(new URL("../bin/wg-deploy.js", import.meta.url));
const STATE_DIR = "/run/wg-ts-lab-presets-e2e";
const ENV = { ...process.env, WG_DEPLOY_LAB_DIR: STATE_DIR, WG_DEPLOY_WIREGUARD: "wg-ts" };
/** The lab's internet and its "remote server" (lab/layout.ts). */
const INTERNET_NS = "wgts-internet";
const REMOTE_SERVER = "198.51.100.1";

function wgDeploy(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = run(process.execPath, [WG_DEPLOY, ...args], { env: ENV });
  return r;
}

function labNamespaces(names: readonly string[]): string[] {
  const listed = run("ip", ["netns", "list"]).stdout.split("\n").map((line) => line.split(" ")[0] ?? "");
  return listed.filter((ns) => names.includes(ns));
}

/** Bytes received + sent on one gateway's tunnel (the stock `wg` through wg-ts's UAPI socket). */
function tunnelBytes(node: string, iface: string): number {
  return dump(`wgts-${node}`, iface).peers.reduce((sum, p) => sum + p.rx + p.tx, 0);
}

/** A TCP server on the internet's remote address that records each client's source address. */
async function startRemoteServer(port: number): Promise<{ sources: string[]; stop: () => void }> {
  const child: ChildProcess = spawn("ip", [
    "netns", "exec", INTERNET_NS, process.execPath, "-e",
    `require("node:net").createServer((s) => { console.log(s.remoteAddress); s.end(); }).listen(${port}, "${REMOTE_SERVER}", () => console.log("listening"));`,
  ], { stdio: ["ignore", "pipe", "inherit"] });
  const sources: string[] = [];
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((ready, fail) => {
    child.once("exit", (code) => fail(new Error(`remote server exited (${code})`)));
    lines.on("line", (line) => (line === "listening" ? ready() : sources.push(line)));
  });
  return { sources, stop: () => void child.kill("SIGKILL") };
}

/** One TCP connection from `ns` to the remote server; true when it connected. */
function connectFrom(ns: string, port: number): boolean {
  const probe = `const s=require("node:net").connect(${port},"${REMOTE_SERVER}");s.setTimeout(3000,()=>process.exit(2));s.on("connect",()=>{s.end();});s.on("close",(e)=>process.exit(e?1:0));s.on("error",()=>process.exit(1));`;
  return inNs(ns, process.execPath, ["-e", probe]).status === 0;
}

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups.reverse()) cleanup();
});

describe("three-site-mesh (seed 003)", () => {
  const NAMESPACES = ["internet", "bastion", "giant", "moly", "raspi", "giant-client", "moly-client", "raspi-client"].map((n) => `wgts-${n}`);
  const CLIENTS = { giant: "10.0.1.20", moly: "10.0.2.20", raspi: "77.66.55.20" } as const;
  const TUNNELS = { giant: "wg-gnt", moly: "wg-moly", raspi: "wg-rpi" } as const;

  it("comes up with `wg-deploy up --topology three-site-mesh`", () => {
    wgDeploy("down", "--topology", "three-site-mesh"); // a crashed earlier run
    cleanups.push(() => void wgDeploy("down", "--topology", "three-site-mesh"));
    const up = wgDeploy("up", "--topology", "three-site-mesh");
    expect(up.status, up.stderr).toBe(0);
    expect(labNamespaces(NAMESPACES).sort()).toEqual([...NAMESPACES].sort());
  });

  it("every site's client reaches the two other sites, through the WireGuard tunnels", () => {
    for (const [site, address] of Object.entries(CLIENTS)) {
      for (const [otherSite, otherAddress] of Object.entries(CLIENTS)) {
        if (site === otherSite) continue;
        const before = tunnelBytes(site, TUNNELS[site as keyof typeof TUNNELS]);
        expect(ping(`wgts-${site}-client`, otherAddress, { count: 2, wait: 3 }), `${site}-client (${address}) -> ${otherSite}-client`).toBe(true);
        expect(tunnelBytes(site, TUNNELS[site as keyof typeof TUNNELS]), `${site}'s tunnel carried it`).toBeGreaterThan(before);
      }
    }
    // full mesh: giant <-> raspi goes directly, not through moly (moly's tunnel stays idle for it)
    const molyBefore = tunnelBytes("moly", TUNNELS.moly);
    expect(ping("wgts-giant-client", CLIENTS.raspi, { count: 3 })).toBe(true);
    expect(tunnelBytes("moly", TUNNELS.moly)).toBe(molyBefore);
  });

  it("the internet sees every site's traffic coming from the exit (moly) only", async () => {
    const outputs = JSON.parse(wgDeploy("output", "public_ips", "--json", "--topology", "three-site-mesh").stdout) as Record<string, string>;
    const exit = outputs["moly"];
    expect(exit).toMatch(/^203\.0\.113\.\d+$/);
    expect(outputs["giant"]).not.toBe(exit);
    const server = await startRemoteServer(18_003);
    cleanups.push(server.stop);
    for (const site of Object.keys(CLIENTS)) expect(connectFrom(`wgts-${site}-client`, 18_003), `${site}-client -> internet`).toBe(true);
    await until(() => server.sources.length >= 3, { what: "three connections", ms: 5000 });
    expect(server.sources).toEqual([exit, exit, exit]);
    // and the non-exit sites' clients really left through moly's tunnel
    const giantTunnel = tunnelBytes("giant", TUNNELS.giant);
    expect(connectFrom("wgts-giant-client", 18_003)).toBe(true);
    expect(tunnelBytes("giant", TUNNELS.giant)).toBeGreaterThan(giantTunnel);
    server.stop();
  });

  it("`wg-deploy down` leaves none of its namespaces", () => {
    const down = wgDeploy("down", "--topology", "three-site-mesh");
    expect(down.status, down.stderr).toBe(0);
    expect(labNamespaces(NAMESPACES)).toEqual([]);
  });
});

describe("site-to-site (seed 001)", () => {
  const NAMESPACES = ["internet", "vpn-client-nat", "bastion", "vpn-gw", "vpn-client", "test-instance", "test-server"].map((n) => `wgts-${n}`);
  /** lab/layout.ts: the cloud gateway's public address, the NAT router's (the on-premise side's public face). */
  const CLOUD_PUBLIC = "203.0.113.10";
  const NAT_PUBLIC = "203.0.113.11";
  const ON_PREM_UPLINK = "100.64.0.2";

  /** The host's lab DHCP client files (lab/dhcp.ts). */
  const dhclientArgs = (node: string, device: string) => {
    const dir = `${STATE_DIR}/nodes/${node}`;
    return ["-cf", `${dir}/dhclient-${device}.conf`, "-lf", `${dir}/dhclient-${device}.leases`, "-pf", `${dir}/dhclient-${device}.pid`, "-sf", `${dir}/dhclient-script`];
  };

  it("comes up with `wg-deploy up --topology site-to-site`", () => {
    wgDeploy("down", "--topology", "site-to-site");
    cleanups.push(() => void wgDeploy("down", "--topology", "site-to-site"));
    const up = wgDeploy("up", "--topology", "site-to-site");
    expect(up.status, up.stderr).toBe(0);
    expect(labNamespaces(NAMESPACES).sort()).toEqual([...NAMESPACES].sort());
  });

  it("the on-premise gateway is behind the NAT router: no public address of its own, unreachable from the internet", () => {
    const uplink = inNs("wgts-vpn-client", "ip", ["-4", "-o", "addr", "show", "dev", "uplink"]).stdout;
    expect(uplink).toContain(` ${ON_PREM_UPLINK}/24 `);
    expect(uplink).not.toContain("203.0.113.");
    expect(ping(INTERNET_NS, ON_PREM_UPLINK, { wait: 1 }), "internet -> on-premise gateway's own address").toBe(false);
    // the cloud side was given no Endpoint for it (seed: the server's [Peer] has none)
    const cloudConf = readFileSync(`${STATE_DIR}/nodes/vpn-gw/fs/etc/wireguard/wg-vgw.conf`, "utf8");
    expect(cloudConf).not.toMatch(/^Endpoint/m);
    expect(cloudConf).not.toMatch(/^PersistentKeepalive/m);
    const diagram = wgDeploy("diagram", "--topology", "site-to-site");
    expect(diagram.status, diagram.stderr).toBe(0);
    expect(diagram.stdout).toMatch(new RegExp(`${NAT_PUBLIC.replaceAll(".", "\\.")} +vpn-client .*keepalive 25s  behind NAT router wgts-vpn-client-nat \\(own uplink ${ON_PREM_UPLINK.replaceAll(".", "\\.")}\\)`));
  });

  it("the on-premise side reaches the cloud through the NAT: the cloud gateway sees the NAT router's public address", () => {
    const masqueraded = () => Number(/counter packets (\d+) bytes \d+ masquerade/.exec(inNs("wgts-vpn-client-nat", "nft", ["list", "chain", "ip", "wgts_natrouter", "postrouting"]).stdout)?.[1] ?? -1);
    const cloud = dump("wgts-vpn-gw", "wg-vgw").peers;
    expect(cloud).toHaveLength(1);
    expect(cloud[0]?.endpoint).toMatch(new RegExp(`^${NAT_PUBLIC.replaceAll(".", "\\.")}:\\d+$`));
    expect(cloud[0]?.keepalive).toBe("off");
    const onPrem = dump("wgts-vpn-client", "wg-vcl").peers;
    expect(onPrem[0]?.endpoint).toBe(`${CLOUD_PUBLIC}:52435`);
    expect(onPrem[0]?.keepalive).toBe("25");
    expect(masqueraded(), "the NAT router masqueraded the tunnel's first packet").toBeGreaterThan(0);
  });

  it("the hosts got their address and the other side's route from their gateway's dnsmasq (DHCP option 121)", () => {
    for (const [node, device, own, other, gateway] of [
      ["test-instance", "pn-vpc", "192.168.0.20/24", "192.168.1.0/24", "192.168.0.10"],
      ["test-server", "pn-onprem", "192.168.1.20/24", "192.168.0.0/24", "192.168.1.10"],
    ] as const) {
      expect(inNs(`wgts-${node}`, "ip", ["-4", "-o", "addr", "show", "dev", device]).stdout).toContain(` ${own} `);
      const routes = inNs(`wgts-${node}`, "ip", ["-4", "route"]).stdout;
      expect(routes).toContain(`${other} via ${gateway} dev ${device}`);
      expect(routes).toContain(`default via ${gateway} dev ${device}`);
    }
    const log = readFileSync(`${STATE_DIR}/nodes/vpn-client/fs/var/log/dnsmasq.log`, "utf8");
    expect(log).toMatch(/DHCPACK\(pn-onprem\) 192\.168\.1\.20 \S+ test-server/);
    expect(log).toMatch(/classless-static-route/);
  });

  it("the hosts of both sides reach each other through the tunnel, both ways", () => {
    const before = tunnelBytes("vpn-gw", "wg-vgw");
    expect(ping("wgts-test-instance", "192.168.1.20", { count: 2 }), "VPC host -> on-premise server").toBe(true);
    expect(ping("wgts-test-server", "192.168.0.20", { count: 2 }), "on-premise server -> VPC host").toBe(true);
    expect(tunnelBytes("vpn-gw", "wg-vgw")).toBeGreaterThan(before);
    const onPremise = dump("wgts-vpn-client", "wg-vcl");
    expect(onPremise.listenPort).toBe(52435);
    expect(onPremise.peers.map((p) => [p.allowed, p.keepalive])).toEqual([["172.16.0.1/32,192.168.0.0/24", "25"]]);
  });

  it("without its DHCP lease the on-premise server loses the route; a new lease (option 121) brings it back", () => {
    const ns = "wgts-test-server";
    expect(inNs(ns, "dhclient", ["-x", ...dhclientArgs("test-server", "pn-onprem"), "pn-onprem"]).status).toBe(0);
    run("ip", ["-n", ns, "addr", "flush", "dev", "pn-onprem"]);
    expect(inNs(ns, "ip", ["-4", "route"]).stdout.trim()).toBe("");
    expect(ping(ns, "192.168.0.20", { wait: 1 }), "no address, no route").toBe(false);
    const lease = inNs(ns, "dhclient", ["-1", "-4", ...dhclientArgs("test-server", "pn-onprem"), "pn-onprem"]);
    expect(lease.status, lease.stderr).toBe(0);
    expect(inNs(ns, "ip", ["-4", "route"]).stdout).toContain("192.168.0.0/24 via 192.168.1.10 dev pn-onprem");
    expect(ping(ns, "192.168.0.20", { count: 2 }), "on-premise server -> VPC host again").toBe(true);
  });

  it("another preset cannot come up while this one runs: the error names the running topology and nothing is touched", () => {
    const other = run(process.execPath, [WG_DEPLOY, "up", "--topology", "three-site-mesh"], { env: { ...ENV, WG_DEPLOY_LAB_DIR: `${STATE_DIR}-other` } });
    expect(other.status).not.toBe(0);
    expect(other.stderr).toContain(`another lab is up on this machine: topology site-to-site (state dir ${STATE_DIR})`);
    const sameDir = wgDeploy("up", "--topology", "three-site-mesh");
    expect(sameDir.status).not.toBe(0);
    expect(sameDir.stderr).toContain("topology site-to-site");
    // an explicit `down` of another preset refuses too (it would delete wgts-internet, wgts-bastion)
    const wrongDown = wgDeploy("down", "--topology", "hub-spoke");
    expect(wrongDown.status).not.toBe(0);
    expect(wrongDown.stderr).toContain("the lab running here is topology site-to-site");
    expect(labNamespaces(NAMESPACES).sort()).toEqual([...NAMESPACES].sort());
    expect(ping("wgts-test-instance", "192.168.1.20", { count: 1 })).toBe(true);
  });

  it("`wg-deploy down` without --topology takes down the running preset and leaves none of its namespaces", () => {
    const env: NodeJS.ProcessEnv = { ...ENV };
    delete env["WG_DEPLOY_TOPOLOGY"];
    const down = run(process.execPath, [WG_DEPLOY, "down"], { env: { ...env, WG_DEPLOY_LAB_DIR: "/run/wg-ts-lab-not-this-one" } });
    expect(down.status, down.stderr).toBe(0);
    expect(down.stderr).toContain("the lab running here is topology site-to-site");
    expect(labNamespaces(NAMESPACES)).toEqual([]);
    expect(existsSync(STATE_DIR)).toBe(false);
  });
});
