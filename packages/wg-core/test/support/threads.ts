// Real worker_threads for the shared-table tests. Vitest transforms TypeScript in its own workers
// only, so the core's sources are transpiled (typescript's transpileModule: types erased, nothing
// else changes) into packages/wg-core/node_modules/.wg-core-threads/ — inside the package, so the
// @noble imports resolve — and table-worker.mjs imports them from there. Never the stale dist/.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import ts from "typescript";

const PKG = join(dirname(fileURLToPath(import.meta.url)), "../..");
const OUT = join(PKG, "node_modules/.wg-core-threads");
let transpiled: string | null = null;

/** file: URL of the transpiled `src/index.js` (transpiled once per test process). */
export function transpiledCore(): string {
  if (transpiled !== null) return transpiled;
  const src = join(PKG, "src");
  const out = join(OUT, String(process.pid));
  mkdirSync(out, { recursive: true });
  process.once("exit", () => rmSync(out, { recursive: true, force: true }));
  for (const f of readdirSync(src)) {
    if (!f.endsWith(".ts")) continue;
    const js = ts.transpileModule(readFileSync(join(src, f), "utf8"), {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true },
    }).outputText;
    writeFileSync(join(out, f.replace(/\.ts$/, ".js")), js);
  }
  writeFileSync(join(out, "package.json"), '{ "type": "module" }\n');
  transpiled = pathToFileURL(join(out, "index.js")).href;
  return transpiled;
}

/** Runs test/support/table-worker.mjs with `task` and resolves with its one reply. */
export function runTableWorker<R>(task: Record<string, unknown>): Promise<R> {
  const worker = new Worker(new URL("./table-worker.mjs", import.meta.url), { workerData: { core: transpiledCore(), task } });
  return new Promise<R>((resolve, reject) => {
    worker.once("message", (m: R) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (code !== 0) reject(new Error(`table worker exited with ${code}`));
    });
  });
}
