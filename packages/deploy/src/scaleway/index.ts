/** The Scaleway target: Terraform JSON + cloud-init rendered from the node plans. */
export * from "./resources.js";
export * from "./cloud-init.js";
export * from "./stack.js";
export { BASTION_USER, PUBLIC_GATEWAY_MODES, type PublicGatewayMode } from "./bastion.js";
export { INSTANCE_IMAGE, SSH_USER } from "./instances.js";
export * from "./synth.js";
export * from "./target.js";
