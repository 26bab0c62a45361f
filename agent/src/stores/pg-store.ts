import pg from "pg";
import { AgentError } from "../errors.js";
import { KeyedMutex, type DocumentStore, type ListOptions, type StoreDatabase } from "./document-store.js";

type Op<T> = { type: "put"; key: string; value: T } | { type: "del"; key: string };

/** A schema name we create and quote ourselves: letters, digits and underscores only. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Every store of a role in one PostgreSQL table (`<schema>.documents`, keyed by store and key), so several
 * replicas of a service share one state. Atomicity is PostgreSQL's, not the process's: `putIfAbsent` is an
 * INSERT … ON CONFLICT DO NOTHING, `take` a DELETE … RETURNING, `update` a SELECT … FOR UPDATE in a
 * transaction, `batch` one transaction. Every connection runs with synchronous_commit on, so a write resolves
 * only after its commit record is flushed to disk; PostgreSQL groups concurrent commits into one WAL flush.
 */
export class PgDatabase implements StoreDatabase {
  private readonly mutexes = new Map<string, KeyedMutex>();

  private constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
  ) {}

  /** Connects, creating the schema and its table when missing. */
  static async open(connectionString: string, options: { schema: string; max?: number }): Promise<PgDatabase> {
    if (!SCHEMA_NAME.test(options.schema)) throw new AgentError("ERR_CONFIG", "the database schema name is lower-case letters, digits and underscores");
    const pool = new pg.Pool({ connectionString, max: options.max ?? 10, options: "-c synchronous_commit=on" });
    // An idle client losing its server (a restart) must not crash the process; the next query reconnects.
    pool.on("error", () => undefined);
    const database = new PgDatabase(pool, options.schema);
    try {
      // Replicas starting together: "IF NOT EXISTS" alone can still collide, so one creates at a time.
      await database.transaction(async (client) => {
        await client.query("SELECT pg_advisory_xact_lock(hashtextextended('realname-store-schema', 0))");
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`);
        await client.query(`CREATE TABLE IF NOT EXISTS ${database.table} (store text NOT NULL, key text COLLATE "C" NOT NULL, value text NOT NULL, PRIMARY KEY (store, key))`);
      });
    } catch (error) {
      await pool.end();
      throw new AgentError("ERR_STORAGE_UNAVAILABLE", `cannot prepare PostgreSQL schema ${options.schema}: ${(error as Error).message}`, undefined, { cause: error });
    }
    return database;
  }

  get table(): string {
    return `${this.schema}.documents`;
  }

  store<T>(name: string): DocumentStore<T> {
    let mutex = this.mutexes.get(name);
    if (!mutex) this.mutexes.set(name, (mutex = new KeyedMutex()));
    return new PgDocumentStore<T>(this, name, mutex);
  }

  /** One statement; a database that cannot be reached is ERR_STORAGE_UNAVAILABLE (503), not a crash. */
  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(sql, params).catch((error) => {
      throw unavailable(error);
    });
  }

  /** Runs `fn` in one transaction on one client; rolled back if it throws. */
  async transaction<R>(fn: (client: pg.PoolClient) => Promise<R>): Promise<R> {
    const client = await this.pool.connect().catch((error) => {
      throw unavailable(error);
    });
    try {
      await client.query("BEGIN");
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      // The database's own failures are a 503 with a code; an error of `fn` itself goes to its caller as it is.
      throw isDatabaseFailure(error) ? unavailable(error) : error;
    } finally {
      client.release();
    }
  }

  /** Drops the schema and everything in it (tests: each run has its own schema). */
  async dropSchema(): Promise<void> {
    await this.pool.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function isDatabaseFailure(error: unknown): boolean {
  if (error instanceof pg.DatabaseError) return true;
  const text = `${(error as { code?: unknown })?.code ?? ""} ${(error as Error)?.message ?? ""}`;
  return /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Connection terminated|Client has encountered a connection error/.test(text);
}

function unavailable(error: unknown): AgentError {
  return new AgentError("ERR_STORAGE_UNAVAILABLE", "the database could not be reached or refused the operation", undefined, { cause: error });
}

const parse = <T>(raw: string): T => JSON.parse(raw) as T;

export class PgDocumentStore<T> implements DocumentStore<T> {
  constructor(
    private readonly db: PgDatabase,
    private readonly name: string,
    /**
     * Orders this process's own take/update calls on a key (as the other backends do) and spares PostgreSQL
     * needless lock waits; atomicity across processes is the SQL's.
     */
    private readonly mutex: KeyedMutex,
  ) {}

  private get table(): string {
    return this.db.table;
  }

  async get(key: string): Promise<T | undefined> {
    const { rows } = await this.db.query<{ value: string }>(`SELECT value FROM ${this.table} WHERE store = $1 AND key = $2`, [this.name, key]);
    return rows[0] ? parse<T>(rows[0].value) : undefined;
  }

  async put(key: string, value: T): Promise<void> {
    await this.db.query(this.upsertSql, [this.name, key, JSON.stringify(value)]);
  }

  async del(key: string): Promise<void> {
    await this.db.query(`DELETE FROM ${this.table} WHERE store = $1 AND key = $2`, [this.name, key]);
  }

  async putIfAbsent(key: string, value: T): Promise<boolean> {
    const { rowCount } = await this.db.query(`INSERT INTO ${this.table} (store, key, value) VALUES ($1, $2, $3) ON CONFLICT (store, key) DO NOTHING`, [this.name, key, JSON.stringify(value)]);
    return rowCount === 1;
  }

  take(key: string): Promise<T | undefined> {
    // Through the mutex too: this process's own take and updates of a key run in the order they were called.
    return this.mutex.run(key, async () => {
      const { rows } = await this.db.query<{ value: string }>(`DELETE FROM ${this.table} WHERE store = $1 AND key = $2 RETURNING value`, [this.name, key]);
      return rows[0] ? parse<T>(rows[0].value) : undefined;
    });
  }

  update(key: string, fn: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    return this.mutex.run(key, async () => {
      for (;;) {
        // An absent key has no row to lock: its first writer inserts, and a concurrent inserter (another
        // replica) finds the conflict, rolls back and runs `fn` again on the value that won.
        const outcome = await this.db.transaction(async (client) => {
          const { rows } = await client.query<{ value: string }>(`SELECT value FROM ${this.table} WHERE store = $1 AND key = $2 FOR UPDATE`, [this.name, key]);
          const next = fn(rows[0] ? parse<T>(rows[0].value) : undefined);
          if (next === undefined) {
            if (rows[0]) await client.query(`DELETE FROM ${this.table} WHERE store = $1 AND key = $2`, [this.name, key]);
            return { next };
          }
          if (rows[0]) {
            await client.query(`UPDATE ${this.table} SET value = $3 WHERE store = $1 AND key = $2`, [this.name, key, JSON.stringify(next)]);
            return { next };
          }
          const inserted = await client.query(`INSERT INTO ${this.table} (store, key, value) VALUES ($1, $2, $3) ON CONFLICT (store, key) DO NOTHING`, [this.name, key, JSON.stringify(next)]);
          if (inserted.rowCount === 1) return { next };
          throw new LostInsertRace();
        }).catch((error) => {
          if (error instanceof LostInsertRace) return undefined;
          throw error;
        });
        if (outcome) return outcome.next;
      }
    });
  }

  async list(options: ListOptions = {}): Promise<Array<[string, T]>> {
    const params: unknown[] = [this.name];
    let where = "store = $1";
    if (options.prefix) {
      params.push(options.prefix);
      // The range lets the primary key's index serve the prefix; starts_with makes it exact.
      where += ` AND key >= $${params.length} AND starts_with(key, $${params.length})`;
    }
    if (options.after !== undefined) {
      params.push(options.after);
      where += ` AND key > $${params.length}`;
    }
    let sql = `SELECT key, value FROM ${this.table} WHERE ${where} ORDER BY key`;
    if (options.limit !== undefined && options.limit >= 0) {
      params.push(options.limit);
      sql += ` LIMIT $${params.length}`;
    }
    const { rows } = await this.db.query<{ key: string; value: string }>(sql, params);
    return rows.map((r) => [r.key, parse<T>(r.value)]);
  }

  async batch(ops: Array<Op<T>>): Promise<void> {
    if (ops.length === 0) return;
    // The batch's outcome is each key's last operation: one DELETE and one multi-row upsert, one transaction.
    const last = new Map<string, Op<T>>();
    for (const op of ops) {
      last.delete(op.key);
      last.set(op.key, op);
    }
    const deletes = [...last.values()].filter((op) => op.type === "del").map((op) => op.key);
    const puts = [...last.values()].filter((op): op is Extract<Op<T>, { type: "put" }> => op.type === "put");
    await this.db.transaction(async (client) => {
      if (deletes.length > 0) await client.query(`DELETE FROM ${this.table} WHERE store = $1 AND key = ANY($2::text[])`, [this.name, deletes]);
      if (puts.length > 0) {
        await client.query(
          `INSERT INTO ${this.table} (store, key, value) SELECT $1, k, v FROM unnest($2::text[], $3::text[]) AS t(k, v) ON CONFLICT (store, key) DO UPDATE SET value = EXCLUDED.value`,
          [this.name, puts.map((op) => op.key), puts.map((op) => JSON.stringify(op.value))],
        );
      }
    });
  }

  private get upsertSql(): string {
    return `INSERT INTO ${this.table} (store, key, value) VALUES ($1, $2, $3) ON CONFLICT (store, key) DO UPDATE SET value = EXCLUDED.value`;
  }
}

class LostInsertRace extends Error {}
