/**
 * The wg-ts tarball and the Node.js runtime (../cloud/node-runtime.ts) in an S3 bucket the gateway
 * downloads them from at first boot: public access blocked, readable only from the gateway's Elastic
 * IP (a bucket policy on a fixed `aws:SourceIp`, which AWS does not count as public).
 */
import { NODE_RUNTIME_FILE } from "../cloud/node-runtime.js";
import { ARTIFACT_FILE } from "../cloud/synth-dir.js";
import { expr, type Stack, tfName } from "../terraform/document.js";
import type { AwsInputs } from "./inputs.js";
import type { AwsCatalog, AwsHandle } from "./resources.js";

/** A tarball of the synthesized folder as an S3 object: its resource, the expressions of its URL and SHA-256. */
export interface AwsArtifactObject {
  readonly handle: AwsHandle<"aws_s3_object">;
  readonly url: string;
  readonly sha256: string;
}

/** Declares the bucket, its two objects and its policy (readable from `eip` only). */
export function addArtifactBucket(
  stack: Stack<AwsCatalog>,
  inputs: AwsInputs,
  eip: AwsHandle<"aws_eip">,
): { readonly artifact: AwsArtifactObject; readonly runtime: AwsArtifactObject; readonly policy: AwsHandle<"aws_s3_bucket_policy"> } {
  const { nameTag } = inputs;
  const bucket = stack.resource("aws_s3_bucket", "artifacts", { bucket_prefix: '${lower("wg-ts-${local.prefix}-")}', force_destroy: true, tags: nameTag("wg-ts-artifacts") });
  const publicAccess = stack.resource("aws_s3_bucket_public_access_block", "artifacts", {
    bucket: bucket.attr("id"),
    block_public_acls: true,
    block_public_policy: true,
    ignore_public_acls: true,
    restrict_public_buckets: true,
  });
  const objects = [ARTIFACT_FILE, NODE_RUNTIME_FILE].map((file) => {
    const path = `\${path.module}/${file}`;
    const handle = stack.resource("aws_s3_object", tfName(file.replace(/\.tgz$/, "")), {
      bucket: bucket.attr("id"),
      key: file,
      source: path,
      etag: expr(`filemd5("${path}")`),
      content_type: "application/gzip",
      tags: nameTag(file),
    });
    return { file, path, handle, url: `"https://\${${bucket.ref("bucket_regional_domain_name")}}/${file}"`, sha256: `filesha256("${path}")` };
  });
  const policy = stack.resource("aws_s3_bucket_policy", "artifacts", {
    bucket: bucket.attr("id"),
    // Non-public for Block Public Access: a fixed aws:SourceIp (AWS "The meaning of public").
    policy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "GatewayReadsItsArtifacts",
          Effect: "Allow",
          Principal: "*",
          Action: "s3:GetObject",
          Resource: objects.map((o) => `${bucket.attr("arn")}/${o.file}`),
          Condition: { IpAddress: { "aws:SourceIp": `${eip.attr("public_ip")}/32` } },
        },
      ],
    }),
    depends_on: [publicAccess.address],
  });
  const [artifact, runtime] = objects;
  if (!artifact || !runtime) throw new Error("aws: artifacts");
  return { artifact, runtime, policy };
}
