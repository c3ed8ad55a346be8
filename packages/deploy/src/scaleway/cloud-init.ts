/**
 * The Scaleway platform of the shared cloud-init renderer (../cloud/cloud-init.ts): private NICs are
 * found through the Instance metadata API (`private_nics[].private_network_id` -> MAC), and on
 * Instances with a public IP the metadata API 169.254.42.42 is pinned to the uplink's path.
 */
import { renderCloudInitFor, type CloudInitInputs, type CloudPlatform } from "../cloud/cloud-init.js";

export { INSTANCE_PATHS, renderPlanFile, UPLINK_GATEWAY_COMMAND } from "../cloud/cloud-init.js";

/**
 * `find_nic NETWORK_UUID ADDRESS/PREFIX` for the shared `attach` (../cloud/first-boot.ts): the
 * metadata API (private network -> MAC); only when the API cannot be read (e.g. an Instance without
 * a public IPv4), the NIC that already holds an address of the network (Scaleway's DHCP hands out
 * the IPAM-booked one), else, on a node with one private NIC, the only Ethernet device that is not
 * the uplink and has no address. Prints `DEVICE HOW`. Python: present on every cloud-init image.
 */
const NIC_LOOKUP = `find_nic() {
  python3 - "$1" "$2" "$private_nics" <<'PY'
import ipaddress, json, subprocess, sys, urllib.request
network, address, count = sys.argv[1], ipaddress.ip_interface(sys.argv[2]), int(sys.argv[3])
def ip_json(*args):
    out = subprocess.run(["ip", "-j", *args], capture_output=True, text=True).stdout
    return json.loads(out or "[]")
# Devices from netlink (not /sys/class/net, which can show another namespace's view in a container).
links = [l for l in ip_json("link", "show") if l.get("ifname") != "lo"]
try:
    conf = json.load(urllib.request.urlopen("http://169.254.42.42/conf?format=json", timeout=3))
except Exception:
    conf = None
if conf is not None:
    for nic in conf.get("private_nics") or []:
        if nic.get("private_network_id") == network:
            mac = (nic.get("mac_address") or "").lower()
            for link in links:
                if (link.get("address") or "").lower() == mac:
                    print(link["ifname"], "metadata")
                    sys.exit(0)
    sys.exit(1)
addresses = {l.get("ifname"): l.get("addr_info") or [] for l in ip_json("-4", "address", "show")}
for link in links:
    for a in addresses.get(link["ifname"], []):
        if ipaddress.ip_address(a["local"]) in address.network:
            print(link["ifname"], "subnet")
            sys.exit(0)
if count == 1:
    uplinks = {r.get("dev") for r in ip_json("-4", "route", "show", "default")}
    candidates = [l["ifname"] for l in links if l.get("link_type") == "ether" and l["ifname"] not in uplinks and not addresses.get(l["ifname"])]
    if len(candidates) == 1:
        print(candidates[0], "only-unaddressed-nic")
        sys.exit(0)
sys.exit(1)
PY
}
`;

/**
 * Scaleway-only: keep the metadata API (169.254.42.42) on the uplink's current path, so a tunnel
 * that takes the default route (0.0.0.0/1 + 128.0.0.0/1) does not swallow it.
 */
const METADATA_PIN = `# Scaleway metadata API stays on the uplink (a spoke's tunnel routes 128.0.0.0/1).
metadata=$(ip -4 -o route get 169.254.42.42 | sed -n 's/^\\(169\\.254\\.42\\.42\\( via [0-9.]*\\)\\{0,1\\} dev [^ ]*\\).*/\\1/p')
if [ -n "$metadata" ]; then ip route replace $metadata; fi
`;

/** What the Scaleway renderer needs besides the shared inputs. */
export interface ScalewayCloudInitInputs extends CloudInitInputs {
  /** Private network name -> expression of its bare UUID (metadata API form). */
  readonly networkUuid: (network: string) => string;
  /** Expression of the operator's SSH public key. */
  readonly sshPublicKey: string;
}

/** The Scaleway platform for `inputs`. */
export function scalewayPlatform(inputs: Pick<ScalewayCloudInitInputs, "networkUuid" | "sshPublicKey">): CloudPlatform {
  return {
    networkComment: "# Private NIC addresses (IPAM-booked, also served by DHCP), sysctls, nftables, boot routes.",
    nicFunctions: NIC_LOOKUP,
    attachLine: (i, token) => `attach ${token(inputs.networkUuid(i.network))} ${i.address} ${i.network}`,
    uplinkPin: METADATA_PIN,
    sshPublicKey: inputs.sshPublicKey,
  };
}

/** Renders `inputs.plan` to a Terraform template string holding a `#cloud-config` document. */
export function renderCloudInit(inputs: ScalewayCloudInitInputs): string {
  return renderCloudInitFor(scalewayPlatform(inputs), inputs);
}
