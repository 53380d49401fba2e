import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261126083023_tasks } from './Migration20261126083023_tasks.js';
import { Migration20261126084728_idempotency_keys } from './Migration20261126084728_idempotency_keys.js';

/**
 * Every migration, oldest first. `npm run migration:create` writes a new file
 * beside this one; add it here (test/migrations.int-spec.ts fails until you do).
 */
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261126083023_tasks', class: Migration20261126083023_tasks },
  { name: 'Migration20261126084728_idempotency_keys', class: Migration20261126084728_idempotency_keys },
];
