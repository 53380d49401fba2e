import { Migration } from '@mikro-orm/migrations';

const INDEXES: [string, string][] = [
  [
    'lists_user_change_idx',
    `create index concurrently "lists_user_change_idx" on "lists" ("user_id", "change_position")`,
  ],
  [
    'tasks_user_change_idx',
    `create index concurrently "tasks_user_change_idx" on "tasks" ("user_id", "change_position")`,
  ],
];

/** Rows numbered per transaction, as in Migration20261201110200_task_indexes. */
const BATCH_ROWS = 1_000;

/**
 * The change feed, step 2 of 2, outside a transaction: the feed's indexes,
 * built concurrently, then a position for every row written before step 1
 * (position 0), in batches of 1,000 rows of one owner. Each batch is a DO
 * block, one transaction, that locks the owner's row first, as every write
 * of the owner does, so it queues behind the owner's moves instead of
 * deadlocking with them; its UPDATE fires the change trigger, which numbers
 * the rows from the owner's counter. The backfill settings keep versions,
 * updated_at and ETags as they were. Run again after a failure, it numbers
 * only what is still at 0.
 */
export class Migration20261207120100_change_feed_backfill extends Migration {
  override name = 'Migration20261207120100_change_feed_backfill';

  override isTransactional(): boolean {
    return false;
  }

  override async up(): Promise<void> {
    for (const [name, create] of INDEXES) {
      await this.execute(`drop index concurrently if exists "${name}"`);
      await this.execute(create);
    }
    for (const table of ['lists', 'tasks']) {
      const owners = (await this.execute(
        `select distinct user_id from ${table} where change_position = 0`,
      )) as { user_id: string }[];
      for (const { user_id: owner } of owners) {
        const literal = `'${owner.replace(/'/g, "''")}'`;
        for (;;) {
          await this.execute(
            `do $$ begin perform set_config('${table}.backfill', 'on', true); ` +
              `perform 1 from owners where user_id = ${literal} for no key update; ` +
              `update ${table} set change_position = 0 where user_id = ${literal} and id in (` +
              `select id from ${table} where user_id = ${literal} and change_position = 0 ` +
              `order by updated_at, id limit ${BATCH_ROWS}); end $$`,
          );
          const [{ left }] = (await this.execute(
            `select exists (select 1 from ${table} where user_id = ? and change_position = 0) as left`,
            [owner],
          )) as { left: boolean }[];
          if (!left) break;
        }
      }
    }
  }

  override async down(): Promise<void> {
    for (const [name] of [...INDEXES].reverse())
      await this.execute(`drop index concurrently if exists "${name}"`);
  }
}
