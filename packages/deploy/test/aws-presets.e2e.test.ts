/**
 * Preset aws-site-to-site (seed 004 on WireGuard) in the local lab, end to end: the AWS side's
 * gateway runs wg-ts with its node plan (the one the aws target renders into cloud-init); the
 * customer's gateway runs the wg-quick file the aws target outputs (`remote_wireguard_config`) with
 * the real wg-quick + Debian's wireguard-go, as a customer would. Proves host-to-host traffic both
 * ways through the tunnel, the AWS host's routes (the private route table's equivalent: the
 * egress routes to the gateway), and that nothing else reaches either private network.
 * Traffic goes only between the lab's own namespaces. Needs root, `pnpm build` first.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { dump, inNs, ping, run } from "../../wg-daemon/test/support/lab.js";
import { synthesizeAws } from "../src/aws/stack.js";
import { cloudPlans } from "../src/cloud/plans.js";
import { evaluateTemplate } from "../src/terraform/evaluate.js";
import { awsSiteToSiteTopology } from "../src/topologies/aws-site-to-site.js";

const WG_DEPLOY = fileURLToPath(new URL("../bin/wg-deploy.js", import.meta.url));
const STATE_DIR = "/run/wg-ts-lab-aws-e2e";
const ENV = { ...process.env, WG_DEPLOY_LAB_DIR: STATE_DIR, WG_DEPLOY_WIREGUARD: "wg-ts" };
const TOPOLOGY = "aws-site-to-site";
const NAMESPACES = ["internet", "bastion", "aws-gw", "customer-gw", "aws-host", "customer-host"].map((n) => `wgts-${n}`);
const AWS_HOST = "172.31.128.20";
const CUSTOMER_HOST = "192.168.1.20";
/** lab/layout.ts: public addresses of the gateways (first gateway .10, second .11). */
const AWS_PUBLIC = "203.0.113.10";
const CUSTOMER_PUBLIC = "203.0.113.11";

function wgDeploy(...args: string[]): { status: number; stdout: string; stderr: string } {
  return run(process.execPath, [WG_DEPLOY, ...args], { env: ENV });
}

function labNamespaces(): string[] {
  const listed = run("ip", ["netns", "list"]).stdout.split("\n").map((line) => line.split(" ")[0] ?? "");
  return listed.filter((ns) => NAMESPACES.includes(ns));
}

function tunnelBytes(node: string, iface: string): number {
  return dump(`wgts-${node}`, iface).peers.reduce((sum, p) => sum + p.rx + p.tx, 0);
}

/** The lab's internet, with a route to each private network pointed at a gateway's public address, reaches none of the hosts. */
function internetReachesNone(targets: readonly (readonly [network: string, host: string, via: string])[]): void {
  for (const [network, host, via] of targets) {
    expect(inNs("wgts-internet", "ip", ["route", "replace", network, "via", via]).status).toBe(0);
    try {
      expect(ping("wgts-internet", host, { count: 2, wait: 1 }), `internet -> ${host} via ${via}`).toBe(false);
    } finally {
      inNs("wgts-internet", "ip", ["route", "del", network]);
    }
  }
}

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups.reverse()) cleanup();
});

describe("aws-site-to-site (seed 004 on WireGuard)", () => {
  it("comes up with `wg-deploy up --topology aws-site-to-site`: wg-ts on the AWS gateway, wg-quick + wireguard-go at the customer", () => {
    wgDeploy("down"); // a crashed earlier run of any preset
    cleanups.push(() => void wgDeploy("down", "--topology", TOPOLOGY));
    const up = wgDeploy("up", "--topology", TOPOLOGY);
    expect(up.status, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/aws-gw: start wg-ts \(wg-awsg\)/);
    expect(up.stderr).toMatch(/customer-gw: start wireguard-go \(wg-cgw\)/);
    expect(labNamespaces().sort()).toEqual([...NAMESPACES].sort());
    const customerLog = readFileSync(join(STATE_DIR, "nodes/customer-gw/fs/var/log/wireguard-wg-cgw.log"), "utf8");
    expect(customerLog).toMatch(/\[#\] wireguard-go wg-cgw/); // wg-quick's own trace
    const awsLog = readFileSync(join(STATE_DIR, "nodes/aws-gw/fs/var/log/wireguard-wg-awsg.log"), "utf8");
    expect(awsLog).not.toMatch(/wireguard-go/);
  });

  it("the customer runs exactly the wg-quick file the aws target outputs (remote_wireguard_config), with the lab's addresses and keys", () => {
    const topology = awsSiteToSiteTopology();
    const synthesis = synthesizeAws(topology, cloudPlans(topology));
    const secrets = JSON.parse(readFileSync(join(STATE_DIR, "secrets.json"), "utf8")) as { keys: Record<string, { privateKey: string; publicKey: string }> };
    const output = evaluateTemplate(synthesis.remoteConfigs.get("customer-gw") ?? "", (expression) => {
      switch (expression) {
        case "local.remote_wireguard_private_key":
          return secrets.keys["customer-gw"]?.privateKey ?? "";
        case 'var.wireguard_public_keys["aws-gw"]':
          return secrets.keys["aws-gw"]?.publicKey ?? "";
        case "aws_eip.aws_gw.public_ip":
          return AWS_PUBLIC;
      }
      throw new Error(`unexpected ${expression}`);
    });
    const labFile = readFileSync(join(STATE_DIR, "nodes/customer-gw/fs/etc/wireguard/wg-cgw.conf"), "utf8");
    // Only the device name differs: wg0 on a real machine, wg-cgw in the lab (shared UAPI socket directory).
    expect(labFile.replaceAll("wg-cgw", "wg0")).toBe(output);
  });

  it("the AWS host routes the egress routes to the gateway (the private route table's equivalent) and nothing else", () => {
    const routes = inNs("wgts-aws-host", "ip", ["-4", "route", "show"]).stdout;
    expect(routes).toContain("192.168.1.0/24 via 172.31.128.10");
    expect(routes).not.toContain("default");
  });

  it("host-to-host both ways through the tunnel", () => {
    for (const [from, to, gateway, iface] of [
      ["aws-host", CUSTOMER_HOST, "aws-gw", "wg-awsg"],
      ["customer-host", AWS_HOST, "customer-gw", "wg-cgw"],
    ] as const) {
      const before = tunnelBytes(gateway, iface);
      expect(ping(`wgts-${from}`, to, { count: 3, wait: 3 }), `${from} -> ${to}`).toBe(true);
      expect(tunnelBytes(gateway, iface), `${gateway}'s tunnel carried it`).toBeGreaterThan(before + 3 * 84);
    }
    // TCP too (MSS clamped by the gateways' forward chains)
    const server = `require("node:net").createServer((s) => s.end("seed-004")).listen(18004, "${AWS_HOST}", () => console.log("up"))`;
    const listener = run("sh", ["-c", `ip netns exec wgts-aws-host ${process.execPath} -e '${server}' >/dev/null 2>&1 & echo $!`]).stdout.trim();
    cleanups.push(() => void run("kill", [listener]));
    let reply = "";
    for (let i = 0; i < 30 && reply !== "seed-004"; i++) {
      reply = inNs("wgts-customer-host", process.execPath, ["-e", `const s=require("node:net").connect(18004,"${AWS_HOST}");let d="";s.on("data",(c)=>d+=c);s.on("end",()=>{process.stdout.write(d)});s.on("error",()=>process.exit(1));`]).stdout;
      if (reply !== "seed-004") run("sleep", ["0.2"]);
    }
    expect(reply).toBe("seed-004");
    run("kill", [listener]);
  });

  it("without the route table's route, the AWS host cannot reach the customer (the route is what connects them)", () => {
    expect(inNs("wgts-aws-host", "ip", ["route", "del", "192.168.1.0/24"]).status).toBe(0);
    try {
      expect(ping("wgts-aws-host", CUSTOMER_HOST, { count: 1, wait: 1 })).toBe(false);
    } finally {
      expect(inNs("wgts-aws-host", "ip", ["route", "replace", "192.168.1.0/24", "via", "172.31.128.10"]).status).toBe(0);
    }
    expect(ping("wgts-aws-host", CUSTOMER_HOST, { count: 2, wait: 3 })).toBe(true);
  });

  it("nothing else reaches the private networks: the internet, even routed at each gateway, gets nowhere", () => {
    internetReachesNone([
      ["172.31.128.0/20", AWS_HOST, AWS_PUBLIC],
      ["192.168.1.0/24", CUSTOMER_HOST, CUSTOMER_PUBLIC],
    ]);
    // The tunnel endpoints themselves: the AWS gateway only talks WireGuard with the customer's address.
    const peers = dump("wgts-aws-gw", "wg-awsg").peers;
    expect(peers.map((p) => p.endpoint)).toEqual([`${CUSTOMER_PUBLIC}:51820`]);
  });

  it("`wg-deploy down` leaves none of its namespaces", () => {
    const down = wgDeploy("down", "--topology", TOPOLOGY);
    expect(down.status, down.stderr).toBe(0);
    expect(labNamespaces()).toEqual([]);
  });
});

describe("scaleway-aws (seed 001's Scaleway VPC <-> the AWS VPC, both ours)", () => {
  const NS = ["internet", "bastion", "vpn-gw", "aws-gw", "test-instance", "aws-host"].map((n) => `wgts-${n}`);
  const TEST_INSTANCE = "192.168.0.20";
  const present = () => {
    const listed = run("ip", ["netns", "list"]).stdout.split("\n").map((line) => line.split(" ")[0] ?? "");
    return listed.filter((ns) => NS.includes(ns));
  };

  it("comes up with `wg-deploy up --topology scaleway-aws`: wg-ts on both gateways, the test instance's routes by DHCP option 121", () => {
    wgDeploy("down");
    cleanups.push(() => void wgDeploy("down", "--topology", "scaleway-aws"));
    const up = wgDeploy("up", "--topology", "scaleway-aws");
    expect(up.status, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/vpn-gw: start wg-ts/);
    expect(up.stderr).toMatch(/aws-gw: start wg-ts/);
    expect(present().sort()).toEqual([...NS].sort());
    const routes = inNs("wgts-test-instance", "ip", ["-4", "route", "show"]).stdout;
    expect(routes).toContain("172.31.128.0/20 via 192.168.0.10");
    expect(inNs("wgts-aws-host", "ip", ["-4", "route", "show"]).stdout).toContain("192.168.0.0/24 via 172.31.128.10");
  });

  it("host-to-host both ways through the tunnel; the internet reaches neither side", () => {
    for (const [from, to, gateway, iface] of [
      ["test-instance", AWS_HOST, "vpn-gw", "wg-vgw"],
      ["aws-host", TEST_INSTANCE, "aws-gw", "wg-awsg"],
    ] as const) {
      const before = tunnelBytes(gateway, iface);
      expect(ping(`wgts-${from}`, to, { count: 3, wait: 3 }), `${from} -> ${to}`).toBe(true);
      expect(tunnelBytes(gateway, iface)).toBeGreaterThan(before + 3 * 84);
    }
    internetReachesNone([
      ["172.31.128.0/20", AWS_HOST, "203.0.113.11"],
      ["192.168.0.0/24", TEST_INSTANCE, "203.0.113.10"],
    ]);
  });

  it("`wg-deploy down` leaves none of its namespaces", () => {
    const down = wgDeploy("down", "--topology", "scaleway-aws");
    expect(down.status, down.stderr).toBe(0);
    expect(present()).toEqual([]);
  });
});
