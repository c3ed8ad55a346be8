/**
 * `status`: the `wg show` of every gateway's device, each peer named after its gateway, headed by
 * the gateway's overlay and public addresses. A gateway whose device does not answer shows DOWN.
 */
import type { LabContext } from "./context.js";
import { namespaceOf } from "./layout.js";
import { runIn } from "./shell.js";

/** `wg show` of every gateway. */
export async function labStatus(lab: LabContext): Promise<string> {
  const sections: string[] = [];
  for (const gateway of lab.topology.gateways) {
    const ifname = lab.plan(gateway.name).wireguard?.interfaceName ?? "";
    const names = new Map(Object.entries(lab.secrets.keys).map(([node, pair]) => [pair.publicKey, node]));
    let body: string;
    try {
      body = (await runIn(namespaceOf(lab.layout, gateway.name), ["wg", "show", ifname], { timeoutMs: 5000 })).stdout;
      // Name each peer after its gateway.
      body = body.replace(/^peer: (\S+)$/gm, (line, key: string) => `${line}  (${names.get(key) ?? "?"})`);
    } catch (error) {
      body = `  DOWN: ${(error as Error).message}\n`;
    }
    sections.push(`== ${gateway.name} (${gateway.overlayIp}, ${lab.layout.publicIps.get(gateway.name) ?? "?"})\n${body}`);
  }
  return `${sections.join("\n")}`;
}
