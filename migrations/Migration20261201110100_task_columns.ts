import { Migration } from '@mikro-orm/migrations';

const TOUCH_1_0 =
  `new.updated_at := greatest(now(), date_trunc('milliseconds', old.updated_at) + interval '1 millisecond'); ` +
  `new.version := old.version + 1; return new;`;
const TOUCH_1_1 =
  `if current_setting('tasks.backfill', true) = 'on' then return new; end if; ` +
  `new.updated_at := greatest(now(), date_trunc('milliseconds', old.updated_at) + interval '1 millisecond'); ` +
  `new.version := old.version + 1; if not new.completed then new.completed_at := null; ` +
  `elsif not old.completed then new.completed_at := new.updated_at; else new.completed_at := old.completed_at; end if; return new;`;

/**
 * Task model 1.1, step 2 of 5: the new task columns. Every one is nullable or
 * has a constant default, so adding them changes only the catalog (no table
 * rewrite); existing rows read priority none, no tags, no due, and position
 * a0 until step 3 numbers them. The check constraints are added NOT VALID
 * (no scan under the exclusive lock) and validated in step 5.
 *
 * Existing tasks that are completed get completed_at = updated_at, the best
 * record there is of when that happened; the same UPDATE is batched in step 3
 * with the positions, so it is not run here.
 *
 * Idempotency-Key responses stored by 1.0 are raw rows (user_id, created_at,
 * …); they are rewritten as task records, which is what replays read now.
 */
export class Migration20261201110100_task_columns extends Migration {
  override name = 'Migration20261201110100_task_columns';

  override up(): void {
    this.addSql(
      `alter table "tasks" add "list_id" uuid null, add "parent_id" uuid null, add "completed_at" timestamptz(6) null, ` +
        `add "priority" "task_priority" not null default 'none', add "tags" text[] not null default '{}', ` +
        `add "due_date" date null, add "due_time" time(0) null, add "due_time_zone" varchar(64) null, ` +
        `add "due_key" timestamp(0) null, add "recurrence" varchar(255) null, ` +
        `add "position" varchar(64) collate "C" not null default 'a0';`,
    );
    for (const [name, check] of CHECKS) {
      this.addSql(`alter table "tasks" add constraint "${name}" check (${check}) not valid;`);
    }
    this.addSql(
      `create or replace function "tasks_tasks_touch_fn"() returns trigger as $$ begin ${TOUCH_1_1} end; $$ language plpgsql;`,
    );
    this.addSql(
      `create or replace function "tasks_tasks_derive_fn"() returns trigger as $$ begin ` +
        `new.due_key := new.due_date + coalesce(new.due_time + interval '1 second', time '00:00'); ` +
        `if tg_op = 'INSERT' then new.completed_at := case when new.completed then new.created_at end; end if; ` +
        `return new; end; $$ language plpgsql;`,
    );
    this.addSql(
      `create trigger "tasks_derive" BEFORE INSERT OR UPDATE on "tasks" for each ROW execute function "tasks_tasks_derive_fn"();`,
    );
    this.addSql(
      `update "idempotency_keys" set "response" = jsonb_build_object(` +
        `'id', response->'id', 'userId', response->'user_id', 'title', response->'title', ` +
        `'description', response->'description', 'completed', response->'completed', ` +
        `'createdAt', response->'created_at', 'updatedAt', response->'updated_at', 'version', response->'version', ` +
        `'listId', null, 'parentId', null, 'priority', 'none', 'tags', '[]'::jsonb, 'dueDate', null, ` +
        `'dueTime', null, 'dueTimeZone', null, 'recurrence', null, ` +
        `'completedAt', case when (response->>'completed')::boolean then response->'updated_at' end) ` +
        `where "response" ? 'user_id';`,
    );
  }

  override down(): void {
    this.addSql(
      `update "idempotency_keys" set "response" = jsonb_build_object(` +
        `'id', response->'id', 'user_id', response->'userId', 'title', response->'title', ` +
        `'description', response->'description', 'completed', response->'completed', ` +
        `'created_at', response->'createdAt', 'updated_at', response->'updatedAt', 'version', response->'version') ` +
        `where "response" ? 'userId';`,
    );
    this.addSql(`drop trigger if exists "tasks_derive" on "tasks";`);
    this.addSql(`drop function if exists "tasks_tasks_derive_fn"();`);
    this.addSql(
      `create or replace function "tasks_tasks_touch_fn"() returns trigger as $$ begin ${TOUCH_1_0} end; $$ language plpgsql;`,
    );
    for (const [name] of CHECKS) this.addSql(`alter table "tasks" drop constraint "${name}";`);
    this.addSql(
      `alter table "tasks" drop column "list_id", drop column "parent_id", drop column "completed_at", ` +
        `drop column "priority", drop column "tags", drop column "due_date", drop column "due_time", ` +
        `drop column "due_time_zone", drop column "due_key", drop column "recurrence", drop column "position";`,
    );
  }
}

/** The rules of src/tasks/task.entity.ts that the database can hold. */
export const CHECKS: [string, string][] = [
  ['tasks_position_not_empty', `position <> ''`],
  ['tasks_recurrence_due', 'recurrence is null or due_date is not null'],
  ['tasks_due_whole', 'due_date is not null or due_time is null'],
  ['tasks_due_time_zone', '(due_time is null) = (due_time_zone is null)'],
  ['tasks_due_date_range', `due_date >= '1900-01-01'::date and due_date <= '9999-12-31'::date`],
  ['tasks_tags_count', 'cardinality(tags) <= 20'],
  ['tasks_completed_at', 'completed = (completed_at is not null)'],
  ['tasks_not_own_parent', 'parent_id <> id'],
];
