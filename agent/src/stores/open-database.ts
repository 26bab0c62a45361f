import { LevelDatabase } from "./level-store.js";
import { PgDatabase } from "./pg-store.js";
import { PgAdvisoryLease, SOLE_OWNER_LEASE, type Lease } from "./lease.js";
import type { StoreDatabase } from "./document-store.js";

/**
 * A service's database: PostgreSQL when DATABASE_URL is set (replicas of the role share the schema
 * DATABASE_SCHEMA, default the role's name), else LevelDB in the data folder (one process owns it). With it
 * comes the lease for singleton work: an advisory lock on PostgreSQL, always held on LevelDB. Either way a
 * write resolves only once it is on disk (LevelDB `sync`, PostgreSQL synchronous_commit).
 */
export async function openRoleDatabase(env: NodeJS.ProcessEnv, defaults: { role: string; dataDir: string }): Promise<{ db: StoreDatabase; lease: (job: string) => Lease; backend: "postgresql" | "leveldb" }> {
  const url = env.DATABASE_URL;
  if (url) {
    const schema = env.DATABASE_SCHEMA ?? defaults.role;
    const db = await PgDatabase.open(url, { schema, max: env.DATABASE_POOL_SIZE ? Number(env.DATABASE_POOL_SIZE) : undefined });
    return { db, lease: (job) => new PgAdvisoryLease(url, `${schema}:${job}`), backend: "postgresql" };
  }
  // STORE_SYNC=0 exists only to measure what durability costs (bench, the sync-order drill's control run).
  return { db: await LevelDatabase.open(defaults.dataDir, { sync: env.STORE_SYNC !== "0" }), lease: () => SOLE_OWNER_LEASE, backend: "leveldb" };
}
