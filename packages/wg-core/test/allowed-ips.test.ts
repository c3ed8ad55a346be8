import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AllowedIps, CidrFormatError, formatAddress, formatCidr, parseCidr, parseIpAddress, parseIpPrefix } from "../src/allowed-ips.js";
import { mulberry32 } from "./support/prng.js";


describe("parseCidr / formatCidr", () => {
  const good: [string, string][] = [
    ["10.0.0.1/24", "10.0.0.0/24"],
    ["10.0.0.1", "10.0.0.1/32"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["255.255.255.255/1", "128.0.0.0/1"],
    ["192.168.7.200/29", "192.168.7.200/29"],
    ["192.168.7.207/29", "192.168.7.200/29"],
    [" 10.1.2.3/8 ", "10.0.0.0/8"],
    ["::/0", "::/0"],
    ["::1", "::1/128"],
    ["fd00::1/64", "fd00::/64"],
    ["FD00:0:0:0:0:0:0:1/128", "fd00::1/128"],
    ["2001:db8:0:0:1:0:0:1/128", "2001:db8::1:0:0:1/128"],
    ["2001:db8::1/33", "2001:db8::/33"],
    ["2001:0db8:85a3:0000:0000:8a2e:0370:7334/128", "2001:db8:85a3::8a2e:370:7334/128"],
    ["1:0:1:0:1:0:1:0/128", "1:0:1:0:1:0:1:0/128"],
    ["1::", "1::/128"],
    ["1:2:3:4:5:6:7::/128", "1:2:3:4:5:6:7:0/128"],
    ["::ffff:10.1.2.3/128", "::ffff:10.1.2.3/128"],
    ["::ffff:10.1.2.3/104", "::ffff:10.0.0.0/104"],
    ["fe80::1/10", "fe80::/10"],
    ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/127", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"],
  ];
  it.each(good)("%s → %s", (input, output) => {
    expect(formatCidr(parseCidr(input))).toBe(output);
  });

  it("returns the family, masked bytes and prefix length", () => {
    const c = parseCidr("10.1.2.3/12");
    expect(c.family).toBe(4);
    expect(c.bits).toBe(12);
    expect([...c.bytes]).toEqual([10, 0, 0, 0]);
    const d = parseCidr("fd12:3456::1/20");
    expect(d.family).toBe(6);
    expect(d.bytes).toHaveLength(16);
    expect([...d.bytes.subarray(0, 4)]).toEqual([0xfd, 0x12, 0x30, 0]); // 20 bits: fd 12 3
  });

  const bad = [
    "",
    "10.0.0",
    "10.0.0.0.0",
    "10.0.0.256",
    "10.0.0.01",
    "10.0.0.-1",
    "10.0.0.0/33",
    "10.0.0.0/",
    "10.0.0.0/-1",
    "10.0.0.0/+8",
    "10.0.0.0/08",
    "10.0.0.0/8/8",
    "10.0.0.0/ 8",
    "::/129",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "1::2::3",
    ":1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:",
    "12345::",
    "g::",
    "fe80::1%eth0",
    "::ffff:1.2.3",
    "1.2.3.4::",
    "[::1]",
    "example.com/24",
  ];
  it.each(bad)("rejects %j with a CidrFormatError that names the input", (input) => {
    let error: unknown;
    try {
      parseCidr(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CidrFormatError);
    expect((error as Error).message).toContain(JSON.stringify(input));
  });
});

describe("parseIpPrefix / parseIpAddress (the project's one parser of address text)", () => {
  it("keeps the host bits of an interface address and says whether a length was written", () => {
    const a = parseIpPrefix("10.1.0.1/16");
    expect(a).toMatchObject({ family: 4, bits: 16, lengthWritten: true });
    expect([...a.address]).toEqual([10, 1, 0, 1]);
    const b = parseIpPrefix("fd00::1");
    expect(b).toMatchObject({ family: 6, bits: 128, lengthWritten: false });
    expect(formatAddress(b.address)).toBe("fd00::1");
    expect(parseIpPrefix("10.0.0.2")).toMatchObject({ bits: 32, lengthWritten: false });
  });

  it("parses addresses to 4 or 16 bytes", () => {
    expect([...parseIpAddress("192.0.2.1")]).toEqual([192, 0, 2, 1]);
    expect(formatAddress(parseIpAddress("::ffff:192.0.2.1"))).toBe("::ffff:192.0.2.1");
    expect(parseIpAddress("2001:db8::1")).toHaveLength(16);
  });

  it("takes the text exactly: no white space, prefix, zone or brackets", () => {
    for (const bad of [" 10.0.0.1", "10.0.0.1 "]) expect(() => parseIpPrefix(bad)).toThrow(CidrFormatError);
    for (const bad of ["10.0.0.1/32", " 10.0.0.1", "fe80::1%eth0", "[::1]", "10.0.0.01", ""]) {
      expect(() => parseIpAddress(bad), bad).toThrow(CidrFormatError);
    }
  });

  it("says what is wrong, so callers can word their own messages", () => {
    const refusal = (text: string): CidrFormatError => {
      try {
        parseIpPrefix(text);
      } catch (e) {
        if (e instanceof CidrFormatError) return e;
      }
      throw new Error(`${text} was accepted`);
    };
    expect(refusal("10.0.0.300/24")).toMatchObject({ input: "10.0.0.300/24", problem: "address", family: 4 });
    expect(refusal("10.0.0.0/33")).toMatchObject({ problem: "prefix-length", family: 4 });
    expect(refusal("fd00::/129")).toMatchObject({ problem: "prefix-length", family: 6 });
    expect(refusal("fd00::/129").message).toContain("0 to 128");
    expect(refusal("fd00::g")).toMatchObject({ problem: "address", family: 6 });
  });
});

/** A minimal IPv4 (20-byte) or IPv6 (40-byte) header with the given source and destination. */
function packet(src: Uint8Array, dst: Uint8Array): Uint8Array {
  if (src.length === 4) {
    const p = new Uint8Array(20 + 8);
    p[0] = 0x45;
    p.set(src, 12);
    p.set(dst, 16);
    return p;
  }
  const p = new Uint8Array(40 + 8);
  p[0] = 0x60;
  p.set(src, 8);
  p.set(dst, 24);
  return p;
}

describe("AllowedIps", () => {
  it("routes by longest prefix, replaces identical prefixes, removes", () => {
    const t = new AllowedIps<string>();
    t.insert("10.0.0.0/8", "a");
    t.insert("10.1.0.0/16", "b");
    t.insert("10.1.2.3/32", "c");
    t.insert("0.0.0.0/0", "default");
    t.insert("fd00::/64", "v6");
    t.insert("fd00::/8", "v6wide");
    const v4 = (s: string): Uint8Array => parseCidr(s).bytes;
    expect(t.lookupAddress(v4("10.1.2.3"))).toBe("c");
    expect(t.lookupAddress(v4("10.1.2.4"))).toBe("b");
    expect(t.lookupAddress(v4("10.2.0.0"))).toBe("a");
    expect(t.lookupAddress(v4("11.0.0.0"))).toBe("default");
    expect(t.lookupAddress(parseCidr("fd00::1234").bytes)).toBe("v6");
    expect(t.lookupAddress(parseCidr("fd01::1").bytes)).toBe("v6wide");
    expect(t.lookupAddress(parseCidr("fe00::1").bytes)).toBeUndefined();

    t.insert("10.1.0.0/16", "c"); // moves to c
    expect(t.lookupAddress(v4("10.1.9.9"))).toBe("c");
    expect(t.entries("c")).toEqual(["10.1.2.3/32", "10.1.0.0/16"]); // in the order c received them
    expect(t.entries("b")).toEqual([]);

    expect(t.remove("10.1.0.0/16", "b")).toBe(false); // not b's any more
    expect(t.remove("10.1.0.5/16", "c")).toBe(true); // host bits ignored
    expect(t.remove("10.1.0.0/16")).toBe(false);
    expect(t.lookupAddress(v4("10.1.9.9"))).toBe("a");

    t.removeValue("a");
    expect(t.lookupAddress(v4("10.2.0.0"))).toBe("default");
    expect(t.entries("v6wide")).toEqual(["fd00::/8"]);
    t.clear();
    expect(t.lookupAddress(v4("10.1.2.3"))).toBeUndefined();
    expect(t.entries("c")).toEqual([]);
  });

  it("lists a value's prefixes in the order they were added, like wireguard-go", () => {
    const t = new AllowedIps<string>();
    for (const c of ["fd00::/64", "10.0.0.0/8", "192.168.1.0/24", "10.1.0.0/16"]) t.insert(c, "a");
    t.insert("10.0.0.1/8", "a"); // the same prefix again: keeps its place
    expect(t.entries("a")).toEqual(["fd00::/64", "10.0.0.0/8", "192.168.1.0/24", "10.1.0.0/16"]);
    t.insert("10.0.0.0/8", "b"); // moved: leaves a's list, joins the end of b's
    t.insert("172.16.0.0/12", "b");
    expect(t.entries("a")).toEqual(["fd00::/64", "192.168.1.0/24", "10.1.0.0/16"]);
    expect(t.entries("b")).toEqual(["10.0.0.0/8", "172.16.0.0/12"]);
    t.removeValue("a");
    expect(t.entries("a")).toEqual([]);
    expect(t.lookupAddress(parseCidr("10.1.2.3").bytes)).toBe("b");
    t.remove("10.0.0.0/8");
    t.remove("172.16.0.0/12", "b");
    expect(t.entries("b")).toEqual([]);
    expect(t.isEmpty()).toBe(true);
  });

  it("reads source or destination from IPv4 and IPv6 headers", () => {
    const t = new AllowedIps<string>();
    t.insert("192.168.0.0/24", "lan");
    t.insert("10.0.0.0/8", "vpn");
    t.insert("2001:db8::/32", "doc");
    const a = parseCidr("192.168.0.7").bytes;
    const b = parseCidr("10.9.9.9").bytes;
    expect(t.lookup(packet(a, b), "dst")).toBe("vpn");
    expect(t.lookup(packet(a, b), "src")).toBe("lan");
    const c = parseCidr("2001:db8::1").bytes;
    const d = parseCidr("2001:db9::1").bytes;
    expect(t.lookup(packet(c, d), "src")).toBe("doc");
    expect(t.lookup(packet(c, d), "dst")).toBeUndefined();
    expect(t.lookup(packet(d, c), "dst")).toBe("doc");
  });

  it("returns undefined for truncated and non-IP packets", () => {
    const t = new AllowedIps<string>();
    t.insert("0.0.0.0/0", "any4");
    t.insert("::/0", "any6");
    expect(t.lookup(new Uint8Array(0), "dst")).toBeUndefined();
    expect(t.lookup(Uint8Array.of(0x45), "dst")).toBeUndefined();
    expect(t.lookup(new Uint8Array(19).fill(0x45), "dst")).toBeUndefined();
    expect(t.lookup(new Uint8Array(20).fill(0x45), "dst")).toBe("any4");
    expect(t.lookup(new Uint8Array(39).fill(0x60), "src")).toBeUndefined();
    expect(t.lookup(new Uint8Array(40).fill(0x60), "src")).toBe("any6");
    for (const v of [0x00, 0x10, 0x50, 0x70, 0xf0]) expect(t.lookup(new Uint8Array(60).fill(v), "dst")).toBeUndefined();
    expect(t.lookupAddress(new Uint8Array(5))).toBeUndefined();
  });

  it("keeps IPv4 and IPv6 apart (an IPv4-mapped IPv6 address is IPv6)", () => {
    const t = new AllowedIps<string>();
    t.insert("10.0.0.0/8", "v4");
    expect(t.lookupAddress(parseCidr("::ffff:10.0.0.1").bytes)).toBeUndefined();
  });

  for (const family of [4, 6] as const) {
    for (const seed of [1, 2, 3]) {
      it(`agrees with a brute-force longest-prefix match (IPv${family}, seed ${seed})`, () => {
        const rand = mulberry32(seed * 10 + family);
        const len = family === 4 ? 4 : 16;
        const maxBits = len * 8;
        // A few base addresses, perturbed, so that prefixes nest and overlap a lot.
        const bases = Array.from({ length: 6 }, () => Uint8Array.from({ length: len }, () => Math.floor(rand() * 256)));
        const address = (): Uint8Array => {
          const a = Uint8Array.from(bases[Math.floor(rand() * bases.length)]!);
          const flips = Math.floor(rand() * 4);
          for (let i = 0; i < flips; i++) a[Math.floor(rand() * len)]! ^= 1 << Math.floor(rand() * 8);
          return a;
        };
        const text = (a: Uint8Array, bits: number): string =>
          formatCidr({ family, bytes: a, bits }).replace(/\/\d+$/, `/${bits}`);

        const t = new AllowedIps<number>();
        const reference = new Map<string, { bytes: Uint8Array; bits: number; value: number }>();
        const matches = (addr: Uint8Array, p: { bytes: Uint8Array; bits: number }): boolean => {
          for (let i = 0; i < p.bits; i++) {
            const bit = (x: Uint8Array): number => (x[i >> 3]! >> (7 - (i & 7))) & 1;
            if (bit(addr) !== bit(p.bytes)) return false;
          }
          return true;
        };
        const bruteForce = (addr: Uint8Array): number | undefined => {
          let best: { bits: number; value: number } | undefined;
          for (const p of reference.values()) if (matches(addr, p) && (best === undefined || p.bits > best.bits)) best = p;
          return best?.value;
        };
        const check = (rounds: number): void => {
          for (let i = 0; i < rounds; i++) {
            const a = rand() < 0.8 ? address() : Uint8Array.from({ length: len }, () => Math.floor(rand() * 256));
            const want = bruteForce(a);
            const got = t.lookupAddress(a);
            if (got !== want) throw new Error(`lookup ${text(a, maxBits)}: got ${got}, want ${want}`);
            const p = packet(family === 4 ? new Uint8Array(4) : new Uint8Array(16), a);
            if (t.lookup(p, "dst") !== want) throw new Error(`packet lookup ${text(a, maxBits)}`);
          }
        };

        for (let i = 0; i < 400; i++) {
          const bits = rand() < 0.1 ? Math.floor(rand() * 4) : Math.floor(rand() * (maxBits + 1));
          const parsed = parseCidr(text(address(), bits)); // masks host bits
          const key = formatCidr(parsed);
          const value = Math.floor(rand() * 20);
          t.insert(key, value);
          reference.set(key, { bytes: parsed.bytes, bits: parsed.bits, value });
        }
        check(1500);

        // Remove some prefixes (sometimes naming the wrong owner), then a whole owner.
        const keys = [...reference.keys()];
        for (let i = 0; i < 150; i++) {
          const key = keys[Math.floor(rand() * keys.length)]!;
          const owner = reference.get(key)?.value;
          const claimed = rand() < 0.3 ? 99 : owner;
          const removed = t.remove(key, claimed);
          const shouldRemove = owner !== undefined && claimed === owner;
          expect(removed).toBe(shouldRemove);
          if (shouldRemove) reference.delete(key);
        }
        check(1000);
        t.removeValue(3);
        for (const [k, v] of reference) if (v.value === 3) reference.delete(k);
        check(1000);

        for (let value = 0; value < 20; value++) {
          const want = [...reference.entries()].filter(([, v]) => v.value === value).map(([k]) => k);
          expect(t.entries(value).sort()).toEqual(want.sort());
        }
        // Removing every owner leaves no node behind (the trie stays compacted).
        expect(t.isEmpty()).toBe(false);
        for (let value = 0; value < 20; value++) t.removeValue(value);
        expect(t.isEmpty()).toBe(true);
      });
    }
  }
});

interface GoOp {
  op: "insert" | "assertEQ" | "assertNEQ" | "removeByPeer" | "assertEmpty";
  peer?: string;
  addr?: number[];
  words?: string[];
  cidr?: number;
}
const goCases = JSON.parse(
  readFileSync(new URL("../../../test-vectors/wireguard-go-allowedips.json", import.meta.url), "utf8"),
) as Record<"TestTrieIPv4" | "TestTrieIPv6", GoOp[]>;

describe("AllowedIps against wireguard-go allowedips_test.go (ported from the kernel selftest)", () => {
  /** The address of an op: 4 bytes, or 4 big-endian 32-bit words as written in the Go test. */
  function address(op: GoOp): Uint8Array {
    if (op.addr !== undefined) return Uint8Array.from(op.addr);
    const out = new Uint8Array(16);
    const view = new DataView(out.buffer);
    op.words!.forEach((w, i) => view.setUint32(i * 4, Number(w)));
    return out;
  }
  const cidrOf = (op: GoOp): string => `${formatAddress(address(op))}/${op.cidr}`;

  for (const name of ["TestTrieIPv4", "TestTrieIPv6"] as const) {
    it(name, () => {
      const t = new AllowedIps<string>();
      let checks = 0;
      goCases[name].forEach((op, i) => {
        const where = `${name} op ${i}`;
        switch (op.op) {
          case "insert":
            t.insert(cidrOf(op), op.peer!);
            break;
          case "assertEQ":
            expect(t.lookupAddress(address(op)), where).toBe(op.peer);
            checks++;
            break;
          case "assertNEQ":
            expect(t.lookupAddress(address(op)), where).not.toBe(op.peer);
            checks++;
            break;
          case "removeByPeer":
            t.removeValue(op.peer!);
            break;
          case "assertEmpty":
            expect(t.isEmpty(), where).toBe(true);
            checks++;
            break;
        }
      });
      expect(checks).toBeGreaterThan(5);
    });
  }
});
