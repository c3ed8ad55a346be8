import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, parseEndpoint, resolveConfigPath } from "../src/config.js";
import { toBase64 } from "../src/keys.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith(".conf"));
const KEY = "qCXylTXHz9aF5Cb+qJW/eiLL8oKnxddYMXWpVNuPJ2s=";

function parseError(text: string, file = "wg0.conf"): string {
  try {
    parseConfig(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("wg-quick config corpus (configs from the seeds, fresh keys)", () => {
  it("has fixtures", () => expect(fixtures.length).toBeGreaterThanOrEqual(5));

  for (const f of fixtures) {
    it(`${f}: parses, and strips exactly like \`wg-quick strip\``, () => {
      const text = readFileSync(FIXTURES + f, "utf8");
      const cfg = parseConfig(text, f);
      expect(cfg.interface.privateKey).toHaveLength(32);
      expect(cfg.peers.length).toBeGreaterThan(0);
      const reference = execFileSync("wg-quick", ["strip", FIXTURES + f], { encoding: "utf8" });
      // wg-quick prints it with `echo "$WG_CONFIG"`, hence one more newline.
      expect(cfg.stripped + "\n").toBe(reference);
    });
  }

  it("reads every field of the hub gateway", () => {
    const cfg = parseConfig(readFileSync(FIXTURES + "hub-gateway.conf", "utf8"), "hub-gateway.conf");
    expect(cfg.interface.addresses).toEqual(["192.168.1.1/24", "fd00:1::1/64"]);
    expect(cfg.interface.listenPort).toBe(52345);
    expect(cfg.interface.mtu).toBe(1380);
    expect(cfg.interface.fwMark).toBe(0x1234);
    expect(cfg.interface.table).toBe("auto");
    expect(cfg.interface.postUp).toEqual(["sysctl -w net.ipv4.ip_forward=1; nft add table ip nat-%i"]);
    expect(cfg.peers[0]!.presharedKey).toHaveLength(32);
    expect(cfg.peers[0]!.endpoint).toEqual({ host: "2001:db8::2", port: 52345 });
    expect(cfg.peers[0]!.persistentKeepalive).toBe(25);
    expect(cfg.peers[1]!.allowedIps).toEqual(["192.168.1.3/32", "172.16.64.0/23", "172.16.66.0/23"]);
    expect(cfg.peers[1]!.endpoint).toEqual({ host: "spoke-02.example.internal", port: 52345 });
  });

  it("reads case-insensitive keys, DNS search domains, Table=off and keepalive off", () => {
    const cfg = parseConfig(readFileSync(FIXTURES + "meshconf-client.conf", "utf8"), "meshconf-client.conf");
    expect(cfg.interface.dns).toEqual(["10.1.0.1", "fd00::53"]);
    expect(cfg.interface.dnsSearch).toEqual(["corp.example"]);
    expect(cfg.interface.table).toBe("off");
    expect(cfg.peers[0]!.persistentKeepalive).toBe(0);
    expect(cfg.peers[0]!.allowedIps).toEqual(["0.0.0.0/0", "::/0"]);
    expect(toBase64(cfg.interface.privateKey!)).toBe(KEY);
  });
});

describe("config errors name file, line and key, and never the key value", () => {
  it("bad private key", () => {
    const msg = parseError(`[Interface]\nAddress = 10.0.0.1/24\nPrivateKey = ${KEY.slice(0, 40)}\n`);
    expect(msg).toBe("wg0.conf:3: PrivateKey: Key is not the correct length or format");
  });
  it("non-canonical base64 is refused like wg does", () => {
    const bad = KEY.slice(0, 42) + "t=";
    expect(parseError(`[Interface]\nPrivateKey = ${bad}\n`)).toMatch(/^wg0\.conf:2: PrivateKey: /);
  });
  it("a secret never appears in a message", () => {
    const msg = parseError(`[Interface]\nPrivateKey = ${KEY}x\n`);
    expect(msg).not.toContain(KEY.slice(0, 20));
  });
  it("unknown key, key outside a section, unknown section", () => {
    expect(parseError("[Interface]\nListenPrt = 1\n")).toMatch(/^wg0\.conf:2: ListenPrt: Line unrecognized/);
    expect(parseError("ListenPort = 1\n")).toMatch(/^wg0\.conf:1: ListenPort: /);
    expect(parseError("[Interface]\n[Peers]\n")).toMatch(/^wg0\.conf:2: Line unrecognized/);
  });
  it("bad numbers, addresses and endpoints", () => {
    expect(parseError("[Interface]\nListenPort = 70000\n")).toMatch(/^wg0\.conf:2: ListenPort: invalid port/);
    expect(parseError("[Interface]\nMTU = big\n")).toMatch(/^wg0\.conf:2: MTU: /);
    expect(parseError("[Interface]\nAddress = 10.0.0.300/24\n")).toMatch(/^wg0\.conf:2: Address: /);
    expect(parseError("[Interface]\nAddress = 10.0.0.1/33\n")).toMatch(/^wg0\.conf:2: Address: invalid prefix/);
    const peer = `[Interface]\nPrivateKey = ${KEY}\n[Peer]\nPublicKey = ${KEY}\n`;
    expect(parseError(peer + "Endpoint = 10.0.0.1\n")).toMatch(/^wg0\.conf:5: Endpoint: /);
    expect(parseError(peer + "Endpoint = fd00::1:51820\n")).toMatch(/^wg0\.conf:5: Endpoint: IPv6 endpoints need brackets/);
    expect(parseError(peer + "AllowedIPs = 10.0.0.0/8, nope\n")).toMatch(/^wg0\.conf:5: AllowedIPs: /);
    expect(parseError(peer + "PersistentKeepalive = -1\n")).toMatch(/^wg0\.conf:5: PersistentKeepalive: /);
  });
  it("a peer without a public key", () => {
    expect(parseError(`[Interface]\nPrivateKey = ${KEY}\n\n[Peer]\nAllowedIPs = 10.0.0.0/8\n`)).toMatch(
      /^wg0\.conf:4: \[Peer\]: A peer is missing a public key/,
    );
  });
});

describe("endpoints and paths", () => {
  it("parses IPv4, [IPv6] and host names", () => {
    expect(parseEndpoint("1.2.3.4:5")).toEqual({ host: "1.2.3.4", port: 5 });
    expect(parseEndpoint("[fd00::1]:51820")).toEqual({ host: "fd00::1", port: 51820 });
    expect(parseEndpoint("vpn.example.com:443")).toEqual({ host: "vpn.example.com", port: 443 });
    expect(parseEndpoint("1.2.3.4:0")).toHaveProperty("error");
    expect(parseEndpoint("[fd00::1]51820")).toHaveProperty("error");
  });
  it("maps names and paths like wg-quick", () => {
    expect(resolveConfigPath("wg0")).toEqual({ path: "/etc/wireguard/wg0.conf", name: "wg0" });
    expect(resolveConfigPath("./x/hub.conf")).toEqual({ path: "./x/hub.conf", name: "hub" });
    expect(() => resolveConfigPath("./x/this-name-is-too-long.conf")).toThrow(/valid interface name/);
  });
});
