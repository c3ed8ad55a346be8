/**
 * The build (`pnpm build`: `tsc -b`, then scripts/lean-js.mjs): the JavaScript a daemon loads has no
 * comments (V8 keeps every module's source in its heap) and the declarations keep their docs.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../..", import.meta.url));

describe.each(["wg-core", "wg-daemon"])("packages/%s/dist", (pkg) => {
  const dist = join(root, "packages", pkg, "dist");
  const js = (): string[] => readdirSync(dist, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".js"));

  it("is built (pnpm build)", () => {
    expect(existsSync(dist), `${dist}: run pnpm build`).toBe(true);
    expect(js().length).toBeGreaterThan(10);
  });

  it("has JavaScript without comments and declarations with their docs", () => {
    for (const f of js()) {
      const text = readFileSync(join(dist, f), "utf8");
      const comments: string[] = [];
      const scanner = ts.createScanner(ts.ScriptTarget.ES2022, false, ts.LanguageVariant.Standard, text);
      for (let k = scanner.scan(); k !== ts.SyntaxKind.EndOfFileToken; k = scanner.scan()) {
        if (k === ts.SyntaxKind.SingleLineCommentTrivia || k === ts.SyntaxKind.MultiLineCommentTrivia) comments.push(scanner.getTokenText());
      }
      // tsc keeps only the source-map link.
      expect(comments.filter((c) => !c.startsWith("//# sourceMappingURL=")), f).toEqual([]);
    }
    const declarations = readdirSync(dist).filter((f) => f.endsWith(".d.ts")).map((f) => readFileSync(join(dist, f), "utf8"));
    expect(declarations.filter((d) => d.includes("/**")).length).toBeGreaterThan(5);
  });
});
