import { randomBytes } from 'node:crypto';
import { MikroORM, type EntityManager } from '@mikro-orm/postgresql';
import pg from 'pg';
import { DatabaseEnvironment, validateEnvironment } from '../../src/config/environment';
import { buildOrmOptions, type DatabaseSettings } from '../../src/database/orm-options';
import { SqlRunner } from '../../src/database/sql-runner';

/** Every database a run creates starts with this, so teardown drops exactly those and nothing else. */
export const TEST_DATABASE_PREFIX = 'tasks_test_';

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Runs statements on the server through the database the URL names (never one of ours being copied). */
export async function adminQuery(serverUrl: string, ...statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

/** The service's defaults, as production would get them from an empty environment. */
export const testSettings: DatabaseSettings = validateEnvironment(DatabaseEnvironment, {});

function runContext(): { serverUrl: string; runId: string; template: string } {
  const serverUrl = process.env.TEST_DB_SERVER_URL;
  const runId = process.env.TEST_DB_RUN_ID;
  const template = process.env.TEST_DB_TEMPLATE;
  if (!serverUrl || !runId || !template) {
    throw new Error('No test database server: run the db tests through jest (npm test), which starts one');
  }
  return { serverUrl, runId, template };
}

/**
 * Set by CI's PgBouncer step (postgres://USER@HOST:6432): the apps of the HTTP
 * tests then reach their databases through that transaction pooler, as a
 * Neon or Supabase pooled endpoint would be used, with their direct URL for
 * the change stream's LISTEN and migrations.
 */
const poolerUrl = process.env.TEST_POOLER_URL;

/** The database variables an app under test gets for `db`: direct, or through TEST_POOLER_URL. */
export function appDatabaseEnv(db: TestDatabase): Record<string, string> {
  if (!poolerUrl) return { DATABASE_URL: db.url };
  return {
    DATABASE_URL: withDatabase(poolerUrl, db.name),
    DATABASE_DIRECT_URL: db.url,
    DB_PREPARED_STATEMENTS: 'false',
  };
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A database of this test file's own: a copy of the migrated template (fast), or
 * an empty one for migration tests. Dropped by the file's afterAll.
 */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const { serverUrl, runId, template } = runContext();
  const name = `${TEST_DATABASE_PREFIX}${runId}_${randomBytes(4).toString('hex')}`;
  const from = options.empty ? '' : ` template "${template}"`;
  for (let attempt = 0; ; attempt++) {
    try {
      await adminQuery(serverUrl, `create database "${name}"${from}`);
      break;
    } catch (error) {
      // 55006: another file is copying the template at this instant; try again shortly.
      if ((error as { code?: string }).code !== '55006' || attempt >= 20) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (poolerUrl) {
    // Through a pooler the statement timeout cannot be a connection parameter: it
    // is the database's own setting, as the README's setup makes it the role's.
    await adminQuery(
      serverUrl,
      `alter database "${name}" set statement_timeout = ${testSettings.DB_STATEMENT_TIMEOUT_MS}`,
    );
  }
  return {
    name,
    url: withDatabase(serverUrl, name),
    drop: () => dropDatabase(serverUrl, name),
  };
}

/**
 * Drops a database once the pools closed by the test have really disconnected
 * (pg resolves pool.end() before the server has seen every backend exit).
 * FORCE would instead kill those backends and make their clients emit errors.
 */
async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      // The pooler keeps its server connections open after the test's pool closed.
      const force = attempt >= 40 || poolerUrl !== undefined;
      await adminQuery(serverUrl, `drop database if exists "${name}"${force ? ' with (force)' : ''}`);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '55006' || attempt >= 40) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export function openOrm(
  url: string,
  settings: Partial<DatabaseSettings> = {},
  { migrating = false }: { migrating?: boolean } = {},
): Promise<MikroORM> {
  const options = buildOrmOptions(url, { ...testSettings, ...settings }, { migrating });
  // The migrator's progress lines are for operators, not for test output.
  return MikroORM.init({ ...options, migrations: { ...options.migrations, silent: true } });
}

/** A plain pg pool for asserting what is really in the database, independent of the code under test. */
export function sqlClient(url: string): pg.Pool {
  // Under TEST_POOLER_URL the database itself carries the app's 5 s statement
  // timeout; arranging 20,000 rows on a busy CI machine may take longer, and
  // the app's guard is not this pool's to keep.
  return new pg.Pool({ connectionString: url, max: 2, options: '-c statement_timeout=0' });
}

export interface DatabaseFixture {
  db: TestDatabase;
  orm: MikroORM;
  /** Direct SQL, to arrange and assert what is really stored. */
  sql: pg.Pool;
}

/**
 * A database of its own for the enclosing file or describe, with an ORM and a
 * plain pool on it; created in beforeAll and dropped in afterAll.
 */
export function useTestDatabase(options: { empty?: boolean } = {}): DatabaseFixture {
  const fixture = {} as DatabaseFixture;
  beforeAll(async () => {
    fixture.db = await createTestDatabase(options);
    fixture.orm = await openOrm(fixture.db.url);
    fixture.sql = sqlClient(fixture.db.url);
  });
  afterAll(async () => {
    await fixture.orm?.close();
    await fixture.sql?.end();
    await fixture.db?.drop();
  });
  return fixture;
}

/** A repository as the app wires it, on its own runner with named statements (the default). */
export function repository<R>(
  Repository: new (em: EntityManager, sql: SqlRunner) => R,
  em: EntityManager,
): R {
  return new Repository(em, new SqlRunner(em));
}
