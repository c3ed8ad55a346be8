/**
 * Offline checks of a generated `main.tf.json` (no terraform/tofu binary needed):
 *
 *  1. the document's top-level shape (schemas/terraform/document.schema.json);
 *  2. every resource body against the JSON Schema of its type (schemas/<provider>/<type>.schema.json,
 *     transcribed from the provider docs; unknown arguments, wrong types and missing required
 *     arguments are errors), every data source body likewise
 *     (schemas/<provider>/data-sources/<type>.schema.json);
 *  3. every `${...}` interpolation: each reference `var.x`, `local.x`, `type.name.attr`,
 *     `data.type.name.attr` must name a declared variable/local/resource/data source, and `attr`
 *     must be an argument or an exported attribute of that type according to its schema
 *     (`x-attributes`); `count.index` only inside a block that has `count`.
 *
 * `validateDocument` returns a list of human-readable problems; empty means valid.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import type { TerraformDocument } from "./document.js";

/** Directory holding the JSON Schemas (two levels above both src/terraform and dist/terraform). */
export const SCHEMA_DIR = new URL("../../schemas/", import.meta.url);

interface ResourceSchema {
  readonly title: string;
  readonly properties: Readonly<Record<string, unknown>>;
  readonly "x-attributes": readonly string[];
  readonly "x-source": { readonly repository: string; readonly path: string; readonly commit: string };
}

/** Provider directories under schemas/ (each may hold a data-sources/ directory). */
export const SCHEMA_PROVIDERS = ["scaleway", "random", "aws"] as const;

type Compiled = { schema: ResourceSchema; validate: ValidateFunction };

/** The loaded schemas, compiled once. */
export class SchemaSet {
  readonly #ajv: Ajv;
  readonly #document: ValidateFunction;
  readonly #byType = new Map<string, Compiled>();
  readonly #dataByType = new Map<string, Compiled>();

  constructor(dir: URL = SCHEMA_DIR) {
    this.#ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
    this.#ajv.addKeyword({ keyword: "x-attributes", schemaType: "array" });
    this.#ajv.addKeyword({ keyword: "x-source", schemaType: "object" });
    const read = (path: URL): Record<string, unknown> => JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    this.#ajv.addSchema(read(new URL("terraform/common.schema.json", dir)));
    this.#document = this.#ajv.compile(read(new URL("terraform/document.schema.json", dir)));
    const load = (directory: URL, into: Map<string, Compiled>) => {
      if (!existsSync(directory)) return;
      for (const file of readdirSync(directory).filter((f) => f.endsWith(".schema.json")).sort()) {
        const schema = read(new URL(file, directory)) as unknown as ResourceSchema;
        into.set(schema.title, { schema, validate: this.#ajv.compile(schema as unknown as Record<string, unknown>) });
      }
    };
    for (const provider of SCHEMA_PROVIDERS) {
      load(new URL(`${provider}/`, dir), this.#byType);
      load(new URL(`${provider}/data-sources/`, dir), this.#dataByType);
    }
  }

  /** Resource types that have a schema. */
  types(): string[] {
    return [...this.#byType.keys()];
  }

  /** Data source types that have a schema. */
  dataTypes(): string[] {
    return [...this.#dataByType.keys()];
  }

  /** The schema of resource type `type`, or undefined. */
  schema(type: string): ResourceSchema | undefined {
    return this.#byType.get(type)?.schema;
  }

  /** The schema of data source `type`, or undefined. */
  dataSchema(type: string): ResourceSchema | undefined {
    return this.#dataByType.get(type)?.schema;
  }

  /** Attribute names `type.name.<attr>` may use: arguments + exported attributes. */
  attributes(type: string): Set<string> | undefined {
    return attributeNames(this.schema(type));
  }

  /** Attribute names `data.type.name.<attr>` may use: arguments + exported attributes. */
  dataAttributes(type: string): Set<string> | undefined {
    return attributeNames(this.dataSchema(type));
  }

  validateResource(type: string, name: string, body: unknown): string[] {
    return validateWith(this.#byType.get(type), `resource ${type}.${name}`, `no schema for type ${type}`, body);
  }

  validateData(type: string, name: string, body: unknown): string[] {
    return validateWith(this.#dataByType.get(type), `data ${type}.${name}`, `no schema for data source ${type}`, body);
  }

  validateDocumentShape(document: unknown): string[] {
    return this.#document(document) ? [] : formatErrors("main.tf.json", this.#document);
  }
}

function attributeNames(schema: ResourceSchema | undefined): Set<string> | undefined {
  return schema ? new Set([...Object.keys(schema.properties), ...schema["x-attributes"]]) : undefined;
}

function validateWith(entry: Compiled | undefined, where: string, missing: string, body: unknown): string[] {
  if (!entry) return [`${where}: ${missing}`];
  return entry.validate(body) ? [] : formatErrors(where, entry.validate);
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
  const result: string[][] = [];
  // Index expressions are dropped from the traversal (`a.b[0].c` -> a.b.c) but their own references count (`[count.index]`).
  const withoutIndexes = withoutStrings.replace(/\[([^\]]*)\]/g, (_, inner: string) => {
    result.push(...traversals(inner));
    return "";
  });
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
  const dataSources = document.data ?? {};
  const all: { path: string; text: string; counted: boolean }[] = [];
  const collect = (value: unknown, path: string, counted: boolean) => {
    const found: { path: string; text: string }[] = [];
    strings(value, path, found);
    all.push(...found.map((f) => ({ ...f, counted })));
  };
  collect(document.provider, "provider", false);
  collect(document.locals ?? {}, "locals", false);
  collect(document.variable, "variable", false);
  collect(document.output, "output", false);
  for (const [kind, blocks] of [["resource", resources], ["data", dataSources]] as const) {
    for (const [type, byName] of Object.entries(blocks)) {
      for (const [name, body] of Object.entries(byName)) {
        collect(body, `${kind}.${type}.${name}`, body["count"] !== undefined);
        for (const dep of (body["depends_on"] as string[] | undefined) ?? []) {
          const parts = dep.split(".");
          const [depMode, depType, depName] = parts[0] === "data" ? parts : ["", ...parts];
          const declared = depMode === "data" ? dataSources[depType ?? ""]?.[depName ?? ""] : resources[depType ?? ""]?.[depName ?? ""];
          if (!depType || !depName || !declared) problems.push(`${kind} ${type}.${name}: depends_on ${dep} is not declared`);
        }
      }
    }
  }
  for (const { path, text, counted } of all) {
    for (const body of interpolations(text)) {
      for (const [head, ...rest] of traversals(body)) {
        const where = `${path}: \${${body.length > 80 ? body.slice(0, 77) + "..." : body}}`;
        if (head === "var") {
          if (!variables.has(rest[0] ?? "")) problems.push(`${where}: undeclared variable ${rest[0]}`);
        } else if (head === "local") {
          if (!locals.has(rest[0] ?? "")) problems.push(`${where}: undeclared local ${rest[0]}`);
        } else if (head === "data") {
          const [type, name, attribute] = rest;
          if (!type || !name || !dataSources[type]?.[name]) problems.push(`${where}: data source ${type}.${name} is not declared`);
          else if (!attribute) problems.push(`${where}: reference to data.${type}.${name} without an attribute`);
          else if (!schemas.dataAttributes(type)?.has(attribute)) problems.push(`${where}: data source ${type} has no attribute "${attribute}" in its schema`);
        } else if (head === "count") {
          if (!counted) problems.push(`${where}: count.index outside a block with count`);
        } else if (head === "path" || head === "terraform" || head === "self") {
          // path.module / terraform.workspace / self (in conditions): always defined.
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

/** Shape + per-resource and per-data-source schemas + references. Empty = valid. */
export function validateDocument(document: TerraformDocument, schemas: SchemaSet = new SchemaSet()): string[] {
  const problems = schemas.validateDocumentShape(document);
  for (const [type, byName] of Object.entries(document.resource)) {
    for (const [name, body] of Object.entries(byName)) problems.push(...schemas.validateResource(type, name, body));
  }
  for (const [type, byName] of Object.entries(document.data ?? {})) {
    for (const [name, body] of Object.entries(byName)) problems.push(...schemas.validateData(type, name, body));
  }
  problems.push(...checkReferences(document, schemas));
  return problems;
}
