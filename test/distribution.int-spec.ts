import { useTestDatabase } from './helpers/test-database';

/**
 * Ready to distribute by user (Citus-style, keyed by owner): every primary
 * key, unique constraint and foreign key of our tables includes user_id, so
 * each can be enforced within one owner's shard. Read from the catalog of the
 * migrated schema, so a new table or constraint without it fails here.
 */
describe('the schema, distributed by owner', () => {
  const t = useTestDatabase();

  it('has user_id in every primary key, unique constraint and foreign key of every table', async () => {
    const { rows } = await t.sql.query<{ table: string; constraint: string; columns: string[] }>(`
      select c.conrelid::regclass::text as table, c.conname as constraint,
             array(select a.attname from unnest(c.conkey) k join pg_attribute a
                   on a.attrelid = c.conrelid and a.attnum = k order by a.attname)::text[] as columns
      from pg_constraint c join pg_class r on r.oid = c.conrelid
      join pg_namespace n on n.oid = r.relnamespace
      where n.nspname = current_schema() and c.contype in ('p', 'u', 'f')
        and r.relname <> 'mikro_orm_migrations'
      order by 1, 2`);

    expect(rows.length).toBeGreaterThanOrEqual(8);
    expect(rows.filter((r) => !r.columns.includes('user_id'))).toEqual([]);
    // And every table but the migrations' own is keyed by owner.
    expect([...new Set(rows.map((r) => r.table))].sort()).toEqual([
      'deletions',
      'idempotency_keys',
      'lists',
      'owners',
      'tasks',
    ]);
  });

  it('has user_id in every unique index', async () => {
    const { rows } = await t.sql.query<{ index: string; columns: string[] }>(`
      select i.indexrelid::regclass::text as index,
             array(select a.attname from unnest(i.indkey) k join pg_attribute a
                   on a.attrelid = i.indrelid and a.attnum = k)::text[] as columns
      from pg_index i join pg_class r on r.oid = i.indrelid join pg_namespace n on n.oid = r.relnamespace
      where n.nspname = current_schema() and i.indisunique and r.relname <> 'mikro_orm_migrations'`);

    expect(rows.length).toBeGreaterThanOrEqual(6);
    expect(rows.filter((r) => !r.columns.includes('user_id'))).toEqual([]);
  });
});
