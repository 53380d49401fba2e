/**
 * The scale run's data, written with SQL (insert … select generate_series),
 * not through the API: `users` owners × `tasks` tasks each, with the variety
 * of real use. Every owner has three lists; a task is in the inbox (40 %) or
 * one of them; 30 % are completed, half have a priority, two thirds carry
 * 1–3 of twelve tags ("work" on about a fifth of all tasks), 60 % have a due
 * (half all-day, half at a quarter hour in one of six zones; a tenth of those
 * recur), 30 % a description. Positions are fractional-indexing integer keys
 * (a0…az, b00…bzz, c000…) in creation order within each list. Tasks are
 * inserted in creation order across all owners, a task every 31.5 s over a
 * year for a million, so an owner's tasks are spread over the table's pages
 * as a live database's are, not stored together.
 *
 * Kept fast in two ways, both inside the one transaction of the seeding, so
 * that a run that dies leaves the database as it was:
 * - as superuser the insert runs with session_replication_role = replica: no
 *   row triggers (and no foreign-key checks), so it writes what the triggers
 *   would (due_key, completed_at, the owners' counts, change-feed positions) itself; without that
 *   right the triggers run, which is slower but gives the same rows;
 * - when it adds more rows than the table holds, the secondary indexes of
 *   tasks are dropped first and built again after the insert (as their owner
 *   may): inserting a million rows in creation order into nine indexes in
 *   owner order took 232 s on our loaded 2-core machine, nearly all of it
 *   index maintenance. Built at once, they are denser than indexes grown one
 *   insert at a time, so the size on disk it prints is on the low side.
 */
import type pg from 'pg';

const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The n-th (from 0) fractional-indexing integer key, as SQL on an integer expression. */
function positionKey(n: string): string {
  const digit = (value: string, place: number) =>
    `substr('${DIGITS}', (((${value}) / ${62 ** place}) % 62 + 1)::int, 1)`;
  return (
    `case when ${n} < 62 then 'a' || ${digit(n, 0)} ` +
    `when ${n} < 3906 then 'b' || ${digit(`${n} - 62`, 1)} || ${digit(`${n} - 62`, 0)} ` +
    `else 'c' || ${[2, 1, 0].map((p) => digit(`${n} - 3906`, p)).join(' || ')} end`
  );
}

const TAGS = `(array['work','home','errands','urgent','health','finance','family','shopping','reading','travel','garden','car'])`;
const VERBS = `(array['Buy','Call','Email','Fix','Plan','Review','Write','Book','Pay','Clean','Read'])`;
const OBJECTS = `(array['milk','the bank','Alice','the report','the car','a dentist visit','the invoice','groceries','the slides','the garden','the tax return','flights','the kitchen'])`;
const ZONES = `(array['Europe/Berlin','America/New_York','Asia/Kolkata','UTC','Asia/Tokyo','Australia/Sydney'])`;
const RULES = `(array['FREQ=DAILY','FREQ=WEEKLY;BYDAY=MO','FREQ=MONTHLY;BYMONTHDAY=1'])`;
const LISTS = `(values (1, 'Work'), (2, 'Home'), (3, 'Errands')) l(k, name)`;
/** A list's id, derived from its owner and number so that tasks can name it without a join. */
const listId = (user: string, k: string) => `md5(${user} || ':' || ${k})::uuid`;

/**
 * The tasks, $1 the user-id prefix, $2 the owners, $3 tasks each. The n-th
 * task of owner u (from 1) is row i = n × owners + (u − 1). Bucket n % 10
 * places it: 0–3 the inbox, 4–5, 6–7, 8–9 the lists 1, 2, 3, so its rank
 * among its siblings (its position) follows from n without a window function.
 */
const TASKS_SQL = `
insert into tasks (user_id, id, list_id, parent_id, title, description, completed, completed_at, priority, tags,
  due_date, due_time, due_time_zone, due_key, recurrence, position, created_at, updated_at, version, change_position)
select user_id, gen_random_uuid(), case when b < 4 then null else ${listId('user_id', '(b - 2) / 2')} end, null,
  ${VERBS}[(1 + i % 11)::int] || ' ' || ${OBJECTS}[(1 + (n + u) % 13)::int],
  case when r_desc < 0.3 then 'Notes: ' || repeat('check the details first; ', 1 + (r_desc * 40)::int) end,
  done, done_at,
  (case when r_pri < 0.5 then 'none' when r_pri < 0.7 then 'low' when r_pri < 0.9 then 'medium' else 'high' end)::task_priority,
  case when r_tags < 0.35 then '{}'::text[]
    when r_tags < 0.7 then array[${TAGS}[h + 1]]
    when r_tags < 0.9 then array[${TAGS}[h + 1], ${TAGS}[(h + 5) % 12 + 1]]
    else array[${TAGS}[h + 1], ${TAGS}[(h + 5) % 12 + 1], ${TAGS}[(h + 10) % 12 + 1]] end,
  due_date, due_time, case when due_time is not null then ${ZONES}[1 + (r_zone * 6)::int % 6] end,
  due_date + coalesce(due_time + interval '1 second', time '00:00'),
  case when due_date is not null and r_rule < 0.1 then ${RULES}[1 + (r_rule * 30)::int % 3] end,
  ${positionKey('case when b < 4 then (n / 10) * 4 + b else (n / 10) * 2 + b % 2 end')},
  created, coalesce(done_at, created), case when done then 2 else 1 end, 4 + n
from (
  select i, n, u, b, $1::text || u as user_id, created, r_desc, r_pri, r_tags, r_zone, r_rule,
    floor(12 * r_tag * r_tag)::int as h,
    r_done < 0.3 as done, case when r_done < 0.3 then created + r_done_at * interval '20 days' end as done_at,
    case when r_due >= 0.4 then (created at time zone 'UTC')::date + (r_day * 60)::int end as due_date,
    case when r_due >= 0.7 then make_time((r_time * 96)::int % 96 / 4, (r_time * 96)::int % 4 * 15, 0) end as due_time
  from (
    select i, i / $2 as n, i % $2 + 1 as u, (i / $2) % 10 as b,
      now() - interval '400 days' + (i * (365 * 86400.0 / ($2::bigint * $3))) * interval '1 second' as created,
      random() as r_desc, random() as r_pri, random() as r_tags, random() as r_tag, random() as r_zone,
      random() as r_rule, random() as r_done, random() as r_done_at, random() as r_due, random() as r_day,
      random() as r_time
    from generate_series(0, $2::bigint * $3 - 1) i offset 0
  ) s
) g`;

export interface Seeded {
  userIds: string[];
  /** Seconds spent inserting, and then in VACUUM ANALYZE. */
  insertSeconds: number;
  vacuumSeconds: number;
  triggers: 'skipped' | 'ran';
}

/** Seeds `users` × `tasks` for user ids `${prefix}1` … and leaves the tables vacuumed and analysed. */
export async function seedWithSql(
  client: pg.Client,
  prefix: string,
  users: number,
  tasks: number,
): Promise<Seeded> {
  const started = performance.now();
  await client.query('begin');
  let triggers: Seeded['triggers'] = 'skipped';
  try {
    await client.query('savepoint replica');
    await client.query('set local session_replication_role = replica');
  } catch {
    await client.query('rollback to savepoint replica');
    triggers = 'ran';
  }
  const rebuilt = await dropSecondaryIndexes(client, users * tasks);
  try {
    await client.query(
      `insert into lists (user_id, id, name, name_key, created_at, updated_at, change_position)
       select $1::text || u, ${listId('$1::text || u', 'l.k')}, l.name, lower(l.name), now() - interval '400 days', now() - interval '400 days', l.k
       from generate_series(1, $2::int) u, ${LISTS}`,
      [prefix, users],
    );
    if (triggers === 'skipped') {
      await client.query(
        `insert into owners (user_id, task_count, list_count, change_seq) select $1::text || u, $3::int, 3, 3 + $3::int from generate_series(1, $2::int) u`,
        [prefix, users, tasks],
      );
    }
    await client.query(TASKS_SQL, [prefix, users, tasks]);
    if (rebuilt.length > 0) await client.query(`set local maintenance_work_mem = '256MB'`);
    for (const definition of rebuilt) await client.query(definition);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  }
  const inserted = performance.now();
  await client.query('vacuum (analyze) tasks, lists, owners');
  // Written out now, so that no checkpoint of the seeding falls into a measurement (needs pg_checkpoint).
  await client.query('checkpoint').catch(() => undefined);
  return {
    userIds: Array.from({ length: users }, (_, u) => `${prefix}${u + 1}`),
    insertSeconds: (inserted - started) / 1000,
    vacuumSeconds: (performance.now() - inserted) / 1000,
    triggers,
  };
}

/**
 * Drops the indexes of tasks that no constraint needs, when `adding` rows is
 * more than the table holds, and returns their definitions to build them again
 * (none when kept, or when this role may not drop them). In the caller's transaction.
 */
async function dropSecondaryIndexes(client: pg.Client, adding: number): Promise<string[]> {
  const { rows } = await client.query<{ name: string; definition: string; existing: number }>(
    `select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as definition,
       (select greatest(reltuples, 0) from pg_class where oid = 'tasks'::regclass)::float8 as existing
     from pg_index i where i.indrelid = 'tasks'::regclass
       and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)`,
  );
  if (rows.length === 0 || adding <= rows[0].existing) return [];
  await client.query('savepoint indexes');
  try {
    for (const { name } of rows) await client.query(`drop index ${name}`);
    return rows.map((r) => r.definition);
  } catch {
    await client.query('rollback to savepoint indexes');
    return [];
  }
}

/**
 * About `perUser` ids of each owner's tasks, at random across the table, for
 * get and patch; recurring tasks are left out, so that every PATCH
 * {completed} is the plain update on both servers (completing a recurring task
 * moves its due instead).
 */
export async function sampleTaskIds(
  client: pg.Client,
  userIds: string[],
  tasksPerUser: number,
  perUser: number,
): Promise<Map<string, string[]>> {
  const fraction = Math.min(1, (perUser / tasksPerUser) * 1.1);
  const { rows } = await client.query<{ user_id: string; id: string }>(
    `select user_id, id from tasks where user_id = any($1::text[]) and recurrence is null and random() < $2`,
    [userIds, fraction],
  );
  const ids = new Map<string, string[]>();
  for (const row of rows) {
    const list = ids.get(row.user_id) ?? [];
    if (list.length < perUser) list.push(row.id);
    ids.set(row.user_id, list);
  }
  return ids;
}

export interface DiskSize {
  taskRows: number;
  tasksHeapBytes: number;
  tasksIndexBytes: number;
  tasksTotalBytes: number;
  ownersBytes: number;
  listsBytes: number;
  /** (tasks incl. indexes and TOAST + owners + lists) × 1,000,000 / task rows. */
  perMillionTasksBytes: number;
  indexes: Record<string, number>;
}

export async function diskSize(client: pg.Client): Promise<DiskSize> {
  const { rows } = await client.query<Record<string, string>>(
    `select (select count(*) from tasks) as rows, pg_relation_size('tasks') as heap,
       pg_indexes_size('tasks') as indexes, pg_total_relation_size('tasks') as total,
       pg_total_relation_size('owners') as owners, pg_total_relation_size('lists') as lists`,
  );
  const { rows: indexRows } = await client.query<{ name: string; bytes: string }>(
    `select indexrelid::regclass::text as name, pg_relation_size(indexrelid) as bytes
     from pg_index where indrelid = 'tasks'::regclass order by 2 desc`,
  );
  const n = (name: string) => Number(rows[0][name]);
  return {
    taskRows: n('rows'),
    tasksHeapBytes: n('heap'),
    tasksIndexBytes: n('indexes'),
    tasksTotalBytes: n('total'),
    ownersBytes: n('owners'),
    listsBytes: n('lists'),
    perMillionTasksBytes: ((n('total') + n('owners') + n('lists')) * 1e6) / n('rows'),
    indexes: Object.fromEntries(indexRows.map((r) => [r.name, Number(r.bytes)])),
  };
}

/** Deletes what seedWithSql wrote for these owners (without row triggers when allowed). */
export async function removeSeeded(client: pg.Client, userIds: string[]): Promise<void> {
  await client.query('begin');
  try {
    await client.query('savepoint replica');
    await client.query('set local session_replication_role = replica');
  } catch {
    await client.query('rollback to savepoint replica');
  }
  try {
    for (const table of ['tasks', 'lists', 'owners'])
      await client.query(`delete from ${table} where user_id = any($1::text[])`, [userIds]);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  }
}

export interface Warmed {
  /** What pg_prewarm loaded into shared buffers, in bytes; null without the extension. */
  prewarmedBytes: number | null;
  sharedBuffersBytes: number;
  relationsBytes: number;
  seconds: number;
}

/**
 * Takes the freshly seeded database to the state a live one is in before a
 * measurement: a CHECKPOINT, so that the checkpoint the seeding's gigabyte of
 * WAL triggers does not run during the bench (and is not followed by a
 * full-page image on the first write to every page), and the tables and
 * indexes loaded into shared buffers with pg_prewarm (as far as they fit), so
 * that the large run measures a warm cache as the small one does, not the
 * first read of each page. Without the extension (or the right to create it)
 * only the checkpoint is taken and the caller says so.
 */
export async function warmCaches(client: pg.Client): Promise<Warmed> {
  const started = performance.now();
  await client.query('checkpoint');
  const { rows } = await client.query<{ buffers: string; relations: string }>(
    `select (select setting::bigint * 8192 from pg_settings where name = 'shared_buffers') as buffers,
       pg_total_relation_size('tasks') + pg_total_relation_size('lists') + pg_total_relation_size('owners') as relations`,
  );
  const sharedBuffersBytes = Number(rows[0].buffers);
  const relationsBytes = Number(rows[0].relations);
  let prewarmedBytes: number | null = null;
  try {
    await client.query('create extension if not exists pg_prewarm');
    // Loaded in the order a request reaches them, each only when it fits in what is left:
    // prewarming past the buffers' size would only evict what was loaded first.
    const { rows: relations } = await client.query<{ oid: number; bytes: string }>(
      `select c.oid::int as oid, pg_relation_size(c.oid) as bytes
       from pg_class c left join pg_index i on i.indexrelid = c.oid
       where c.oid in ('owners'::regclass, 'lists'::regclass, 'tasks'::regclass)
          or i.indrelid in ('owners'::regclass, 'lists'::regclass, 'tasks'::regclass)
       order by coalesce(i.indrelid, c.oid) <> 'tasks'::regclass desc,
         c.oid <> 'tasks_pkey'::regclass, c.oid <> 'tasks'::regclass, pg_relation_size(c.oid)`,
    );
    let budget = sharedBuffersBytes * 0.9;
    prewarmedBytes = 0;
    for (const { oid, bytes } of relations) {
      if (Number(bytes) > budget) continue;
      await client.query('select pg_prewarm($1::oid)', [oid]);
      budget -= Number(bytes);
      prewarmedBytes += Number(bytes);
    }
  } catch {
    prewarmedBytes = null;
  }
  return {
    prewarmedBytes,
    sharedBuffersBytes,
    relationsBytes,
    seconds: (performance.now() - started) / 1000,
  };
}
