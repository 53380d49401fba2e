import { MikroORM } from '@mikro-orm/core';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { EntityManager, MikroORM as PostgreSqlMikroORM, PostgreSqlDriver } from '@mikro-orm/postgresql';
import {
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EnvironmentVariables } from '../config/environment.js';
import { DatabaseConnectionError } from './data-layer.errors.js';
import { describeDatabaseUrl, resolveDatabaseUrl, type DatabaseTarget } from './database-url.js';
import { buildOrmOptions, type DatabaseSettings } from './orm-options.js';
import { SqlRunner } from './sql-runner.js';

export const DATABASE_TARGET = Symbol('DATABASE_TARGET');

type Config = ConfigService<EnvironmentVariables, true>;

function databaseSettings(config: Config): DatabaseSettings {
  return {
    DB_POOL_MAX: config.get('DB_POOL_MAX', { infer: true }),
    DB_CONNECT_TIMEOUT_MS: config.get('DB_CONNECT_TIMEOUT_MS', { infer: true }),
    DB_IDLE_TIMEOUT_MS: config.get('DB_IDLE_TIMEOUT_MS', { infer: true }),
    DB_STATEMENT_TIMEOUT_MS: config.get('DB_STATEMENT_TIMEOUT_MS', { infer: true }),
  };
}

/** Which PostgreSQL the service uses: DATABASE_URL, or the development embedded one it starts. */
@Module({
  providers: [
    {
      provide: DATABASE_TARGET,
      inject: [ConfigService],
      useFactory: (config: Config): Promise<DatabaseTarget> => {
        const log = new Logger('EmbeddedPostgres');
        return resolveDatabaseUrl(
          {
            DATABASE_URL: config.get('DATABASE_URL', { infer: true }),
            DATABASE_DIRECT_URL: config.get('DATABASE_DIRECT_URL', { infer: true }),
            EMBEDDED_DB_DIR: config.get('EMBEDDED_DB_DIR', { infer: true }),
            EMBEDDED_DB_PORT: config.get('EMBEDDED_DB_PORT', { infer: true }),
          },
          (line) => log.debug(line),
        );
      },
    },
  ],
  exports: [DATABASE_TARGET],
})
class DatabaseTargetModule {}

/**
 * Verifies the connection before the service accepts requests, applies
 * migrations where that is allowed, and stops the embedded PostgreSQL last.
 */
@Injectable()
export class DatabaseLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  /** What the start-up line reports: where the data is, and the schema's last migration. */
  summary = '';

  constructor(
    private readonly orm: MikroORM,
    // The full type, not the Config alias: Nest injects by the emitted class.
    private readonly config: ConfigService<EnvironmentVariables, true>,
    @Inject(DATABASE_TARGET) private readonly target: DatabaseTarget,
  ) {}

  async onModuleInit(): Promise<void> {
    const where = describeDatabaseUrl(this.target.url);
    // MikroORM connects lazily; connect now so a wrong URL fails here, not on the first request.
    await this.orm.connect();
    const check = await this.orm.checkConnection();
    if (!check.ok) {
      throw new DatabaseConnectionError(`Cannot connect to PostgreSQL at ${where}: ${check.reason}`, {
        cause: check.error,
      });
    }
    await this.checkStatementTimeout(where);
    // Only the zero-setup development database migrates itself; in production a
    // one-shot `npm run migration:up` job does it, so replicas never race on DDL.
    const migrate =
      this.target.embedded !== undefined || this.config.get('DB_MIGRATE_ON_START', { infer: true });
    if (migrate) {
      // On connections of their own, without the requests' statement timeout
      // (see buildOrmOptions), then closed.
      const options = buildOrmOptions(this.target.directUrl, databaseSettings(this.config), {
        migrating: true,
      });
      // MikroORM's default logger writes the migrator's progress to the console as
      // plain text, between the JSON lines operators' log shippers parse.
      const migrator = await PostgreSqlMikroORM.init({
        ...options,
        logger: (message) => this.logger.log(message),
      });
      try {
        const applied = await migrator.migrator.up();
        if (applied.length > 0)
          this.logger.log(`applied migrations: ${applied.map((m) => m.name).join(', ')}`);
      } finally {
        await migrator.close();
      }
    }
    const kind = this.target.embedded ? 'embedded PostgreSQL' : 'PostgreSQL';
    const dataDir = this.target.embedded
      ? ` (data in ${this.config.get('EMBEDDED_DB_DIR', { infer: true })})`
      : '';
    const executed = await this.orm.migrator.getExecuted();
    const pending = await this.orm.migrator.getPending();
    const latest = executed.at(-1)?.name ?? 'none';
    this.summary =
      `database ${kind} at ${where}${dataDir}; migrations applied: ${executed.length} (latest ${latest})` +
      (pending.length > 0 ? `, PENDING: ${pending.map((m) => m.name).join(', ')}` : '');
    if (pending.length > 0) {
      this.logger.warn(
        `${pending.length} migration(s) pending: readiness stays 503 until npm run migration:up`,
      );
    }
  }

  /**
   * The 503-instead-of-a-hang behaviour depends on the statement timeout, so the
   * service does not start without it. Behind a pooler it cannot be sent at
   * connect (see buildOrmOptions) and must be the role's or database's own
   * setting; sent at connect, a pooler told to ignore it
   * (`ignore_startup_parameters`, a common PgBouncer recipe) drops it silently.
   * Read through DATABASE_URL, as every request's statements run.
   */
  private async checkStatementTimeout(where: string): Promise<void> {
    const expected = this.config.get('DB_STATEMENT_TIMEOUT_MS', { infer: true });
    const rows = (await this.orm.em
      .getConnection()
      .execute(
        `select (extract(epoch from current_setting('statement_timeout')::interval) * 1000)::int as ms`,
      )) as { ms: number }[];
    const actual = rows[0].ms;
    if (actual === expected) return;
    const fix = `give the database role the setting (ALTER ROLE <user> SET statement_timeout = ${expected})`;
    throw new DatabaseConnectionError(
      `statement_timeout through DATABASE_URL (${where}) is ${actual} ms, not DB_STATEMENT_TIMEOUT_MS=${expected}: ` +
        (this.target.pooled
          ? `behind a pooler (DATABASE_DIRECT_URL set) it cannot be set per connection; ${fix} or set DB_STATEMENT_TIMEOUT_MS to match`
          : `the setting sent at connect was not applied, as behind a pooler that ignores it; ` +
            `set DATABASE_DIRECT_URL to the database itself and ${fix}`),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.target.embedded) return;
    // The pool must be closed before the server goes, or its idle clients error.
    await this.orm.close();
    await this.target.embedded.stop();
  }
}

@Module({
  imports: [
    MikroOrmModule.forRootAsync({
      driver: PostgreSqlDriver,
      imports: [DatabaseTargetModule],
      inject: [ConfigService, DATABASE_TARGET],
      useFactory: (config: Config, target: DatabaseTarget) => ({
        ...buildOrmOptions(target.url, databaseSettings(config), { pooled: target.pooled }),
        // No per-request fork of the EntityManager: TasksRepository only runs
        // statements on the connection's pg pool, which never touches an identity map, so
        // a fork per request would be pure cost (it showed in the benchmark's
        // profile). Code that did use the identity map would still fail loudly
        // (allowGlobalContext: false).
        registerRequestContext: false,
      }),
    }),
    DatabaseTargetModule,
  ],
  providers: [
    DatabaseLifecycle,
    {
      // One runner for every repository, so they share the pool and its settings.
      provide: SqlRunner,
      inject: [EntityManager, ConfigService],
      useFactory: (em: EntityManager, config: Config) =>
        new SqlRunner(em, { namedStatements: config.get('DB_PREPARED_STATEMENTS', { infer: true }) }),
    },
  ],
  exports: [DatabaseLifecycle, DatabaseTargetModule, SqlRunner],
})
export class DatabaseModule {}
