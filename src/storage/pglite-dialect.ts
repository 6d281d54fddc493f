/**
 * A Kysely dialect for PGlite (PostgreSQL compiled to WASM, in process). PGlite is one connection,
 * so the driver hands out that connection to one caller at a time: a Kysely transaction holds it
 * from BEGIN to COMMIT/ROLLBACK and other queries wait their turn. Query compilation, adapter and
 * introspection are Kysely's own PostgreSQL ones — the SQL is the same on both targets. Queries and
 * DML run as prepared statements (PreparedStatements below), the rest through `PGlite.query`.
 *
 * Consequence: inside `db.transaction().execute(trx => …)` use `trx`, never `db` — on PGlite a
 * query on `db` there waits for the transaction that is waiting for it.
 */
import { randomBytes } from 'node:crypto';
import { parse, protocol, type PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

/** A FIFO lock: `acquire()` resolves with the function that releases it. */
class Mutex {
  #tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const acquired = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => next);
    return acquired;
  }
}

const WRITE_COMMANDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/** Statements worth preparing: the queries and DML Kysely compiles from a query shape. */
const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i;
/**
 * The other statements that change nothing a prepared statement depends on. Not a rollback: it may
 * undo DDL run since (rollbacks follow errors, so closing the statements then costs little).
 */
const KEEPS_STATEMENTS = /^\s*(start transaction|begin|commit|savepoint|release)\b/i;
/** Prepared statements kept at most (each holds its plan in PGlite's memory). */
const MAX_PREPARED = 256;

interface Prepared {
  name: string;
  /** The parameters' type oids, once PostgreSQL has parsed the statement. */
  paramTypes: Promise<number[]>;
}

/**
 * Named prepared statements, one per distinct SQL text (Kysely compiles a query shape to the same
 * text every time). PostgreSQL parses each once and, after five runs, plans it once when its generic
 * plan costs no more than planning each time (its `plan_cache_mode = auto`); each run is one call
 * into PGlite (bind, describe, execute, sync) instead of the six of `PGlite.query`. In WASM, parsing
 * and planning cost more than running a statement on an index: a read went from 0.7–0.9 ms to
 * 0.2–0.3 ms, the four statements of a due occurrence from 4.1 to 2.4 ms (docs/performance.md).
 *
 * The least recently used are closed past MAX_PREPARED. Any other statement but a transaction's
 * start, commit or savepoint — DDL, `set`, a rollback — closes them all: a cached `select *` never
 * outlives the table it was planned for.
 */
class PreparedStatements {
  readonly #bySql = new Map<string, Prepared>();
  /** Names unique per instance, so two dialects on one PGlite never take each other's. */
  readonly #prefix = `chime_${randomBytes(4).toString('hex')}_`;
  #next = 0;

  constructor(private readonly client: PGlite) {}

  async run<R>(sqlText: string, parameters: readonly unknown[]) {
    let prepared = this.#bySql.get(sqlText);
    if (prepared) this.#bySql.delete(sqlText); // set again below: the map's order is recency
    else prepared = this.#prepare(sqlText);
    this.#bySql.set(sqlText, prepared);
    let paramTypes: number[];
    try {
      paramTypes = await prepared.paramTypes;
    } catch (error) {
      if (this.#bySql.get(sqlText) === prepared) this.#bySql.delete(sqlText);
      throw error;
    }
    const values = parameters.map((value, i) => {
      if (value === null || value === undefined) return null;
      const serializer = this.client.serializers[paramTypes[i] as number];
      return serializer ? serializer(value) : String(value);
    });
    const { serialize } = protocol;
    let messages;
    try {
      messages = await this.#exec([serialize.bind({ statement: prepared.name, values }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]);
    } catch (error) {
      // "cached plan must not change result type": a table changed under a cached `select *` in a way
      // the rules above did not see coming; prepared again on the next run.
      if ((error as { code?: string }).code === '0A000' && this.#bySql.get(sqlText) === prepared) {
        this.#bySql.delete(sqlText);
        await this.#exec([serialize.close({ type: 'S', name: prepared.name }), serialize.sync()]);
      }
      throw error;
    }
    return parse.parseResults(messages, this.client.parsers)[0] as Awaited<ReturnType<PGlite['query']>> & { rows: R[] };
  }

  /** Closes every prepared statement. */
  async forget() {
    if (this.#bySql.size === 0) return;
    const closes = [...this.#bySql.values()].map(({ name }) => protocol.serialize.close({ type: 'S', name }));
    this.#bySql.clear();
    await this.#exec([...closes, protocol.serialize.sync()]);
  }

  /** Parses a new statement, closing the least recently used in the same call when the cache is full. */
  #prepare(sqlText: string): Prepared {
    const { serialize } = protocol;
    const closes: Uint8Array[] = [];
    for (const [oldest, { name }] of this.#bySql) {
      if (this.#bySql.size < MAX_PREPARED) break;
      this.#bySql.delete(oldest);
      closes.push(serialize.close({ type: 'S', name }));
    }
    const name = `${this.#prefix}${this.#next++}`;
    const described = this.#exec([...closes, serialize.parse({ name, text: sqlText }), serialize.describe({ type: 'S', name }), serialize.sync()]);
    return { name, paramTypes: described.then((messages) => parse.parseDescribeStatementResults(messages)) };
  }

  async #exec(parts: Uint8Array[]) {
    const message = Buffer.concat(parts);
    return this.client.runExclusive(async () => (await this.client.execProtocol(message)).messages);
  }
}

class PGliteConnection implements DatabaseConnection {
  constructor(
    private readonly client: PGlite,
    private readonly statements: PreparedStatements | undefined,
    readonly release: () => void,
  ) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    // Not ready (still opening, closing or closed): PGlite's own query path waits or says why.
    const statements = this.client.ready && PREPARABLE.test(compiled.sql) ? this.statements : undefined;
    const result = statements
      ? await statements.run<R>(compiled.sql, compiled.parameters)
      : await this.client.query<R>(compiled.sql, [...compiled.parameters]);
    if (!statements && !KEEPS_STATEMENTS.test(compiled.sql)) await this.statements?.forget();
    const command = result.command?.toUpperCase();
    if (command !== undefined && WRITE_COMMANDS.has(command)) {
      return { rows: result.rows, numAffectedRows: BigInt(result.affectedRows ?? 0) };
    }
    return { rows: result.rows };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGlite dialect: streaming queries are not supported');
  }
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

class PGliteDriver implements Driver {
  readonly #mutex = new Mutex();

  constructor(
    private readonly client: PGlite,
    private readonly onDestroy: () => Promise<void>,
    private readonly statements: PreparedStatements | undefined,
  ) {}

  async init(): Promise<void> {
    await this.client.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.#mutex.acquire();
    return new PGliteConnection(this.client, this.statements, release);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const parts = ['start transaction'];
    if (settings.isolationLevel) parts.push(`isolation level ${settings.isolationLevel}`);
    if (settings.accessMode) parts.push(settings.accessMode);
    await connection.executeQuery(CompiledQuery.raw(parts.join(' ')));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection: DatabaseConnection, name: string, _compile: QueryCompiler['compileQuery']): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdent(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, _compile: QueryCompiler['compileQuery']): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdent(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, _compile: QueryCompiler['compileQuery']): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdent(name)}`));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as PGliteConnection).release();
  }

  async destroy(): Promise<void> {
    // Wait for whoever holds the connection, then close.
    const release = await this.#mutex.acquire();
    try {
      await this.onDestroy();
    } finally {
      release();
    }
  }
}

export interface PGliteDialectOptions {
  /** Runs when Kysely's `destroy()` is called (close the PGlite instance there); by default closes it. */
  onDestroy?: () => Promise<void>;
  /**
   * Runs queries and DML as named prepared statements (default true). False runs every statement
   * through `PGlite.query` — the benchmarks' baseline (bench/storage.ts).
   */
  preparedStatements?: boolean;
}

export class PGliteDialect implements Dialect {
  constructor(
    private readonly client: PGlite,
    private readonly options: PGliteDialectOptions = {},
  ) {}

  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  createDriver(): Driver {
    const { onDestroy = () => this.client.close(), preparedStatements = true } = this.options;
    return new PGliteDriver(this.client, onDestroy, preparedStatements ? new PreparedStatements(this.client) : undefined);
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
}
