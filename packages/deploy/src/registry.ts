/**
 * The registries behind `--target` and `--topology`: one `register…` line per target or preset
 * (see cli.ts). Names are unique; looking up an unknown name lists the known ones.
 */
import type { Target, TopologyPreset } from "./target.js";

/** A name -> value table with clear errors. */
export class Registry<T extends { readonly name: string }> {
  readonly #entries = new Map<string, T>();

  constructor(readonly what: string) {}

  register(entry: T): void {
    if (this.#entries.has(entry.name)) throw new Error(`${this.what} "${entry.name}" registered twice`);
    this.#entries.set(entry.name, entry);
  }

  get(name: string): T {
    const entry = this.#entries.get(name);
    if (!entry) throw new Error(`unknown ${this.what} "${name}" (known: ${this.names().join(", ")})`);
    return entry;
  }

  names(): string[] {
    return [...this.#entries.keys()];
  }

  entries(): T[] {
    return [...this.#entries.values()];
  }
}

/** Builds a fresh pair of registries (cli.ts fills them; tests may build their own). */
export function createRegistries(): { targets: Registry<Target>; topologies: Registry<TopologyPreset> } {
  return { targets: new Registry<Target>("target"), topologies: new Registry<TopologyPreset>("topology") };
}
