import type { EntityRecord } from '../database/entity-table.js';
import type { Task } from './task.entity.js';

/** A task id as the database generates it (gen_random_uuid); any case is accepted. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A task as the data layer returns it, derived from the entity: timestamps are
 * ISO 8601 UTC strings with microseconds (cursors need them; the response cuts
 * them to milliseconds). The HTTP layer maps it to the response shape.
 */
export type TaskRecord = EntityRecord<Task>;

export interface NewTask {
  title: string;
  description?: string | null;
  completed?: boolean;
}

export interface TaskPatch {
  title?: string;
  description?: string | null;
  completed?: boolean;
}

export const TASK_SORTS = ['createdAt', '-createdAt', 'updatedAt', '-updatedAt', 'title', '-title'] as const;
export type TaskSort = (typeof TASK_SORTS)[number];

/**
 * Where a page ends: the sort key of its last task and that task's id (the
 * tie-breaker). Timestamps are ISO 8601 with microseconds, the precision the
 * database keeps, so no task is skipped or repeated between pages.
 */
export interface KeysetPosition {
  key: string;
  id: string;
}

export interface ListQuery {
  completed?: boolean;
  /** Case-insensitive substring of the title. */
  q?: string;
  sort: TaskSort;
  limit: number;
  after?: KeysetPosition;
}

export interface TaskPage {
  items: TaskRecord[];
  /** Position of the last item when more tasks follow it, else null. */
  next: KeysetPosition | null;
}

/** The versions a conditional request (If-Match) accepts: a list, or any existing version. */
export type IfMatch = readonly number[] | '*';
