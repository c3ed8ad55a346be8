// Endpoint text and address literals (endpoint.ts, allowed-ips.ts parseIpLiteral): one rule for
// the daemon's config, its UAPI, wg-deploy's mesh database, cookies and the routing table.
import { describe, expect, it } from "vitest";
import { CidrFormatError, parseIpAddress, parseIpLiteral } from "../src/allowed-ips.js";
import { addressBytes, formatEndpointText, parseEndpointHost, parseEndpointText } from "../src/endpoint.js";

const bytes = (b: Uint8Array | null): number[] | null => (b === null ? null : [...b]);
const ipv4Mapped = [...Array<number>(10).fill(0), 0xff, 0xff, 192, 0, 2, 1];

describe("address literals: addressBytes and parseIpAddress share one parser", () => {
  const good: [string, number[]][] = [
    ["0.0.0.0", [0, 0, 0, 0]],
    ["255.255.255.255", [255, 255, 255, 255]],
    ["::", Array<number>(16).fill(0)],
    ["::1", [...Array<number>(15).fill(0), 1]],
    ["1:2:3:4:5:6:7::", [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0]],
    ["FE80::A", [0xfe, 0x80, ...Array<number>(13).fill(0), 0x0a]],
    ["::ffff:192.0.2.1", ipv4Mapped], // IPv4-mapped stays 16 bytes
    ["::ffff:c000:201", ipv4Mapped],
    ["1:2:3:4:5:6:192.0.2.1", [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 192, 0, 2, 1]],
  ];
  it.each(good)("%s", (text, expected) => {
    expect(bytes(addressBytes(text))).toEqual(expected);
    expect(bytes(parseIpAddress(text))).toEqual(expected);
    expect(bytes(parseIpLiteral(text))).toEqual(expected);
  });

  const bad = [
    "",
    "1.2.3",
    "1.2.3.4.5",
    "1.2.3.256",
    "010.0.0.1", // leading zeros: ambiguous (inet_aton reads octal), refused like Go's netip and node's isIP
    "1.2.3.04",
    "::ffff:01.2.3.4",
    "1.2.3.4::", // embedded IPv4 only in the last 32 bits
    "1.2.3.4::1",
    "1::2::3",
    "1:::2",
    "12345::",
    "1::2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:1.2.3.4",
    "[::1]",
    " ::1",
    "host.example",
  ];
  it.each(bad)("refuses %j", (text) => {
    expect(addressBytes(text)).toBeNull();
    expect(parseIpLiteral(text)).toBeNull();
    expect(() => parseIpAddress(text)).toThrow(CidrFormatError);
  });

  it("zones: addressBytes ignores an IPv6 zone (any text after %); parseIpAddress refuses one", () => {
    const fe80 = [0xfe, 0x80, ...Array<number>(13).fill(0), 1];
    expect(bytes(addressBytes("fe80::1%eth0"))).toEqual(fe80);
    expect(bytes(addressBytes("fe80::1%"))).toEqual(fe80);
    expect(addressBytes("192.0.2.1%eth0")).toBeNull();
    expect(() => parseIpAddress("fe80::1%eth0")).toThrow(CidrFormatError);
  });
});

describe("parseEndpointText", () => {
  it("reads IPv4, bracketed IPv6 (with a zone) and host names", () => {
    expect(parseEndpointText("192.0.2.1:51820")).toEqual({ host: "192.0.2.1", family: 4, port: 51820 });
    expect(parseEndpointText("[fd00::1]:1")).toEqual({ host: "fd00::1", family: 6, port: 1 });
    expect(parseEndpointText("[::ffff:192.0.2.1]:7")).toEqual({ host: "::ffff:192.0.2.1", family: 6, port: 7 });
    expect(parseEndpointText("[fe80::1%wg_0]:7")).toEqual({ host: "fe80::1%wg_0", family: 6, port: 7 });
    expect(parseEndpointText("vpn.example.com:443")).toEqual({ host: "vpn.example.com", family: null, port: 443 });
    expect(parseEndpointText("example.com.:443")).toEqual({ host: "example.com.", family: null, port: 443 });
    // Not an address (an octet over 255) but a valid name: resolved, or refused, by the caller.
    expect(parseEndpointText("1.2.3.999:1")).toEqual({ host: "1.2.3.999", family: null, port: 1 });
  });

  it("reads the port as decimal 0..65535 (port 0 is the caller's to refuse)", () => {
    expect(parseEndpointText("192.0.2.1:0")).toMatchObject({ port: 0 });
    expect(parseEndpointText("192.0.2.1:65535")).toMatchObject({ port: 65535 });
    expect(parseEndpointText("192.0.2.1:051820")).toMatchObject({ port: 51820 });
  });

  const problems: [string, string][] = [
    ["[fd00::1]51820", "brackets"],
    ["[fd00::1", "brackets"],
    ["192.0.2.1", "no-port"],
    [":51820", "no-port"],
    ["[192.0.2.1]:1", "ipv6-address"],
    ["[host.example]:1", "ipv6-address"],
    ["[fe80::1%]:1", "ipv6-address"],
    ["[fe80::1%a b]:1", "ipv6-address"],
    ["[010.0.0.1]:1", "ipv6-address"],
    ["fd00::1:51820", "ipv6-unbracketed"],
    ["host_name:1", "host"],
    ["-host:1", "host"],
    ["a..b:1", "host"],
    [`${"a".repeat(254)}:1`, "host"],
    ["192.0.2.1:", "port"],
    ["192.0.2.1:65536", "port"],
    ["192.0.2.1:0x10", "port"],
    ["192.0.2.1:-1", "port"],
    ["192.0.2.1: 1", "port"],
    ["[fd00::1]:x", "port"],
  ];
  it.each(problems)("%j: %s", (text, problem) => {
    expect(parseEndpointText(text)).toEqual({ problem });
  });

  it("names the host's problem before the port's", () => {
    expect(parseEndpointText("[192.0.2.1]:x")).toEqual({ problem: "ipv6-address" });
    expect(parseEndpointText("host_name:x")).toEqual({ problem: "host" });
  });
});

describe("parseEndpointHost (a host without its port)", () => {
  it("takes IPv4, IPv6 with or without brackets, and host names", () => {
    expect(parseEndpointHost("192.0.2.1")).toEqual({ host: "192.0.2.1", family: 4 });
    expect(parseEndpointHost("fd00::1")).toEqual({ host: "fd00::1", family: 6 });
    expect(parseEndpointHost("[fd00::1]")).toEqual({ host: "fd00::1", family: 6 });
    expect(parseEndpointHost("fe80::1%eth0")).toEqual({ host: "fe80::1%eth0", family: 6 });
    expect(parseEndpointHost("tokyo1.com")).toEqual({ host: "tokyo1.com", family: null });
  });

  it.each(["", "[192.0.2.1]", "[tokyo1.com]", "tokyo1.com:51820", "[fd00::1]:51820", "192.0.2.1:1", "bad host", "fd00::1%"])("refuses %j", (text) => {
    expect(parseEndpointHost(text)).toBeNull();
  });
});

describe("formatEndpointText", () => {
  it("brackets IPv6 hosts only, and reads back", () => {
    for (const text of ["192.0.2.1:51820", "[fd00::1]:1", "[fe80::1%eth0]:7", "vpn.example.com:443"]) {
      const ep = parseEndpointText(text);
      if ("problem" in ep) throw new Error(`${text}: ${ep.problem}`);
      expect(formatEndpointText(ep.host, ep.port)).toBe(text);
    }
  });
});
