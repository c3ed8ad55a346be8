/**
 * Offline checks of a generated `main.tf.json` (no terraform/tofu binary needed):
 *
 *  1. the document's top-level shape (schemas/terraform/document.schema.json);
 *  2. every resource body against the JSON Schema of its type (schemas/<provider>/<type>.schema.json,
 *     transcribed from the provider docs; unknown arguments, wrong types and missing required
 *     arguments are errors);
 *  3. every `${...}` interpolation: each reference `var.x`, `local.x`, `type.name.attr` must name a
 *     declared variable/local/resource, and `attr` must be an argument or an exported attribute of
 *     that type according to its schema (`x-attributes`).
 *
 * `validateDocument` returns a list of human-readable problems; empty means valid.
 */
import { readdirSync, readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import type { TerraformDocument } from "./terraform.js";

/** Directory holding the JSON Schemas (two levels above both src/scaleway and dist/scaleway). */
export const SCHEMA_DIR = new URL("../../schemas/", import.meta.url);

interface ResourceSchema {
  readonly title: string;
  readonly properties: Readonly<Record<string, unknown>>;
  readonly "x-attributes": readonly string[];
  readonly "x-source": { readonly repository: string; readonly path: string; readonly commit: string };
}

/** The loaded schemas, compiled once. */
export class SchemaSet {
  readonly #ajv: Ajv;
  readonly #document: ValidateFunction;
  readonly #byType = new Map<string, { schema: ResourceSchema; validate: ValidateFunction }>();

  constructor(dir: URL = SCHEMA_DIR) {
    this.#ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
    this.#ajv.addKeyword({ keyword: "x-attributes", schemaType: "array" });
    this.#ajv.addKeyword({ keyword: "x-source", schemaType: "object" });
    const read = (path: URL): Record<string, unknown> => JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    this.#ajv.addSchema(read(new URL("terraform/common.schema.json", dir)));
    this.#document = this.#ajv.compile(read(new URL("terraform/document.schema.json", dir)));
    for (const provider of ["scaleway", "random"]) {
      const providerDir = new URL(`${provider}/`, dir);
      for (const file of readdirSync(providerDir).filter((f) => f.endsWith(".schema.json")).sort()) {
        const schema = read(new URL(file, providerDir)) as unknown as ResourceSchema;
        this.#byType.set(schema.title, { schema, validate: this.#ajv.compile(schema as unknown as Record<string, unknown>) });
      }
    }
  }

  /** Resource types that have a schema. */
  types(): string[] {
    return [...this.#byType.keys()];
  }

  /** The schema of `type`, or undefined. */
  schema(type: string): ResourceSchema | undefined {
    return this.#byType.get(type)?.schema;
  }

  /** Attribute names `type.name.<attr>` may use: arguments + exported attributes. */
  attributes(type: string): Set<string> | undefined {
    const schema = this.schema(type);
    if (!schema) return undefined;
    return new Set([...Object.keys(schema.properties), ...schema["x-attributes"]]);
  }

  validateDocumentShape(document: unknown): string[] {
    return this.#document(document) ? [] : formatErrors("main.tf.json", this.#document);
  }

  validateResource(type: string, name: string, body: unknown): string[] {
    const entry = this.#byType.get(type);
    if (!entry) return [`resource ${type}.${name}: no schema for type ${type}`];
    return entry.validate(body) ? [] : formatErrors(`resource ${type}.${name}`, entry.validate);
  }
}

function formatErrors(where: string, validate: ValidateFunction): string[] {
  return (validate.errors ?? []).map((e) => `${where}${e.instancePath}: ${e.message ?? "invalid"}${e.params ? " " + JSON.stringify(e.params) : ""}`);
}

/** Every `${...}` interpolation body in `text` (escaped `$${` skipped; nested braces and quoted strings handled). */
export function interpolations(text: string): string[] {
  const found: string[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith("$${", i)) {
      i += 2;
      continue;
    }
    if (!text.startsWith("${", i)) continue;
    let depth = 1;
    let j = i + 2;
    let inString = false;
    for (; j < text.length && depth > 0; j++) {
      const c = text[j];
      if (inString) {
        if (c === "\\") j++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === "{") depth++;
      else if (c === "}") depth--;
    }
    if (depth !== 0) {
      found.push(text.slice(i + 2));
      break;
    }
    found.push(text.slice(i + 2, j - 1));
    i = j - 1;
  }
  return found;
}

/** `a.b.c` traversals in an expression, with quoted strings removed and `[n]`/`["k"]` indexes dropped. */
export function traversals(expression: string): string[][] {
  const withoutStrings = expression.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const withoutIndexes = withoutStrings.replace(/\[[^\]]*\]/g, "");
  const result: string[][] = [];
  for (const match of withoutIndexes.matchAll(/(?<![\w.])([a-z_][a-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)(?!\s*\()/g)) {
    result.push([match[1] as string, ...(match[2] as string).slice(1).split(".")]);
  }
  return result;
}

function strings(value: unknown, path: string, out: { path: string; text: string }[]): void {
  if (typeof value === "string") out.push({ path, text: value });
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${path}[${i}]`, out));
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) strings(v, `${path}.${k}`, out);
  }
}

/** Checks that every reference in the document resolves (see module comment). */
export function checkReferences(document: TerraformDocument, schemas: SchemaSet): string[] {
  const problems: string[] = [];
  const variables = new Set(Object.keys(document.variable));
  const locals = new Set(Object.keys(document.locals ?? {}));
  const resources = document.resource;
  const all: { path: string; text: string }[] = [];
  strings(document.provider, "provider", all);
  strings(document.locals ?? {}, "locals", all);
  strings(document.resource, "resource", all);
  strings(document.output, "output", all);
  for (const [type, byName] of Object.entries(resources)) {
    for (const [name, body] of Object.entries(byName)) {
      for (const dep of (body["depends_on"] as string[] | undefined) ?? []) {
        const [depType, depName] = dep.split(".");
        if (!depType || !depName || !resources[depType]?.[depName]) problems.push(`resource ${type}.${name}: depends_on ${dep} is not declared`);
      }
    }
  }
  for (const { path, text } of all) {
    for (const body of interpolations(text)) {
      for (const [head, ...rest] of traversals(body)) {
        const where = `${path}: \${${body.length > 80 ? body.slice(0, 77) + "..." : body}}`;
        if (head === "var") {
          if (!variables.has(rest[0] ?? "")) problems.push(`${where}: undeclared variable ${rest[0]}`);
        } else if (head === "local") {
          if (!locals.has(rest[0] ?? "")) problems.push(`${where}: undeclared local ${rest[0]}`);
        } else if (head === "data") {
          // No data sources are emitted; a reference to one must at least name a declared block.
          const [type, name] = rest;
          const data = (document as { data?: Record<string, Record<string, unknown>> }).data;
          if (!type || !name || !data?.[type]?.[name]) problems.push(`${where}: data source ${type}.${name} is not declared`);
          else problems.push(`${where}: data source ${type} has no schema`);
        } else if (head === "path" || head === "terraform") {
          // path.module / terraform.workspace: always defined.
        } else {
          const type = head as string;
          const [name, attribute] = rest;
          if (!resources[type]) {
            problems.push(`${where}: ${type} is neither a declared resource type nor var/local/path`);
          } else if (!name || !resources[type][name]) {
            problems.push(`${where}: resource ${type}.${name} is not declared`);
          } else if (!attribute) {
            problems.push(`${where}: reference to ${type}.${name} without an attribute`);
          } else if (!schemas.attributes(type)?.has(attribute)) {
            problems.push(`${where}: ${type} has no attribute "${attribute}" in its schema`);
          }
        }
      }
    }
  }
  return problems;
}

/** Shape + per-resource schemas + references. Empty = valid. */
export function validateDocument(document: TerraformDocument, schemas: SchemaSet = new SchemaSet()): string[] {
  const problems = schemas.validateDocumentShape(document);
  for (const [type, byName] of Object.entries(document.resource)) {
    for (const [name, body] of Object.entries(byName)) problems.push(...schemas.validateResource(type, name, body));
  }
  problems.push(...checkReferences(document, schemas));
  return problems;
}
