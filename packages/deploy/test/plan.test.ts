import { describe, expect, it } from "vitest";
import {
  buildTopology,
  hubSpokeDescription,
  hubSpokeTopology,
  planTopology,
  renderTemplate,
  describePlaceholder,
  usableHostAddress,
  type Placeholder,
} from "../src/index.js";

const describeAll = (p: Placeholder) => describePlaceholder(p);

describe("reference topology (topology.md numbers)", () => {
  const topology = hubSpokeTopology();

  it("keeps the networks, overlay and gateways of seed 000", () => {
    expect(topology.vpcs.map((v) => [v.name, v.privateNetworks.map((n) => n.cidr)])).toEqual([
      ["hub", ["172.16.188.0/22"]],
      ["spoke-01", ["172.16.32.0/22"]],
      ["spoke-02", ["172.16.64.0/23", "172.16.66.0/23"]],
    ]);
    expect(topology.overlay).toEqual({ cidr: "192.168.1.0/24", port: 52345, mtu: 1380, persistentKeepalive: 25 });
    expect(topology.gateways.map((g) => [g.name, g.overlayIp, g.peers.length])).toEqual([
      ["wireguard-hub", "192.168.1.1", 2],
      ["wireguard-spoke-01", "192.168.1.2", 2],
      ["wireguard-spoke-02", "192.168.1.3", 2],
    ]);
    expect(topology.bastion.sshPort).toBe(61000);
    expect(topology.bastion.attachments).toHaveLength(4);
  });

  it("refuses Scaleway's reserved addresses and bad descriptions", () => {
    expect(() => usableHostAddress("172.16.64.0/23", 1)).toThrow(/reserved/);
    expect(() => usableHostAddress("172.16.64.0/23", 510)).toThrow(/reserved/);
    expect(usableHostAddress("172.16.64.0/23", 509)).toBe("172.16.65.253");
    expect(() => buildTopology({ ...hubSpokeDescription, vpcs: { ...hubSpokeDescription.vpcs, extra: { x: "172.16.33.0/24" } } })).toThrow(/overlap/);
    expect(() => buildTopology({ ...hubSpokeDescription, vpcs: { ...hubSpokeDescription.vpcs, extra: { x: "172.16.200.1/24" } } })).toThrow(/host bits/);
  });
});

describe("node plans", () => {
  const plans = planTopology(hubSpokeTopology());
  const spoke01 = plans.get("wireguard-spoke-01");
  const spoke02 = plans.get("wireguard-spoke-02");
  const hub = plans.get("wireguard-hub");

  it("gives the spokes a default via the hub and direct spoke-to-spoke routes", () => {
    const hubPeer = spoke02?.wireguard?.peers.find((p) => p.name === "wireguard-hub");
    expect(hubPeer?.allowedIps).toEqual(["192.168.1.1/32", "172.16.188.0/22", "0.0.0.0/0"]);
    const s01Peer = spoke02?.wireguard?.peers.find((p) => p.name === "wireguard-spoke-01");
    expect(s01Peer?.allowedIps).toEqual(["192.168.1.2/32", "172.16.32.0/22"]);
    expect(hub?.wireguard?.routes.some((r) => r.to === "0.0.0.0/1")).toBe(false);
    const routes = spoke02?.wireguard?.routes ?? [];
    const defaultIndex = routes.findIndex((r) => r.to === "0.0.0.0/1");
    const pinIndex = routes.findIndex((r) => typeof r.to !== "string");
    expect(pinIndex).toBeGreaterThanOrEqual(0);
    expect(pinIndex).toBeLessThan(defaultIndex);
    expect(routes.filter((r) => r.via.kind === "wireguard").map((r) => r.to)).toEqual([
      "0.0.0.0/1", "128.0.0.0/1", "172.16.188.0/22", "172.16.32.0/22",
    ]);
  });

  it("NATs as topology.md says", () => {
    expect(hub?.nftables).toMatch(/ip saddr \{ 172\.16\.0\.0\/16, 192\.168\.1\.0\/24 \} ip daddr != .* masquerade/);
    expect(spoke02?.nftables).toMatch(/oifname "wg0" ip saddr \{ 172\.16\.64\.0\/23, 172\.16\.66\.0\/23 \} masquerade/);
    expect(spoke01?.nftables).toMatch(/ip daddr 172\.16\.32\.0\/22 ip saddr != 172\.16\.32\.0\/22 masquerade/);
    for (const p of [hub, spoke01, spoke02]) {
      expect(p?.nftables).toContain("tcp option maxseg size set rt mtu");
      expect(p?.sysctls["net.ipv4.conf.all.rp_filter"]).toBe("0");
      expect(p?.sysctls["net.ipv4.ip_forward"]).toBe("1");
    }
  });

  it("keeps secrets as placeholders until a target resolves them", () => {
    const config = spoke01?.files.find((f) => f.path === "/etc/wireguard/wg0.conf");
    expect(config?.mode).toBe(0o600);
    const text = renderTemplate(config?.content ?? [], describeAll);
    expect(text).toContain("PrivateKey = <wireguard-private-key:wireguard-spoke-01>");
    expect(text).toContain("Endpoint = <public-ip:wireguard-hub>:52345");
    expect(text).toContain("MTU = 1380");
    expect(text).toContain("PersistentKeepalive = 25");
    expect(text).toContain("Table = off");
    expect(text).toContain("PostUp = ip route replace <public-ip:wireguard-hub>/32 via <uplink-gateway:wireguard-spoke-01>");
    expect(text).toContain("PostUp = ip route replace 128.0.0.0/1 dev wg0");
    expect(text).toContain("PostUp = ip route replace 172.16.64.0/23 dev wg0");
    const client = plans.get("postgres-client");
    const pgpass = client?.files.find((f) => f.path.endsWith("pgpass"));
    expect(pgpass?.mode).toBe(0o600);
    expect(renderTemplate(pgpass?.content ?? [], describeAll)).toBe("<database-address>:5432:appdb:dbadmin:<database-password>\n");
    expect(client?.routes).toEqual([{ to: "default", via: { kind: "address", address: "172.16.64.10" }, reason: "default route via wireguard-spoke-02" }]);
  });

  it("runs the monitor on spoke-01 only", () => {
    expect(spoke01?.services.map((s) => s.kind)).toEqual(["wireguard", "monitor"]);
    expect(spoke02?.services.map((s) => s.kind)).toEqual(["wireguard"]);
  });
});
