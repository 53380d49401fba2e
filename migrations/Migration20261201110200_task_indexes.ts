import { Migration } from '@mikro-orm/migrations';

/** The indexes of src/tasks/task.entity.ts that 1.1 adds, and the unique index behind the new primary key. */
const INDEXES: [string, string][] = [
  [
    'tasks_user_id_id_idx',
    `create unique index concurrently "tasks_user_id_id_idx" on "tasks" ("user_id", "id")`,
  ],
  [
    'tasks_user_parent_idx',
    `create index concurrently "tasks_user_parent_idx" on "tasks" ("user_id", "parent_id", "position", "id")`,
  ],
  [
    'tasks_user_list_idx',
    `create index concurrently "tasks_user_list_idx" on "tasks" ("user_id", "list_id", "parent_id", "position", "id")`,
  ],
  [
    'tasks_user_position_idx',
    `create index concurrently "tasks_user_position_idx" on "tasks" ("user_id", "position", "id")`,
  ],
  [
    'tasks_user_priority_idx',
    `create index concurrently "tasks_user_priority_idx" on "tasks" ("user_id", "priority", "id")`,
  ],
  [
    'tasks_user_due_idx',
    `create index concurrently "tasks_user_due_idx" on "tasks" ("user_id", "due_key", "id")`,
  ],
];

// The integer keys of the fractional-indexing package, in its own order:
// a0…az (62), b00…bzz (3,844), c000…czzz, d0000…dzzzz; the n-th (from 0)
// task of an owner in creation order gets the n-th key, as
// generateNKeysBetween(null, null, n) would give.
const DIGITS = `'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'`;
const digit = (n: string, place: number) => `substr(${DIGITS}, ((${n}) / ${62 ** place})::int % 62 + 1, 1)`;
const key = (n: string) =>
  `case when ${n} < 62 then 'a' || ${digit(n, 0)} ` +
  `when ${n} < 3906 then 'b' || ${digit(`${n} - 62`, 1)} || ${digit(`${n} - 62`, 0)} ` +
  `when ${n} < 242234 then 'c' || ${[2, 1, 0].map((p) => digit(`${n} - 3906`, p)).join(' || ')} ` +
  `else 'd' || ${[3, 2, 1, 0].map((p) => digit(`${n} - 242234`, p)).join(' || ')} end`;

/** About this many tasks are numbered per transaction, a whole owner at a time. */
const BATCH_TASKS = 10_000;

/**
 * Task model 1.1, step 3 of 5, outside a transaction (CREATE INDEX
 * CONCURRENTLY cannot run in one, which is also why `allOrNothing` is off):
 * builds the new indexes without blocking writes, then numbers every owner's
 * tasks in creation order (positions a0, a1, …; all existing tasks are in the
 * inbox at the top level) and sets completed_at of completed tasks, in
 * batches of whole owners of about 10,000 tasks, each its own short
 * transaction. The batches set `tasks.backfill`, which the tasks_touch trigger
 * honours by leaving updated_at and version alone: a migration is not an
 * update by the user, and ETags must not change under clients.
 *
 * A failed run is simply run again: an index left invalid by a failed
 * CONCURRENTLY build is dropped first, and numbering an owner twice gives the
 * same positions.
 */
export class Migration20261201110200_task_indexes extends Migration {
  override name = 'Migration20261201110200_task_indexes';

  override isTransactional(): boolean {
    return false;
  }

  override async up(): Promise<void> {
    for (const [name, create] of INDEXES) {
      await this.execute(`drop index concurrently if exists "${name}"`);
      await this.execute(create);
    }
    let after = '';
    for (;;) {
      const owners = await this.execute(
        `with o as (select user_id, sum(task_count) over (order by user_id) as s from ` +
          `(select user_id, task_count from owners where user_id > ? order by user_id limit 1000) q) ` +
          `select user_id from o where s <= greatest(?, (select min(s) from o)) order by user_id`,
        [after, BATCH_TASKS],
      );
      if (owners.length === 0) break;
      const ids = owners.map((o) => o.user_id as string);
      await this.execute(
        `with flag as (select set_config('tasks.backfill', 'on', true)) ` +
          `update tasks t set position = n.position, ` +
          `completed_at = case when t.completed then t.updated_at end from (` +
          `select user_id, id, ${key('(row_number() over (partition by user_id order by created_at, id) - 1)')} as position ` +
          `from tasks where user_id in (select jsonb_array_elements_text(?::jsonb))) n, flag ` +
          `where t.user_id = n.user_id and t.id = n.id`,
        // As JSON: the migrator would expand an array into a list of placeholders.
        [JSON.stringify(ids)],
      );
      after = ids[ids.length - 1];
    }
  }

  override async down(): Promise<void> {
    for (const [name] of [...INDEXES].reverse())
      await this.execute(`drop index concurrently if exists "${name}"`);
  }
}
