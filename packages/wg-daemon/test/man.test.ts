/**
 * The man page (man/wg-ts.8, shipped in the wg-ts npm tarball) describes what the CLI offers: every
 * command of the command table in SYNOPSIS and COMMANDS, every `bin` of package.json, every WG_TS_*
 * variable the daemon reads under ENVIRONMENT, and the files and pages it refers to.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { program } from "../src/cli.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const man = readFileSync(join(root, "man", "wg-ts.8"), "utf8");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { bin: Record<string, string> };

/** The roff source of section NAME (from `.SH NAME` to the next `.SH`). */
function section(name: string): string {
  const start = man.indexOf(`\n.SH ${name}\n`);
  if (start < 0) return "";
  const end = man.indexOf("\n.SH ", start + 1);
  return man.slice(start, end < 0 ? undefined : end);
}

/** Every .ts file under dir (relative paths). */
function sources(dir: string, rel = ""): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(dir, join(rel, e.name)) : e.name.endsWith(".ts") ? [join(rel, e.name)] : [],
  );
}

describe("man/wg-ts.8", () => {
  const commands = program({ stdout: () => {}, stderr: () => {}, readStdin: async () => "" }, () => {}).commands.map((c) => c.name());

  it("has the sections of a section-8 page", () => {
    expect(man).toMatch(/^\.TH WG-TS 8 /m);
    for (const name of ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "ENVIRONMENT", "FILES", "SEE ALSO"]) expect(section(name), name).not.toBe("");
  });

  it("lists every command of the command table in SYNOPSIS and describes it under COMMANDS", () => {
    expect(commands.length).toBeGreaterThan(5);
    for (const name of commands) {
      expect(section("SYNOPSIS"), name).toContain(`.B wg-ts ${name}\n`);
      expect(section("COMMANDS"), name).toMatch(new RegExp(`^\\.TP\\n\\.B[IR]? ${name}\\b`, "m"));
    }
  });

  it("names every program package.json installs", () => {
    for (const bin of Object.keys(manifest.bin)) expect(section("SYNOPSIS"), bin).toMatch(new RegExp(`^\\.B ${bin}\\b`, "m"));
  });

  it("documents every WG_TS_* variable the CLI and daemon read", () => {
    const read = new Set<string>();
    for (const file of sources(join(root, "src"))) {
      for (const m of readFileSync(join(root, "src", file), "utf8").matchAll(/\bWG_TS_[A-Z][A-Z_]*\b/g)) read.add(m[0]);
    }
    expect([...read].sort()).toEqual(expect.arrayContaining(["WG_TS_GSO_SEGMENTS", "WG_TS_TEST_RX_CRASH_AFTER_REPLAYS", "WG_TS_WORKERS"])); // the scan finds them
    for (const variable of read) expect(section("ENVIRONMENT"), variable).toContain(`.B ${variable}\n`);
  });

  it("refers to the configuration, the UAPI socket, the unit, wg(8) and wg-quick(8)", () => {
    expect(section("FILES")).toContain("/etc/wireguard/NAME.conf");
    expect(section("FILES")).toContain("/var/run/wireguard/IFNAME.sock");
    expect(section("FILES")).toContain("systemd/wg-ts@.service");
    expect(section("SEE ALSO")).toContain(".BR wg (8)");
    expect(section("SEE ALSO")).toContain(".BR wg-quick (8)");
  });
});
