import { Check, Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

/** The owner id (a token's `sub`) is at most this long, in every table. */
export const USER_ID_MAX_LENGTH = 128;

/**
 * One row per user who has ever written: how many tasks and lists they hold.
 * Every create locks this row and checks the count in the same statement
 * (`insert … on conflict do update … where count < limit`), so quotas hold
 * exactly under concurrent creates without counting the user's rows; the
 * counts themselves are kept by row triggers on tasks and lists, so cascades
 * (a list's tasks, a parent's subtasks) are counted too. Writes that must be
 * serialised per user (moves, renumbering) lock it as well.
 *
 * `change_seq` is the owner's last change-feed position (src/sync): every
 * write of one of the owner's tasks or lists advances it by one, from a row
 * trigger, so the row stays locked by that transaction until it commits. The
 * owner's positions are therefore gapless and in commit order, and a
 * position is never handed out behind a transaction still running.
 */
@Entity({ tableName: 'owners' })
@Check({ name: 'owners_task_count_not_negative', expression: 'task_count >= 0' })
@Check({ name: 'owners_list_count_not_negative', expression: 'list_count >= 0' })
export class Owner {
  @PrimaryKey({ type: 'string', length: USER_ID_MAX_LENGTH, fieldName: 'user_id' })
  userId!: string;

  @Property({ type: 'integer', default: 0, fieldName: 'task_count' })
  taskCount = 0;

  @Property({ type: 'integer', default: 0, fieldName: 'list_count' })
  listCount = 0;

  @Property({ type: 'bigint', default: 0, fieldName: 'change_seq' })
  changeSeq = 0n;
}
