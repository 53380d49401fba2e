import './resolve-ts-extensions';
import pg from 'pg';
import { TEST_DATABASE_PREFIX } from './test-database';

/** Drops every database this run created (and only those), then stops a server the run started. */
export default async function globalTeardown(): Promise<void> {
  const server = globalThis.__TASKS_TEST_SERVER__;
  const runId = process.env.TEST_DB_RUN_ID;
  if (!server || !runId) return;
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      'select datname from pg_database where starts_with(datname, $1)',
      [`${TEST_DATABASE_PREFIX}${runId}_`],
    );
    for (const { datname } of rows) {
      await client.query(`drop database if exists "${datname}" with (force)`);
    }
  } finally {
    await client.end();
  }
  await server.stop();
}
