/**
 * A small typed layer over Terraform's JSON configuration syntax (`main.tf.json`), the same for
 * terraform >= 1.5 and OpenTofu (https://developer.hashicorp.com/terraform/language/syntax/json).
 *
 * In that syntax every JSON string is a *string template*: `${...}` interpolates and `%{...}` is a
 * directive. So a literal string (a shell script, an nftables ruleset) must be escaped with
 * {@link literal} before it goes into the document, and expressions are written with {@link expr}.
 *
 * A `TerraformDocument` is built by a {@link Stack}: `stack.resource(type, name, args)` returns a
 * typed handle whose `.attr("…")` only accepts attributes the resource type exports (see
 * ./resources.ts, transcribed from the provider docs like the JSON Schemas in schemas/).
 * `stack.toJSON()` sorts object keys, so the output is byte-for-byte deterministic.
 */
import type { ResourceArgs, ResourceAttribute, ResourceType } from "./resources.js";

/** A Terraform expression wrapped as a template interpolation: `expr("var.zone")` = `"${var.zone}"`. */
export function expr(expression: string): string {
  return "${" + expression + "}";
}

/**
 * Escapes literal text so Terraform copies it verbatim: `${` -> `$${` and `%{` -> `%%{`
 * (Terraform "String Templates": the escapes for literal interpolation/directive openers).
 */
export function literal(text: string): string {
  return text.replaceAll("${", "$${").replaceAll("%{", "%%{");
}

/** A JSON string quoted for use inside a Terraform expression: `hcl("a\"b")` = `"a\"b"`. */
export function hclString(text: string): string {
  return literal(JSON.stringify(text));
}

/** `variable` block. */
export interface VariableBlock {
  readonly type: string;
  readonly description: string;
  readonly default?: unknown;
  readonly sensitive?: boolean;
  readonly nullable?: boolean;
  readonly validation?: readonly { readonly condition: string; readonly error_message: string }[];
}

/** `output` block. */
export interface OutputBlock {
  readonly value: unknown;
  readonly description: string;
  readonly sensitive?: boolean;
}

/** One `required_providers` entry. */
export interface ProviderRequirement {
  readonly source: string;
  readonly version: string;
}

/** A whole `main.tf.json`. */
export interface TerraformDocument {
  readonly "//": string;
  readonly terraform: {
    readonly required_version: string;
    readonly required_providers: Readonly<Record<string, ProviderRequirement>>;
  };
  readonly provider: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly variable: Readonly<Record<string, VariableBlock>>;
  readonly locals?: Readonly<Record<string, unknown>>;
  readonly resource: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>;
  readonly output: Readonly<Record<string, OutputBlock>>;
}

/** Meta-arguments accepted on every resource. */
export interface MetaArguments {
  readonly depends_on?: readonly string[];
}

/** A declared resource: its address and typed attribute references. */
export class ResourceHandle<T extends ResourceType> {
  constructor(
    readonly type: T,
    readonly name: string,
  ) {}

  /** `type.name`, as used in `depends_on`. */
  get address(): string {
    return `${this.type}.${this.name}`;
  }

  /** The bare expression `type.name.attribute[.rest]` (no `${}`), to compose larger expressions. */
  ref(attribute: ResourceAttribute<T>, rest = ""): string {
    return `${this.type}.${this.name}.${attribute}${rest}`;
  }

  /** `"${type.name.attribute[.rest]}"`. */
  attr(attribute: ResourceAttribute<T>, rest = ""): string {
    return expr(this.ref(attribute, rest));
  }
}

const NAME = /^[a-z][a-z0-9_]*$/;

/** Collects blocks and renders a deterministic {@link TerraformDocument}. */
export class Stack {
  readonly #providers = new Map<string, ProviderRequirement>();
  readonly #providerConfig = new Map<string, Record<string, unknown>>();
  readonly #variables = new Map<string, VariableBlock>();
  readonly #locals = new Map<string, unknown>();
  readonly #resources = new Map<string, Map<string, Record<string, unknown>>>();
  readonly #outputs = new Map<string, OutputBlock>();

  constructor(
    readonly comment: string,
    readonly requiredVersion: string,
  ) {}

  /** `required_providers.<local> = { source, version }` plus its `provider "<local>" {}` configuration. */
  provider(localName: string, requirement: ProviderRequirement, config: Record<string, unknown> = {}): void {
    this.#providers.set(localName, requirement);
    this.#providerConfig.set(localName, config);
  }

  /** Declares `variable "<name>"` and returns `"${var.<name>}"`. */
  variable(name: string, block: VariableBlock): string {
    this.#claim(this.#variables, name, "variable");
    this.#variables.set(name, block);
    return expr(`var.${name}`);
  }

  /** Declares `locals.<name>` and returns `"${local.<name>}"`. */
  local(name: string, value: unknown): string {
    this.#claim(this.#locals, name, "local");
    this.#locals.set(name, value);
    return expr(`local.${name}`);
  }

  /** Declares `resource "<type>" "<name>"`. */
  resource<T extends ResourceType>(type: T, name: string, args: ResourceArgs[T] & MetaArguments): ResourceHandle<T> {
    let byName = this.#resources.get(type);
    if (!byName) this.#resources.set(type, (byName = new Map()));
    this.#claim(byName, name, type);
    byName.set(name, args as unknown as Record<string, unknown>);
    return new ResourceHandle(type, name);
  }

  /** Declares `output "<name>"`. */
  output(name: string, block: OutputBlock): void {
    this.#claim(this.#outputs, name, "output");
    this.#outputs.set(name, block);
  }

  #claim(map: Map<string, unknown>, name: string, what: string): void {
    if (!NAME.test(name)) throw new Error(`terraform: ${what} name "${name}" is not [a-z][a-z0-9_]*`);
    if (map.has(name)) throw new Error(`terraform: ${what} "${name}" declared twice`);
  }

  /** The document, with every object's keys sorted (arrays keep their order). */
  toJSON(): TerraformDocument {
    const fromMap = <V>(map: Map<string, V>): Record<string, V> => Object.fromEntries(map);
    const document: TerraformDocument = {
      "//": this.comment,
      terraform: { required_version: this.requiredVersion, required_providers: fromMap(this.#providers) },
      provider: fromMap(this.#providerConfig),
      variable: fromMap(this.#variables),
      ...(this.#locals.size > 0 ? { locals: fromMap(this.#locals) } : {}),
      resource: Object.fromEntries([...this.#resources].map(([type, byName]) => [type, fromMap(byName)])),
      output: fromMap(this.#outputs),
    };
    return sortKeys(document) as TerraformDocument;
  }
}

/** Deep copy with object keys in code-point order; `undefined` members are dropped. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}

/** `JSON.stringify` with two-space indentation and a final newline: the on-disk form of main.tf.json. */
export function formatDocument(document: TerraformDocument): string {
  return JSON.stringify(document, null, 2) + "\n";
}
