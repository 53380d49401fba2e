import { Migration } from '@mikro-orm/migrations';

/**
 * Task model 1.1, step 1 of 5: lists (src/lists/list.entity.ts) and the
 * per-owner counts behind the quotas (src/owners/owner.entity.ts). Generated
 * with `npm run migration:create`, then split into lock-light steps by hand.
 *
 * The tasks_count trigger is created before the counts are backfilled, in the
 * same transaction: creating it locks tasks against writes until the commit,
 * so no create or delete can fall between the count and the trigger. That
 * lock is the only one on tasks here; its length is the backfill's aggregate
 * (measured in the README, Migrations).
 */
export class Migration20261201110000_lists_owners extends Migration {
  override name = 'Migration20261201110000_lists_owners';

  override up(): void {
    this.addSql(`create type "task_priority" as enum ('none', 'low', 'medium', 'high');`);

    this.addSql(
      `create table "lists" ("user_id" varchar(128) not null, "id" uuid not null default gen_random_uuid(), ` +
        `"name" varchar(100) collate "C" not null, "name_key" text not null, ` +
        `"created_at" timestamptz(6) not null default now(), "updated_at" timestamptz(6) not null default now(), ` +
        `"version" int not null default 1, primary key ("user_id", "id"));`,
    );
    this.addSql(`create index "lists_user_name_idx" on "lists" ("user_id", "name", "id");`);
    this.addSql(
      `alter table "lists" add constraint "lists_user_name_key_unique" unique ("user_id", "name_key");`,
    );
    this.addSql(`alter table "lists" add constraint "lists_version_positive" check (version >= 1);`);
    this.addSql(`alter table "lists" add constraint "lists_name_not_blank" check (btrim(name) <> '');`);
    this.addSql(
      `create or replace function "lists_lists_touch_fn"() returns trigger as $$ begin ` +
        `new.updated_at := greatest(now(), date_trunc('milliseconds', old.updated_at) + interval '1 millisecond'); ` +
        `new.version := old.version + 1; return new; end; $$ language plpgsql;`,
    );
    this.addSql(
      `create trigger "lists_touch" BEFORE UPDATE on "lists" for each ROW execute function "lists_lists_touch_fn"();`,
    );

    this.addSql(
      `create table "owners" ("user_id" varchar(128) not null, "task_count" int not null default 0, ` +
        `"list_count" int not null default 0, primary key ("user_id"));`,
    );
    this.addSql(
      `alter table "owners" add constraint "owners_list_count_not_negative" check (list_count >= 0);`,
    );
    this.addSql(
      `alter table "owners" add constraint "owners_task_count_not_negative" check (task_count >= 0);`,
    );
    this.addSql(
      `create or replace function "lists_lists_count_fn"() returns trigger as $$ begin ` +
        `if tg_op = 'INSERT' then insert into owners (user_id, list_count) values (new.user_id, 1) ` +
        `on conflict (user_id) do update set list_count = owners.list_count + 1; ` +
        `else update owners set list_count = list_count - 1 where user_id = old.user_id; end if; return null; end; $$ language plpgsql;`,
    );
    this.addSql(
      `create trigger "lists_count" AFTER INSERT OR DELETE on "lists" for each ROW execute function "lists_lists_count_fn"();`,
    );
    this.addSql(
      `create or replace function "tasks_tasks_count_fn"() returns trigger as $$ begin ` +
        `if tg_op = 'INSERT' then insert into owners (user_id, task_count) values (new.user_id, 1) ` +
        `on conflict (user_id) do update set task_count = owners.task_count + 1; ` +
        `else update owners set task_count = task_count - 1 where user_id = old.user_id; end if; return null; end; $$ language plpgsql;`,
    );
    this.addSql(
      `create trigger "tasks_count" AFTER INSERT OR DELETE on "tasks" for each ROW execute function "tasks_tasks_count_fn"();`,
    );
    this.addSql(
      `insert into "owners" ("user_id", "task_count") select "user_id", count(*) from "tasks" group by "user_id";`,
    );
  }

  override down(): void {
    this.addSql(`drop trigger if exists "tasks_count" on "tasks";`);
    this.addSql(`drop function if exists "tasks_tasks_count_fn"();`);
    this.addSql(`drop table if exists "owners";`);
    this.addSql(`drop trigger if exists "lists_count" on "lists";`);
    this.addSql(`drop function if exists "lists_lists_count_fn"();`);
    this.addSql(`drop trigger if exists "lists_touch" on "lists";`);
    this.addSql(`drop function if exists "lists_lists_touch_fn"();`);
    this.addSql(`drop table if exists "lists";`);
    this.addSql(`drop type "task_priority";`);
  }
}
