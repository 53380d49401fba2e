import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type pg from 'pg';
import { describeDatabaseUrl } from '../src/database/database-url';
import { bootApp, TEST_JWT_SECRET } from './helpers/boot-app';
import { createTestDatabase, sqlClient, type TestDatabase } from './helpers/test-database';
import { freePort } from './helpers/test-server';

const QUIET = { LOG_LEVEL: 'silent', JWT_SECRET: TEST_JWT_SECRET };

/** Runs a TasksService call the way a request does: in its own MikroORM request context. */
async function withService<T>(
  app: NestFastifyApplication,
  work: (service: import('../src/tasks/tasks.service.js').TasksService) => Promise<T>,
): Promise<T> {
  const { MikroORM, RequestContext } = await import('@mikro-orm/core');
  const { TasksService } = await import('../src/tasks/tasks.service.js');
  const orm = app.get(MikroORM);
  return RequestContext.create(orm.em, () => work(app.get(TasksService)));
}

describe('start-up against DATABASE_URL', () => {
  let db: TestDatabase;
  let sql: pg.Pool;

  beforeEach(async () => {
    db = await createTestDatabase({ empty: true });
    sql = sqlClient(db.url);
  });

  afterEach(async () => {
    await sql.end();
    await db.drop();
  });

  const tasksTableExists = async () =>
    (await sql.query(`select 1 from pg_tables where tablename = 'tasks'`)).rowCount === 1;

  it('never migrates in production unless DB_MIGRATE_ON_START=true', async () => {
    const app = await bootApp({ ...QUIET, NODE_ENV: 'production', DATABASE_URL: db.url });
    await app.close();
    expect(await tasksTableExists()).toBe(false);

    const migrating = await bootApp({
      ...QUIET,
      NODE_ENV: 'production',
      DATABASE_URL: db.url,
      DB_MIGRATE_ON_START: 'true',
    });
    try {
      expect(await tasksTableExists()).toBe(true);
      const task = await withService(migrating, (s) => s.create('owner', { title: '  trimmed  ' }));
      expect(task.title).toBe('trimmed');
    } finally {
      await migrating.close();
    }
  });

  it('takes DATABASE_URL for a pooler once DATABASE_DIRECT_URL is set: no timeout sent, and no start unless the database has it', async () => {
    // Another URL of the same database stands in for a pooler's; prepared statements stay on,
    // as behind a PgBouncer that keeps them.
    const pooled = {
      ...QUIET,
      NODE_ENV: 'production',
      DATABASE_URL: `${db.url}?sslmode=disable`,
      DATABASE_DIRECT_URL: db.url,
      DB_MIGRATE_ON_START: 'true',
    };
    // Not the database's setting yet (CI's pooler run gives each test database one).
    await sql.query(`alter database "${db.name}" reset statement_timeout`);
    await expect(bootApp(pooled)).rejects.toThrow(
      `statement_timeout through DATABASE_URL (${describeDatabaseUrl(db.url)}) is 0 ms, not DB_STATEMENT_TIMEOUT_MS=5000: `,
    );

    await sql.query(`alter database "${db.name}" set statement_timeout = 5000`);
    const app = await bootApp(pooled);
    await app.close();
    // Migrated at start-up. Both URLs reach one database here, so which one migrated is
    // shown under CI's PgBouncer instead, where migrations through the pooler fail.
    expect(await tasksTableExists()).toBe(true);
  });

  it('refuses to start when the database cannot be reached, naming where without the password', async () => {
    const port = await freePort();
    const error = await bootApp({
      ...QUIET,
      NODE_ENV: 'production',
      DATABASE_URL: `postgres://app:s3cret-password@127.0.0.1:${port}/tasks`,
    }).catch((e: unknown) => e);

    expect(error).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      message: `Cannot connect to PostgreSQL at 127.0.0.1:${port}/tasks: connect ECONNREFUSED 127.0.0.1:${port}`,
    });
  });

  it('refuses to build the app when the configuration is invalid', async () => {
    await expect(bootApp({ ...QUIET, NODE_ENV: 'production', DATABASE_URL: undefined })).rejects.toThrow(
      'DATABASE_URL is required when NODE_ENV=production',
    );
  });
});

describe('zero-setup development database', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasks-dev-'));
    // mkdtemp makes it 0700; PostgreSQL runs as its own OS user under root and must reach its folder.
    await chmod(dir, 0o755);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts an embedded PostgreSQL, migrates it, stops it on close and keeps the data for the next start', async () => {
    const env = {
      ...QUIET,
      NODE_ENV: 'development',
      DATABASE_URL: undefined,
      EMBEDDED_DB_DIR: join(dir, 'postgres'),
      EMBEDDED_DB_PORT: String(await freePort()),
    };

    const first = await bootApp(env);
    const created = await withService(first, (s) => s.create('dev', { title: 'written before restart' }));
    await first.close();
    expect(existsSync(join(dir, 'postgres', 'postmaster.pid'))).toBe(false);

    const second = await bootApp(env);
    try {
      await expect(withService(second, (s) => s.get('dev', created.id))).resolves.toEqual(created);
    } finally {
      await second.close();
    }
    expect(existsSync(join(dir, 'postgres', 'postmaster.pid'))).toBe(false);
  }, 60_000);
});
