import { describe, expect, it } from "vitest";
import { hopsFromCaptures, medianHops, NO_HOPS, parseIcmp, parseUdp } from "../src/macro/hops.js";

// The macro bench's per-hop reading of three tcpdump captures (`-n -tt`): A's TUN, the veth, B's TUN.
const underlay = { a: "10.213.0.1", b: "10.213.0.2" };
const icmp = (t: string, kind: "request" | "reply", seq: number): string =>
  kind === "request"
    ? `${t} IP 10.214.0.1 > 10.214.0.2: ICMP echo request, id 4242, seq ${seq}, length 64`
    : `${t} IP 10.214.0.2 > 10.214.0.1: ICMP echo reply, id 4242, seq ${seq}, length 64`;
const udp = (t: string, from: "a" | "b", length: number): string =>
  from === "a" ? `${t} IP 10.213.0.1.51820 > 10.213.0.2.51821: UDP, length ${length}` : `${t} IP 10.213.0.2.51821 > 10.213.0.1.51820: UDP, length ${length}`;

describe("hopsFromCaptures", () => {
  it("times each hop of every ping seen everywhere, µs medians", () => {
    const aTun = [
      "tcpdump: verbose output suppressed, use -v[v]... for full protocol decode",
      icmp("100.000100", "request", 1), icmp("100.001300", "reply", 1),
      icmp("100.050100", "request", 2), icmp("100.051100", "reply", 2),
      icmp("100.100100", "request", 3), icmp("100.101500", "reply", 3),
    ].join("\n");
    const veth = [
      // ping 1: A waited for a handshake (initiation 148, response 92) before its packet left
      udp("100.000200", "a", 148), udp("100.000350", "b", 92), udp("100.000500", "a", 128), udp("100.001000", "b", 128),
      // ping 2, then a keepalive from B that must not be taken for the reply's datagram
      udp("100.050500", "a", 128), udp("100.050800", "b", 128), udp("100.050900", "b", 32),
      // ping 3
      udp("100.100400", "a", 128), udp("100.101200", "b", 128),
    ].join("\n");
    const bTun = [
      icmp("100.000800", "request", 1), icmp("100.000830", "reply", 1),
      icmp("100.050700", "request", 2), icmp("100.050725", "reply", 2),
      icmp("100.100600", "request", 3), icmp("100.100620", "reply", 3),
    ].join("\n");
    const h = hopsFromCaptures(aTun, veth, bTun, underlay);
    // per ping: A tx 400/400/300, B rx 300/200/200, B kernel 30/25/20, B tx 170/75/580, A rx 300/300/300
    expect(h).toEqual({ aTx: 400, bRx: 200, bKernel: 25, bTx: 170, aRx: 300, rtt: 1200, pings: 3 });
  });

  it("a ping missing from one capture (lost, or the capture started late) is left out; none: NaN", () => {
    const aTun = [icmp("1.000", "request", 7), icmp("1.001", "reply", 7), icmp("2.000", "request", 8)].join("\n");
    const veth = [udp("1.0002", "a", 128), udp("1.0008", "b", 128)].join("\n");
    const bTun = [icmp("1.0005", "request", 7), icmp("1.0006", "reply", 7)].join("\n");
    expect(hopsFromCaptures(aTun, veth, bTun, underlay).pings).toBe(1);
    const none = hopsFromCaptures("", veth, bTun, underlay);
    expect(none.pings).toBe(0);
    expect(Number.isNaN(none.rtt)).toBe(true);
  });

  it("reads only echo messages and only the given source's datagrams", () => {
    expect([...parseIcmp(`${icmp("5.5", "request", 1)}\n5.6 IP 10.214.0.2 > 10.214.0.1: ICMP 10.214.0.2 udp port 9 unreachable, length 36`)]).toEqual([["request:1", 5.5]]);
    expect(parseUdp([udp("1.5", "a", 128), udp("1.6", "b", 92)].join("\n"), "10.213.0.2")).toEqual([{ t: 1.6, length: 92 }]);
  });

  it("rounds combine hop by hop (median), a round without captures counts for nothing", () => {
    const r = (x: number): typeof NO_HOPS => ({ aTx: x, bRx: x + 1, bKernel: 20, bTx: x + 2, aRx: x + 3, rtt: 4 * x, pings: 100 });
    expect(medianHops([r(300), NO_HOPS, r(100), r(200)])).toEqual({ aTx: 200, bRx: 201, bKernel: 20, bTx: 202, aRx: 203, rtt: 800, pings: 300 });
  });
});
