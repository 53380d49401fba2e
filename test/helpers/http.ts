import { SignJWT } from 'jose';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type pg from 'pg';
import { bootApp, TEST_JWT_SECRET } from './boot-app';
import { appDatabaseEnv, createTestDatabase, sqlClient, type TestDatabase } from './test-database';

export interface HttpFixture {
  app: NestFastifyApplication;
  db: TestDatabase;
  /** Direct SQL on the app's database, to assert what was really stored. */
  sql: pg.Pool;
  close(): Promise<void>;
}

/**
 * The environment of the production app (HS256 with TEST_JWT_SECRET) on `db`,
 * for bootApp; the developer's own auth and CORS variables are cleared.
 */
export function productionAppEnv(db: TestDatabase): Record<string, string | undefined> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    ...appDatabaseEnv(db),
    JWT_SECRET: TEST_JWT_SECRET,
    BETTER_AUTH_SECRET: undefined,
    JWT_JWKS_URL: undefined,
    CURSOR_SECRET: undefined,
    CORS_ORIGINS: undefined,
  };
}

/**
 * The production app on a database of its own, for tests that talk HTTP
 * through Fastify's inject (no socket needed).
 */
export async function startHttpApp(env: Record<string, string | undefined> = {}): Promise<HttpFixture> {
  const db = await createTestDatabase();
  const app = await bootApp({ ...productionAppEnv(db), ...env });
  const sql = sqlClient(db.url);
  return {
    app,
    db,
    sql,
    close: async () => {
      await app.close();
      await sql.end();
      await db.drop();
    },
  };
}

/** A valid HS256 token for the user, as a Better Auth style frontend would send. */
export function tokenFor(sub: string, secret = TEST_JWT_SECRET, expiresIn = '5m'): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

export const auth = async (sub: string) => ({ authorization: `Bearer ${await tokenFor(sub)}` });
