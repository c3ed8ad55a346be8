/**
 * The managed PostgreSQL: `scaleway_rdb_instance` on its private network only (no `load_balancer`
 * block, so no public endpoint), with the address IPAM picks, its database and the user's
 * privilege; the password from `random_password` (declared even without a database: the
 * `database_password` output names it).
 */
import type { Database, Host } from "../model/topology.js";
import { type Stack, tfName } from "../terraform/document.js";
import type { ScalewayContext } from "./context.js";
import type { IpamBookings } from "./ipam.js";
import type { ScalewayNetworks } from "./network.js";
import type { ScalewayCatalog, ScalewayHandle } from "./resources.js";

/** What {@link addDatabase} declared; `rdb` only when the topology has a database on a known host. */
export interface ScalewayDatabase {
  readonly password: ScalewayHandle<"random_password">;
  readonly db: Database | undefined;
  readonly dbHost: Host | undefined;
  readonly rdb: ScalewayHandle<"scaleway_rdb_instance"> | undefined;
}

/** Declares the password and, if the topology has one, the database. */
export function addDatabase(ctx: ScalewayContext, networks: ScalewayNetworks, ipam: IpamBookings): ScalewayDatabase {
  const { stack, topology, region, tags } = ctx;
  const password = stack.resource("random_password", "database", {
    length: 24,
    special: true,
    // Characters safe in pgpass, shell, YAML block scalars and URLs; Scaleway wants one of each class.
    override_special: "-_.+",
    min_lower: 2,
    min_upper: 2,
    min_numeric: 2,
    min_special: 2,
  });
  const db = topology.database;
  const dbHost = db ? topology.hosts.find((h) => h.name === db.host) : undefined;
  const rdb =
    db && dbHost ? databaseResources(stack, db, networks.network(dbHost.attachment.network).attr("id"), password, region, tags(), ipam.bookedIn(dbHost.attachment.network)) : undefined;
  return { password, db, dbHost, rdb };
}

function databaseResources(
  stack: Stack<ScalewayCatalog>,
  db: Database,
  networkId: string,
  password: ScalewayHandle<"random_password">,
  region: string,
  tags: string[],
  dependsOn: string[],
): ScalewayHandle<"scaleway_rdb_instance"> {
  const rdb = stack.resource("scaleway_rdb_instance", tfName(db.host), {
    name: db.host,
    node_type: db.nodeType,
    engine: db.engine,
    is_ha_cluster: false,
    disable_backup: false,
    user_name: db.user,
    password: password.attr("result"),
    encryption_at_rest: true,
    // IPAM picks the address (provider docs: a fixed `ip_net` is "static" mode, not registered in
    // IPAM and DNS, and may be unreachable from the VPC). The clients read it back through the
    // `database-address` placeholder. Created after the network's reservations (`depends_on`), so
    // IPAM cannot hand it an address the model booked for a machine.
    private_network: { pn_id: networkId, enable_ipam: true },
    region,
    tags,
    depends_on: dependsOn,
  });
  const database = stack.resource("scaleway_rdb_database", tfName(`${db.host}-${db.database}`), { instance_id: rdb.attr("id"), name: db.database, region });
  stack.resource("scaleway_rdb_privilege", tfName(`${db.host}-${db.user}`), {
    instance_id: rdb.attr("id"),
    user_name: db.user,
    database_name: database.attr("name"),
    permission: "all",
    region,
  });
  return rdb;
}
