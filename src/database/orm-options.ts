import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { migrationsList } from '../../migrations/index.js';
import { List } from '../lists/list.entity.js';
import { Owner } from '../owners/owner.entity.js';
import { IdempotencyKey } from '../tasks/idempotency-key.entity.js';
import { Task } from '../tasks/task.entity.js';
import type { DatabaseEnvironment } from '../config/environment.js';

export type DatabaseSettings = Pick<
  DatabaseEnvironment,
  'DB_POOL_MAX' | 'DB_CONNECT_TIMEOUT_MS' | 'DB_IDLE_TIMEOUT_MS' | 'DB_STATEMENT_TIMEOUT_MS'
>;

/**
 * The one MikroORM configuration, used by the app (DatabaseModule), the CLI
 * (mikro-orm.config.ts) and the tests, so none of them can drift.
 */
export function buildOrmOptions(clientUrl: string, settings: DatabaseSettings): Options {
  return defineConfig({
    clientUrl,
    entities: [Task, List, Owner, IdempotencyKey],
    extensions: [Migrator],
    // Nothing reaches the database outside a request context or an explicit fork.
    allowGlobalContext: false,
    ensureDatabase: false,
    // Its messages go through the service's logger, where ANSI colours are noise.
    colors: false,
    pool: { min: 0, max: settings.DB_POOL_MAX, idleTimeoutMillis: settings.DB_IDLE_TIMEOUT_MS },
    driverOptions: {
      connectionTimeoutMillis: settings.DB_CONNECT_TIMEOUT_MS,
      statement_timeout: settings.DB_STATEMENT_TIMEOUT_MS,
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
