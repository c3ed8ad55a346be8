/**
 * Re-emits the JavaScript of the packages a daemon loads (`node scripts/lean-js.mjs DIR…`, after
 * `tsc -b`) without comments: V8 keeps every loaded module's source text in the daemon's heap, and
 * the doc comments were a third of it (~0.5 MiB of idle RSS: benchmarks/README.md, section 24). The
 * declarations keep them, for editors. Per file, as `tsc` itself emits under `isolatedModules`
 * (tsconfig.base.json): the package's own compiler options plus `removeComments`, source maps too.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";

const host = {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic(d) {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  },
};

for (const dir of process.argv.slice(2)) {
  const config = ts.getParsedCommandLineOfConfigFile(join(dir, "tsconfig.json"), {}, host);
  if (!config || config.errors.length) throw new Error(`${dir}/tsconfig.json: cannot be read`);
  // NodeNext emits by the package's "type"; transpileModule sees no package.json: say it.
  if (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).type !== "module") throw new Error(`${dir}: not an ES module package`);
  const compilerOptions = { ...config.options, module: ts.ModuleKind.ESNext, removeComments: true };
  let files = 0;
  for (const file of config.fileNames) {
    const outputs = ts.getOutputFileNames(config, file, false);
    const js = outputs.find((f) => f.endsWith(".js"));
    if (!js) continue;
    const out = ts.transpileModule(readFileSync(file, "utf8"), { compilerOptions, fileName: file, reportDiagnostics: false });
    writeFileSync(js, out.outputText);
    const map = outputs.find((f) => f.endsWith(".js.map"));
    if (map && out.sourceMapText !== undefined) writeFileSync(map, out.sourceMapText);
    files++;
  }
  console.log(`lean-js: ${dir}: ${files} files`);
}
