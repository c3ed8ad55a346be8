#!/usr/bin/env node
// Thin launcher: the command table lives in dist/cli.js (built from src/cli.ts).
//
// The modules load with V8's optimizing compiler off: compiling the start-up code with TurboFan
// leaves ~4 MiB more resident in a daemon that then idles (benchmarks/README.md, "Idle memory").
// The daemon turns it back on once it runs (daemon.ts), before any worker thread starts.
import { setFlagsFromString } from "node:v8";
setFlagsFromString("--no-opt");
// `up --foreground` runs the daemon in this process: re-executed once with the daemon's Node flags
// (dist/node-flags.js: V8's thread pool sized to the cores; execve keeps the PID for systemd).
(await import("../dist/node-flags.js")).reexecForegroundDaemon();
const { main } = await import("../dist/cli.js");
process.exitCode = await main(process.argv);
