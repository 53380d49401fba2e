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

/**
 * Tasks numbered per transaction. A write to a task of the batch waits for
 * it: measured on a million tasks, batches of 10,000 held such a write up to
 * 2 s, batches of 1,000 (see the README) a tenth of that.
 */
const BATCH_TASKS = 1_000;

/**
 * Task model 1.1, step 3 of 5, outside a transaction (CREATE INDEX
 * CONCURRENTLY cannot run in one, which is also why `allOrNothing` is off):
 * builds the new indexes without blocking writes, then numbers every owner's
 * tasks in creation order (positions a0, a1, …; all existing tasks are in the
 * inbox at the top level) and sets completed_at of completed tasks, in
 * batches of 1,000 tasks of one owner, each its own short transaction. The batches set `tasks.backfill`, which the tasks_touch trigger
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
    const owners = await this.execute(`select user_id, task_count from owners order by user_id`);
    for (const { user_id: owner, task_count: count } of owners as { user_id: string; task_count: number }[]) {
      for (let from = 0; from < count; from += BATCH_TASKS) {
        // Each batch numbers the owner's tasks in creation order and writes the
        // numbers [from, from + BATCH_TASKS) of them.
        await this.execute(
          `with flag as (select set_config('tasks.backfill', 'on', true)) ` +
            `update tasks t set position = n.position, ` +
            `completed_at = case when t.completed then t.updated_at end from (` +
            `select id, ${key('n')} as position from (` +
            `select id, row_number() over (order by created_at, id) - 1 as n from tasks where user_id = ?) r ` +
            `where n >= ? and n < ?) n, flag where t.user_id = ? and t.id = n.id`,
          [owner, from, from + BATCH_TASKS, owner],
        );
      }
    }
  }

  override async down(): Promise<void> {
    for (const [name] of [...INDEXES].reverse())
      await this.execute(`drop index concurrently if exists "${name}"`);
  }
}
