import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261126083023_tasks } from './Migration20261126083023_tasks.js';
import { Migration20261126084728_idempotency_keys } from './Migration20261126084728_idempotency_keys.js';
import { Migration20261201110000_lists_owners } from './Migration20261201110000_lists_owners.js';
import { Migration20261201110100_task_columns } from './Migration20261201110100_task_columns.js';
import { Migration20261201110200_task_indexes } from './Migration20261201110200_task_indexes.js';
import { Migration20261201110300_task_keys } from './Migration20261201110300_task_keys.js';
import { Migration20261201110400_task_validate } from './Migration20261201110400_task_validate.js';
import { Migration20261207120000_change_feed } from './Migration20261207120000_change_feed.js';
import { Migration20261207120100_change_feed_backfill } from './Migration20261207120100_change_feed_backfill.js';

/**
 * Every migration, oldest first. `npm run migration:create` writes a new file
 * beside this one; add it here (test/migrations.int-spec.ts fails until you do).
 */
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261126083023_tasks', class: Migration20261126083023_tasks },
  { name: 'Migration20261126084728_idempotency_keys', class: Migration20261126084728_idempotency_keys },
  { name: 'Migration20261201110000_lists_owners', class: Migration20261201110000_lists_owners },
  { name: 'Migration20261201110100_task_columns', class: Migration20261201110100_task_columns },
  { name: 'Migration20261201110200_task_indexes', class: Migration20261201110200_task_indexes },
  { name: 'Migration20261201110300_task_keys', class: Migration20261201110300_task_keys },
  { name: 'Migration20261201110400_task_validate', class: Migration20261201110400_task_validate },
  { name: 'Migration20261207120000_change_feed', class: Migration20261207120000_change_feed },
  {
    name: 'Migration20261207120100_change_feed_backfill',
    class: Migration20261207120100_change_feed_backfill,
  },
];
