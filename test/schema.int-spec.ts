import { TasksRepository } from '../src/tasks/tasks.repository';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { migrationsList } from '../migrations';
import type { Statement } from '../src/database/entity-table';
import { ChangesRepository } from '../src/sync/changes.repository';
import { TASK_SORTS, type ListQuery, type TaskSort } from '../src/tasks/task.types';
import { repository, useTestDatabase } from './helpers/test-database';

/** What the migrated schema must be, read back from PostgreSQL's catalogs. */
describe('tasks schema', () => {
  const t = useTestDatabase();

  it('has exactly the columns of the contract, with types, nullability, defaults and collation', async () => {
    const { rows } = await t.sql.query(`
      select column_name, data_type, character_maximum_length as max, is_nullable, column_default, collation_name
      from information_schema.columns where table_name = 'tasks' order by ordinal_position`);
    expect(rows.map((r) => Object.values(r))).toEqual([
      ['id', 'uuid', null, 'NO', 'gen_random_uuid()', null],
      ['user_id', 'character varying', 128, 'NO', null, null],
      ['title', 'character varying', 255, 'NO', null, 'C'],
      ['description', 'text', null, 'YES', null, null],
      ['completed', 'boolean', null, 'NO', 'false', null],
      ['created_at', 'timestamp with time zone', null, 'NO', 'now()', null],
      ['updated_at', 'timestamp with time zone', null, 'NO', 'now()', null],
      ['version', 'integer', null, 'NO', '1', null],
      ['list_id', 'uuid', null, 'YES', null, null],
      ['parent_id', 'uuid', null, 'YES', null, null],
      ['completed_at', 'timestamp with time zone', null, 'YES', null, null],
      ['priority', 'USER-DEFINED', null, 'NO', "'none'::task_priority", null],
      ['tags', 'ARRAY', null, 'NO', "'{}'::text[]", null],
      ['due_date', 'date', null, 'YES', null, null],
      ['due_time', 'time without time zone', null, 'YES', null, null],
      ['due_time_zone', 'character varying', 64, 'YES', null, null],
      ['due_key', 'timestamp without time zone', null, 'YES', null, null],
      ['recurrence', 'character varying', 255, 'YES', null, null],
      ['position', 'character varying', 64, 'NO', "'a0'::character varying", 'C'],
      ['change_position', 'bigint', null, 'NO', "'0'::bigint", null],
    ]);
  });

  // PostgreSQL 18 also lists NOT NULL as constraints; nullability is asserted with the columns above.
  it('has the owner-first keys and the check constraints that mirror the API rules', async () => {
    const { rows } = await t.sql.query(`
      select conname, pg_get_constraintdef(oid) as def from pg_constraint
      where conrelid = 'tasks'::regclass and contype in ('p', 'c', 'u', 'f') order by conname`);
    expect(rows.map((r) => [r.conname, r.def])).toEqual([
      ['tasks_completed_at', 'CHECK ((completed = (completed_at IS NOT NULL)))'],
      ['tasks_description_length', 'CHECK ((char_length(description) <= 10000))'],
      [
        'tasks_due_date_range',
        "CHECK (((due_date >= '1900-01-01'::date) AND (due_date <= '9999-12-31'::date)))",
      ],
      ['tasks_due_time_zone', 'CHECK (((due_time IS NULL) = (due_time_zone IS NULL)))'],
      ['tasks_due_whole', 'CHECK (((due_date IS NOT NULL) OR (due_time IS NULL)))'],
      ['tasks_not_own_parent', 'CHECK ((parent_id <> id))'],
      ['tasks_pkey', 'PRIMARY KEY (user_id, id)'],
      ['tasks_position_not_empty', `CHECK ((("position")::text <> ''::text))`],
      ['tasks_recurrence_due', 'CHECK (((recurrence IS NULL) OR (due_date IS NOT NULL)))'],
      ['tasks_tags_count', 'CHECK ((cardinality(tags) <= 20))'],
      ['tasks_title_not_blank', "CHECK ((btrim((title)::text) <> ''::text))"],
      [
        'tasks_user_id_list_id_foreign',
        'FOREIGN KEY (user_id, list_id) REFERENCES lists(user_id, id) ON DELETE CASCADE',
      ],
      ['tasks_user_id_not_empty', "CHECK (((user_id)::text <> ''::text))"],
      [
        'tasks_user_id_parent_id_foreign',
        'FOREIGN KEY (user_id, parent_id) REFERENCES tasks(user_id, id) ON DELETE CASCADE',
      ],
      ['tasks_version_positive', 'CHECK ((version >= 1))'],
    ]);
  });

  it('has an owner-first index for each list sort and filter', async () => {
    const { rows } = await t.sql.query(
      `select indexname, indexdef from pg_indexes where tablename = 'tasks' order by indexname`,
    );
    expect(rows.map((r) => [r.indexname, r.indexdef.replace(/ ON public\./, ' ON ')])).toEqual([
      ['tasks_pkey', 'CREATE UNIQUE INDEX tasks_pkey ON tasks USING btree (user_id, id)'],
      [
        'tasks_user_change_idx',
        'CREATE INDEX tasks_user_change_idx ON tasks USING btree (user_id, change_position)',
      ],
      [
        'tasks_user_created_idx',
        'CREATE INDEX tasks_user_created_idx ON tasks USING btree (user_id, created_at, id)',
      ],
      ['tasks_user_due_idx', 'CREATE INDEX tasks_user_due_idx ON tasks USING btree (user_id, due_key, id)'],
      [
        'tasks_user_list_idx',
        'CREATE INDEX tasks_user_list_idx ON tasks USING btree (user_id, list_id, parent_id, "position", id)',
      ],
      [
        'tasks_user_parent_idx',
        'CREATE INDEX tasks_user_parent_idx ON tasks USING btree (user_id, parent_id, "position", id)',
      ],
      [
        'tasks_user_position_idx',
        'CREATE INDEX tasks_user_position_idx ON tasks USING btree (user_id, "position", id)',
      ],
      [
        'tasks_user_priority_idx',
        'CREATE INDEX tasks_user_priority_idx ON tasks USING btree (user_id, priority, id)',
      ],
      ['tasks_user_title_idx', 'CREATE INDEX tasks_user_title_idx ON tasks USING btree (user_id, title, id)'],
      [
        'tasks_user_updated_idx',
        'CREATE INDEX tasks_user_updated_idx ON tasks USING btree (user_id, updated_at, id)',
      ],
    ]);
  });

  it('keeps updated_at, version, completed_at, the due key and the owner counts in triggers', async () => {
    const { rows } = await t.sql.query(`
      select t.tgname from pg_trigger t where t.tgrelid = 'tasks'::regclass and not t.tgisinternal order by 1`);
    expect(rows.map((r) => r.tgname)).toEqual([
      'tasks_change',
      'tasks_count',
      'tasks_derive',
      'tasks_forget',
      'tasks_touch',
    ]);

    const inserted = await t.sql.query(
      `insert into tasks (user_id, title, completed, due_date, due_time, due_time_zone, created_at, updated_at)
       values ('trigger_owner', 't', true, '2026-12-24', '09:30', 'Europe/Berlin', now() - interval '1 day', now() - interval '1 day')
       returning id, updated_at, completed_at = created_at as completed_at_is_creation, due_key::text`,
    );
    expect(inserted.rows[0]).toMatchObject({
      completed_at_is_creation: true,
      due_key: '2026-12-24 09:30:01',
    });
    const id = inserted.rows[0].id as string;
    const reopened = await t.sql.query(
      `update tasks set completed = false, due_time = null, due_time_zone = null where id = $1
       returning version, updated_at, completed_at, due_key::text`,
      [id],
    );
    expect(reopened.rows[0]).toMatchObject({
      version: 2,
      completed_at: null,
      due_key: '2026-12-24 00:00:00',
    });
    expect(new Date(reopened.rows[0].updated_at).getTime()).toBeGreaterThan(
      new Date(inserted.rows[0].updated_at).getTime(),
    );
    const done = await t.sql.query(
      `update tasks set completed = true where id = $1 returning completed_at = updated_at as same`,
      [id],
    );
    expect(done.rows[0].same).toBe(true);
    const owner = await t.sql.query(`select task_count from owners where user_id = 'trigger_owner'`);
    expect(owner.rows).toEqual([{ task_count: 1 }]);
    await t.sql.query('delete from tasks where id = $1', [id]);
    const after = await t.sql.query(`select task_count from owners where user_id = 'trigger_owner'`);
    expect(after.rows).toEqual([{ task_count: 0 }]);
  });

  describe("the repository's list statements", () => {
    const OWNER = 'user_7';
    const LIMIT = 20;
    const list = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;
    let parentId: string;

    beforeAll(async () => {
      // 10,000 tasks of one owner among 20,000, spread over five lists and the
      // inbox, with tags, priorities, dues (all-day, timed, none) and subtasks,
      // so only an index that bounds the scan by owner and keyset beats sorting
      // that owner's rows.
      await t.sql.query(
        `insert into lists (user_id, id, name, name_key)
         select $1, ('00000000-0000-4000-8000-00000000000' || n)::uuid, 'list ' || n, 'list ' || n
         from generate_series(1, 5) n`,
        [OWNER],
      );
      await t.sql.query(`
        insert into tasks (user_id, list_id, title, completed, priority, tags, due_date, due_time, due_time_zone,
                           position, created_at, updated_at)
        select case when n % 2 = 0 then '${OWNER}' else 'user_' || (n % 49) end,
               case when n % 2 = 0 and n % 12 <> 0 then ('00000000-0000-4000-8000-00000000000' || (n % 5 + 1))::uuid end,
               'task ' || n, n % 3 = 0, (array['none','low','medium','high'])[1 + n % 4]::task_priority,
               (array['{}', '{errands}', '{work,urgent}', '{home}', '{work}', '{}', '{}'])[1 + n % 7]::text[],
               case when n % 10 < 7 then date '2026-01-01' + (n % 365) end,
               case when n % 10 < 3 then time '08:00' + (n % 9) * interval '1 hour' end,
               case when n % 10 < 3 then 'Europe/Berlin' end,
               'a' || lpad(n::text, 6, '0'),
               timestamptz '2026-01-01Z' + n * interval '1 second',
               timestamptz '2026-01-01Z' + (n % 997) * interval '1 second'
        from generate_series(1, 20000) n`);
      // One parent with a few subtasks in list 1.
      const parent = await t.sql.query(
        `select id from tasks where user_id = $1 and list_id = $2 order by position limit 1`,
        [OWNER, list(1)],
      );
      parentId = parent.rows[0].id as string;
      await t.sql.query(
        `update tasks set parent_id = $2 where user_id = $1 and list_id = $3 and id <> $2
         and id in (select id from tasks where user_id = $1 and list_id = $3 order by position offset 1 limit 5)`,
        [OWNER, parentId, list(1)],
      );
      await t.sql.query('analyze tasks');
      // Seeding 20,000 rows takes a few seconds on a loaded machine.
    }, 60_000);

    const FILTERS: [string, Omit<ListQuery, 'sort' | 'limit'>][] = [
      ['no filter', {}],
      ['completed', { completed: true }],
      ['a list', { listId: list(2) }],
      ['the inbox', { listId: 'inbox' }],
      ['a parent', { parentId: '' }],
      ['top level', { parentId: 'none' }],
      ['a list, top level', { listId: list(3), parentId: 'none' }],
      ['a tag', { tags: ['errands'] }],
      ['two tags', { tags: ['urgent', 'work'] }],
      ['a priority', { priorities: ['high'] }],
      ['two priorities', { priorities: ['low', 'medium'] }],
      ['a due range', { dueFrom: '2026-03-01', dueTo: '2026-03-31' }],
      ['a due from', { dueFrom: '2026-06-01' }],
    ];
    // Where a second page starts for each sort: the middle of the owner's rows.
    const AFTER: Record<TaskSort, string | null> = {
      createdAt: '2026-01-01T01:23:20.000000Z',
      '-createdAt': '2026-01-01T01:23:20.000000Z',
      updatedAt: '2026-01-01T00:08:20.000000Z',
      '-updatedAt': '2026-01-01T00:08:20.000000Z',
      title: 'task 5000',
      '-title': 'task 5000',
      due: '2026-06-01 00:00:00',
      '-due': '2026-06-01 00:00:00',
      priority: 'low',
      '-priority': 'medium',
      position: 'a005000',
    };

    interface PlanNode {
      'Node Type': string;
      'Relation Name'?: string;
      'Actual Rows': number;
      'Actual Loops': number;
      'Rows Removed by Filter'?: number;
      Plans?: PlanNode[];
    }
    const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];

    /** Runs the statement as a prepared statement under the given plan mode, with EXPLAIN ANALYZE. */
    async function plan(
      query: ListQuery | Statement,
      mode: 'force_custom_plan' | 'force_generic_plan',
    ): Promise<PlanNode> {
      const statement =
        'text' in query ? query : repository(TasksRepository, t.orm.em).listStatement(OWNER, query);
      // A statement that runs unprepared is planned for its values every time: no generic plan.
      if (statement.prepared === false) mode = 'force_custom_plan';
      const client = await t.sql.connect();
      try {
        await client.query(`set plan_cache_mode = ${mode}`);
        await client.query(`prepare list_plan as ${statement.text}`);
        // The bound values are strings, numbers, booleans, null and arrays of strings.
        const literal = (v: unknown): string => {
          if (v === null) return 'null';
          if (Array.isArray(v))
            return client.escapeLiteral(`{${(v as string[]).map((x) => `"${x}"`).join(',')}}`);
          return client.escapeLiteral(typeof v === 'string' ? v : JSON.stringify(v));
        };
        const { rows } = await client.query(
          `explain (analyze, format json) execute list_plan(${statement.values.map(literal).join(', ')})`,
        );
        return (rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0].Plan;
      } finally {
        await client.query('deallocate all');
        await client.query('reset plan_cache_mode');
        client.release();
      }
    }

    const cases = FILTERS.flatMap(([name, filters]) =>
      TASK_SORTS.flatMap((sort) =>
        (['first', 'after'] as const).map((page) => [name, sort, page, filters] as const),
      ),
    );

    it.each(cases)(
      'serves %s sorted by %s (%s page) from an index: no Seq Scan, no Sort over more than limit + 1 rows',
      async (_name, sort, page, filters) => {
        const query: ListQuery = {
          ...filters,
          ...(filters.parentId === '' ? { parentId } : {}),
          sort,
          limit: LIMIT,
          ...(page === 'after'
            ? { after: { key: AFTER[sort], id: '00000000-0000-4000-8000-000000000000' } }
            : {}),
        };
        for (const mode of ['force_custom_plan', 'force_generic_plan'] as const) {
          const all = nodes(await plan(query, mode));
          const seq = all.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'tasks');
          expect({ mode, seqScans: seq.length }).toEqual({ mode, seqScans: 0 });
          for (const sortNode of all.filter(
            (n) => n['Node Type'] === 'Sort' || n['Node Type'] === 'Incremental Sort',
          )) {
            const input = (sortNode.Plans ?? []).reduce(
              (sum, c) => sum + c['Actual Rows'] * c['Actual Loops'],
              0,
            );
            expect({ mode, sorted: input <= LIMIT + 1 }).toEqual({ mode, sorted: true });
          }
        }
      },
    );

    it.each(['-createdAt', 'title', 'priority'] as const)(
      'reads a sparse due range under sort=%s off the due index, not the whole owner',
      async (sort) => {
        // One day of dues: about 19 of the owner's 10,000 tasks, fewer than a page.
        const query: ListQuery = { sort, limit: LIMIT, dueFrom: '2026-03-01', dueTo: '2026-03-01' };
        const all = nodes(await plan(query, 'force_custom_plan'));
        const read = all
          .filter((n) => /Scan/.test(n['Node Type']) && n['Node Type'] !== 'Bitmap Index Scan')
          .reduce(
            (sum, n) => sum + (n['Actual Rows'] + (n['Rows Removed by Filter'] ?? 0)) * n['Actual Loops'],
            0,
          );
        expect({ sort, readAtMost100: read <= 100 }).toEqual({ sort, readAtMost100: true });
      },
    );

    it.each(TASK_SORTS)(
      'runs the first page sorted by %s on a cached plan, not planned again on every execution',
      async (sort) => {
        const statement = repository(TasksRepository, t.orm.em).listStatement(OWNER, { sort, limit: LIMIT });
        const name = `first_page_${sort}`;
        const client = await t.sql.connect();
        try {
          // Under the default plan_cache_mode, as the service runs: five custom plans, then
          // the generic plan whenever it does not look dearer than they did.
          for (let i = 0; i < 10; i++)
            await client.query({ name, text: statement.text, values: statement.values });
          const { rows } = await client.query(
            'select generic_plans::int, custom_plans::int from pg_prepared_statements where name = $1',
            [name],
          );
          expect(rows).toEqual([{ generic_plans: 5, custom_plans: 5 }]);
        } finally {
          client.release();
        }
      },
    );

    it.each([
      ['a first sync', '0', false],
      ['a sync from the middle', '10000', true],
    ] as const)(
      'reads %s page of changes off the position indexes: no Seq Scan, at most 3 × (limit + 1) rows read or sorted',
      async (_case, since, withDeletions) => {
        const statement = repository(ChangesRepository, t.orm.em).pageStatement(
          OWNER,
          since,
          LIMIT + 1,
          withDeletions,
        );
        for (const mode of ['force_custom_plan', 'force_generic_plan'] as const) {
          const all = nodes(await plan(statement, mode));
          expect({ mode, seqScans: all.filter((n) => n['Node Type'] === 'Seq Scan').length }).toEqual({
            mode,
            seqScans: 0,
          });
          // The parts are each cut to the page by their index; merging them may sort those few rows.
          for (const sortNode of all.filter((n) => /Sort/.test(n['Node Type']))) {
            const input = (sortNode.Plans ?? []).reduce(
              (sum, c) => sum + c['Actual Rows'] * c['Actual Loops'],
              0,
            );
            expect({ mode, sortedAtMost: input <= 3 * (LIMIT + 1) }).toEqual({ mode, sortedAtMost: true });
          }
          const read = all
            .filter((n) => /Scan/.test(n['Node Type']))
            .reduce(
              (sum, n) => sum + (n['Actual Rows'] + (n['Rows Removed by Filter'] ?? 0)) * n['Actual Loops'],
              0,
            );
          expect({ mode, readAtMost: read <= 3 * (LIMIT + 1) }).toEqual({ mode, readAtMost: true });
        }
      },
    );

    it('pages through the tasks without a due after the dated ones, under due and -due', async () => {
      for (const sort of ['due', '-due'] as const) {
        const query: ListQuery = {
          sort,
          limit: LIMIT,
          after: { key: null, id: '00000000-0000-4000-8000-000000000000' },
        };
        const all = nodes(await plan(query, 'force_generic_plan'));
        expect(all.some((n) => n['Node Type'] === 'Seq Scan')).toBe(false);
        expect(all.some((n) => n['Node Type'] === 'Sort')).toBe(false);
      }
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
    const ALL_TABLES = ['deletions', 'idempotency_keys', 'lists', 'mikro_orm_migrations', 'owners', 'tasks'];

    expect((await t.orm.migrator.up()).map((m) => m.name)).toEqual(all);
    expect(await tables()).toEqual(ALL_TABLES);
    expect(await t.orm.migrator.up()).toEqual([]);
    expect(await t.orm.migrator.getPending()).toEqual([]);

    expect((await t.orm.migrator.down({ to: 0 })).map((m) => m.name)).toEqual([...all].reverse());
    expect(await tables()).toEqual(['mikro_orm_migrations']);
    const fn = await t.sql.query(`select 1 from pg_proc where proname = 'tasks_tasks_touch_fn'`);
    expect(fn.rowCount).toBe(0);

    expect((await t.orm.migrator.up()).map((m) => m.name)).toEqual(all);
    expect(await tables()).toEqual(ALL_TABLES);
  });

  it('leave no drift between the entity and the schema (migration:check)', async () => {
    await t.orm.migrator.up();
    expect(await t.orm.migrator.checkSchema()).toBe(false);
    expect(await t.orm.schema.getUpdateSchemaSQL({ wrap: false })).toBe('');
  });
});
