import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { migrationsList } from '../migrations';
import { TasksRepository } from '../src/tasks/tasks.repository';
import type { ListQuery, TaskSort } from '../src/tasks/task.types';
import { useTestDatabase } from './helpers/test-database';

/** What the migrated schema must be, read back from PostgreSQL's catalogs. */
describe('tasks schema', () => {
  const t = useTestDatabase();

  it('has exactly the columns of the contract, with types, nullability, defaults and collation', async () => {
    const { rows } = await t.sql.query(`
      select column_name, data_type, character_maximum_length as max, is_nullable, column_default, collation_name,
             datetime_precision
      from information_schema.columns where table_name = 'tasks' order by ordinal_position`);
    expect(rows).toEqual([
      {
        column_name: 'id',
        data_type: 'uuid',
        max: null,
        is_nullable: 'NO',
        column_default: 'gen_random_uuid()',
        collation_name: null,
        datetime_precision: null,
      },
      {
        column_name: 'user_id',
        data_type: 'character varying',
        max: 128,
        is_nullable: 'NO',
        column_default: null,
        collation_name: null,
        datetime_precision: null,
      },
      {
        column_name: 'title',
        data_type: 'character varying',
        max: 255,
        is_nullable: 'NO',
        column_default: null,
        collation_name: 'C',
        datetime_precision: null,
      },
      {
        column_name: 'description',
        data_type: 'text',
        max: null,
        is_nullable: 'YES',
        column_default: null,
        collation_name: null,
        datetime_precision: null,
      },
      {
        column_name: 'completed',
        data_type: 'boolean',
        max: null,
        is_nullable: 'NO',
        column_default: 'false',
        collation_name: null,
        datetime_precision: null,
      },
      {
        column_name: 'created_at',
        data_type: 'timestamp with time zone',
        max: null,
        is_nullable: 'NO',
        column_default: 'now()',
        collation_name: null,
        datetime_precision: 6,
      },
      {
        column_name: 'updated_at',
        data_type: 'timestamp with time zone',
        max: null,
        is_nullable: 'NO',
        column_default: 'now()',
        collation_name: null,
        datetime_precision: 6,
      },
      {
        column_name: 'version',
        data_type: 'integer',
        max: null,
        is_nullable: 'NO',
        column_default: '1',
        collation_name: null,
        datetime_precision: null,
      },
    ]);
  });

  // PostgreSQL 18 also lists NOT NULL as constraints; nullability is asserted with the columns above.
  it('has the primary key and the check constraints that mirror the API rules', async () => {
    const { rows } = await t.sql.query(`
      select conname, contype, pg_get_constraintdef(oid) as def from pg_constraint
      where conrelid = 'tasks'::regclass and contype in ('p', 'c', 'u', 'f') order by conname`);
    expect(rows).toEqual([
      {
        conname: 'tasks_description_length',
        contype: 'c',
        def: 'CHECK ((char_length(description) <= 10000))',
      },
      { conname: 'tasks_pkey', contype: 'p', def: 'PRIMARY KEY (id)' },
      { conname: 'tasks_title_not_blank', contype: 'c', def: "CHECK ((btrim((title)::text) <> ''::text))" },
      { conname: 'tasks_user_id_not_empty', contype: 'c', def: "CHECK (((user_id)::text <> ''::text))" },
      { conname: 'tasks_version_positive', contype: 'c', def: 'CHECK ((version >= 1))' },
    ]);
  });

  it('has an owner-first index for each list sort', async () => {
    const { rows } = await t.sql.query(
      `select indexname, indexdef from pg_indexes where tablename = 'tasks' order by indexname`,
    );
    expect(rows.map((r) => [r.indexname, r.indexdef.replace(/ ON public\./, ' ON ')])).toEqual([
      ['tasks_pkey', 'CREATE UNIQUE INDEX tasks_pkey ON tasks USING btree (id)'],
      [
        'tasks_user_created_idx',
        'CREATE INDEX tasks_user_created_idx ON tasks USING btree (user_id, created_at, id)',
      ],
      ['tasks_user_title_idx', 'CREATE INDEX tasks_user_title_idx ON tasks USING btree (user_id, title, id)'],
      [
        'tasks_user_updated_idx',
        'CREATE INDEX tasks_user_updated_idx ON tasks USING btree (user_id, updated_at, id)',
      ],
    ]);
  });

  it('has a BEFORE UPDATE row trigger that moves updated_at and version', async () => {
    const { rows } = await t.sql.query(`
      select t.tgname, pg_get_triggerdef(t.oid) as def, p.prosrc from pg_trigger t
      join pg_proc p on p.oid = t.tgfoid where t.tgrelid = 'tasks'::regclass and not t.tgisinternal`);
    expect(rows).toHaveLength(1);
    expect(rows[0].def).toBe(
      'CREATE TRIGGER tasks_touch BEFORE UPDATE ON public.tasks FOR EACH ROW EXECUTE FUNCTION tasks_tasks_touch_fn()',
    );
    expect(rows[0].prosrc).toContain(
      "new.updated_at := greatest(now(), date_trunc('milliseconds', old.updated_at) + interval '1 millisecond'); new.version := old.version + 1;",
    );

    const inserted = await t.sql.query(
      `insert into tasks (user_id, title, created_at, updated_at) values ('u', 't', now() - interval '1 day', now() - interval '1 day') returning updated_at`,
    );
    const updated = await t.sql.query(`update tasks set completed = true returning updated_at, version`);
    expect(updated.rows[0].version).toBe(2);
    expect(new Date(updated.rows[0].updated_at).getTime()).toBeGreaterThan(
      new Date(inserted.rows[0].updated_at).getTime(),
    );
  });

  describe("the repository's list statement", () => {
    beforeAll(async () => {
      // One owner with many tasks among others, so only an index that bounds the
      // scan by owner and keyset beats sorting that owner's rows.
      await t.sql.query(`
        insert into tasks (user_id, title, completed, created_at, updated_at)
        select case when n % 4 = 0 then 'user_7' else 'user_' || (n % 50) end, 'task ' || n, n % 3 = 0,
               timestamptz '2026-01-01Z' + n * interval '1 second',
               timestamptz '2026-01-01Z' + (n % 997) * interval '1 second'
        from generate_series(1, 8000) n`);
      await t.sql.query('analyze tasks');
    });

    const explain = async (query: ListQuery): Promise<string> => {
      const compiled = new TasksRepository(t.orm.em).listStatement('user_7', query);
      const { rows } = await t.sql.query(`explain ${compiled.text}`, compiled.values);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    };

    const INDEX: Record<string, string> = {
      createdAt: 'tasks_user_created_idx',
      updatedAt: 'tasks_user_updated_idx',
      title: 'tasks_user_title_idx',
    };
    // Positions in the middle of user_7's rows, so either direction has rows to read.
    const positions: Record<string, string> = {
      createdAt: '2026-01-01T01:06:40.000000Z',
      updatedAt: '2026-01-01T00:08:20.000000Z',
      title: 'task 5000',
    };

    it.each(['-createdAt', 'createdAt', '-updatedAt', 'updatedAt', '-title', 'title'] as TaskSort[])(
      'reads the %s index in order, owner and position in its Index Cond, with no Sort',
      async (sort) => {
        const field = sort.replace('-', '');
        const scan = sort.startsWith('-') ? 'Index Scan Backward' : 'Index Scan';
        const first = await explain({ sort, limit: 20 });
        expect(first).toContain(`${scan} using ${INDEX[field]} on tasks t`);
        expect(first).not.toContain('Sort');

        const after = { key: positions[field], id: '00000000-0000-4000-8000-000000000000' };
        const next = await explain({ sort, limit: 20, after });
        expect(next).toContain(`${scan} using ${INDEX[field]} on tasks t`);
        expect(next).toMatch(/Index Cond: \(\(\(?user_id\)?(::text)? = 'user_7'::text\) AND \(ROW\(/);
        expect(next).not.toContain('Sort');
      },
    );

    it('keeps the completed filter on the same index scan', async () => {
      const plan = await explain({ sort: '-createdAt', limit: 20, completed: true });
      expect(plan).toContain('Index Scan Backward using tasks_user_created_idx on tasks t');
      expect(plan).not.toContain('Sort');
    });
  });
});

describe('migrations', () => {
  const t = useTestDatabase({ empty: true });

  const tables = async () =>
    (await t.sql.query(`select tablename from pg_tables where schemaname = 'public' order by 1`)).rows.map(
      (r) => r.tablename,
    );

  it('lists every migration file in migrations/index.ts, oldest first', () => {
    const files = readdirSync(join(__dirname, '../migrations'))
      .filter((f) => /^Migration\d+.*\.ts$/.test(f))
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    expect(migrationsList.map((m) => m.name)).toEqual(files);
  });

  it('go up, are harmless to repeat, come down completely and go up again', async () => {
    const all = migrationsList.map((m) => m.name);

    expect((await t.orm.migrator.up()).map((m) => m.name)).toEqual(all);
    expect(await tables()).toEqual(['idempotency_keys', 'mikro_orm_migrations', 'tasks']);
    expect(await t.orm.migrator.up()).toEqual([]);
    expect(await t.orm.migrator.getPending()).toEqual([]);

    expect((await t.orm.migrator.down({ to: 0 })).map((m) => m.name)).toEqual([...all].reverse());
    expect(await tables()).toEqual(['mikro_orm_migrations']);
    const fn = await t.sql.query(`select 1 from pg_proc where proname = 'tasks_tasks_touch_fn'`);
    expect(fn.rowCount).toBe(0);

    expect((await t.orm.migrator.up()).map((m) => m.name)).toEqual(all);
    expect(await tables()).toEqual(['idempotency_keys', 'mikro_orm_migrations', 'tasks']);
  });

  it('leave no drift between the entity and the schema (migration:check)', async () => {
    await t.orm.migrator.up();
    expect(await t.orm.migrator.checkSchema()).toBe(false);
    expect(await t.orm.schema.getUpdateSchemaSQL({ wrap: false })).toBe('');
  });
});
