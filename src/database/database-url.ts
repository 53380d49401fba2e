import type { DatabaseEnvironment } from '../config/environment.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';

export interface DatabaseTarget {
  /** Where requests' statements go: DATABASE_URL, possibly a transaction pooler. */
  url: string;
  /**
   * A connection of its own, never through a transaction pooler
   * (DATABASE_DIRECT_URL, else the same as url): the change stream's LISTEN and migrations.
   */
  directUrl: string;
  /** Whether url is a pooler's (DATABASE_DIRECT_URL was given): nothing session-bound may go through it. */
  pooled: boolean;
  /** Set when the development default started (or reused) an embedded PostgreSQL. */
  embedded?: EmbeddedPostgres;
}

export const EMBEDDED_DATABASE_NAME = 'tasks';

/**
 * DATABASE_URL when given; otherwise (never in production, which the
 * environment validation guarantees) the zero-setup embedded PostgreSQL whose
 * data lives in EMBEDDED_DB_DIR and so survives restarts.
 */
export async function resolveDatabaseUrl(
  env: Pick<
    DatabaseEnvironment,
    'DATABASE_URL' | 'DATABASE_DIRECT_URL' | 'EMBEDDED_DB_DIR' | 'EMBEDDED_DB_PORT'
  >,
  log?: (line: string) => void,
): Promise<DatabaseTarget> {
  if (env.DATABASE_URL) {
    const directUrl = env.DATABASE_DIRECT_URL ?? env.DATABASE_URL;
    return { url: env.DATABASE_URL, directUrl, pooled: directUrl !== env.DATABASE_URL };
  }
  const embedded = await startEmbeddedPostgres({
    dataDir: env.EMBEDDED_DB_DIR,
    port: env.EMBEDDED_DB_PORT,
    database: EMBEDDED_DATABASE_NAME,
    log,
  });
  return { url: embedded.url, directUrl: embedded.url, pooled: false, embedded };
}

/** host:port/database of a connection URL: what logs and errors may show (never the password). */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}
