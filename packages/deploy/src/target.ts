/**
 * What a deployment target is (the local lab, Scaleway, …) and what the CLI hands it.
 * Targets never touch `process`: output goes through `DeployIo`, so the CLI and tests embed them.
 */
import type { Topology } from "./model/topology.js";
import type { Outputs } from "./outputs.js";

/** Where a target writes and what it reads from the environment. */
export interface DeployIo {
  /** Command results (tables, JSON). */
  stdout(text: string): void;
  /** Progress and diagnostics. */
  stderr(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Current directory, for relative paths. */
  readonly cwd: string;
}

/** Everything one target command needs. */
export interface TargetContext {
  readonly io: DeployIo;
  /** Registered topology name (`--topology`). */
  readonly topologyName: string;
  readonly topology: Topology;
  /**
   * True when the user chose the topology (`--topology` or WG_DEPLOY_TOPOLOGY); false when it is the
   * default, so a target may act on whatever it has running instead (the lab's `down`). Absent = true.
   */
  readonly topologyChosen?: boolean;
  /** Builds another registered topology by name (a target adopting the one it has running). */
  readonly topologyNamed?: (name: string) => Topology;
  /** Extra `--option key=value` pairs given on the command line, for target-specific settings. */
  readonly options: Readonly<Record<string, string>>;
}

/** stdio for an interactive command run on a node (`wg-deploy exec`). */
export type ExecStdio = "inherit" | "pipe";

/** A place the topology can be deployed to. Optional operations print a clear "not supported". */
export interface Target {
  readonly name: string;
  readonly description: string;
  /** Builds everything; idempotent; rolls back what it made when a step fails. */
  up(context: TargetContext): Promise<void>;
  /** Removes everything `up` made; idempotent. */
  down(context: TargetContext): Promise<void>;
  /** The seed's outputs, with secrets. Callers decide what to print. */
  outputs(context: TargetContext): Promise<Outputs>;
  /** Human-readable state of each gateway's peers and handshakes. */
  status?(context: TargetContext): Promise<string>;
  /** Runs `argv` on node `node`; resolves to its exit status. */
  exec?(context: TargetContext, node: string, argv: readonly string[]): Promise<number>;
  /** Restarts the WireGuard tunnel of gateway `node`. */
  restart?(context: TargetContext, node: string): Promise<void>;
  /** Text diagram of what was deployed. */
  diagram?(context: TargetContext): Promise<string>;
}

/** A named topology preset (`--topology`). */
export interface TopologyPreset {
  readonly name: string;
  readonly description: string;
  build(): Topology;
}
