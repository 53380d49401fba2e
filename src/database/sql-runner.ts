import type { EntityManager } from '@mikro-orm/postgresql';
import type { Pool, PoolClient } from 'pg';
import { statementDurationHistogram } from '../metrics/instruments.js';
import type { Statement } from './entity-table.js';
import { statementName } from './statement-names.js';
import { translateDriverError } from './translate-driver-error.js';

/** Runs statements inside one transaction (see SqlRunner.transaction). */
export interface Transaction {
  run<R>(statement: Statement): Promise<R[]>;
}

// serialization_failure and deadlock_detected: the transaction did nothing and may simply run again.
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 5;

export interface SqlRunnerOptions {
  /**
   * Named prepared statements (DB_PREPARED_STATEMENTS). Off behind a
   * transaction pooler that does not track them (PgBouncer before 1.21), where
   * a name prepared on one server connection is missing on the next: every
   * statement then runs unnamed, parsed and planned on each call.
   */
  namedStatements: boolean;
}

/**
 * Runs the repositories' statements on the pg pool behind MikroORM's
 * connection, as named prepared statements, and translates driver errors once.
 * Straight to the pool rather than through the EntityManager's Kysely
 * instance: none of its query building was used, and its connection handling
 * and result wrapping cost 7 % of a list request's allocations (V8's sampling
 * heap profiler).
 */
export class SqlRunner {
  private pool?: Pool;
  /** Every statement's duration, for /metrics (src/metrics). */
  readonly statementDuration = statementDurationHistogram();

  constructor(
    private readonly em: EntityManager,
    private readonly options: SqlRunnerOptions = { namedStatements: true },
  ) {}

  /** One statement, on its own (autocommit). */
  async run<R>(statement: Statement): Promise<R[]> {
    try {
      const pool = (this.pool ??= await this.nativePool());
      return await this.query<R>(pool, statement);
    } catch (error) {
      throw translateDriverError(error);
    }
  }

  /**
   * Runs `work` in one transaction on one connection, for the writes that need
   * several statements (cascades, renumbering siblings). A deadlock or
   * serialization failure rolls everything back and runs `work` again, a
   * bounded number of times, so the contract's races never end in a 5xx.
   */
  async transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: PoolClient | undefined;
      try {
        const pool = (this.pool ??= await this.nativePool());
        client = await pool.connect();
        await client.query('begin');
        const connection = client;
        const result = await work({ run: (statement) => this.query(connection, statement) });
        await client.query('commit');
        return result;
      } catch (error) {
        await client?.query('rollback').catch(() => undefined);
        const code = (error as { code?: unknown }).code;
        if (typeof code === 'string' && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) continue;
        throw translateDriverError(error);
      } finally {
        client?.release();
      }
    }
  }

  private async query<R>(on: Pool | PoolClient, { text, values, prepared = true }: Statement): Promise<R[]> {
    const name = prepared && this.options.namedStatements ? statementName(text) : undefined;
    const end = this.statementDuration.startTimer();
    try {
      const result = await on.query({ name, text, values });
      return result.rows as R[];
    } finally {
      end();
    }
  }

  /** The pool's connections now, for /metrics: open, idle, the most it opens, and requests waiting for one. */
  async poolStats(): Promise<{ total: number; idle: number; max: number; waiting: number }> {
    const pool = (this.pool ??= await this.nativePool());
    return {
      total: pool.totalCount,
      idle: pool.idleCount,
      max: pool.options.max,
      waiting: pool.waitingCount,
    };
  }

  /**
   * The pool MikroORM created. Its Kysely instance ends the pool on orm.close()
   * only once it has run a statement itself (it initialises its driver lazily),
   * so one is run through it here; otherwise closing would leave our
   * connections open.
   */
  private async nativePool(): Promise<Pool> {
    const connection = this.em.getConnection();
    const pool = await connection.getNativeClient();
    await connection.checkConnection();
    return pool;
  }
}
