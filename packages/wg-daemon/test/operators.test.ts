/**
 * Operator mistakes caught by the parser (unit level; the e2e twin is operators.e2e.test.ts).
 * Regression: two [Peer] sections with one public key used to be merged silently.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/config.js";

const PRIV = "qCXylTXHz9aF5Cb+qJW/eiLL8oKnxddYMXWpVNuPJ2s=";
const PUB = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";
const OTHER = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

function error(text: string): ConfigError {
  try {
    parseConfig(text, "wg0.conf");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("operators: config mistakes", () => {
  it("a duplicate peer is refused with the file, the line and the key, naming the first one", () => {
    const e = error(
      `[Interface]\nPrivateKey = ${PRIV}\n\n[Peer]\nPublicKey = ${PUB}\nAllowedIPs = 10.0.0.2/32\n\n[Peer]\nAllowedIPs = 10.0.0.3/32\nPublicKey = ${PUB}\n`,
    );
    expect(e.message).toBe("wg0.conf:10: PublicKey: duplicate peer: the same public key as the [Peer] at line 4");
    expect(e.message).not.toContain(PRIV);
  });

  it("distinct peers still parse", () => {
    const cfg = parseConfig(
      `[Interface]\nPrivateKey = ${PRIV}\n\n[Peer]\nPublicKey = ${PUB}\n\n[Peer]\nPublicKey = ${OTHER}\n`,
      "wg0.conf",
    );
    expect(cfg.peers).toHaveLength(2);
  });
});
