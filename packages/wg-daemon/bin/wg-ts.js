#!/usr/bin/env node
// Thin launcher: the command table lives in dist/cli.js (built from src/cli.ts).
import { main } from "../dist/cli.js";
process.exitCode = await main(process.argv);
