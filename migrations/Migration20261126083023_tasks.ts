import { Migration } from '@mikro-orm/migrations';

/**
 * The tasks table (generated from src/tasks/task.entity.ts, then read and
 * commented by hand). Rules that the API enforces are also check constraints,
 * so a row written by any other client obeys them too.
 *
 * Indexes, chosen from EXPLAIN ANALYZE on PostgreSQL 15 with 100,000 tasks of
 * 100 users (1,000 each):
 * - The primary key serves read/update/delete: `WHERE id = $1 AND user_id = $2`
 *   is an Index Scan on tasks_pkey with user_id as a filter on its one row.
 * - tasks_user_created_idx (user_id, created_at, id) serves the default list,
 *   `WHERE user_id = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at
 *   DESC, id DESC LIMIT 21`: an Index Scan Backward with both predicates in its
 *   Index Cond, no Sort node, 0.06 ms on any page. A `completed` filter rides on
 *   the same scan (Filter: completed; 0.08 ms), so it gets no index of its own.
 * - tasks_user_updated_idx and tasks_user_title_idx do the same for the
 *   updatedAt and title sorts (title is COLLATE "C", and so is its index, so the
 *   index order is the code-point order the API promises; 0.06 ms a page).
 * - `q` (a substring, case-folded) cannot use a b-tree: it scans the owner's
 *   rows through an owner index and sorts the matches (1.6 ms for 1,000 tasks).
 *   A pg_trgm index would help owners with very many tasks; not needed yet.
 */
export class Migration20261126083023_tasks extends Migration {
  override name = 'Migration20261126083023_tasks';

  override up(): void {
    this.addSql(
      `create table "tasks" (` +
        `"id" uuid not null default gen_random_uuid(), ` +
        `"user_id" varchar(128) not null, ` +
        `"title" varchar(255) collate "C" not null, ` +
        `"description" text null, ` +
        `"completed" boolean not null default false, ` +
        `"created_at" timestamptz(6) not null default now(), ` +
        `"updated_at" timestamptz(6) not null default now(), ` +
        `"version" int not null default 1, ` +
        `primary key ("id"));`,
    );
    this.addSql(`create index "tasks_user_title_idx" on "tasks" ("user_id", "title", "id");`);
    this.addSql(`create index "tasks_user_updated_idx" on "tasks" ("user_id", "updated_at", "id");`);
    this.addSql(`create index "tasks_user_created_idx" on "tasks" ("user_id", "created_at", "id");`);
    this.addSql(`alter table "tasks" add constraint "tasks_version_positive" check (version >= 1);`);
    this.addSql(
      `alter table "tasks" add constraint "tasks_description_length" check (char_length(description) <= 10000);`,
    );
    this.addSql(`alter table "tasks" add constraint "tasks_title_not_blank" check (btrim(title) <> '');`);
    this.addSql(`alter table "tasks" add constraint "tasks_user_id_not_empty" check (user_id <> '');`);
    // updated_at and version are moved by the database on every UPDATE, so they
    // cannot be forgotten by any writer. updated_at moves by at least 1 ms, the
    // precision the API shows, so it visibly changes on every update.
    this.addSql(
      `create or replace function "tasks_tasks_touch_fn"() returns trigger as $$ begin ` +
        `new.updated_at := greatest(now(), date_trunc('milliseconds', old.updated_at) + interval '1 millisecond'); ` +
        `new.version := old.version + 1; return new; end; $$ language plpgsql;`,
    );
    this.addSql(
      `create trigger "tasks_touch" BEFORE UPDATE on "tasks" for each ROW execute function "tasks_tasks_touch_fn"();`,
    );
  }

  override down(): void {
    this.addSql(`drop trigger if exists "tasks_touch" on "tasks";`);
    this.addSql(`drop function if exists "tasks_tasks_touch_fn"();`);
    this.addSql(`drop table if exists "tasks";`);
  }
}
