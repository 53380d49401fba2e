import './resolve-ts-extensions';
import { randomBytes } from 'node:crypto';
import { describeDatabaseUrl } from '../../src/database/database-url';
import { adminQuery, openOrm, TEST_DATABASE_PREFIX, withDatabase } from './test-database';
import { startTestServer, type TestServer } from './test-server';

declare global {
  var __TASKS_TEST_SERVER__: TestServer | undefined;
}

/**
 * Starts (or picks) one PostgreSQL for the whole run and migrates a template
 * database once; each test file then copies the template into a database of
 * its own, so files are isolated and can run in parallel.
 */
export default async function globalSetup(): Promise<void> {
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const server = await startTestServer(runId);
  globalThis.__TASKS_TEST_SERVER__ = server;
  const template = `${TEST_DATABASE_PREFIX}${runId}_template`;
  try {
    await adminQuery(server.url, `create database "${template}"`);
    const orm = await openOrm(withDatabase(server.url, template), {}, { migrating: true });
    try {
      await orm.migrator.up();
    } finally {
      await orm.close();
    }
  } catch (error) {
    // Jest skips globalTeardown when setup fails: leave nothing behind.
    await adminQuery(server.url, `drop database if exists "${template}" with (force)`).catch(() => undefined);
    await server.stop();
    throw error;
  }
  // Workers are started after this and inherit these variables.
  process.env.TEST_DB_SERVER_URL = server.url;
  process.env.TEST_DB_RUN_ID = runId;
  process.env.TEST_DB_TEMPLATE = template;
  process.stdout.write(
    `\n[test database] ${server.kind} at ${describeDatabaseUrl(server.url)} ` +
      `(chosen in ${server.decidedInMs} ms); migrated template ${template}\n`,
  );
}
