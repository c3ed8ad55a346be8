import { describe, expect, it } from "vitest";
import { parsePing } from "../src/macro/index.js";

// The macro bench's reading of iputils `ping` output: every reply's RTT for the median, the summary
// line for average and max.
describe("parsePing", () => {
  it("median of the replies' times; average and max from the summary line", () => {
    const out = [
      "PING 10.214.0.2 (10.214.0.2) 56(84) bytes of data.",
      "64 bytes from 10.214.0.2: icmp_seq=1 ttl=64 time=0.912 ms",
      "64 bytes from 10.214.0.2: icmp_seq=2 ttl=64 time=4.10 ms",
      "64 bytes from 10.214.0.2: icmp_seq=3 ttl=64 time=0.805 ms",
      "64 bytes from 10.214.0.2: icmp_seq=4 ttl=64 time=0.850 ms",
      "",
      "--- 10.214.0.2 ping statistics ---",
      "4 packets transmitted, 4 received, 0% packet loss, time 151ms",
      "rtt min/avg/max/mdev = 0.805/1.667/4.100/1.405 ms",
    ].join("\n");
    expect(parsePing(out)).toEqual({ avg: 1.667, max: 4.1, median: (0.85 + 0.912) / 2 });
    expect(parsePing(out.replace(/.*icmp_seq=4.*\n/, "")).median).toBe(0.912);
  });

  it("no replies, no summary: NaN, not a number made up", () => {
    const r = parsePing("PING 10.214.0.2 (10.214.0.2) 56(84) bytes of data.\n\n--- 10.214.0.2 ping statistics ---\n3 packets transmitted, 0 received, 100% packet loss, time 2041ms\n");
    expect(Number.isNaN(r.avg) && Number.isNaN(r.max) && Number.isNaN(r.median)).toBe(true);
  });
});
