import { Check, Entity, Index, PrimaryKey, Property, Trigger, Unique } from '@mikro-orm/decorators/legacy';
import { changeTriggers } from '../sync/change-triggers.js';
import { USER_ID_MAX_LENGTH } from '../owners/owner.entity.js';

export const LIST_NAME_MAX_LENGTH = 100;

/**
 * A user's list of tasks. The primary key starts with the owner, so tasks can
 * reference a list by (user_id, list_id) and never point at another user's list.
 * `name_key` is the name lower-cased by the service with `toLowerCase()` (the
 * contract's case-insensitive comparison; PostgreSQL's lower() differs for
 * letters such as İ), unique per owner.
 */
@Entity({ tableName: 'lists' })
@Unique({ name: 'lists_user_name_key_unique', properties: ['userId', 'nameKey'] })
@Index({ name: 'lists_user_name_idx', properties: ['userId', 'name', 'id'] })
@Index({ name: 'lists_user_change_idx', properties: ['userId', 'changePosition'] })
@Check({ name: 'lists_name_not_blank', expression: `btrim(name) <> ''` })
@Check({ name: 'lists_version_positive', expression: 'version >= 1' })
@Trigger({
  name: 'lists_touch',
  timing: 'before',
  events: ['update'],
  // A migration's backfill (lists.backfill, set for its own transaction) leaves updated_at, version and the ETag alone.
  body:
    "if current_setting('lists.backfill', true) = 'on' then return new; end if; " +
    "new.updated_at := greatest(now(), date_trunc('milliseconds', old.updated_at) + interval '1 millisecond'); " +
    'new.version := old.version + 1; return new;',
})
@Trigger({
  name: 'lists_count',
  timing: 'after',
  events: ['insert', 'delete'],
  body:
    "if tg_op = 'INSERT' then insert into owners (user_id, list_count) values (new.user_id, 1) " +
    'on conflict (user_id) do update set list_count = owners.list_count + 1; ' +
    'else update owners set list_count = list_count - 1 where user_id = old.user_id; end if; return null;',
})
// The change feed's triggers (src/sync/change-triggers.ts).
@Trigger(changeTriggers('lists', 'list')[0])
@Trigger(changeTriggers('lists', 'list')[1])
export class List {
  @PrimaryKey({ type: 'string', length: USER_ID_MAX_LENGTH, fieldName: 'user_id' })
  userId!: string;

  @PrimaryKey({ type: 'uuid', defaultRaw: 'gen_random_uuid()' })
  id!: string;

  // COLLATE "C": lists sort by code point on every server, whatever its locale.
  @Property({ type: 'string', length: LIST_NAME_MAX_LENGTH, collation: 'C' })
  name!: string;

  @Property({ type: 'text', fieldName: 'name_key' })
  nameKey!: string;

  @Property({ type: 'datetime', length: 6, defaultRaw: 'now()', fieldName: 'created_at' })
  createdAt!: Date;

  @Property({ type: 'datetime', length: 6, defaultRaw: 'now()', fieldName: 'updated_at' })
  updatedAt!: Date;

  @Property({ type: 'integer', default: 1 })
  version = 1;

  // The change-feed position of the last write (see the lists_change trigger); never read back as a field.
  @Property({ type: 'bigint', default: 0, fieldName: 'change_position', lazy: true })
  changePosition?: bigint;
}
