import type { TriggerDef } from '@mikro-orm/core';
import type { ChangeKind } from './deletion.entity.js';

/** The channel the change triggers notify, with the owner id as the payload (ChangeListener listens). */
export const CHANGES_CHANNEL = 'task_changes';

/**
 * The row triggers that feed the change feed, the same on tasks and lists.
 * Every insert and update takes the owner's next position (owners.change_seq,
 * whose row stays locked until the commit) into the row's change_position,
 * and every delete leaves a tombstone at the next one (src/sync/deletion.entity.ts);
 * both notify the owner's streams, at the commit. In the database, so that no
 * code path (cascades and renumbering included) can skip the feed.
 */
export function changeTriggers(table: 'tasks' | 'lists', kind: ChangeKind): [TriggerDef, TriggerDef] {
  return [
    {
      name: `${table}_change`,
      timing: 'before',
      events: ['insert', 'update'],
      body:
        'insert into owners (user_id, change_seq) values (new.user_id, 1) ' +
        'on conflict (user_id) do update set change_seq = owners.change_seq + 1 ' +
        'returning change_seq into new.change_position; ' +
        `perform pg_notify('${CHANGES_CHANNEL}', new.user_id); return new;`,
    },
    {
      name: `${table}_forget`,
      timing: 'after',
      events: ['delete'],
      body:
        'with o as (update owners set change_seq = change_seq + 1 where user_id = old.user_id returning change_seq) ' +
        `insert into deletions (user_id, position, kind, id) select old.user_id, change_seq, '${kind}', old.id from o; ` +
        `perform pg_notify('${CHANGES_CHANNEL}', old.user_id); return null;`,
    },
  ];
}
