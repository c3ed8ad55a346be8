/** The mesh presets of issue 8, as `--topology` registry entries (registered in cli.ts). */
import type { TopologyPreset } from "../target.js";
import { awsSiteToSiteTopology } from "./aws-site-to-site.js";
import { scalewayAwsTopology } from "./scaleway-aws.js";
import { siteToSiteTopology } from "./site-to-site.js";
import { threeSiteMeshTopology } from "./three-site-mesh.js";

export const MESH_PRESETS: readonly TopologyPreset[] = [
  { name: "three-site-mesh", description: "seed 003: three sites in a full mesh, Moly as the internet exit", build: threeSiteMeshTopology },
  { name: "site-to-site", description: "seed 001: cloud VPC gateway <-> on-premise gateway behind NAT", build: siteToSiteTopology },
];

/** The AWS presets of issue 15 (registered in cli.ts). */
export const AWS_PRESETS: readonly TopologyPreset[] = [
  { name: "aws-site-to-site", description: "seed 004 on WireGuard: AWS VPC gateway (EC2) <-> a customer's gateway", build: awsSiteToSiteTopology },
  { name: "scaleway-aws", description: "seed 001's Scaleway VPC <-> the AWS VPC of aws-site-to-site, both ours, one apply (--target aws)", build: scalewayAwsTopology },
];

export { siteToSiteDescription, siteToSiteTopology, SITE_TO_SITE_NETWORKS } from "./site-to-site.js";
export { threeSiteMeshDescription, threeSiteMeshTopology, THREE_SITE_NETWORKS } from "./three-site-mesh.js";
export { awsSiteToSiteDescription, awsSiteToSiteTopology, AWS_SITE_TO_SITE_NETWORKS } from "./aws-site-to-site.js";
export { scalewayAwsDescription, scalewayAwsTopology, SCALEWAY_AWS_NETWORKS } from "./scaleway-aws.js";
