import { DatabaseEnvironment, validateEnvironmentOrExit } from './src/config/environment.js';
import { resolveDatabaseUrl } from './src/database/database-url.js';
import { buildOrmOptions } from './src/database/orm-options.js';

/**
 * Entry point of the MikroORM CLI (npm run migration:*). It validates only the
 * database settings, so a one-shot migration job needs DATABASE_URL and nothing
 * else; without DATABASE_URL outside production it uses the development
 * embedded PostgreSQL, starting it when the service is not already running it.
 */
export default async () => {
  const env = validateEnvironmentOrExit(DatabaseEnvironment);
  // An embedded server started here is stopped by its exit hook when the CLI exits.
  // Migrations hold a session lock: never through a transaction pooler (DATABASE_DIRECT_URL).
  const { directUrl } = await resolveDatabaseUrl(env);
  // The CLI's connections run migrations: no statement timeout, a lock timeout.
  return buildOrmOptions(directUrl, env, { migrating: true });
};
