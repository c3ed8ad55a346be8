/** `wg-deploy simulate` as a library: a topology's gateways as wg-core Devices over a simulated network, in virtual time. */
export { Simulation, SIMULATION_EPOCH, type SimulationOptions } from "./simulator.js";
export type { SimGateway } from "./gateway.js";
export type { SimLink } from "./link.js";
export type { Flow } from "./traffic.js";
export type { EventRecord } from "./recovery.js";
export {
  DEFAULT_CONDITIONS,
  DEFAULT_NAT,
  DEFAULT_TRAFFIC,
  parseScenarioFile,
  parseTraffic,
  parseEvent,
  parseConditions,
  type LinkConditions,
  type LinkOverride,
  type NatOptions,
  type Scenario,
  type ScenarioEvent,
  type ScenarioInput,
  type TrafficMix,
} from "./scenario.js";
export { formatReport, describeEvent, NOTABLE_GAP, type SimulationReport, type LinkReport, type HourCounters, type Gap } from "./report.js";
export { timelineSvg } from "./svg.js";
export { generatedTopology, isGeneratedTopology } from "./generated.js";
export { parseDuration, parseProbability } from "./duration.js";
export { simulateCommand } from "./command.js";
