import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { migrationsList } from '../../migrations/index.js';
import { List } from '../lists/list.entity.js';
import { Owner } from '../owners/owner.entity.js';
import { IdempotencyKey } from '../tasks/idempotency-key.entity.js';
import { Deletion } from '../sync/deletion.entity.js';
import { Task } from '../tasks/task.entity.js';
import type { DatabaseEnvironment } from '../config/environment.js';

export type DatabaseSettings = Pick<
  DatabaseEnvironment,
  'DB_POOL_MAX' | 'DB_CONNECT_TIMEOUT_MS' | 'DB_IDLE_TIMEOUT_MS' | 'DB_STATEMENT_TIMEOUT_MS'
>;

/** How long a migration's DDL may wait for a lock before it gives up (and can simply be run again). */
const MIGRATION_LOCK_TIMEOUT_MS = 5_000;

/**
 * The one MikroORM configuration, used by the app (DatabaseModule), the CLI
 * (mikro-orm.config.ts) and the tests, so none of them can drift.
 *
 * `migrating` is for the connections that run migrations: no statement
 * timeout (building an index on a million tasks takes longer than any request
 * may), but a lock timeout, so DDL that waits behind a long transaction gives
 * up instead of queueing every writer behind it.
 *
 * `pooled` is for DATABASE_URL behind a transaction pooler (DATABASE_DIRECT_URL
 * set): no setting is sent at connect, since PgBouncer refuses start-up
 * parameters it does not track, and a session setting would not follow the
 * transactions onto other server connections anyway. The statement timeout is
 * then the role's own setting (the README's setup), which DatabaseLifecycle
 * checks at start-up.
 */
export function buildOrmOptions(
  clientUrl: string,
  settings: DatabaseSettings,
  { migrating = false, pooled = false }: { migrating?: boolean; pooled?: boolean } = {},
): Options {
  return defineConfig({
    clientUrl,
    entities: [Task, List, Owner, IdempotencyKey, Deletion],
    extensions: [Migrator],
    // Nothing reaches the database outside a request context or an explicit fork.
    allowGlobalContext: false,
    ensureDatabase: false,
    // Its messages go through the service's logger, where ANSI colours are noise.
    colors: false,
    pool: { min: 0, max: settings.DB_POOL_MAX, idleTimeoutMillis: settings.DB_IDLE_TIMEOUT_MS },
    driverOptions: {
      connectionTimeoutMillis: settings.DB_CONNECT_TIMEOUT_MS,
      ...(migrating
        ? { statement_timeout: 0, lock_timeout: MIGRATION_LOCK_TIMEOUT_MS }
        : pooled
          ? {}
          : { statement_timeout: settings.DB_STATEMENT_TIMEOUT_MS }),
      application_name: 'tasks-service',
    },
    migrations: {
      tableName: 'mikro_orm_migrations',
      // New files are written here by `migration:create`; they run from the
      // explicit list in migrations/index.ts, which works the same from ts
      // sources (CLI, tests) and from the compiled dist/ (the service).
      path: 'migrations',
      pathTs: 'migrations',
      migrationsList,
      transactional: true,
      // Each migration in its own transaction, and none for those that build
      // indexes CONCURRENTLY (which cannot run inside one).
      allOrNothing: false,
      snapshot: false,
      emit: 'ts',
    },
  });
}
