/**
 * Checks of rendered cloud-init shared by the cloud targets' tests (scaleway*.test.ts, aws*.test.ts):
 * the `write_files` entries, Debian's `cloud-init schema` on a document, and "the user-data writes
 * the node plan's files byte for byte, with the lab's render function".
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { renderTemplate } from "../../src/plan/render.js";
import type { NodePlan, Placeholder } from "../../src/plan/types.js";

/** One `write_files` entry of a `#cloud-config` document. */
export interface WriteFile {
  path: string;
  permissions: string;
  content: string;
  encoding?: string;
}

/** `cloud-init schema --config-file` on `userData` (written to a temporary NAME.yaml): the file, the command's output and status. */
export function cloudInitSchema(name: string, userData: string): { file: string; output: string; status: number | null; error: Error | undefined } {
  const dir = mkdtempSync(join(tmpdir(), "wg-ts-cloud-init-"));
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, userData);
  const result = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
  return { file, output: `${result.stdout}${result.stderr}`, status: result.status, error: result.error };
}

/** Every file of `plan` is in `written` (path -> entry) with the content the lab renders (placeholders from `resolve`) and its mode. */
export function expectPlanFilesWritten(written: ReadonlyMap<string, WriteFile>, plan: NodePlan, resolve: (placeholder: Placeholder) => string): void {
  for (const file of plan.files) {
    const w = written.get(file.path);
    expect(w, file.path).toBeDefined();
    expect(w?.content, file.path).toBe(renderTemplate(file.content, resolve));
    expect(w?.permissions, file.path).toBe(`0${file.mode.toString(8)}`);
  }
}
