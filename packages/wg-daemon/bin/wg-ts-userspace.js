#!/usr/bin/env node
// `wg-ts-userspace [-f] IFNAME`: wg-ts with wireguard-go's calling convention, for
// WG_QUICK_USERSPACE_IMPLEMENTATION=wg-ts-userspace (dist/cli.js userspaceMain).
// Modules load with the optimizing compiler off, as bin/wg-ts.js explains.
import { setFlagsFromString } from "node:v8";
setFlagsFromString("--no-opt");
const { userspaceMain } = await import("../dist/cli.js");
process.exitCode = await userspaceMain(process.argv);
