/** The mesh presets of issue 8, as `--topology` registry entries (registered in cli.ts). */
import type { TopologyPreset } from "../target.js";
import { siteToSiteTopology } from "./site-to-site.js";
import { threeSiteMeshTopology } from "./three-site-mesh.js";

export const MESH_PRESETS: readonly TopologyPreset[] = [
  { name: "three-site-mesh", description: "seed 003: three sites in a full mesh, Moly as the internet exit", build: threeSiteMeshTopology },
  { name: "site-to-site", description: "seed 001: cloud VPC gateway <-> on-premise gateway behind NAT", build: siteToSiteTopology },
];

export { siteToSiteDescription, siteToSiteTopology, SITE_TO_SITE_NETWORKS } from "./site-to-site.js";
export { threeSiteMeshDescription, threeSiteMeshTopology, THREE_SITE_NETWORKS } from "./three-site-mesh.js";
