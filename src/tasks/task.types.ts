import type { EntityRecord } from '../database/entity-table.js';
import type { Priority, Task } from './task.entity.js';

/** An id as the database generates it (gen_random_uuid); any case is accepted. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A task as the data layer returns it, derived from the entity (less its two
 * relations, whose columns are listId and parentId, and the due sort's key,
 * which is never read back): timestamps are ISO 8601 UTC strings with
 * microseconds (cursors need them; the response cuts them to milliseconds).
 * The HTTP layer maps it to the response shape.
 */
export type TaskRecord = Omit<EntityRecord<Task>, 'list' | 'parent' | 'dueKey' | 'changePosition'>;

/** The properties the database sets on insert (defaults, triggers), never the service. */
export type ServerSet = 'id' | 'createdAt' | 'updatedAt' | 'version' | 'completedAt' | 'position';

/** A new task as the repository writes it: every column the service decides, already validated. */
export type NewTask = Omit<TaskRecord, ServerSet | 'userId'>;

/** A create as the service hands it over: listId and parentId absent when not sent (a parentId alone means its list). */
export type NewTaskInput = Omit<NewTask, 'listId' | 'parentId'> & PlacementChange;

/** The columns a PATCH can set, each optional; `due` is merged member by member. */
export type TaskPatch = Partial<Omit<NewTask, 'listId' | 'parentId'>>;

/** Where a task goes among its siblings: a list (null: the inbox) and a parent (null: top level). */
export interface Placement {
  listId: string | null;
  parentId: string | null;
}

/** A PATCH or move that changes list or parent: what was asked, before the parent's list is resolved. */
export interface PlacementChange {
  listId?: string | null;
  parentId?: string | null;
}

export interface MoveRequest extends PlacementChange {
  /** Absent: last; null: first; an id: directly after that sibling. */
  after?: string | null;
}

export const TASK_SORTS = [
  'createdAt',
  '-createdAt',
  'updatedAt',
  '-updatedAt',
  'title',
  '-title',
  'due',
  '-due',
  'priority',
  '-priority',
  'position',
] as const;
export type TaskSort = (typeof TASK_SORTS)[number];

/**
 * Where a page ends: the sort key of its last task (null for a task without a
 * due date in the due sorts) and that task's id (the tie-breaker). Timestamps
 * are ISO 8601 with microseconds, the precision the database keeps, so no
 * task is skipped or repeated between pages.
 */
export interface KeysetPosition {
  key: string | null;
  id: string;
}

export interface TaskFilters {
  completed?: boolean;
  /** Case-insensitive substring of the title. */
  q?: string;
  /** A list id, or 'inbox' for tasks in no list. */
  listId?: string;
  /** A task id (its subtasks), or 'none' (top-level tasks only). */
  parentId?: string;
  /** Tasks carrying every one of these (normalised, distinct). */
  tags?: string[];
  /** Tasks with any of these. */
  priorities?: Priority[];
  dueFrom?: string;
  dueTo?: string;
}

export interface ListQuery extends TaskFilters {
  sort: TaskSort;
  limit: number;
  after?: KeysetPosition;
}

export interface TaskPage {
  items: TaskRecord[];
  /** Position of the last item when more tasks follow it, else null. */
  next: KeysetPosition | null;
}

export interface TagCount {
  name: string;
  count: number;
}

/** The versions a conditional request (If-Match) accepts: a list, or any existing version. */
export type IfMatch = readonly number[] | '*';
