import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { main, type CliIo } from "../src/cli.js";
import { EINVAL, EPROTO, parseGet, parseSet, serializeGet, UapiError } from "../src/uapi-protocol.js";
import { formatShowconf } from "../src/format.js";

const hex = (b: number) => b.toString(16).padStart(2, "0").repeat(32);

function setErrno(lines: string[]): number {
  try {
    parseSet(lines);
    return 0;
  } catch (e) {
    expect(e).toBeInstanceOf(UapiError);
    return (e as UapiError).errno;
  }
}

describe("UAPI set=1 parsing (wireguard-go semantics)", () => {
  it("parses a full wg setconf request", () => {
    const req = parseSet([
      `private_key=${hex(1)}`,
      "listen_port=51820",
      "fwmark=4660",
      "replace_peers=true",
      `public_key=${hex(2)}`,
      `preshared_key=${hex(3)}`,
      "endpoint=[fd00::1]:51820",
      "persistent_keepalive_interval=25",
      "replace_allowed_ips=true",
      "allowed_ip=10.0.0.0/8",
      "allowed_ip=fd00::/64",
      `public_key=${hex(4)}`,
      "update_only=true",
      "endpoint=192.0.2.1:1",
      `public_key=${hex(5)}`,
      "remove=true",
    ]);
    expect(req.listenPort).toBe(51820);
    expect(req.fwmark).toBe(4660);
    expect(req.replacePeers).toBe(true);
    expect(req.peers).toHaveLength(3);
    expect(req.peers[0]!.endpoint).toEqual({ address: "fd00::1", port: 51820 });
    expect(req.peers[0]!.allowedIps).toEqual(["10.0.0.0/8", "fd00::/64"]);
    expect(req.peers[0]!.replaceAllowedIps).toBe(true);
    expect(req.peers[1]!.updateOnly).toBe(true);
    expect(req.peers[2]!.remove).toBe(true);
  });

  it("zero keys mean 'none'", () => {
    const req = parseSet([`private_key=${hex(0)}`, `public_key=${hex(2)}`, `preshared_key=${hex(0)}`]);
    expect(req.privateKey).toBeNull();
    expect(req.peers[0]!.presharedKey).toBeNull();
  });

  it("answers -EINVAL / -EPROTO like wireguard-go", () => {
    expect(setErrno(["private_key=zz"])).toBe(EINVAL);
    expect(setErrno(["listen_port=65536"])).toBe(EINVAL);
    expect(setErrno(["bogus=1"])).toBe(EINVAL);
    expect(setErrno(["no equals sign"])).toBe(EPROTO);
    expect(setErrno([`public_key=${hex(2)}`, "allowed_ip=10.0.0.1"])).toBe(EINVAL);
    expect(setErrno([`public_key=${hex(2)}`, "endpoint=host.example:1"])).toBe(EINVAL);
    expect(setErrno([`public_key=${hex(2)}`, "protocol_version=2"])).toBe(EINVAL);
    expect(setErrno([`public_key=${hex(2)}`, "listen_port=1"])).toBe(EINVAL);
  });
});

describe("UAPI get=1 serialisation", () => {
  const state = {
    privateKey: new Uint8Array(32).fill(1),
    listenPort: 51820,
    fwmark: 0,
    peers: [
      {
        publicKey: new Uint8Array(32).fill(2),
        presharedKey: null,
        endpoint: { address: "fd00::2", port: 1234 },
        lastHandshakeAt: 1_700_000_000_123.5,
        txBytes: 10,
        rxBytes: 20,
        persistentKeepalive: 25,
        allowedIps: ["10.0.0.2/32"],
      },
    ],
  };

  it("emits wireguard-go's lines in wireguard-go's order", () => {
    expect(serializeGet(state)).toBe(
      [
        `private_key=${hex(1)}`,
        "listen_port=51820",
        `public_key=${hex(2)}`,
        `preshared_key=${hex(0)}`,
        "protocol_version=1",
        "endpoint=[fd00::2]:1234",
        "last_handshake_time_sec=1700000000",
        "last_handshake_time_nsec=123500000",
        "tx_bytes=10",
        "rx_bytes=20",
        "persistent_keepalive_interval=25",
        "allowed_ip=10.0.0.2/32",
        "errno=0",
        "",
        "",
      ].join("\n"),
    );
  });

  it("round-trips into a showconf that wg accepts shape-wise", () => {
    const conf = formatShowconf(parseGet(serializeGet(state)));
    expect(conf).toContain("[Peer]\nPublicKey = AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\nAllowedIPs = 10.0.0.2/32\nEndpoint = [fd00::2]:1234\nPersistentKeepalive = 25\n");
  });
});

describe("wg-ts genkey/genpsk/pubkey agree with wg", () => {
  function io(stdin = ""): CliIo & { out: string; err: string } {
    const r = {
      out: "",
      err: "",
      stdout: (t: string) => void (r.out += t),
      stderr: (t: string) => void (r.err += t),
      readStdin: async () => stdin,
    };
    return r;
  }

  it("pubkey of a wg genkey key equals wg pubkey", async () => {
    for (let i = 0; i < 3; i++) {
      const priv = execFileSync("wg", ["genkey"], { encoding: "utf8" });
      const theirs = execFileSync("wg", ["pubkey"], { input: priv, encoding: "utf8" });
      const r = io(priv);
      expect(await main(["node", "wg-ts", "pubkey"], r)).toBe(0);
      expect(r.out).toBe(theirs);
    }
  });

  it("wg accepts wg-ts genkey output and derives the same public key", async () => {
    const g = io();
    expect(await main(["node", "wg-ts", "genkey"], g)).toBe(0);
    const theirs = execFileSync("wg", ["pubkey"], { input: g.out, encoding: "utf8" });
    const r = io(g.out);
    await main(["node", "wg-ts", "pubkey"], r);
    expect(r.out).toBe(theirs);
    const p = io();
    expect(await main(["node", "wg-ts", "genpsk"], p)).toBe(0);
    expect(p.out).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
  });

  it("pubkey rejects garbage with a message and exit 1", async () => {
    const r = io("not a key\n");
    expect(await main(["node", "wg-ts", "pubkey"], r)).toBe(1);
    expect(r.err).toMatch(/Key is not the correct length or format/);
  });

  it("unknown commands and missing arguments exit non-zero", async () => {
    expect(await main(["node", "wg-ts", "frobnicate"], io())).not.toBe(0);
    expect(await main(["node", "wg-ts", "up"], io())).not.toBe(0);
  });

  it("up with a broken config names file, line and key and creates nothing", async () => {
    const r = io();
    const code = await main(["node", "wg-ts", "up", "/nonexistent-dir/wgx9.conf"], r);
    expect(code).toBe(1);
    expect(r.err).toMatch(/wgx9\.conf' does not exist/);
  });
});
