/**
 * The AWS platform of the shared cloud-init renderer (../cloud/cloud-init.ts). The gateway's private
 * side is a second ENI (`aws_network_interface`, attached after launch): Terraform knows its MAC
 * address, so wg-ts-network finds the device by MAC — no metadata lookup, no IMDS token. SSH keys
 * come from an EC2 key pair (`key_name`), not from cloud-init.
 */
import { renderCloudInitFor, type CloudInitInputs, type CloudPlatform } from "../cloud/cloud-init.js";

/**
 * `find_nic MAC ADDRESS/PREFIX`: the device whose MAC address is MAC (case-insensitive), from netlink
 * (`ip -j link`: /sys/class/net can show another network namespace's devices, e.g. in a container);
 * prints `DEVICE mac`. Python: present on every cloud-init image.
 */
const FIND_NIC_BY_MAC = `find_nic() {
  python3 - "$1" <<'PY'
import json, subprocess, sys
want = sys.argv[1].lower()
links = json.loads(subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True).stdout or "[]")
for link in links:
    if (link.get("address") or "").lower() == want:
        print(link["ifname"], "mac")
        sys.exit(0)
sys.exit(1)
PY
}
`;

/** What the AWS renderer needs besides the shared inputs. */
export interface AwsCloudInitInputs extends CloudInitInputs {
  /** Private network name -> expression of the MAC address of the node's ENI on it. */
  readonly macAddress: (network: string) => string;
}

/** The AWS platform for `inputs`. */
export function awsPlatform(inputs: Pick<AwsCloudInitInputs, "macAddress">): CloudPlatform {
  return {
    networkComment: "# Private ENI addresses (the ENI's fixed private_ips, found by MAC), sysctls, nftables, boot routes.",
    nicFunctions: FIND_NIC_BY_MAC,
    attachLine: (i, token) => `attach ${token(inputs.macAddress(i.network))} ${i.address} ${i.network}`,
    // The Elastic IP is associated once the instance runs: apt retries until it works.
    packagesByScript: true,
  };
}

/** Renders `inputs.plan` to a Terraform template string holding a `#cloud-config` document. */
export function renderAwsCloudInit(inputs: AwsCloudInitInputs): string {
  return renderCloudInitFor(awsPlatform(inputs), inputs);
}
