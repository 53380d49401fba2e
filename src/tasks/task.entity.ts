import {
  Check,
  Entity,
  Enum,
  Index,
  ManyToOne,
  PrimaryKey,
  Property,
  Trigger,
} from '@mikro-orm/decorators/legacy';
import { List } from '../lists/list.entity.js';
import { changeTriggers } from '../sync/change-triggers.js';
import { USER_ID_MAX_LENGTH } from '../owners/owner.entity.js';

export { USER_ID_MAX_LENGTH };

export const TITLE_MAX_LENGTH = 255;
export const DESCRIPTION_MAX_LENGTH = 10_000;
export const TAGS_MAX = 20;
export const TAG_MAX_LENGTH = 50;
export const RECURRENCE_MAX_LENGTH = 255;
export const POSITION_MAX_LENGTH = 64;
export const TIME_ZONE_MAX_LENGTH = 64;

/** In the order the `priority` sort uses; a PostgreSQL enum sorts by its declaration order. */
export const PRIORITIES = ['none', 'low', 'medium', 'high'] as const;
export type Priority = (typeof PRIORITIES)[number];

/**
 * Schema of the `tasks` table: migrations are generated from this class, the
 * repository's statements are built from its metadata (EntityTable), and
 * `migration:check` compares it with the database.
 *
 * The primary key starts with the owner, and so do both foreign keys, so a
 * task can never point at another user's list or parent, even through a bug.
 *
 * Indexes: every list sort has an owner-first (user_id, key, id) index that
 * serves both directions and the keyset predicate; list and parent filters
 * with the manual order have their own. The other filters (completed, q,
 * tags, priority, a due range under another sort) are applied on the sort
 * index's scan, which stops once the page is full. Tags have no GIN index on
 * purpose: a generic plan, which assumes an average owner, would read a tag's
 * tasks from it and sort them all. Each choice is checked by
 * test/schema.int-spec.ts, which EXPLAINs the repository's own statements
 * under custom and generic plans.
 */
@Entity({ tableName: 'tasks' })
@Index({ name: 'tasks_user_created_idx', properties: ['userId', 'createdAt', 'id'] })
@Index({ name: 'tasks_user_updated_idx', properties: ['userId', 'updatedAt', 'id'] })
@Index({ name: 'tasks_user_title_idx', properties: ['userId', 'title', 'id'] })
@Index({ name: 'tasks_user_due_idx', properties: ['userId', 'dueKey', 'id'] })
@Index({ name: 'tasks_user_priority_idx', properties: ['userId', 'priority', 'id'] })
@Index({ name: 'tasks_user_position_idx', properties: ['userId', 'position', 'id'] })
@Index({ name: 'tasks_user_list_idx', properties: ['userId', 'listId', 'parentId', 'position', 'id'] })
@Index({ name: 'tasks_user_parent_idx', properties: ['userId', 'parentId', 'position', 'id'] })
@Index({ name: 'tasks_user_change_idx', properties: ['userId', 'changePosition'] })
@Check({ name: 'tasks_user_id_not_empty', expression: `user_id <> ''` })
@Check({ name: 'tasks_title_not_blank', expression: `btrim(title) <> ''` })
@Check({
  name: 'tasks_description_length',
  expression: `char_length(description) <= ${DESCRIPTION_MAX_LENGTH}`,
})
@Check({ name: 'tasks_version_positive', expression: 'version >= 1' })
@Check({ name: 'tasks_not_own_parent', expression: 'parent_id <> id' })
@Check({ name: 'tasks_completed_at', expression: 'completed = (completed_at is not null)' })
@Check({ name: 'tasks_tags_count', expression: `cardinality(tags) <= ${TAGS_MAX}` })
@Check({
  name: 'tasks_due_date_range',
  expression: `due_date >= '1900-01-01'::date and due_date <= '9999-12-31'::date`,
})
@Check({ name: 'tasks_due_time_zone', expression: '(due_time is null) = (due_time_zone is null)' })
@Check({ name: 'tasks_due_whole', expression: 'due_date is not null or due_time is null' })
@Check({ name: 'tasks_recurrence_due', expression: 'recurrence is null or due_date is not null' })
@Check({ name: 'tasks_position_not_empty', expression: `position <> ''` })
// The database, not the application, keeps updated_at, version and
// completed_at honest: every UPDATE (from this service or from psql) moves the
// first two, so the ETag always changes, and completed_at follows completed.
@Trigger({
  name: 'tasks_touch',
  timing: 'before',
  events: ['update'],
  // At least 1 ms later than before: the API shows milliseconds, and updatedAt
  // must visibly change on every update even when two land in the same millisecond.
  // A migration's backfill (tasks.backfill, set for its own transaction) is not
  // an update by the user: it leaves updated_at, version and the ETag alone.
  body:
    "if current_setting('tasks.backfill', true) = 'on' then return new; end if; " +
    "new.updated_at := greatest(now(), date_trunc('milliseconds', old.updated_at) + interval '1 millisecond'); " +
    'new.version := old.version + 1; ' +
    'if not new.completed then new.completed_at := null; ' +
    'elsif not old.completed then new.completed_at := new.updated_at; ' +
    'else new.completed_at := old.completed_at; end if; return new;',
})
// Columns derived from others, whoever writes the row: the due sort's key,
// and on insert completed_at of a task created completed (its creation time).
@Trigger({
  name: 'tasks_derive',
  timing: 'before',
  events: ['insert', 'update'],
  body:
    "new.due_key := new.due_date + coalesce(new.due_time + interval '1 second', time '00:00'); " +
    "if tg_op = 'INSERT' then new.completed_at := case when new.completed then new.created_at end; end if; " +
    'return new;',
})
// The owner's task count, which the quota check reads; a trigger, so that
// cascades (a deleted list's tasks, a deleted parent's subtasks) count too.
@Trigger({
  name: 'tasks_count',
  timing: 'after',
  events: ['insert', 'delete'],
  body:
    "if tg_op = 'INSERT' then insert into owners (user_id, task_count) values (new.user_id, 1) " +
    'on conflict (user_id) do update set task_count = owners.task_count + 1; ' +
    'else update owners set task_count = task_count - 1 where user_id = old.user_id; end if; return null;',
})
// The change feed's triggers (src/sync/change-triggers.ts).
@Trigger(changeTriggers('tasks', 'task')[0])
@Trigger(changeTriggers('tasks', 'task')[1])
export class Task {
  @PrimaryKey({ type: 'string', length: USER_ID_MAX_LENGTH, fieldName: 'user_id' })
  userId!: string;

  @PrimaryKey({ type: 'uuid', defaultRaw: 'gen_random_uuid()' })
  id!: string;

  // The scalar columns of the two references; the relations below declare
  // them (and their foreign keys) to the schema.
  @Property({ type: 'uuid', nullable: true, fieldName: 'list_id', persist: false })
  listId: string | null = null;

  @Property({ type: 'uuid', nullable: true, fieldName: 'parent_id', persist: false })
  parentId: string | null = null;

  @ManyToOne({
    entity: () => List,
    fieldNames: ['user_id', 'list_id'],
    nullable: true,
    deleteRule: 'cascade',
    updateRule: 'no action',
  })
  list?: List;

  @ManyToOne({
    entity: () => Task,
    fieldNames: ['user_id', 'parent_id'],
    nullable: true,
    deleteRule: 'cascade',
    updateRule: 'no action',
  })
  parent?: Task;

  // COLLATE "C": titles sort by code point on every server, whatever its locale.
  @Property({ type: 'string', length: TITLE_MAX_LENGTH, collation: 'C' })
  title!: string;

  @Property({ type: 'text', nullable: true })
  description: string | null = null;

  @Property({ type: 'boolean', default: false })
  completed = false;

  @Property({ type: 'datetime', length: 6, nullable: true, fieldName: 'completed_at' })
  completedAt: Date | null = null;

  @Enum({ items: [...PRIORITIES], nativeEnumName: 'task_priority', default: 'none' })
  priority: Priority = 'none';

  // Lower-cased and de-duplicated by the service; in the order the client sent them.
  @Property({ type: 'text[]', defaultRaw: `'{}'` })
  tags: string[] = [];

  @Property({ type: 'date', nullable: true, fieldName: 'due_date' })
  dueDate: string | null = null;

  @Property({ type: 'time', length: 0, nullable: true, fieldName: 'due_time' })
  dueTime: string | null = null;

  // An IANA name, kept exactly as sent (Asia/Kolkata stays Asia/Kolkata).
  @Property({ type: 'string', length: TIME_ZONE_MAX_LENGTH, nullable: true, fieldName: 'due_time_zone' })
  dueTimeZone: string | null = null;

  /**
   * The `due` sort's key, kept by the tasks_derive trigger and never read
   * back: the date, with all-day tasks at 00:00:00 and a task at HH:MM at
   * HH:MM:01, so all-day comes first on its date and every key compares in one
   * (key, id) row comparison. Null without a due; the repository puts those
   * last in both directions. A trigger rather than a generated column: adding
   * a stored generated column rewrites the whole table under an exclusive lock.
   */
  @Property({
    type: 'datetime',
    columnType: 'timestamp(0)',
    nullable: true,
    fieldName: 'due_key',
    lazy: true,
  })
  dueKey?: Date | null;

  // The change-feed position of the last write (see the tasks_change trigger); never read back as a field.
  @Property({ type: 'bigint', default: 0, fieldName: 'change_position', lazy: true })
  changePosition?: bigint;

  @Property({ type: 'string', length: 255, nullable: true })
  recurrence: string | null = null;

  // The manual order among siblings (same list, same parent), compared byte by
  // byte; a fractional index (the fractional-indexing package). The repository
  // always sets it; the default only serves rows written by an older release
  // during a rolling deploy (ties are ordered by id).
  @Property({ type: 'string', length: POSITION_MAX_LENGTH, collation: 'C', default: 'a0' })
  position!: string;

  @Property({ type: 'datetime', length: 6, defaultRaw: 'now()', fieldName: 'created_at' })
  createdAt!: Date;

  @Property({ type: 'datetime', length: 6, defaultRaw: 'now()', fieldName: 'updated_at' })
  updatedAt!: Date;

  @Property({ type: 'integer', default: 1 })
  version = 1;
}
