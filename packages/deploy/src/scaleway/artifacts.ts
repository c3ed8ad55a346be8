/**
 * The wg-ts tarball (../artifact/pack.ts) and the Node.js runtime (../cloud/node-runtime.ts) as
 * public-read `scaleway_object`s of one bucket, which the gateways download at first boot: from the
 * deployment's own bucket, not a third-party repository.
 */
import { NODE_RUNTIME_FILE } from "../cloud/node-runtime.js";
import { ARTIFACT_FILE } from "../cloud/synth-dir.js";
import { expr } from "../terraform/document.js";
import type { ScalewayContext } from "./context.js";
import type { ScalewayHandle } from "./resources.js";

/** A tarball of the synthesized folder in the bucket: its object, the expressions of its URL and SHA-256. */
export interface ScalewayArtifactObject {
  readonly object: ScalewayHandle<"scaleway_object">;
  readonly url: string;
  readonly sha256: string;
}

/** Declares the bucket and both objects. */
export function addArtifactBucket(ctx: ScalewayContext): { readonly artifact: ScalewayArtifactObject; readonly nodeRuntime: ScalewayArtifactObject } {
  const { stack, topology, region } = ctx;
  const bucketSuffix = stack.resource("random_id", "artifacts", { byte_length: 4 });
  const bucket = stack.resource("scaleway_object_bucket", "artifacts", {
    name: `wg-ts-${topology.name}-${bucketSuffix.attr("hex")}`,
    region,
    force_destroy: true,
  });
  const object = (name: string, file: string): ScalewayArtifactObject => {
    const path = `\${path.module}/${file}`;
    const handle = stack.resource("scaleway_object", name, {
      bucket: bucket.attr("id"),
      key: file,
      file: `${path}`,
      hash: expr(`filemd5("${path}")`),
      visibility: "public-read",
      content_type: "application/gzip",
    });
    return { object: handle, url: `"\${${bucket.ref("endpoint")}}/${file}"`, sha256: `filesha256("${path}")` };
  };
  return { artifact: object("wg_ts", ARTIFACT_FILE), nodeRuntime: object("node_runtime", NODE_RUNTIME_FILE) };
}
