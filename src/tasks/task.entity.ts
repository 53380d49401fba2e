import { Check, Entity, Index, PrimaryKey, Property, Trigger } from '@mikro-orm/decorators/legacy';

export const TITLE_MAX_LENGTH = 255;
export const DESCRIPTION_MAX_LENGTH = 10_000;
export const USER_ID_MAX_LENGTH = 128;

/**
 * Schema of the `tasks` table. The migration is generated from this class and
 * `migration:check` compares the two, so constraints, indexes and the trigger
 * are declared here even though all reads and writes go through
 * TasksRepository's hand-written statements.
 *
 * Index choice (EXPLAIN'd in migrations/Migration20261126000000_tasks.ts):
 * every list query is `WHERE user_id = $1 [AND completed = $2] ORDER BY <key>, id`,
 * so each sort key has a (user_id, key, id) index that serves both directions
 * and the keyset predicate; `completed` is not indexed on its own because it
 * halves an owner's rows at best and the owner index already bounds the scan.
 */
@Entity({ tableName: 'tasks' })
@Index({ name: 'tasks_user_created_idx', properties: ['userId', 'createdAt', 'id'] })
@Index({ name: 'tasks_user_updated_idx', properties: ['userId', 'updatedAt', 'id'] })
@Index({ name: 'tasks_user_title_idx', properties: ['userId', 'title', 'id'] })
@Check({ name: 'tasks_user_id_not_empty', expression: `user_id <> ''` })
@Check({ name: 'tasks_title_not_blank', expression: `btrim(title) <> ''` })
@Check({
  name: 'tasks_description_length',
  expression: `char_length(description) <= ${DESCRIPTION_MAX_LENGTH}`,
})
@Check({ name: 'tasks_version_positive', expression: 'version >= 1' })
// The database, not the application, keeps updated_at and version honest: every
// UPDATE (from this service or from psql) moves both, so the ETag always changes.
@Trigger({
  name: 'tasks_touch',
  timing: 'before',
  events: ['update'],
  // At least 1 ms later than before: the API shows milliseconds, and updatedAt
  // must visibly change on every update even when two land in the same millisecond.
  body:
    "new.updated_at := greatest(now(), date_trunc('milliseconds', old.updated_at) + interval '1 millisecond'); " +
    'new.version := old.version + 1; return new;',
})
export class Task {
  @PrimaryKey({ type: 'uuid', defaultRaw: 'gen_random_uuid()' })
  id!: string;

  @Property({ type: 'string', length: USER_ID_MAX_LENGTH, fieldName: 'user_id' })
  userId!: string;

  // COLLATE "C": titles sort by code point on every server, whatever its locale.
  @Property({ type: 'string', length: TITLE_MAX_LENGTH, collation: 'C' })
  title!: string;

  @Property({ type: 'text', nullable: true })
  description: string | null = null;

  @Property({ type: 'boolean', default: false })
  completed = false;

  @Property({ type: 'datetime', length: 6, defaultRaw: 'now()', fieldName: 'created_at' })
  createdAt!: Date;

  @Property({ type: 'datetime', length: 6, defaultRaw: 'now()', fieldName: 'updated_at' })
  updatedAt!: Date;

  @Property({ type: 'integer', default: 1 })
  version = 1;
}
