/**
 * The mesh presets (seeds 003 and 001) as node plans: who peers with whom, which prefixes go where,
 * who is the exit, and the rendered files checked by the real tools (wg-quick strip, wg-ts's parser,
 * nft -c in a throw-away network namespace, dnsmasq --test).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PrivateKey } from "@wg-ts/core";
import { afterAll, describe, expect, it } from "vitest";
import { planTopology } from "../src/plan/plan.js";
import { synthesizeValidated } from "../src/scaleway/synth.js";
import { evaluateTemplate } from "../src/terraform/evaluate.js";
import { parse as parseYaml } from "yaml";
import { renderTemplate } from "../src/plan/render.js";
import type { NodePlan, Placeholder } from "../src/plan/types.js";
import { buildTopology } from "../src/model/build.js";
import { siteToSiteDescription } from "../src/topologies/site-to-site.js";
import { MESH_PRESETS, siteToSiteTopology, threeSiteMeshTopology } from "../src/topologies/index.js";
import type { Topology } from "../src/model/topology.js";
import { parseConfig } from "../../wg-daemon/src/config.js";

const dir = mkdtempSync(join(tmpdir(), "wg-mesh-presets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A resolver like a target's: real keys, TEST-NET-3 public addresses, a fixed uplink gateway. */
function labLikeResolver(topology: Topology): (p: Placeholder) => string {
  const keys = new Map(topology.gateways.map((g) => [g.name, PrivateKey.generate((b) => void randomFillSync(b))]));
  const publicIp = (node: string) => `203.0.113.${10 + topology.gateways.findIndex((g) => g.name === node)}`;
  return (p) => {
    switch (p.kind) {
      case "wireguard-private-key":
        return keys.get(p.node)?.toBase64() ?? "";
      case "wireguard-public-key":
        return keys.get(p.node)?.publicKey().toBase64() ?? "";
      case "public-ip":
        return publicIp(p.node);
      case "uplink-gateway":
        return "203.0.113.1";
      case "database-password":
        return "x";
      case "database-address":
        return "172.16.32.20";
      case "file-path":
        return join(dir, p.node, p.path);
    }
  };
}

function wireguardFile(plan: NodePlan, resolve: (p: Placeholder) => string): string {
  const file = plan.files.find((f) => f.path.startsWith("/etc/wireguard/"));
  if (file === undefined) throw new Error(`${plan.node}: no wg-quick file`);
  expect(file.mode).toBe(0o600);
  return renderTemplate(file.content, resolve);
}

/** wg-quick's own parser and wg-ts's parser both accept `text`; returns what wg(8) would get. */
function checkWithParsers(text: string, name: string): string {
  const path = join(dir, `${name}.conf`);
  writeFileSync(path, text, { mode: 0o600 });
  const stripped = execFileSync("wg-quick", ["strip", path]).toString();
  parseConfig(text, `${name}.conf`);
  return stripped;
}

/** `nft -c` in a throw-away network namespace (nothing is applied anywhere). */
function checkNftables(ruleset: string, name: string): void {
  const path = join(dir, `${name}.nft`);
  writeFileSync(path, ruleset);
  execFileSync("unshare", ["--net", "nft", "-c", "-f", path], { stdio: ["ignore", "pipe", "pipe"] });
}

const peersOf = (plan: NodePlan) => plan.wireguard?.peers.map((p) => [p.name, p.allowedIps]) ?? [];
const routesOf = (plan: NodePlan) => plan.wireguard?.routes.map((r) => (typeof r.to === "string" ? r.to : `<${r.to.kind}:${"node" in r.to ? r.to.node : ""}>`)) ?? [];

describe("presets are registered", () => {
  it("three-site-mesh and site-to-site build", () => {
    expect(MESH_PRESETS.map((p) => [p.name, p.build().name])).toEqual([
      ["three-site-mesh", "three-site-mesh"],
      ["site-to-site", "site-to-site"],
    ]);
  });

  it("render to Scaleway Terraform JSON that passes the offline provider-schema check", () => {
    for (const preset of MESH_PRESETS) {
      const { document } = synthesizeValidated(preset.build()); // throws listing every problem
      expect(JSON.stringify(document)).toContain(preset.name === "site-to-site" ? "vpn-client" : "raspi");
    }
  });
});

describe("three-site-mesh (seed 003)", () => {
  const topology = threeSiteMeshTopology();
  const plans = planTopology(topology);
  const plan = (name: string) => plans.get(name) ?? expect.unreachable(`no plan for ${name}`);

  it("keeps the seed's tunnel addresses and port, one client network per site", () => {
    expect(topology.overlay).toMatchObject({ cidr: "172.16.1.0/24", port: 5555 });
    expect(topology.gateways.map((g) => [g.name, g.overlayIp, g.attachments.map((a) => a.cidr)])).toEqual([
      ["giant", "172.16.1.1", ["10.0.1.0/24"]],
      ["moly", "172.16.1.2", ["10.0.2.0/24"]],
      ["raspi", "172.16.1.3", ["77.66.55.0/24"]],
    ]);
  });

  it("is a full mesh announcing each site's network; giant and raspi send the default route to moly only", () => {
    expect(peersOf(plan("giant"))).toEqual([
      ["moly", ["172.16.1.2/32", "10.0.2.0/24", "0.0.0.0/0"]],
      ["raspi", ["172.16.1.3/32", "77.66.55.0/24"]],
    ]);
    expect(peersOf(plan("raspi"))).toEqual([
      ["giant", ["172.16.1.1/32", "10.0.1.0/24"]],
      ["moly", ["172.16.1.2/32", "10.0.2.0/24", "0.0.0.0/0"]],
    ]);
    expect(peersOf(plan("moly"))).toEqual([
      ["giant", ["172.16.1.1/32", "10.0.1.0/24"]],
      ["raspi", ["172.16.1.3/32", "77.66.55.0/24"]],
    ]);
    expect(routesOf(plan("giant"))).toEqual(["<public-ip:moly>", "<public-ip:raspi>", "0.0.0.0/1", "128.0.0.0/1", "10.0.2.0/24", "77.66.55.0/24"]);
    expect(routesOf(plan("moly"))).toEqual(["10.0.1.0/24", "77.66.55.0/24"]); // the exit keeps its own default route
  });

  it("only the exit masquerades, and it masquerades every site's network", () => {
    expect(plan("moly").nftables).toMatch(/ip saddr \{ 10\.0\.1\.0\/24, 10\.0\.2\.0\/24, 77\.66\.55\.0\/24, 172\.16\.1\.0\/24 \} ip daddr != \{[^}]+\} masquerade/);
    expect(plan("giant").nftables).not.toContain("masquerade");
    expect(plan("raspi").nftables).not.toContain("masquerade");
  });

  it("every client's default route goes to its own site gateway", () => {
    for (const [client, gateway] of [["giant-client", "10.0.1.10"], ["moly-client", "10.0.2.10"], ["raspi-client", "77.66.55.10"]] as const) {
      expect(plan(client).routes).toEqual([expect.objectContaining({ to: "default", via: { kind: "address", address: gateway } })]);
    }
  });

  it("renders wg-quick files that wg-quick and wg-ts accept, and nft rulesets nft accepts", () => {
    const resolve = labLikeResolver(topology);
    for (const gateway of topology.gateways) {
      const p = plan(gateway.name);
      const stripped = checkWithParsers(wireguardFile(p, resolve), `tsm${gateway.shortName}`);
      expect(stripped.match(/^\[Peer\]/gm)).toHaveLength(2);
      expect(stripped).toContain("ListenPort = 5555");
      checkNftables(p.nftables ?? "", `tsm-${gateway.name}`);
    }
  });
});

describe("site-to-site (seed 001)", () => {
  const topology = siteToSiteTopology();
  const plans = planTopology(topology);
  const plan = (name: string) => plans.get(name) ?? expect.unreachable(`no plan for ${name}`);

  it("one tunnel between the two gateways, each routing the other side's subnet", () => {
    expect(topology.overlay).toMatchObject({ cidr: "172.16.0.0/24", port: 52435 });
    expect(peersOf(plan("vpn-gw"))).toEqual([["vpn-client", ["172.16.0.2/32", "192.168.1.0/24"]]]);
    expect(peersOf(plan("vpn-client"))).toEqual([["vpn-gw", ["172.16.0.1/32", "192.168.0.0/24"]]]);
    expect(routesOf(plan("vpn-gw"))).toEqual(["192.168.1.0/24"]);
    expect(routesOf(plan("vpn-client"))).toEqual(["192.168.0.0/24"]);
  });

  it("the on-premise gateway is behind NAT: no Endpoint for it, and only it sends PersistentKeepalive 25 (the seed's two wg0.conf)", () => {
    const cloudSide = plan("vpn-gw").wireguard?.peers[0];
    const onPremSide = plan("vpn-client").wireguard?.peers[0];
    expect(cloudSide?.endpoint).toBeUndefined();
    expect(cloudSide?.persistentKeepalive).toBe(0);
    expect(onPremSide?.endpoint).toEqual({ host: { kind: "public-ip", node: "vpn-gw" }, port: 52435 });
    expect(onPremSide?.persistentKeepalive).toBe(25);
    const resolve = labLikeResolver(topology);
    const cloudFile = wireguardFile(plan("vpn-gw"), resolve);
    expect(cloudFile).not.toMatch(/^Endpoint|^PersistentKeepalive/m);
    expect(wireguardFile(plan("vpn-client"), resolve)).toMatch(/^Endpoint = 203\.0\.113\.10:52435\nAllowedIPs = 172\.16\.0\.1\/32, 192\.168\.0\.0\/24\nPersistentKeepalive = 25\n/m);
  });

  it("a gateway behind NAT gets no endpoint-pinning route from a peer that sends it its default route", () => {
    const withDefault = buildTopology({
      ...siteToSiteDescription,
      gateways: {
        ...siteToSiteDescription.gateways,
        "vpn-gw": { ...siteToSiteDescription.gateways["vpn-gw"]!, defaultVia: "vpn-client" },
        "vpn-client": { ...siteToSiteDescription.gateways["vpn-client"]!, defaultVia: "vpn-gw" },
      },
    });
    const plans = planTopology(withDefault);
    // vpn-client pins vpn-gw's public address to its uplink; vpn-gw has nothing to pin for vpn-client.
    expect(routesOf(plans.get("vpn-client")!)).toEqual(["<public-ip:vpn-gw>", "0.0.0.0/1", "128.0.0.0/1", "192.168.0.0/24"]);
    expect(routesOf(plans.get("vpn-gw")!)).toEqual(["0.0.0.0/1", "128.0.0.0/1", "192.168.1.0/24"]);
  });

  it("refuses a gateway behind NAT without keepalive, and two peers both behind NAT", () => {
    const gateways = siteToSiteDescription.gateways;
    expect(() => buildTopology({ ...siteToSiteDescription, gateways: { ...gateways, "vpn-client": { ...gateways["vpn-client"]!, persistentKeepalive: 0 } } })).toThrow(
      /vpn-client: behind NAT it needs a PersistentKeepalive > 0/,
    );
    expect(() => buildTopology({ ...siteToSiteDescription, gateways: { ...gateways, "vpn-gw": { ...gateways["vpn-gw"]!, behindNat: true, persistentKeepalive: 25 } } })).toThrow(
      /both behind NAT/,
    );
  });

  it("hosts get their address and routes by DHCP from their gateway (no static route in their plan)", () => {
    expect(plan("test-instance").routes).toEqual([]);
    expect(plan("test-server").routes).toEqual([]);
    const dhcp = (name: string) => plan(name).interfaces.map((i) => [i.address, i.dhcp?.server, i.dhcp?.routes.map((r) => `${String(r.to)} via ${r.via.kind === "address" ? r.via.address : r.via.kind}`)]);
    expect(dhcp("test-instance")).toEqual([["192.168.0.20/24", "vpn-gw", ["192.168.1.0/24 via 192.168.0.10", "default via 192.168.0.10"]]]);
    expect(dhcp("test-server")).toEqual([["192.168.1.20/24", "vpn-client", ["192.168.0.0/24 via 192.168.1.10", "default via 192.168.1.10"]]]);
    expect(plan("vpn-gw").services.filter((s) => s.kind === "dhcp-server")).toEqual([
      { kind: "dhcp-server", name: "dnsmasq-pn-vpc", network: "pn-vpc", listenAddress: "192.168.0.10", config: "/etc/wg-ts/dnsmasq-pn-vpc.conf" },
    ]);
    expect(plan("vpn-gw").packages).toContain("dnsmasq-base");
    // DHCP requests come from 0.0.0.0: the gateway's input chain lets them in.
    expect(plan("vpn-gw").nftables).toContain("ip saddr 0.0.0.0 udp dport 67 accept");
  });

  it("on Scaleway, each gateway runs its dnsmasq and each host also installs the option 121 routes (Scaleway's own DHCP answers too); the user-data passes `cloud-init schema`", () => {
    const { userData } = synthesizeValidated(topology);
    const evaluated = (node: string) => {
      const text = evaluateTemplate(userData.get(node) ?? expect.unreachable(`no user-data for ${node}`), (e) => (e.startsWith("jsonencode(") ? '"ssh-ed25519 AAAAC3Nza operator@example"' : "sample"));
      const file = join(dir, `${node}.cloud-init.yaml`);
      writeFileSync(file, text);
      const schema = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
      expect(`${schema.stdout}${schema.stderr}`).toContain(`Valid cloud-config: ${file}`);
      return parseYaml(text) as { packages?: unknown[]; runcmd: string[][]; write_files: { path: string; content: string }[] };
    };
    const gw = evaluated("vpn-gw");
    const unit = gw.write_files.find((f) => f.path === "/etc/systemd/system/wg-ts-dnsmasq-pn-vpc.service")?.content ?? "";
    expect(unit).toContain("ExecStart=/usr/sbin/dnsmasq --keep-in-foreground --conf-file=/etc/wg-ts/dnsmasq-pn-vpc.conf");
    expect(gw.write_files.find((f) => f.path === "/etc/wg-ts/dnsmasq-pn-vpc.conf")?.content).toContain("dhcp-option=121,192.168.1.0/24,192.168.0.10,0.0.0.0/0,192.168.0.10\n");
    expect(gw.runcmd).toContainEqual(["systemctl", "enable", "--now", "wg-ts-dnsmasq-pn-vpc.service"]);
    // Packages come from the retrying wg-ts-packages (cloud/first-boot.ts): dnsmasq-base on its own, after the tunnel.
    expect(gw.write_files.find((f) => f.path === "/usr/local/sbin/wg-ts-packages")?.content).toMatch(/other\) for p in [^;]*\bdnsmasq-base\b/);
    const host = evaluated("test-server");
    const network = host.write_files.find((f) => f.path === "/usr/local/sbin/wg-ts-network")?.content ?? "";
    expect(network).toMatch(/ip route replace 192\.168\.0\.0\/24 via 192\.168\.1\.10 \|\| fail [^\n]*\nip route replace default via 192\.168\.1\.10 \|\| fail /);
  });

  it("renders files the real parsers accept", () => {
    const resolve = labLikeResolver(topology);
    for (const gateway of topology.gateways) {
      const p = plan(gateway.name);
      checkWithParsers(wireguardFile(p, resolve), `sts${gateway.shortName}`);
      checkNftables(p.nftables ?? "", `sts-${gateway.name}`);
    }
  });

  it("dnsmasq (plan file) reserves each host's address and pushes the other site's subnet with option 121 (and the default, which 121 overrides)", () => {
    const file = plan("vpn-gw").files.find((f) => f.path === "/etc/wg-ts/dnsmasq-pn-vpc.conf") ?? expect.unreachable("no dnsmasq file");
    const conf = renderTemplate(file.content, labLikeResolver(topology));
    expect(conf).toContain("listen-address=192.168.0.10\n");
    expect(conf).toContain("port=0\n");
    expect(conf).toContain("dhcp-range=192.168.0.0,static,255.255.255.0,12h\n");
    expect(conf).toContain("dhcp-host=test-instance,192.168.0.20\n");
    expect(conf).toContain("dhcp-option=3,192.168.0.10\n");
    expect(conf).toContain("dhcp-option=121,192.168.1.0/24,192.168.0.10,0.0.0.0/0,192.168.0.10\n");
    const path = join(dir, "dnsmasq.conf");
    writeFileSync(path, conf);
    const check = spawnSync("dnsmasq", ["--test", "-C", path], { encoding: "utf8" });
    expect(check.stderr).toContain("syntax check OK");
    expect(check.status).toBe(0);
  });
});
