import { Check, Entity, Index, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { USER_ID_MAX_LENGTH } from '../owners/owner.entity.js';

export const CHANGE_KINDS = ['list', 'task'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/**
 * The change feed's tombstones: one row per deleted task or list, written by
 * the tasks_forget and lists_forget triggers (cascades included) at the
 * owner's next change position, so that `GET /changes` can tell a client
 * what is gone. Kept CHANGE_RETENTION_DAYS, then swept; a sync token older
 * than that is refused with 410, since deletions it would need may be gone.
 *
 * The live rows carry their own position (`change_position` on tasks and
 * lists, the last write's), so the feed reads each entity once, in its latest
 * state, without a log of every write.
 */
@Entity({ tableName: 'deletions' })
@Index({ name: 'deletions_deleted_at_idx', properties: ['deletedAt'] })
@Check({ name: 'deletions_kind', expression: `kind in ('list', 'task')` })
export class Deletion {
  @PrimaryKey({ type: 'string', length: USER_ID_MAX_LENGTH, fieldName: 'user_id' })
  userId!: string;

  @PrimaryKey({ type: 'bigint' })
  position!: bigint;

  @Property({ type: 'string', length: 4 })
  kind!: ChangeKind;

  @Property({ type: 'uuid' })
  id!: string;

  @Property({ type: 'datetime', length: 6, defaultRaw: 'now()', fieldName: 'deleted_at' })
  deletedAt!: Date;
}
