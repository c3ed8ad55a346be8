/** The local lab target (network namespaces on this machine). Being written. */
import type { Target } from "../target.js";

export function labTarget(): Target {
  const notYet = (): never => {
    throw new Error("the lab target is being written");
  };
  return {
    name: "lab",
    description: "network namespaces on this machine (root), WireGuard by wg-ts",
    up: async () => notYet(),
    down: async () => notYet(),
    outputs: async () => notYet(),
  };
}
