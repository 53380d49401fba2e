import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { bootApp, TEST_JWT_SECRET } from '../helpers/boot-app';
import { auth } from '../helpers/http';
import {
  appDatabaseEnv,
  createTestDatabase,
  sqlClient,
  withDatabase,
  type TestDatabase,
} from '../helpers/test-database';
import { freePort } from '../helpers/test-server';

/**
 * What only a transaction pooler shows, run by CI's PgBouncer step (jest.config.js
 * selects *.pooler-spec.ts when TEST_POOLER_URL is set; that step also runs every
 * HTTP test through the pooler). PgBouncer 1.18 is Debian's: no prepared
 * statements, and no start-up parameters beyond the few it tracks.
 */
const POOLER_URL = process.env.TEST_POOLER_URL!;
const PROD = { NODE_ENV: 'production', LOG_LEVEL: 'silent', JWT_SECRET: TEST_JWT_SECRET, METRICS_PORT: '0' };
const TIMEOUT_MS = 1000;

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  // The role's (here the database's) setting is what the pooler's server connections start with.
  const admin = sqlClient(db.url);
  await admin.query(`alter database "${db.name}" set statement_timeout = ${TIMEOUT_MS}`);
  await admin.end();
});

afterAll(async () => {
  await db?.drop();
});

describe('through PgBouncer in transaction mode', () => {
  let app: NestFastifyApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('still times a statement out: a write stuck behind a lock is 503 after the timeout and changes nothing', async () => {
    app = await bootApp({ ...PROD, ...appDatabaseEnv(db), DB_STATEMENT_TIMEOUT_MS: String(TIMEOUT_MS) });
    const headers = { ...(await auth('pooled')), 'content-type': 'application/json' };
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers,
      payload: { title: 'before' },
    });
    expect(created.statusCode).toBe(201);
    const id = created.json<{ id: string }>().id;

    // A session of its own, straight to PostgreSQL, holds the task's row.
    const holder = sqlClient(db.url);
    const lock = await holder.connect();
    try {
      await lock.query('begin');
      await lock.query('select 1 from tasks where id = $1 for update', [id]);
      const started = performance.now();
      const patch = await app.inject({
        method: 'PATCH',
        url: `/api/v1/tasks/${id}`,
        headers,
        payload: { title: 'after' },
      });
      const ms = performance.now() - started;
      expect(patch.statusCode).toBe(503);
      expect(patch.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
      // It waited for the timeout, and no longer than a loaded machine adds to it.
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS * 0.9);
      expect(ms).toBeLessThan(TIMEOUT_MS + 3000);
    } finally {
      await lock.query('rollback');
      lock.release();
      await holder.end();
    }
    const check = sqlClient(db.url);
    const { rows } = await check.query('select title, version from tasks where id = $1', [id]);
    await check.end();
    expect(rows).toEqual([{ title: 'before', version: 1 }]);
  });

  it('does not start when the statement timeout the pooled connections get differs from DB_STATEMENT_TIMEOUT_MS', async () => {
    const pooled = new URL(withDatabase(POOLER_URL, db.name));
    await expect(
      bootApp({ ...PROD, ...appDatabaseEnv(db), DB_STATEMENT_TIMEOUT_MS: '5000' }),
    ).rejects.toThrow(
      `statement_timeout through DATABASE_URL (${pooled.hostname}:${pooled.port}/${db.name}) is ${TIMEOUT_MS} ms, ` +
        'not DB_STATEMENT_TIMEOUT_MS=5000: behind a pooler (DATABASE_DIRECT_URL set) it cannot be set per connection; ' +
        'give the database role the setting (ALTER ROLE <user> SET statement_timeout = 5000) ' +
        'or set DB_STATEMENT_TIMEOUT_MS to match',
    );
  });

  it('does not start when it is not told DATABASE_URL is a pooler, since it then sends the timeout at connect', async () => {
    await expect(
      bootApp({
        ...PROD,
        DATABASE_URL: withDatabase(POOLER_URL, db.name),
        DB_STATEMENT_TIMEOUT_MS: String(TIMEOUT_MS),
      }),
    ).rejects.toThrow('unsupported startup parameter: statement_timeout');
  });

  it('does not start when a pooler drops the timeout it sends at connect (ignore_startup_parameters)', async () => {
    // A second PgBouncer, in session mode (named statements work) and set up with
    // the common recipe for clients that send parameters it does not track.
    const port = await freePort();
    const pidFile = execFileSync(
      join(__dirname, '../../.ci/pgbouncer'),
      [String(port), 'pool_mode = session\nignore_startup_parameters = statement_timeout'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    ).trim();
    try {
      const ignoring = new URL(withDatabase(POOLER_URL, db.name));
      ignoring.port = String(port);
      await expect(
        bootApp({ ...PROD, DATABASE_URL: ignoring.toString(), DB_STATEMENT_TIMEOUT_MS: '5000' }),
      ).rejects.toThrow(
        `statement_timeout through DATABASE_URL (127.0.0.1:${port}/${db.name}) is ${TIMEOUT_MS} ms, ` +
          'not DB_STATEMENT_TIMEOUT_MS=5000: the setting sent at connect was not applied, as behind a pooler ' +
          'that ignores it; set DATABASE_DIRECT_URL to the database itself and give the database role the ' +
          'setting (ALTER ROLE <user> SET statement_timeout = 5000)',
      );
    } finally {
      process.kill(Number(readFileSync(pidFile, 'utf8')));
      rmSync(dirname(pidFile), { recursive: true, force: true });
    }
  });
});
