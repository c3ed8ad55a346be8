/**
 * Offline evaluation of a Terraform template string (what `apply` does to user-data): escapes
 * `$${`/`%%{` become `${`/`%{`, and each `${expression}` is replaced by `value(expression)`.
 * Used by the tests and by tooling that wants to see an instance's cloud-init with sample values.
 */
import { interpolations } from "./validate.js";

export function evaluateTemplate(template: string, value: (expression: string) => string): string {
  let out = "";
  for (let i = 0; i < template.length; ) {
    if (template.startsWith("$${", i) || template.startsWith("%%{", i)) {
      out += template.slice(i + 1, i + 3);
      i += 3;
    } else if (template.startsWith("${", i)) {
      const body = interpolations(template.slice(i))[0] ?? "";
      out += value(body);
      i += body.length + 3;
    } else {
      out += template[i];
      i += 1;
    }
  }
  return out;
}
