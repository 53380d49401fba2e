import { Migration } from '@mikro-orm/migrations';
import { CHECKS } from './Migration20261201110100_task_columns.js';

/**
 * Task model 1.1, step 5 of 5: validates the constraints added NOT VALID in
 * steps 2 and 4. VALIDATE scans the table under a SHARE UPDATE EXCLUSIVE lock,
 * which lets reads and writes go on.
 */
export class Migration20261201110400_task_validate extends Migration {
  override name = 'Migration20261201110400_task_validate';

  override up(): void {
    for (const [name] of CHECKS) this.addSql(`alter table "tasks" validate constraint "${name}";`);
    this.addSql(`alter table "tasks" validate constraint "tasks_user_id_list_id_foreign";`);
    this.addSql(`alter table "tasks" validate constraint "tasks_user_id_parent_id_foreign";`);
  }

  override down(): void {
    // A validated constraint cannot be marked NOT VALID again; step 4's and step 2's downs drop them.
  }
}
