/** The Scaleway target: Terraform JSON + cloud-init rendered from the node plans. */
export * from "./resources.js";
export * from "./cloud-init.js";
export * from "./stack.js";
export * from "./synth.js";
export * from "./target.js";
