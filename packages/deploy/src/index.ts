/** @wg-ts/deploy — one topology model, per-node plans, and the targets that apply them. */
export * from "./model/topology.js";
export * from "./model/ipv4.js";
export * from "./model/build.js";
export * from "./model/reference.js";
export * from "./plan/types.js";
export * from "./plan/render.js";
export * from "./plan/nftables.js";
export * from "./plan/plan.js";
export * from "./target.js";
export * from "./registry.js";
export * from "./outputs.js";
export * from "./artifact/pack.js";
export * from "./simulate/index.js";
