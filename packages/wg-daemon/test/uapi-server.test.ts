/**
 * The UAPI server on a real unix socket (in a temp dir) in front of an Engine with a real core
 * Device over in-memory TUN/bind: wireguard-go's answers, several operations per connection, and
 * random garbage that must never crash the daemon or change its state.
 */
import { randomBytes, randomFillSync } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryBind, MemoryTun } from "./support/memory-devices.js";
import { Engine } from "../src/engine.js";
import { generatePrivateKey, publicKey, toHex } from "../src/keys.js";
import { uapiRequest, UapiServer } from "../src/uapi.js";
import { parseGet } from "../src/uapi-protocol.js";

const dir = mkdtempSync(`${tmpdir()}/wgts-uapi-`);
const path = `${dir}/sub/wgu0.sock`;
const engine = new Engine({ tun: new MemoryTun(), bind: new MemoryBind(), random: (b) => void randomFillSync(b) });
const server = new UapiServer(path, engine);
const priv = generatePrivateKey();
const peer = toHex(publicKey(generatePrivateKey()));

/** Sends raw bytes, returns everything received until the server closes or goes quiet. */
function raw(bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(path);
    let got = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => (got += d));
    s.on("error", () => resolve(got));
    s.on("close", () => resolve(got));
    s.on("connect", () => {
      s.write(bytes);
      setTimeout(() => s.end(), 30);
    });
  });
}

beforeAll(async () => {
  await engine.start(51820);
  await server.listen();
});
afterAll(() => {
  server.close();
  engine.stop();
});

describe("UAPI server", () => {
  it("creates its directory 0700 and the socket 0700", () => {
    expect(statSync(`${dir}/sub`).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o700);
  });

  it("set then get, several operations on one connection", async () => {
    const answer = await raw(
      `set=1\nprivate_key=${toHex(priv)}\npublic_key=${peer}\nallowed_ip=10.0.0.2/32\nendpoint=192.0.2.1:51820\n\nget=1\n\n`,
    );
    expect(answer.startsWith("errno=0\n\n")).toBe(true);
    const get = parseGet(answer.slice("errno=0\n\n".length));
    expect(get.errno).toBe(0);
    expect(get.device.get("private_key")).toBe(toHex(priv));
    expect(get.device.get("listen_port")).toBe("51820");
    expect(get.peers[0]!.get("allowed_ip")).toEqual(["10.0.0.2/32"]);
    expect(get.peers[0]!.get("endpoint")).toEqual(["192.0.2.1:51820"]);
  });

  it("a bad request answers an errno and changes nothing", async () => {
    const before = await uapiRequest(path, "get=1\n\n");
    expect(await uapiRequest(path, `set=1\nreplace_peers=true\npublic_key=${peer}\nallowed_ip=300.1.1.1/8\n\n`)).toBe("errno=-22\n\n");
    expect(await uapiRequest(path, "get=1\n\n")).toBe(before);
    expect(await uapiRequest(path, "get=1\nx")).toBe("errno=-22\n\n");
  });

  it("survives random garbage and keeps its state", async () => {
    const before = await uapiRequest(path, "get=1\n\n");
    for (let i = 0; i < 200; i++) {
      const junk = i % 2 ? randomBytes(1 + (i % 300)) : Buffer.from(`set=1\n${randomBytes(20).toString("latin1")}\n\n`, "latin1");
      await raw(junk);
    }
    await raw("set=1\n" + "a=b\n".repeat(10));
    expect(await uapiRequest(path, "get=1\n\n")).toBe(before);
    expect([...server.errors.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});

describe("UAPI server: the socket file's removal", () => {
  const until = async (ok: () => boolean, ms = 3000): Promise<boolean> => {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 10))) if (ok()) return true;
    return ok();
  };

  for (const [what, remove] of [
    ["the socket file deleted", (p: string) => rmSync(p)],
    ["its directory deleted", (p: string) => rmSync(p.slice(0, p.lastIndexOf("/")), { recursive: true })],
  ] as const) {
    it(`${what}: the watcher calls back once`, async () => {
      const other = `${mkdtempSync(`${tmpdir()}/wgts-uapi-gone-`)}/run/wgg0.sock`;
      const s = new UapiServer(other, engine);
      await s.listen();
      let gone = 0;
      const stop = s.watchRemoval(() => gone++);
      try {
        await new Promise((r) => setTimeout(r, 50));
        expect(gone).toBe(0); // present: nothing
        remove(other);
        expect(await until(() => gone > 0)).toBe(true);
        await new Promise((r) => setTimeout(r, 100));
        expect(gone).toBe(1);
      } finally {
        stop();
        s.close(false);
      }
    });
  }

  it("after stop, a removal is not reported", async () => {
    const other = `${mkdtempSync(`${tmpdir()}/wgts-uapi-gone-`)}/run/wgg1.sock`;
    const s = new UapiServer(other, engine);
    await s.listen();
    let gone = 0;
    s.watchRemoval(() => gone++)();
    rmSync(other);
    await new Promise((r) => setTimeout(r, 200));
    expect(gone).toBe(0);
    s.close(false);
  });
});
