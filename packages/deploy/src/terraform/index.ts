/** What every Terraform target shares: the JSON document layer, holes, offline validation, secrets. */
export * from "./document.js";
export * from "./validate.js";
export * from "./holes.js";
export * from "./evaluate.js";
export * from "./secrets.js";
