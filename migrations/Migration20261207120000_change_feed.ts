import { Migration } from '@mikro-orm/migrations';

const TOUCH_LISTS_1_1 =
  "new.updated_at := greatest(now(), date_trunc('milliseconds', old.updated_at) + interval '1 millisecond'); " +
  'new.version := old.version + 1; return new;';
const TOUCH_LISTS_1_2 = `if current_setting('lists.backfill', true) = 'on' then return new; end if; ${TOUCH_LISTS_1_1}`;

/**
 * The change trigger of tasks or lists: the owner's next position
 * (src/owners/owner.entity.ts), and a notification naming the owner for the
 * change streams (src/sync/change-listener.ts), delivered at the commit.
 */
const change = (table: string) =>
  `create or replace function "${table}_${table}_change_fn"() returns trigger as $$ begin ` +
  'insert into owners (user_id, change_seq) values (new.user_id, 1) ' +
  'on conflict (user_id) do update set change_seq = owners.change_seq + 1 ' +
  'returning change_seq into new.change_position; ' +
  "perform pg_notify('task_changes', new.user_id); return new; end; $$ language plpgsql;";
/** The tombstone trigger of tasks or lists (src/sync/deletion.entity.ts). */
const forget = (table: string, kind: string) =>
  `create or replace function "${table}_${table}_forget_fn"() returns trigger as $$ begin ` +
  'with o as (update owners set change_seq = change_seq + 1 where user_id = old.user_id returning change_seq) ' +
  `insert into deletions (user_id, position, kind, id) select old.user_id, change_seq, '${kind}', old.id from o; ` +
  "perform pg_notify('task_changes', old.user_id); return null; end; $$ language plpgsql;";

/**
 * The change feed, step 1 of 2 (generated with `npm run migration:create`,
 * then split): the tombstones table, each owner's position counter, each row's
 * position, and the triggers that keep them. Metadata only on the large
 * tables (columns with a constant default), so it holds its locks for
 * milliseconds. Existing rows keep position 0 until step 2 numbers them.
 */
export class Migration20261207120000_change_feed extends Migration {
  override name = 'Migration20261207120000_change_feed';

  override up(): void {
    this.addSql(
      `create table "deletions" ("user_id" varchar(128) not null, "position" bigint not null, ` +
        `"kind" varchar(4) not null, "id" uuid not null, "deleted_at" timestamptz(6) not null default now(), ` +
        `primary key ("user_id", "position"));`,
    );
    this.addSql(`create index "deletions_deleted_at_idx" on "deletions" ("deleted_at");`);
    this.addSql(`alter table "deletions" add constraint "deletions_kind" check (kind in ('list', 'task'));`);
    this.addSql(`alter table "owners" add "change_seq" bigint not null default '0';`);
    for (const [table, kind] of [
      ['lists', 'list'],
      ['tasks', 'task'],
    ]) {
      this.addSql(`alter table "${table}" add "change_position" bigint not null default '0';`);
      this.addSql(change(table));
      this.addSql(
        `create trigger "${table}_change" BEFORE INSERT OR UPDATE on "${table}" for each ROW execute function "${table}_${table}_change_fn"();`,
      );
      this.addSql(forget(table, kind));
      this.addSql(
        `create trigger "${table}_forget" AFTER DELETE on "${table}" for each ROW execute function "${table}_${table}_forget_fn"();`,
      );
    }
    this.addSql(
      `create or replace function "lists_lists_touch_fn"() returns trigger as $$ begin ${TOUCH_LISTS_1_2} end; $$ language plpgsql;`,
    );
  }

  override down(): void {
    this.addSql(
      `create or replace function "lists_lists_touch_fn"() returns trigger as $$ begin ${TOUCH_LISTS_1_1} end; $$ language plpgsql;`,
    );
    for (const table of ['tasks', 'lists']) {
      this.addSql(`drop trigger if exists "${table}_forget" on "${table}";`);
      this.addSql(`drop function if exists "${table}_${table}_forget_fn"();`);
      this.addSql(`drop trigger if exists "${table}_change" on "${table}";`);
      this.addSql(`drop function if exists "${table}_${table}_change_fn"();`);
      this.addSql(`alter table "${table}" drop column "change_position";`);
    }
    this.addSql(`alter table "owners" drop column "change_seq";`);
    this.addSql(`drop table if exists "deletions";`);
  }
}
