/**
 * How long each migration blocks writes, measured on a table of a million
 * tasks (1,000 owners × 1,000): the 1.0 schema is migrated and seeded with
 * SQL, then each later migration runs on its own while a writer updates and
 * inserts tasks in a loop on a connection of its own; the longest a single
 * write waited during the migration is how long the migration blocked writes.
 *
 *   DATABASE_URL=postgres://…/scratch npx tsx bench/migration-locks.mts [--tasks 1000000]
 *
 * The database must be empty (the script creates the schema); it is left as it ends.
 */
import { parseArgs } from 'node:util';
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { migrationsList } from '../migrations/index.js';
import { DatabaseEnvironment, validateEnvironment } from '../src/config/environment.js';
import { buildOrmOptions } from '../src/database/orm-options.js';

const { values: args } = parseArgs({ options: { tasks: { type: 'string', default: '1000000' } } });
const TASKS = Number(args.tasks);
const OWNERS = 1000;
const url = process.env.DATABASE_URL;
if (!url) throw new Error('set DATABASE_URL to an empty scratch database');

const options = buildOrmOptions(url, validateEnvironment(DatabaseEnvironment, {}), { migrating: true });
const orm = await MikroORM.init({ ...options, migrations: { ...options.migrations, silent: true } });
const FIRST_1_1 = migrationsList.findIndex((m) => m.name.endsWith('_lists_owners'));
const before = migrationsList.slice(0, FIRST_1_1).map((m) => m.name);
await orm.migrator.up({ to: before.at(-1) });

const sql = new pg.Client({ connectionString: url });
await sql.connect();
const seeded = performance.now();
await sql.query(
  `insert into tasks (user_id, title, description, completed, created_at, updated_at)
   select 'user_' || (n % ${OWNERS}), 'task ' || n, case when n % 5 = 0 then 'notes ' || n end, n % 3 = 0,
          now() - (n * interval '1 second'), now() - ((n % 997) * interval '1 second')
   from generate_series(1, ${TASKS}) n`,
);
await sql.query('analyze tasks');
const size = await sql.query<{ size: string }>(
  `select pg_size_pretty(pg_total_relation_size('tasks')) as size`,
);
console.log(
  `seeded ${TASKS} tasks of ${OWNERS} owners in ${((performance.now() - seeded) / 1000).toFixed(1)} s (${size.rows[0].size})`,
);

/** Writes in a loop until stopped; returns the longest single write, in ms, and how many ran. */
function writer(): { stop(): Promise<{ maxMs: number; writes: number; errors: number }> } {
  const client = new pg.Client({ connectionString: url });
  let running = true;
  let maxMs = 0;
  let writes = 0;
  let errors = 0;
  const loop = (async () => {
    await client.connect();
    for (let i = 0; running; i++) {
      const owner = `user_${i % OWNERS}`;
      const started = performance.now();
      try {
        if (i % 2 === 0) {
          await client.query(
            `update tasks set completed = not completed where user_id = $1 and id = (
               select id from tasks where user_id = $1 limit 1)`,
            [owner],
          );
        } else {
          await client.query(`insert into tasks (user_id, title) values ($1, 'written during a migration')`, [
            owner,
          ]);
        }
        writes++;
      } catch {
        errors++;
      }
      maxMs = Math.max(maxMs, performance.now() - started);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await client.end();
      return { maxMs, writes, errors };
    },
  };
}

console.log('\nmigration                                   runs s   longest write ms   writes   errors');
for (const migration of migrationsList.slice(FIRST_1_1)) {
  const w = writer();
  await new Promise((r) => setTimeout(r, 500));
  const started = performance.now();
  await orm.migrator.up({ to: migration.name });
  const seconds = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 500));
  const { maxMs, writes, errors } = await w.stop();
  console.log(
    `${migration.name.padEnd(42)} ${seconds.toFixed(1).padStart(7)} ${maxMs.toFixed(0).padStart(18)} ${String(writes).padStart(8)} ${String(errors).padStart(8)}`,
  );
}
const drift = await orm.schema.getUpdateSchemaSQL({ wrap: false });
console.log(drift === '' ? '\nschema matches the entities' : `\nschema drift:\n${drift}`);
await sql.end();
await orm.close();
