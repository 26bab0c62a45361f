import pg from "pg";

/**
 * Who may do a singleton job (anchoring): of several processes sharing one queue (verifier replicas on one PostgreSQL database),
 * exactly the one holding the lease closes batches and sends transactions, so one account's nonces are never
 * fought over and a batch is never built twice.
 */
export interface Lease {
  /** True when this process holds the lease now (taking it if free); asked before every round of work. */
  acquire(): Promise<boolean>;
  release(): Promise<void>;
}

/** The embedded case: LevelDB already lets one process own the folder, so that process always anchors. */
export const SOLE_OWNER_LEASE: Lease = { acquire: async () => true, release: async () => undefined };

/**
 * A PostgreSQL session-level advisory lock on a dedicated connection. PostgreSQL releases it when that
 * session ends, and a process killed with -9 ends it at once (the kernel closes its socket), so a waiting
 * replica takes over at its next tick. Each acquire first checks the session is still alive: a leader that
 * lost its connection stops anchoring instead of believing it still holds the lock.
 */
export class PgAdvisoryLease implements Lease {
  private client?: pg.Client;
  private held = false;

  constructor(
    private readonly connectionString: string,
    /** Names the lock: replicas of one role and schema share it, other roles do not. */
    private readonly name: string,
  ) {}

  async acquire(): Promise<boolean> {
    try {
      const client = await this.connection();
      if (this.held) {
        await client.query("SELECT 1");
        return true;
      }
      const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok", [this.name]);
      this.held = rows[0]?.ok === true;
      return this.held;
    } catch {
      this.drop();
      return false;
    }
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.held = false;
    // Ending the session releases the lock.
    await client?.end().catch(() => undefined);
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ connectionString: this.connectionString });
    client.on("error", () => this.drop());
    await client.connect();
    this.client = client;
    return client;
  }

  private drop(): void {
    const client = this.client;
    this.client = undefined;
    this.held = false;
    void client?.end().catch(() => undefined);
  }
}
