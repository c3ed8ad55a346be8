/**
 * A small typed layer over Terraform's JSON configuration syntax (`main.tf.json`), the same for
 * terraform >= 1.5 and OpenTofu (https://developer.hashicorp.com/terraform/language/syntax/json).
 * Shared by every cloud target (Scaleway, AWS, both in one root module).
 *
 * In that syntax every JSON string is a *string template*: `${...}` interpolates and `%{...}` is a
 * directive. So a literal string (a shell script, an nftables ruleset) must be escaped with
 * {@link literal} before it goes into the document, and expressions are written with {@link expr}.
 *
 * A `TerraformDocument` is built by a {@link Stack}: `stack.resource(type, name, args)` returns a
 * typed handle whose `.attr("…")` only accepts attributes the resource type exports (each target's
 * `resources.ts`, transcribed from the provider docs like the JSON Schemas in schemas/);
 * `stack.data(type, name, args)` does the same for data sources (`data.<type>.<name>.<attr>`).
 * `stack.toJSON()` sorts object keys, so the output is byte-for-byte deterministic.
 */

/** A Terraform expression wrapped as a template interpolation: `expr("var.zone")` = `"${var.zone}"`. */
export function expr(expression: string): string {
  return "${" + expression + "}";
}

/**
 * Escapes literal text so Terraform copies it verbatim: `${` -> `$${` and `%{` -> `%%{`
 * (Terraform "String Templates": the escapes for literal interpolation/directive openers).
 */
export function literal(text: string): string {
  // A function replacement: in a replacement string "$$" means one "$" (and "${" would stay "${").
  return text.replaceAll("${", () => "$${").replaceAll("%{", () => "%%{");
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
  readonly data?: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>;
  readonly resource: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>;
  readonly output: Readonly<Record<string, OutputBlock>>;
}

/** A `precondition`/`postcondition` of a `lifecycle` block (terraform >= 1.2, OpenTofu). */
export interface Condition {
  readonly condition: string;
  readonly error_message: string;
}

/** Meta-arguments accepted on every resource and data source. */
export interface MetaArguments {
  readonly depends_on?: readonly string[];
  /** `count = N` (an expression or a number); instances are addressed `type.name[i]`. */
  readonly count?: number | string;
  readonly lifecycle?: {
    readonly precondition?: readonly Condition[];
    readonly postcondition?: readonly Condition[];
    readonly ignore_changes?: readonly string[];
    readonly create_before_destroy?: boolean;
  };
}

/**
 * A declared resource or data source: its address and typed attribute references. `A` is the set
 * of attribute names the type has (arguments + exported attributes, see each target's resources.ts).
 */
export class ResourceHandle<T extends string, A extends string = string> {
  constructor(
    readonly type: T,
    readonly name: string,
    /** "data." for a data source, "" for a resource. */
    readonly mode: "" | "data." = "",
  ) {}

  /** `type.name` (`data.type.name`), as used in `depends_on`. */
  get address(): string {
    return `${this.mode}${this.type}.${this.name}`;
  }

  /** The bare expression `type.name.attribute[.rest]` (no `${}`), to compose larger expressions. */
  ref(attribute: A, rest = ""): string {
    return `${this.address}.${attribute}${rest}`;
  }

  /** `"${type.name.attribute[.rest]}"`. */
  attr(attribute: A, rest = ""): string {
    return expr(this.ref(attribute, rest));
  }
}

/** What a provider contributes to a {@link Stack}: argument shapes and attribute names per type. */
export interface Catalog {
  /** Resource type -> argument shape. */
  readonly resources: object;
  /** Resource type -> exported attribute names (a string union). */
  readonly attributes: object;
  /** Data source type -> argument shape. */
  readonly data: object;
  /** Data source type -> exported attribute names. */
  readonly dataAttributes: object;
}

type Key<O> = keyof O & string;
type At<O, K> = K extends keyof O ? O[K] : never;
/** Attribute names of resource type `T` of catalog `C`: its arguments and exported attributes. */
export type AttributeOf<C extends Catalog, T extends Key<C["resources"]>> = (keyof At<C["resources"], T> & string) | (At<C["attributes"], T> & string);
/** Attribute names of data source type `T` of catalog `C`. */
export type DataAttributeOf<C extends Catalog, T extends Key<C["data"]>> = (keyof At<C["data"], T> & string) | (At<C["dataAttributes"], T> & string);
/** The handle `stack.resource(T, …)` returns. */
export type Handle<C extends Catalog, T extends Key<C["resources"]>> = ResourceHandle<T, AttributeOf<C, T>>;
/** The handle `stack.data(T, …)` returns. */
export type DataHandle<C extends Catalog, T extends Key<C["data"]>> = ResourceHandle<T, DataAttributeOf<C, T>>;

const NAME = /^[a-z][a-z0-9_]*$/;

/** Terraform identifier for a model name: `wireguard-spoke-01` -> `wireguard_spoke_01`. */
export function tfName(name: string): string {
  const id = name.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
  return /^[a-z]/.test(id) ? id : `n_${id}`;
}

/** Collects blocks and renders a deterministic {@link TerraformDocument}. */
export class Stack<C extends Catalog> {
  readonly #providers = new Map<string, ProviderRequirement>();
  readonly #providerConfig = new Map<string, Record<string, unknown>>();
  readonly #variables = new Map<string, VariableBlock>();
  readonly #locals = new Map<string, unknown>();
  readonly #resources = new Map<string, Map<string, Record<string, unknown>>>();
  readonly #data = new Map<string, Map<string, Record<string, unknown>>>();
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

  /**
   * This stack typed with one provider's part of its catalog (a root module with several providers
   * hands each provider's builder the view it knows); the blocks still go into this stack.
   */
  view<Part extends Catalog>(): Stack<Part> {
    return this as unknown as Stack<Part>;
  }

  /** True when `variable "<name>"` is declared. */
  hasVariable(name: string): boolean {
    return this.#variables.has(name);
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
  resource<T extends Key<C["resources"]>>(type: T, name: string, args: At<C["resources"], T> & MetaArguments): Handle<C, T> {
    Stack.#add(this.#resources, type, name, args, this.#claim.bind(this));
    return new ResourceHandle(type, name);
  }

  /** Declares `data "<type>" "<name>"`. */
  data<T extends Key<C["data"]>>(type: T, name: string, args: At<C["data"], T> & MetaArguments): DataHandle<C, T> {
    Stack.#add(this.#data, type, name, args, this.#claim.bind(this));
    return new ResourceHandle(type, name, "data.");
  }

  static #add(blocks: Map<string, Map<string, Record<string, unknown>>>, type: string, name: string, args: unknown, claim: (map: Map<string, unknown>, name: string, what: string) => void): void {
    let byName = blocks.get(type);
    if (!byName) blocks.set(type, (byName = new Map()));
    claim(byName, name, type);
    byName.set(name, args as Record<string, unknown>);
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
      ...(this.#data.size > 0 ? { data: Object.fromEntries([...this.#data].map(([type, byName]) => [type, fromMap(byName)])) } : {}),
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
