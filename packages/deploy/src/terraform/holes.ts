/**
 * Text with Terraform expressions in it, built without escaping mistakes.
 *
 * Renderers produce ordinary text (YAML, shell) in which each value only Terraform knows is a
 * token from {@link Holes.token}. {@link Holes.fill} then escapes the whole text as a Terraform
 * literal (`${` -> `$${`, `%{` -> `%%{`) and puts `${expression}` back where the tokens are.
 * Tokens are plain alphanumerics, so YAML emitters leave them unquoted and unchanged.
 */
import { expr, literal } from "./document.js";

const TOKEN = /WGTSHOLE(\d+)X/g;

export class Holes {
  readonly #expressions: string[] = [];

  /** A token that {@link fill} replaces with `${expression}`. */
  token(expression: string): string {
    const index = this.#expressions.push(expression) - 1;
    return `WGTSHOLE${index}X`;
  }

  /** Escapes `text` for Terraform and substitutes the tokens. */
  fill(text: string): string {
    if (/WGTSHOLE\d+X/.test(literal(text).replace(TOKEN, ""))) throw new Error("holes: malformed token left in text");
    return literal(text).replace(TOKEN, (_, index: string) => {
      const expression = this.#expressions[Number(index)];
      if (expression === undefined) throw new Error(`holes: unknown token ${index}`);
      return expr(expression);
    });
  }
}
