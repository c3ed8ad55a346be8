import { describe, expect, it } from "vitest";
import { computeOutputs, hubSpokeTopology, redactOutputs, formatOutputs } from "../src/index.js";
import { labFilePath, labLayout, labWireguardInterface } from "../src/lab/layout.js";
import { normalizeArgv, main } from "../src/cli.js";
import type { DeployIo } from "../src/target.js";
import { siteToSiteTopology } from "../src/topologies/index.js";
import { ownerAlias, parseOwnerAlias } from "../src/lab/owner.js";

describe("lab layout of site-to-site: the on-premise gateway behind a NAT router", () => {
  const topology = siteToSiteTopology();
  const layout = labLayout(topology, "/run/wg-ts-lab-test");

  it("puts a router namespace with the public address in front of the gateway behind NAT only", () => {
    expect([...layout.natRouters.values()]).toEqual([
      {
        node: "vpn-client-nat",
        namespace: "wgts-vpn-client-nat",
        gateway: "vpn-client",
        publicIp: "203.0.113.11",
        insideCidr: "100.64.0.0/24",
        insideAddress: "100.64.0.1",
        gatewayAddress: "100.64.0.2",
        internetPort: "nat0",
      },
    ]);
    expect(layout.namespaces.get("vpn-client-nat")).toBe("wgts-vpn-client-nat");
    // the gateway has no port of its own in the internet bridge; its router does
    expect([...layout.uplinkPorts.keys()].sort()).toEqual(["bastion", "vpn-gw"]);
    const internetPorts = [...layout.uplinkPorts.values(), ...[...layout.natRouters.values()].map((r) => r.internetPort)];
    expect(new Set(internetPorts).size).toBe(internetPorts.length);
  });
});

describe("lab owner mark (the internet bridge's alias)", () => {
  it("round-trips topology and state dir, and ignores anything else", () => {
    const owner = { topology: "site-to-site", stateDir: "/run/wg-ts-lab" };
    expect(parseOwnerAlias(ownerAlias(owner))).toEqual(owner);
    expect(parseOwnerAlias("some other alias")).toBeUndefined();
    expect(ownerAlias(owner).length).toBeLessThan(256); // IFALIASZ
  });
});

describe("lab layout of the reference topology", () => {
  const topology = hubSpokeTopology();
  const layout = labLayout(topology, "/run/wg-ts-lab-test");

  it("names one wgts-<host> namespace per machine plus the internet", () => {
    expect([...layout.namespaces.values()].sort()).toEqual(
      ["bastion", "internet", "postgres-client", "rdb", "wireguard-hub", "wireguard-spoke-01", "wireguard-spoke-02"].map((n) => `wgts-${n}`).sort(),
    );
  });

  it("uses device names Linux accepts, unique where they share a namespace", () => {
    const names = [
      ...layout.attachments.flatMap((a) => [a.device, a.bridgePort]),
      ...layout.bridges.values(),
      ...layout.uplinkPorts.values(),
      ...topology.gateways.map(labWireguardInterface),
    ];
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_.-]{1,15}$/);
    const fabricSide = [...layout.attachments.map((a) => a.bridgePort), ...layout.bridges.values()];
    expect(new Set(fabricSide).size).toBe(fabricSide.length);
    expect(new Set(layout.uplinkPorts.values()).size).toBe(layout.uplinkPorts.size);
    expect(topology.gateways.map(labWireguardInterface)).toEqual(["wg-hub", "wg-s01", "wg-s02"]);
  });

  it("gives public documentation-range addresses to the bastion and the gateways only", () => {
    expect(Object.fromEntries(layout.publicIps)).toEqual({
      bastion: "203.0.113.2",
      "wireguard-hub": "203.0.113.10",
      "wireguard-spoke-01": "203.0.113.11",
      "wireguard-spoke-02": "203.0.113.12",
    });
  });

  it("relocates plan files under the state dir", () => {
    expect(labFilePath(layout, "rdb", "/etc/x.conf")).toBe("/run/wg-ts-lab-test/nodes/rdb/fs/etc/x.conf");
  });
});

describe("outputs", () => {
  const outputs = computeOutputs(hubSpokeTopology(), {
    publicIp: (node) => `ip-of-${node}`,
    databasePassword: "s3cret-password",
    sshCommand: (node, ip) => `ssh ${node} ${ip}`,
    statusCommand: (node) => `wg show on ${node}`,
  });

  it("keeps the seed's names and values", () => {
    expect(Object.keys(outputs)).toEqual([
      "public_ips", "database_connection", "database_password", "ssh_commands", "wireguard_network", "vpn_subnets", "wireguard_status_commands",
    ]);
    expect(outputs.database_connection).toEqual({ host: "172.16.32.20", port: 5432, user: "dbadmin", password: "s3cret-password", database: "appdb" });
    expect(outputs.vpn_subnets["spoke-02"]).toEqual(["172.16.64.0/23", "172.16.66.0/23"]);
    expect(outputs.ssh_commands["postgres-client"]).toBe("ssh postgres-client 172.16.64.20");
  });

  it("redacts the sensitive ones in the text form", () => {
    const text = formatOutputs(redactOutputs(outputs));
    expect(text).not.toContain("s3cret-password");
    expect(text).toContain("database_password: (sensitive value)");
  });
});

describe("cli", () => {
  it("drops the literal -- pnpm keeps after the subcommand, and only that one", () => {
    expect(normalizeArgv(["up", "--", "--target", "scaleway"])).toEqual(["up", "--target", "scaleway"]);
    expect(normalizeArgv(["exec", "rdb", "--", "ls"])).toEqual(["exec", "rdb", "--", "ls"]);
    expect(normalizeArgv(["--", "up"])).toEqual(["--", "up"]);
  });

  function capture(): DeployIo & { out: string; err: string } {
    const io = { out: "", err: "", env: {}, cwd: "/", stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) };
    return io;
  }

  it("prints node plans with placeholders, never a resolved secret", async () => {
    const io = capture();
    expect(await main(["node", "wg-deploy", "plan", "wireguard-hub"], io)).toBe(0);
    expect(io.out).toContain("PrivateKey = <wireguard-private-key:wireguard-hub>");
    expect(io.out).toContain("masquerade");
  });

  it("rejects unknown targets, topologies and nodes with the known names", async () => {
    let io = capture();
    expect(await main(["node", "wg-deploy", "up", "--", "--target", "nowhere"], io)).toBe(1);
    expect(io.err).toMatch(/unknown target "nowhere" \(known: lab/);
    io = capture();
    expect(await main(["node", "wg-deploy", "plan", "--topology", "nothing"], io)).toBe(1);
    expect(io.err).toMatch(/unknown topology "nothing" \(known: hub-spoke/);
    io = capture();
    expect(await main(["node", "wg-deploy", "plan", "nobody"], io)).toBe(1);
    expect(io.err).toContain('no node named "nobody"');
  });
});
