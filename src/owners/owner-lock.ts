import type { EntityTable } from '../database/entity-table.js';
import type { Owner } from './owner.entity.js';

/**
 * A WHERE condition that locks the owner's row before a single-statement
 * write touches any of the owner's tasks or lists. Uncorrelated, it runs once,
 * as a one-time filter ahead of the scan. Every write takes that row (the
 * change-feed position trigger), and the transactions that write several
 * rows (moves, renumbering) take it first; an UPDATE or DELETE that locked a
 * task's row first and the owner's second could deadlock with them.
 */
export function ownerLockedFirst(o: EntityTable<Owner>, owner: string): string {
  return `exists (select 1 from ${o.table} lo where ${o.ref('userId', 'lo')} = ${owner} for no key update)`;
}
