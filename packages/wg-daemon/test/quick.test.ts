import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config.js";
import { resolveEndpoints, setconfRequest, type LoadedConfig } from "../src/quick.js";
import { parseSet } from "../src/uapi-protocol.js";
import { routeOrder } from "../src/netconf.js";

const KEY = "qCXylTXHz9aF5Cb+qJW/eiLL8oKnxddYMXWpVNuPJ2s=";
const PUB = "3vBYnWjuoItv1BJPBi1RfkjRDQk2w5hfLwc4W4lLhGk=";

function loaded(text: string): LoadedConfig {
  return { path: "/x/wg0.conf", name: "wg0", label: "wg0.conf", config: parseConfig(text, "wg0.conf"), warnings: [] };
}

describe("up: from config to the UAPI request", () => {
  it("resolves host names like wg does, and refuses unresolvable ones naming the line", async () => {
    const l = loaded(`[Interface]\nPrivateKey = ${KEY}\n[Peer]\nPublicKey = ${PUB}\nEndpoint = localhost:51820\n`);
    const [ep] = await resolveEndpoints(l);
    expect(ep === "127.0.0.1:51820" || ep === "[::1]:51820").toBe(true);
    const bad = loaded(`[Interface]\nPrivateKey = ${KEY}\n[Peer]\nPublicKey = ${PUB}\nEndpoint = no-such-host.invalid:1\n`);
    await expect(resolveEndpoints(bad)).rejects.toThrow(/^wg0\.conf:3: Endpoint: cannot resolve `no-such-host\.invalid'/);
  });

  it("builds a setconf request the daemon's parser accepts", () => {
    const l = loaded(
      `[Interface]\nPrivateKey = ${KEY}\nListenPort = 5\n[Peer]\nPublicKey = ${PUB}\nPresharedKey = ${KEY}\nAllowedIPs = 10.0.0.1, fd00::/8\nPersistentKeepalive = 25\n`,
    );
    const body = setconfRequest(l.config, ["[fd00::1]:7"]);
    expect(body.startsWith("set=1\n") && body.endsWith("\n\n")).toBe(true);
    const req = parseSet(body.slice(6, -2).split("\n"));
    expect(req.listenPort).toBe(5);
    expect(req.fwmark).toBeUndefined();
    expect(req.replacePeers).toBe(true);
    expect(req.peers[0]!.allowedIps).toEqual(["10.0.0.1/32", "fd00::/8"]);
    expect(req.peers[0]!.endpoint).toEqual({ address: "fd00::1", port: 7 });
    expect(req.peers[0]!.persistentKeepalive).toBe(25);
  });

  it("orders routes like wg-quick (longest prefix first)", () => {
    expect(routeOrder(["0.0.0.0/0", "10.0.0.0/8", "10.1.2.3", "::/0", "10.0.0.0/8"])).toEqual([
      "10.1.2.3/32",
      "10.0.0.0/8",
      "0.0.0.0/0",
      "::/0",
    ]);
  });
});
