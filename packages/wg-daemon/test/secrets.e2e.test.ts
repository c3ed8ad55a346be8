/**
 * Secrets: private keys and PSKs never reach a log line, an error message, a command line or an
 * environment; every file wg-ts writes is 0600 (SaveConfig, its log); the UAPI socket refuses
 * other users (a connect as `nobody` gets EACCES). Namespaces wgh4a/b, wg-ts <-> wireguard-go.
 */
import { readFileSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uapiRequest } from "../src/uapi.js";
import { daemonPid, dump, inNs, logPath, nsSh, ping, run, wgTs, writeConf } from "./support/lab.js";
import { confA, daemonLog, secretForms, startPair, stopPair, upA, type Pair } from "./support/hostile/pair.js";

let p: Pair;
const sock = (): string => `/var/run/wireguard/${p.ifA}.sock`;
const hex = (b64: string): string => Buffer.from(b64, "base64").toString("hex");

/** No 12-character window of any secret (base64 or hex) occurs in `text`. */
function expectNoSecret(text: string): void {
  for (const s of secretForms(p)) {
    for (let i = 0; i + 12 <= s.length; i += 4) expect(text, `a piece of a secret leaked`).not.toContain(s.slice(i, i + 12));
  }
}

beforeAll(() => {
  p = startPair("wgh4", 154);
});

afterAll(() => {
  if (p) stopPair(p);
});

describe("secrets", () => {
  it("the UAPI socket is closed to other users: `nobody` gets EACCES", () => {
    const st = statSync(sock());
    expect(st.mode & 0o077).toBe(0);
    // (/var/run/wireguard itself is shared: wireguard-go creates it 0755; the socket is what counts.)
    const asNobody = (args: string[]) =>
      run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", ...args]);
    const r = asNobody([
      process.execPath, "-e",
      `require("net").connect(${JSON.stringify(sock())}).on("connect",()=>{console.log("CONNECTED");process.exit(0)}).on("error",(e)=>{console.log(e.code);process.exit(1)})`,
    ]);
    expect(r.stdout.trim()).toBe("EACCES");
    const show = asNobody(["wg", "show", p.ifA, "private-key"]);
    expect(show.status).not.toBe(0);
    expect(show.stdout + show.stderr).not.toContain(p.ka.priv);
    // root still gets in
    expect(nsSh(p.nsA, "wg", ["show", p.ifA, "private-key"]).trim()).toBe(p.ka.priv);
  });

  it("the daemon's command line and environment hold no key; its log is 0600", () => {
    const pid = daemonPid(p.ifA);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    const environ = readFileSync(`/proc/${pid}/environ`, "utf8");
    expectNoSecret(cmdline + environ);
    expect(statSync(logPath(p.ifA)).mode & 0o777).toBe(0o600);
  });

  it("bad keys over UAPI: errno answers, and the log names no key material", async () => {
    const before = daemonLog(p.ifA).length;
    const bad = hex(p.ka.priv).slice(0, 63) + "g"; // one character off
    const answers = [
      await uapiRequest(sock(), `set=1\nprivate_key=${bad}\n\n`),
      await uapiRequest(sock(), `set=1\npublic_key=${hex(p.kb.pub)}\npreshared_key=${hex(p.psk).slice(1)}\n\n`),
      // A client that lost the `private_key=` prefix: the key itself in the key position.
      await uapiRequest(sock(), `set=1\n${hex(p.ka.priv)}=1\n\n`),
      await uapiRequest(sock(), `set=1\n${hex(p.psk)}_x=${hex(p.psk)}\n\n`),
    ];
    expect(answers).toEqual(["errno=-22\n\n", "errno=-22\n\n", "errno=-22\n\n", "errno=-22\n\n"]);
    const log = daemonLog(p.ifA).slice(before);
    expect(log).toMatch(/UAPI set failed/);
    expectNoSecret(log);
    // Nothing changed.
    expect(nsSh(p.nsA, "wg", ["show", p.ifA, "private-key"]).trim()).toBe(p.ka.priv);
    expect(dump(p.nsA, p.ifA).peers[0]!.psk).toBe(p.psk);
  });

  it("a mistyped key in the config: the error names file, line and key, never the value", () => {
    const conf = `${p.dir}/wgh4y.conf`;
    for (const [what, text] of [
      ["private key one char off", confA(p).replace(p.ka.priv, p.ka.priv.slice(0, 42) + "!=")],
      ["private key truncated", confA(p).replace(p.ka.priv, p.ka.priv.slice(0, 40))],
      ["psk non-canonical", confA(p).replace(`PresharedKey = ${p.psk}`, `PresharedKey = ${p.psk.slice(0, 42)}/=`)],
      ["psk with a trailing word", confA(p).replace(`PresharedKey = ${p.psk}`, `PresharedKey = ${p.psk} extra`)],
    ] as const) {
      writeConf(conf, text);
      const r = wgTs(p.nsA, ["up", conf]);
      expect(r.status, what).not.toBe(0);
      expect(r.stderr, what).toMatch(/wgh4y\.conf:\d+: (PrivateKey|PresharedKey): /);
      expectNoSecret(r.stdout + r.stderr);
      p.logs.push(r.stderr);
    }
  });

  it("SaveConfig writes the config 0600 (even over a 0644 file) and logs no key", () => {
    expect(wgTs(p.nsA, ["down", p.confA]).status).toBe(0);
    writeConf(p.confA, confA(p).replace("[Peer]", "SaveConfig = true\n\n[Peer]"), 0o644);
    const up = upA(p); // warns about the mode, comes up
    expect(up.stderr).toMatch(/readable by group or others|world accessible/);
    nsSh(p.nsA, "wg", ["set", p.ifA, "peer", p.kb.pub, "persistent-keepalive", "17"]);
    const down = wgTs(p.nsA, ["down", p.confA]);
    p.logs.push(down.stderr);
    expect(down.status, down.stderr).toBe(0);
    expect(statSync(p.confA).mode & 0o777).toBe(0o600);
    const saved = readFileSync(p.confA, "utf8");
    expect(saved).toContain("PersistentKeepalive = 17");
    expect(saved).toContain(p.ka.priv); // it is the config: the key belongs there, 0600
    expectNoSecret(up.stdout + up.stderr + down.stdout + down.stderr);
    upA(p);
    expect(ping(p.nsA, p.tb, { count: 3, wait: 6 })).toBe(true);
  });

  it("nothing the daemon or `wg-ts` printed in this suite contains a secret", () => {
    const all = daemonLog(p.ifA) + p.logs.join("\n") + wgTs(p.nsA, ["show"]).stdout + inNs(p.nsA, "wg", ["show", p.ifA]).stdout;
    expect(all).toContain(p.ifA);
    expectNoSecret(all);
  });
});
