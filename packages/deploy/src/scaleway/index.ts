/** The Scaleway target: Terraform JSON + cloud-init rendered from the node plans. */
export * from "./terraform.js";
export * from "./resources.js";
export * from "./validate.js";
export * from "./holes.js";
export * from "./nodesource.js";
export * from "./cloud-init.js";
export * from "./stack.js";
export * from "./secrets.js";
export * from "./synth.js";
export * from "./target.js";
export * from "./evaluate.js";
