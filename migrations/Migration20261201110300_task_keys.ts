import { Migration } from '@mikro-orm/migrations';

/**
 * Task model 1.1, step 4 of 5: the owner-first primary key and the foreign
 * keys. The primary key takes over the unique index built concurrently in
 * step 3, so swapping it holds the exclusive lock for a moment, not for an
 * index build. The foreign keys are added NOT VALID (no scan under the lock)
 * and validated in step 5. Both start with user_id, so a task can never point
 * at another user's list or parent.
 */
export class Migration20261201110300_task_keys extends Migration {
  override name = 'Migration20261201110300_task_keys';

  override up(): void {
    this.addSql(
      `alter table "tasks" drop constraint "tasks_pkey", ` +
        `add constraint "tasks_pkey" primary key using index "tasks_user_id_id_idx";`,
    );
    this.addSql(
      `alter table "tasks" add constraint "tasks_user_id_list_id_foreign" foreign key ("user_id", "list_id") ` +
        `references "lists" ("user_id", "id") on update no action on delete cascade not valid;`,
    );
    this.addSql(
      `alter table "tasks" add constraint "tasks_user_id_parent_id_foreign" foreign key ("user_id", "parent_id") ` +
        `references "tasks" ("user_id", "id") on update no action on delete cascade not valid;`,
    );
  }

  override down(): void {
    this.addSql(`alter table "tasks" drop constraint "tasks_user_id_parent_id_foreign";`);
    this.addSql(`alter table "tasks" drop constraint "tasks_user_id_list_id_foreign";`);
    // Back to the 1.0 key; the (user_id, id) index goes with the constraint.
    this.addSql(
      `alter table "tasks" drop constraint "tasks_pkey", add constraint "tasks_pkey" primary key ("id");`,
    );
    this.addSql(`create unique index "tasks_user_id_id_idx" on "tasks" ("user_id", "id");`);
  }
}
