import { ownerLockedFirst } from '../owners/owner-lock.js';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { generateKeyBetween, generateNKeysBetween } from 'fractional-indexing';
import {
  InvalidParentError,
  QuotaExceededError,
  ReferenceNotFoundError,
  TaskNotFoundError,
  ValidationError,
  VersionConflictError,
} from '../database/data-layer.errors.js';
import {
  EntityTable,
  Placeholders,
  prepared,
  shapes,
  type Column,
  type Params,
  type Statement,
} from '../database/entity-table.js';
import { SqlRunner, type Transaction } from '../database/sql-runner.js';
import { List } from '../lists/list.entity.js';
import { Owner } from '../owners/owner.entity.js';
import { IdempotencyKey } from './idempotency-key.entity.js';
import { POSITION_MAX_LENGTH, Task } from './task.entity.js';
import {
  type IfMatch,
  type KeysetPosition,
  type ListQuery,
  type MoveRequest,
  type NewTaskInput,
  type Placement,
  type PlacementChange,
  type TagCount,
  type TaskPage,
  type TaskPatch,
  type TaskRecord,
  type TaskSort,
  UUID,
} from './task.types.js';

export type IdempotencyClaim =
  { state: 'claimed' } | { state: 'in-progress' } | { state: 'reused' } | { state: 'done'; task: TaskRecord };

/** How long a key is remembered, and when a claim whose request never finished may be retaken. */
const IDEMPOTENCY_TTL = '24 hours';
const ABANDONED_AFTER = '60 seconds';

const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const DUE_KEY = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const INT4_MAX = 2_147_483_647;

/** Siblings renumbered on each side of a move when its position would pass 64 characters; widened 4× while too few. */
const RENUMBER_WINDOW = 16;

type SortKey = 'createdAt' | 'updatedAt' | 'title' | 'dueKey' | 'priority' | 'position';

/** Each sort: the column it orders by, its direction, and the SQL type of its cursor key. */
const SORTS: Record<TaskSort, { key: SortKey; descending: boolean }> = {
  createdAt: { key: 'createdAt', descending: false },
  '-createdAt': { key: 'createdAt', descending: true },
  updatedAt: { key: 'updatedAt', descending: false },
  '-updatedAt': { key: 'updatedAt', descending: true },
  title: { key: 'title', descending: false },
  '-title': { key: 'title', descending: true },
  due: { key: 'dueKey', descending: false },
  '-due': { key: 'dueKey', descending: true },
  priority: { key: 'priority', descending: false },
  '-priority': { key: 'priority', descending: true },
  position: { key: 'position', descending: false },
};

const KEY_CASTS: Record<SortKey, string> = {
  createdAt: 'timestamptz',
  updatedAt: 'timestamptz',
  title: 'text collate "C"',
  dueKey: 'timestamp',
  priority: 'task_priority',
  position: 'text collate "C"',
};

/** The `due` sort's key of a record, as the tasks_due_key trigger computes it (task.entity.ts). */
function dueKey(task: TaskRecord): string | null {
  if (task.dueDate === null) return null;
  return task.dueTime === null ? `${task.dueDate} 00:00:00` : `${task.dueDate} ${task.dueTime}:01`;
}

function sortKeyOf(task: TaskRecord, key: SortKey): string | null {
  return key === 'dueKey' ? dueKey(task) : task[key];
}

/**
 * Versions a conditional request accepts, as bound to `version = any(…)`; a
 * version that is not a positive int4 was never issued and matches nothing.
 * Null for no condition ('*' only asks that the task exists, which the
 * statement's WHERE already does).
 */
/** Tries of a PATCH whose UPDATE touched no row although the task, read next, would have matched. */
const WRITE_ATTEMPTS = 5;

function acceptedVersions(ifMatch?: IfMatch): number[] | null {
  if (ifMatch === undefined || ifMatch === '*') return null;
  return ifMatch.filter((v) => Number.isInteger(v) && v >= 1 && v <= INT4_MAX);
}

function checkVersion(task: TaskRecord, ifMatch?: IfMatch): void {
  const versions = acceptedVersions(ifMatch);
  if (versions !== null && !versions.includes(task.version)) throw new VersionConflictError(task.version);
}

/** What the write of a PATCH or move reads first about the references it is given. */
interface References {
  listFound: boolean;
  parent: { listId: string | null; parentId: string | null } | null;
  hasChildren: boolean;
}

/** What decides the text of a list statement. */
interface ListShape {
  sort: TaskSort;
  cursor: 'first' | 'key' | 'nulls';
  list: 'any' | 'inbox' | 'id';
  parent: 'any' | 'none' | 'id';
  completed: boolean;
  q: boolean;
  tags: boolean;
  priorities: boolean;
  range: boolean;
}

type ListParam =
  | 'owner'
  | 'completed'
  | 'pattern'
  | 'tags'
  | 'priorities'
  | 'list'
  | 'parent'
  | 'dueFrom'
  | 'dueTo'
  | 'afterKey'
  | 'afterId'
  | 'limit';

/**
 * The only code that touches the tasks table. Ownership is part of every
 * method's signature and of the WHERE of every statement it runs, so no code
 * path can read or change another user's task; a task that exists but is not
 * the caller's is reported exactly like one that does not exist (404, never
 * 403), so its existence cannot be detected. A write that changes one task is
 * one statement with the version check in its WHERE; the writes that change
 * several (a move that renumbers siblings, a parent taking its subtasks to
 * another list) run in one transaction that first locks the owner's row, so
 * one owner's moves queue rather than deadlock.
 *
 * Statements are written with pieces generated from the entities' metadata
 * (EntityTable): no column is named by hand, and each row comes back already
 * shaped as a TaskRecord. Each statement's text is built once (list and update
 * shapes on first use, from bounded sets) and runs as a named prepared statement.
 */
@Injectable()
export class TasksRepository {
  private readonly t: EntityTable<Task>;
  private readonly statements: ReturnType<typeof buildStatements>;
  private readonly listTexts = new Map<
    string,
    { text: string; params: Placeholders<ListParam>; prepared: boolean }
  >();

  constructor(
    em: EntityManager,
    private readonly sql: SqlRunner,
  ) {
    const metadata = em.getMetadata();
    this.t = new EntityTable(metadata, Task);
    this.statements = buildStatements(
      this.t,
      new EntityTable(metadata, List),
      new EntityTable(metadata, Owner),
      new EntityTable(metadata, IdempotencyKey),
    );
  }

  /**
   * Inserts the task last among its siblings, if the owner is under `maxTasks`.
   * A parentId without a listId puts it in the parent's list. With an
   * Idempotency-Key (claimed first with claimIdempotencyKey), the same
   * statement stores the created task as the key's response, so the task and
   * its replayable response are committed together.
   */
  async create(
    ownerId: string,
    data: NewTaskInput,
    { maxTasks, idempotencyKey }: { maxTasks: number; idempotencyKey?: string },
  ): Promise<TaskRecord> {
    const placement = await this.placement(
      this.sql,
      ownerId,
      { listId: data.listId, parentId: data.parentId },
      null,
    );
    const last = await this.sql.run<{ position: string }>(
      this.statements.edge(placement, 'last').bind({
        owner: ownerId,
        list: placement.listId,
        parent: placement.parentId,
        task: null,
      }),
    );
    const position = generateKeyBetween(last[0]?.position ?? null, null);
    const args = {
      ...data,
      ...placement,
      userId: ownerId,
      position,
      max: maxTasks,
      key: idempotencyKey ?? null,
    };
    const statement =
      idempotencyKey === undefined ? this.statements.insert : this.statements.insertRemembered;
    const rows = await this.sql.run<TaskRecord>(statement.bind(args));
    if (rows.length === 0) throw new QuotaExceededError('tasks', maxTasks);
    return rows[0];
  }

  /**
   * Claims an Idempotency-Key for a create, or reports what the key already
   * holds. The INSERT … ON CONFLICT makes concurrent retries (on any instance)
   * agree on one winner; an expired key, or one whose request died without
   * finishing, can be claimed again. The owner's expired keys are purged on the way.
   */
  async claimIdempotencyKey(
    ownerId: string,
    key: string,
    requestHash: string,
    attempt = 0,
  ): Promise<IdempotencyClaim> {
    const { claim, remembered } = this.statements;
    const claimed = await this.sql.run(
      claim.bind({
        owner: ownerId,
        key,
        hash: requestHash,
        ttl: IDEMPOTENCY_TTL,
        abandoned: ABANDONED_AFTER,
      }),
    );
    if (claimed.length > 0) return { state: 'claimed' };
    // Lost the race: read what the winner holds (its INSERT has committed).
    const rows = await this.sql.run<{
      requestHash: string;
      response: TaskRecord | null;
      current: TaskRecord | null;
    }>(remembered.bind({ owner: ownerId, key }));
    if (rows.length === 0) {
      // The winner failed and released the key between our two statements: try once more.
      return attempt < 1
        ? this.claimIdempotencyKey(ownerId, key, requestHash, attempt + 1)
        : { state: 'in-progress' };
    }
    const [{ requestHash: storedHash, response, current }] = rows;
    if (storedHash !== requestHash) return { state: 'reused' };
    if (!response) return { state: 'in-progress' };
    // The first response, exactly; a property it lacks (a migration added a
    // column since it was stored) is taken from the task as it is now.
    return { state: 'done', task: { ...current, ...response } };
  }

  /** Gives a claimed key back when its create failed, so the client can retry. */
  async releaseIdempotencyKey(ownerId: string, key: string): Promise<void> {
    await this.sql.run(this.statements.release.bind({ owner: ownerId, key }));
  }

  /**
   * Removes other users' expired keys a batch at a time. Owners purge their own
   * keys whenever they use one; this catches owners who never come back, with no
   * scheduler needed. The one statement here not keyed by an owner, on purpose.
   */
  async sweepExpiredIdempotencyKeys(batch = 500): Promise<number> {
    const rows = await this.sql.run<{ n: number }>(this.statements.sweep.bind({ batch }));
    return rows[0].n;
  }

  async findOne(ownerId: string, id: string): Promise<TaskRecord> {
    if (!UUID.test(id)) throw new TaskNotFoundError();
    const rows = await this.sql.run<TaskRecord>(this.statements.findOne.bind({ id, owner: ownerId }));
    if (rows.length === 0) throw new TaskNotFoundError();
    return rows[0];
  }

  /** Every tag on the owner's tasks with how many carry it, by code point. */
  async tags(ownerId: string): Promise<TagCount[]> {
    return this.sql.run<TagCount>(this.statements.tags.bind({ owner: ownerId }));
  }

  /**
   * Keyset pagination on (sort key, id): each page continues strictly after the
   * previous page's last row, so rows inserted meanwhile never shift a page.
   * One extra row is read to know whether another page exists.
   */
  async list(ownerId: string, query: ListQuery): Promise<TaskPage> {
    const rows = await this.sql.run<TaskRecord>(this.listStatement(ownerId, query));
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    const key = SORTS[query.sort].key;
    // The record's own property is the sort key at full precision (timestamps with microseconds).
    const next: KeysetPosition | null =
      rows.length > query.limit ? { key: sortKeyOf(last, key), id: last.id } : null;
    return { items: page, next };
  }

  /**
   * The list statement, public so that its plan can be checked against the
   * indexes (test/schema.int-spec.ts). Its text (its shape) depends on the
   * sort, on whether a cursor is given (and, for the due sorts, whether it
   * points into the tasks without a due), and on which filters are given:
   * each filter is in the text only when given, because a prepared statement
   * may run with a generic plan, and a `($n is null or …)` predicate makes
   * the planner guess one row and sort all of the owner's tasks. The shapes are
   * bounded (24 sort/cursor combinations × 2⁵ × 3 × 3 filter combinations) and
   * each is built once, on first use.
   *
   * A tag filter, and a due range under another sort than due, run unprepared
   * (planned for their values each time): a generic plan assumes an average
   * owner and a selective filter, and would read the owner's rows through the
   * primary key and sort them all; a custom plan sees the owner's real count
   * and reads the sort's index, filtering as it goes (test/schema.int-spec.ts
   * checks both kinds of plan).
   */
  listStatement(ownerId: string, query: ListQuery): Statement {
    if (!Object.hasOwn(SORTS, query.sort)) throw ValidationError.field('sort', 'is not a known sort');
    if (!Number.isInteger(query.limit) || query.limit < 1)
      throw ValidationError.field('limit', 'must be at least 1');
    const sort = SORTS[query.sort];
    const after = query.after;
    if (after && !validKey(sort.key, after)) throw ValidationError.field('cursor', 'is not a valid cursor');
    const shape: ListShape = {
      sort: query.sort,
      cursor: !after ? 'first' : after.key === null ? 'nulls' : 'key',
      list: query.listId === undefined ? 'any' : query.listId === 'inbox' ? 'inbox' : 'id',
      parent: query.parentId === undefined ? 'any' : query.parentId === 'none' ? 'none' : 'id',
      completed: query.completed !== undefined,
      q: query.q !== undefined,
      tags: query.tags !== undefined && query.tags.length > 0,
      priorities: query.priorities !== undefined && query.priorities.length > 0,
      range: query.dueFrom !== undefined || query.dueTo !== undefined,
    };
    const key = Object.values(shape).join('|');
    let built = this.listTexts.get(key);
    if (!built) {
      built = this.buildList(shape);
      this.listTexts.set(key, built);
    }
    return {
      text: built.text,
      prepared: built.prepared,
      values: built.params.values({
        owner: ownerId,
        completed: query.completed ?? null,
        // LIKE wildcards in q are literal.
        pattern: query.q === undefined ? null : `%${query.q.replace(/[\\%_]/g, '\\$&')}%`,
        tags: query.tags ?? null,
        priorities: query.priorities ?? null,
        list: query.listId ?? null,
        parent: query.parentId ?? null,
        // Due keys are local timestamps: a date's tasks lie in [date 00:00, next date 00:00).
        dueFrom: query.dueFrom ?? '-infinity',
        dueTo: query.dueTo ?? 'infinity',
        afterKey: after?.key ?? null,
        afterId: after?.id ?? null,
        limit: query.limit + 1,
      }),
    };
  }

  private buildList(shape: ListShape) {
    const t = this.t;
    const p = new Placeholders<ListParam>();
    const sort = SORTS[shape.sort];
    const prepared = !shape.tags && !(shape.range && sort.key !== 'dueKey');
    // A prepared statement's limit is hidden from the planner in a sub-select,
    // so that custom and generic plans both assume the same share of rows.
    // As a plain parameter, a custom plan sees the page (21 rows) and the
    // generic one guesses 10 % of the owner's tasks; for an owner with more
    // than a couple of hundred tasks the generic plan then looks dearer, and
    // PostgreSQL plans every execution again: at 1,000 tasks an owner, 160–250
    // µs of PostgreSQL CPU per first page against 93–110 µs on the cached plan.
    // The unprepared shapes keep the plain parameter: they are planned for
    // their values, page size included.
    const limit = prepared ? `(select ${p.$('limit', 'int')})` : p.$('limit');
    const col = (prop: Column<Task>) => t.ref(prop, 't');
    const dir = sort.descending ? 'desc' : 'asc';
    const cmp = sort.descending ? '<' : '>';
    const where = [`${col('userId')} = ${p.$('owner')}`];
    if (shape.completed) where.push(`${col('completed')} = ${p.$('completed', 'boolean')}`);
    if (shape.q) {
      // lower() under an ICU collation folds case for all of Unicode, not just
      // ASCII as the column's "C" collation would.
      where.push(
        `lower(${col('title')} collate "und-x-icu") like lower(${p.$('pattern', 'text')} collate "und-x-icu")`,
      );
    }
    if (shape.tags) where.push(`${col('tags')} @> ${p.$('tags', 'text[]')}`);
    if (shape.priorities) where.push(`${col('priority')} = any(${p.$('priorities', 'task_priority[]')})`);
    if (shape.list === 'inbox') where.push(`${col('listId')} is null`);
    if (shape.list === 'id') where.push(`${col('listId')} = ${p.$('list', 'uuid')}`);
    if (shape.parent === 'none') where.push(`${col('parentId')} is null`);
    if (shape.parent === 'id') where.push(`${col('parentId')} = ${p.$('parent', 'uuid')}`);
    if (shape.range) {
      // On due_key, whose index holds the range. Under another sort the
      // planner then chooses, for the values (these statements run unprepared):
      // walk the sort's index filtering the range, or read the range off the
      // due index and sort it. Filtering due_date instead left it only the
      // walk, which for a sparse range reads every task of the owner: 1,000
      // heap pages and 45 ms for one page at 1,000 tasks an owner, against
      // 50 pages and 0.5 ms from the due index.
      where.push(
        `${col('dueKey')} >= ${p.$('dueFrom', 'date')} and ${col('dueKey')} < ${p.$('dueTo', 'date')} + 1`,
      );
    }
    const select = (conditions: string[], orderBy: string) =>
      `select ${t.selectList('t')} from ${t.table} t where ${conditions.join(' and ')} ` +
      `order by ${orderBy} limit ${limit}`;
    // Registered only where used: a placeholder no statement uses has no type.
    const keyset = (column: string) =>
      `(${column}, ${col('id')}) ${cmp} (${p.$('afterKey')}::${KEY_CASTS[sort.key]}, ${p.$('afterId', 'uuid')})`;

    if (sort.key !== 'dueKey') {
      const conditions = shape.cursor === 'key' ? [...where, keyset(col(sort.key))] : where;
      return {
        text: select(conditions, `${col(sort.key)} ${dir}, ${col('id')} ${dir}`),
        params: p,
        prepared,
      };
    }
    // Tasks without a due come last in both directions, which one index scan
    // cannot give (a B-tree read backwards puts nulls first): the tasks with a
    // due are read first, then those without, each in index order, and the
    // union stops as soon as the page is full.
    const dated = select(
      [...where, `${col('dueKey')} is not null`, ...(shape.cursor === 'key' ? [keyset(col('dueKey'))] : [])],
      `${col('dueKey')} ${dir}, ${col('id')} ${dir}`,
    );
    const undated = select(
      [
        ...where,
        `${col('dueKey')} is null`,
        ...(shape.cursor === 'nulls' ? [`${col('id')} ${cmp} ${p.$('afterId', 'uuid')}`] : []),
      ],
      `${col('id')} ${dir}`,
    );
    const parts = shape.range ? [dated] : shape.cursor === 'nulls' ? [undated] : [dated, undated];
    const text =
      parts.length === 1
        ? parts[0]
        : `select * from ((${parts[0]}) union all (${parts[1]})) page limit ${limit}`;
    return { text, params: p, prepared };
  }

  /**
   * Applies a merge patch. Without a change of list or parent it is one
   * UPDATE with the version check in its WHERE; a `due` patch of only some
   * members (`partialDue`) also needs the task to have a due already. A
   * change of list or parent runs as a move (see move).
   */
  async update(
    ownerId: string,
    id: string,
    patch: TaskPatch,
    options: { ifMatch?: IfMatch; placement?: PlacementChange; partialDue?: boolean } = {},
  ): Promise<TaskRecord> {
    if (!UUID.test(id)) throw new TaskNotFoundError();
    const { ifMatch, placement, partialDue = false } = options;
    if (placement && (placement.listId !== undefined || placement.parentId !== undefined)) {
      return this.relocate(
        ownerId,
        id,
        patch,
        ifMatch,
        (task) => ({
          // A parentId without a listId means the parent's list; an absent parentId stays.
          listId: placement.listId,
          parentId: placement.parentId === undefined ? task.parentId : placement.parentId,
        }),
        { partialDue, position: 'last-if-moved' },
      );
    }
    return (await this.updateRow(ownerId, id, patch, ifMatch, partialDue, false))!;
  }

  /**
   * A PATCH that sets `completed: true`, unless the task is a recurring one
   * not yet completed: that one is left unchanged and null is returned, for
   * the service to advance its due by its rule instead. For any other task it
   * is the one UPDATE of every PATCH (the condition is in its WHERE), so only a
   * recurring task costs a read first.
   */
  async completeUnlessRecurring(
    ownerId: string,
    id: string,
    patch: TaskPatch,
    options: { ifMatch?: IfMatch; partialDue?: boolean } = {},
  ): Promise<TaskRecord | null> {
    if (!UUID.test(id)) throw new TaskNotFoundError();
    return this.updateRow(ownerId, id, patch, options.ifMatch, options.partialDue ?? false, true);
  }

  private async updateRow(
    ownerId: string,
    id: string,
    patch: TaskPatch,
    ifMatch: IfMatch | undefined,
    partialDue: boolean,
    unlessRecurring: boolean,
  ): Promise<TaskRecord | null> {
    const versions = acceptedVersions(ifMatch);
    const present = PATCHABLE.filter((prop) => patch[prop] !== undefined);
    const statement = this.statements.update(present, versions !== null, partialDue, unlessRecurring);
    const values = { ...patch, id, owner: ownerId, versions } as Record<UpdateParam, unknown>;
    for (let attempt = 1; ; attempt++) {
      const rows = await this.sql.run<TaskRecord>(statement.bind(values));
      if (rows.length > 0) return rows[0];
      // Touched no row: tell apart not there, a stale version, a recurring task,
      // and a partial due on a task without one.
      const found = await this.sql.run<TaskRecord>(this.statements.findOne.bind({ id, owner: ownerId }));
      if (found.length === 0) throw new TaskNotFoundError();
      const current = found[0];
      checkVersion(current, ifMatch);
      if (unlessRecurring && current.recurrence !== null && !current.completed) return null;
      if (partialDue && current.dueDate === null) throw partialDueError();
      // None of them: another write changed the task between the two statements.
      if (attempt === WRITE_ATTEMPTS) throw new VersionConflictError(current.version);
    }
  }

  async delete(ownerId: string, id: string, ifMatch?: IfMatch): Promise<void> {
    if (!UUID.test(id)) throw new TaskNotFoundError();
    const versions = acceptedVersions(ifMatch);
    const statement = versions === null ? this.statements.delete : this.statements.deleteIfMatch;
    // Subtasks go with their parent (ON DELETE CASCADE), in the same statement.
    const rows = await this.sql.run(statement.bind({ id, owner: ownerId, versions }));
    if (rows.length > 0) return;
    if (versions === null) throw new TaskNotFoundError();
    const current = await this.sql.run<TaskRecord>(this.statements.findOne.bind({ id, owner: ownerId }));
    if (current.length === 0) throw new TaskNotFoundError();
    throw new VersionConflictError(current[0].version);
  }

  /**
   * Moves a task within or between lists and parents (POST …/move). An absent
   * listId keeps the task's list unless a parentId is given (its list); an
   * absent parentId keeps the parent when the list stays, else top level.
   */
  async move(ownerId: string, id: string, request: MoveRequest, ifMatch?: IfMatch): Promise<TaskRecord> {
    if (!UUID.test(id)) throw new TaskNotFoundError();
    return this.relocate(
      ownerId,
      id,
      {},
      ifMatch,
      (task) => {
        if (request.parentId !== undefined) return { listId: request.listId, parentId: request.parentId };
        const listId = request.listId === undefined ? task.listId : request.listId;
        return { listId, parentId: listId === task.listId ? task.parentId : null };
      },
      { partialDue: false, position: request.after === undefined ? 'last' : { after: request.after } },
    );
  }

  /**
   * The transaction behind a move and a PATCH that changes list or parent:
   * locks the owner's row (so one owner's moves queue instead of deadlocking),
   * reads and locks the task (404), checks If-Match (412), checks the target
   * (422), gives the task its new position (renumbering a window of siblings
   * when the position would grow past 64 characters), writes it, and moves its
   * subtasks along when its list changed.
   */
  private async relocate(
    ownerId: string,
    id: string,
    patch: TaskPatch,
    ifMatch: IfMatch | undefined,
    target: (task: TaskRecord) => PlacementChange,
    how: { partialDue: boolean; position: 'last' | 'last-if-moved' | { after: string | null } },
  ): Promise<TaskRecord> {
    const s = this.statements;
    return this.sql.transaction(async (tx) => {
      await tx.run(s.lockOwner.bind({ owner: ownerId }));
      const found = await tx.run<TaskRecord>(s.findOneForUpdate.bind({ id, owner: ownerId }));
      if (found.length === 0) throw new TaskNotFoundError();
      const task = found[0];
      checkVersion(task, ifMatch);
      if (how.partialDue && task.dueDate === null) throw partialDueError();
      const placement = await this.placement(tx, ownerId, target(task), task);
      const moved = placement.listId !== task.listId || placement.parentId !== task.parentId;
      let position = task.position;
      if (how.position !== 'last-if-moved' || moved) {
        position = await this.positionFor(
          tx,
          ownerId,
          id,
          placement,
          how.position === 'last-if-moved' ? 'last' : how.position,
        );
      }
      const present = PATCHABLE.filter((prop) => patch[prop] !== undefined);
      const rows = await tx.run<TaskRecord>(
        s.update([...present, 'listId', 'parentId', 'position'], false, false).bind({
          ...patch,
          ...placement,
          position,
          id,
          owner: ownerId,
          versions: null,
        } as Record<UpdateParam, unknown>),
      );
      if (placement.listId !== task.listId) {
        await tx.run(s.moveChildren.bind({ owner: ownerId, task: id, list: placement.listId }));
      }
      return rows[0];
    });
  }

  /**
   * Resolves and checks where a task goes: the list must be the owner's, the
   * parent a top-level task of the owner in that list (a parentId without a
   * listId means the parent's list), and a task with subtasks cannot become one.
   */
  private async placement(
    on: Pick<Transaction, 'run'>,
    ownerId: string,
    change: PlacementChange,
    task: TaskRecord | null,
  ): Promise<Placement> {
    const parentId = change.parentId ?? null;
    let listId = change.listId === undefined ? (task?.listId ?? null) : change.listId;
    if (listId === null && parentId === null) return { listId, parentId };
    if (parentId !== null && parentId === task?.id)
      throw new InvalidParentError('A task cannot be its own parent');
    const [refs] = await on.run<References>(
      this.statements.references.bind({
        owner: ownerId,
        list: listId,
        parent: parentId,
        task: task?.id ?? null,
      }),
    );
    if (change.listId !== undefined && listId !== null && !refs.listFound) {
      throw new ReferenceNotFoundError('listId');
    }
    if (parentId !== null) {
      if (refs.parent === null) throw new ReferenceNotFoundError('parentId');
      if (change.listId === undefined) listId = refs.parent.listId;
      if (refs.parent.parentId !== null) throw new InvalidParentError('The parent is itself a subtask');
      if (refs.parent.listId !== listId) throw new InvalidParentError('The parent is in another list');
      if (refs.hasChildren) throw new InvalidParentError('A task that has subtasks cannot become a subtask');
    }
    return { listId, parentId };
  }

  /** A position among the target siblings: last, first, or right after a given sibling. */
  private async positionFor(
    tx: Transaction,
    ownerId: string,
    taskId: string,
    placement: Placement,
    where: 'last' | { after: string | null },
  ): Promise<string> {
    const s = this.statements;
    const args = { owner: ownerId, list: placement.listId, parent: placement.parentId, task: taskId };
    const edge = async (which: 'first' | 'last') =>
      (await tx.run<{ position: string; id: string }>(s.edge(placement, which).bind(args)))[0] ?? null;
    let before: { position: string; id: string } | null;
    let next: { position: string; id: string } | null;
    if (where === 'last') {
      before = await edge('last');
      next = null;
    } else if (where.after === null) {
      before = null;
      next = await edge('first');
    } else {
      if (!UUID.test(where.after) || where.after === taskId) throw new ReferenceNotFoundError('after');
      const found = await tx.run<{ position: string; id: string }>(
        s.sibling(placement).bind({ ...args, id: where.after }),
      );
      if (found.length === 0) throw new ReferenceNotFoundError('after');
      before = found[0];
      next =
        (
          await tx.run<{ position: string; id: string }>(
            s.neighbour(placement).bind({ ...args, position: before.position, id: before.id }),
          )
        )[0] ?? null;
    }
    const key = between(before?.position ?? null, next?.position ?? null);
    if (key !== null) return key;
    return this.renumber(tx, ownerId, taskId, placement, before);
  }

  /**
   * Makes room: renumbers the siblings in a window around the insertion point
   * (evenly spaced keys between the window's outer neighbours) and returns the
   * moving task's key. The window widens while its neighbours leave no room,
   * up to every sibling. Each renumbered sibling is an ordinary update.
   */
  private async renumber(
    tx: Transaction,
    ownerId: string,
    taskId: string,
    placement: Placement,
    before: { position: string; id: string } | null,
  ): Promise<string> {
    const s = this.statements;
    const args = { owner: ownerId, list: placement.listId, parent: placement.parentId, task: taskId };
    for (let window = RENUMBER_WINDOW; ; window *= 4) {
      const pivot = before ?? { position: '', id: '00000000-0000-0000-0000-000000000000' };
      const read = (side: 'before' | 'after') =>
        tx.run<{ position: string; id: string }>(
          s
            .window(placement, side)
            .bind({ ...args, position: pivot.position, id: pivot.id, size: window + 1 }),
        );
      // `before` itself is the first of the earlier side (inclusive), when there is one.
      const earlier = before ? (await read('before')).reverse() : [];
      const later = await read('after');
      const lowBound = earlier.length > window ? earlier.shift()! : null;
      const highBound = later.length > window ? later.pop()! : null;
      const ids = [...earlier.map((r) => r.id), taskId, ...later.map((r) => r.id)];
      let keys: string[] | null = null;
      try {
        keys = generateNKeysBetween(lowBound?.position ?? null, highBound?.position ?? null, ids.length);
      } catch {
        keys = null;
      }
      if (keys && keys.every((k) => k.length <= POSITION_MAX_LENGTH)) {
        const others = ids.map((id, i) => [id, keys[i]] as const).filter(([id]) => id !== taskId);
        await tx.run(
          s.renumber.bind({
            owner: ownerId,
            ids: others.map(([id]) => id),
            positions: others.map(([, k]) => k),
          }),
        );
        return keys[ids.indexOf(taskId)];
      }
      if (lowBound === null && highBound === null) throw new Error('renumbering every sibling left no room');
    }
  }
}

/** A key strictly between two, or null when there is no room (equal keys, or past 64 characters). */
function between(low: string | null, high: string | null): string | null {
  if (low !== null && high !== null && low >= high) return null;
  try {
    const key = generateKeyBetween(low, high);
    return key.length <= POSITION_MAX_LENGTH ? key : null;
  } catch {
    return null;
  }
}

function validKey(key: SortKey, after: KeysetPosition): boolean {
  if (!UUID.test(after.id)) return false;
  if (after.key === null) return key === 'dueKey';
  switch (key) {
    case 'createdAt':
    case 'updatedAt':
      return ISO_MICROS.test(after.key);
    case 'dueKey':
      return DUE_KEY.test(after.key);
    case 'priority':
      return ['none', 'low', 'medium', 'high'].includes(after.key);
    default:
      return true;
  }
}

function partialDueError(): ValidationError {
  return ValidationError.field('due', 'must have date, time and timeZone on a task that has no due');
}

/** The columns a plain PATCH sets, in the order their SET clauses are written. */
const PATCHABLE = [
  'title',
  'description',
  'completed',
  'priority',
  'tags',
  'dueDate',
  'dueTime',
  'dueTimeZone',
  'recurrence',
] as const satisfies readonly (keyof TaskPatch)[];

type Settable = (typeof PATCHABLE)[number] | 'listId' | 'parentId' | 'position';
type UpdateParam = Settable | 'id' | 'owner' | 'versions';
type InsertParam =
  | Exclude<
      Column<Task>,
      | 'id'
      | 'createdAt'
      | 'updatedAt'
      | 'version'
      | 'completedAt'
      | 'dueKey'
      | 'changePosition'
      | 'list'
      | 'parent'
    >
  | 'max'
  | 'key';

/** Every statement of the repository, built from the entities' metadata. */
function buildStatements(
  t: EntityTable<Task>,
  l: EntityTable<List>,
  o: EntityTable<Owner>,
  k: EntityTable<IdempotencyKey>,
) {
  const select = t.selectList('t');
  const col = (prop: Column<Task>, alias = 't') => t.ref(prop, alias);
  const owned = (p: Params<'id' | 'owner'>) =>
    `${col('id')} = ${p.$('id')} and ${col('userId')} = ${p.$('owner')}`;
  // The columns an insert writes: every column of the entity but those the database sets.
  const inserted = t.columns.filter(
    (c): c is Exclude<InsertParam, 'max' | 'key'> =>
      !['id', 'createdAt', 'updatedAt', 'version', 'completedAt'].includes(c),
  );
  // The quota: the owner's row, locked by the upsert, admits the insert only
  // while the count is under the limit, so concurrent creates cannot overshoot.
  const slot = (p: Params<InsertParam>) =>
    `slot as (insert into ${o.table} as o (${o.column('userId')}) values (${p.$('userId')}) ` +
    `on conflict (${o.column('userId')}) do update set ${o.column('userId')} = excluded.${o.column('userId')} ` +
    `where ${o.ref('taskCount', 'o')} < ${p.$('max', 'int')} returning 1)`;
  const insertFromSlot = (p: Params<InsertParam>) =>
    `insert into ${t.table} as t (${inserted.map((c) => t.column(c)).join(', ')}) ` +
    `select ${inserted.map((c) => t.cast(c, p.$(c))).join(', ')} from slot returning ${select}`;
  const keyOwned = (p: Params<'owner' | 'key'>, alias: string) =>
    `${k.ref('userId', alias)} = ${p.$('owner')} and ${k.ref('key', alias)} = ${p.$('key')}`;
  // The siblings of a placement: the same list and the same parent (null is the inbox / top level).
  const siblings = (placement: Placement, p: Params<'owner' | 'list' | 'parent'>) =>
    `${col('userId')} = ${p.$('owner')} and ` +
    (placement.listId === null ? `${col('listId')} is null` : `${col('listId')} = ${p.$('list', 'uuid')}`) +
    ' and ' +
    (placement.parentId === null
      ? `${col('parentId')} is null`
      : `${col('parentId')} = ${p.$('parent', 'uuid')}`);
  const placementShape = (placement: Placement) =>
    `${placement.listId === null}|${placement.parentId === null}`;
  const fromShape = (shape: string): Placement => {
    const [inbox, top] = shape.split('|');
    return { listId: inbox === 'true' ? null : '', parentId: top === 'true' ? null : '' };
  };
  const positionAndId = `${col('position')} as "position", ${col('id')} as "id"`;

  const edge = shapes<'owner' | 'list' | 'parent' | 'task'>((shape, p) => {
    const [which, ...rest] = shape.split('|');
    const dir = which === 'first' ? 'asc' : 'desc';
    return (
      `select ${positionAndId} from ${t.table} t where ${siblings(fromShape(rest.join('|')), p)} ` +
      `and ${col('id')} is distinct from ${p.$('task', 'uuid')} order by ${col('position')} ${dir}, ${col('id')} ${dir} limit 1`
    );
  });
  const sibling = shapes<'owner' | 'list' | 'parent' | 'id'>(
    (shape, p) =>
      `select ${positionAndId} from ${t.table} t where ${siblings(fromShape(shape), p)} and ${col('id')} = ${p.$('id')}`,
  );
  const neighbour = shapes<'owner' | 'list' | 'parent' | 'task' | 'position' | 'id'>(
    (shape, p) =>
      `select ${positionAndId} from ${t.table} t where ${siblings(fromShape(shape), p)} ` +
      `and (${col('position')}, ${col('id')}) > (${p.$('position')}::text collate "C", ${p.$('id', 'uuid')}) ` +
      `and ${col('id')} <> ${p.$('task', 'uuid')} order by ${col('position')}, ${col('id')} limit 1`,
  );
  const window = shapes<'owner' | 'list' | 'parent' | 'task' | 'position' | 'id' | 'size'>((shape, p) => {
    const [side, ...rest] = shape.split('|');
    const [cmp, dir] = side === 'before' ? ['<=', 'desc'] : ['>', 'asc'];
    return (
      `select ${positionAndId} from ${t.table} t where ${siblings(fromShape(rest.join('|')), p)} ` +
      `and (${col('position')}, ${col('id')}) ${cmp} (${p.$('position')}::text collate "C", ${p.$('id', 'uuid')}) ` +
      `and ${col('id')} <> ${p.$('task', 'uuid')} order by ${col('position')} ${dir}, ${col('id')} ${dir} limit ${p.$('size')}`
    );
  });
  const updates = shapes<UpdateParam>((shape, p) => {
    const [props, conditional, partialDue, unlessRecurring] = shape.split('|');
    const present = (props ? props.split(',') : []) as Settable[];
    // An update that sets nothing (a `due` of no members) is still an update: version +1.
    const sets =
      present.length > 0
        ? present.map((c) => `${t.column(c)} = ${t.cast(c, p.$(c))}`)
        : [`${t.column('title')} = t.${t.column('title')}`];
    return (
      `update ${t.table} t set ${sets.join(', ')} where ${owned(p)} and ${ownerLockedFirst(o, p.$('owner'))}` +
      (conditional === 'true' ? ` and ${col('version')} = any(${p.$('versions', 'int[]')})` : '') +
      (partialDue === 'true' ? ` and ${col('dueDate')} is not null` : '') +
      (unlessRecurring === 'true' ? ` and (${col('recurrence')} is null or ${col('completed')})` : '') +
      ` returning ${select}`
    );
  });

  return {
    findOne: prepared<'id' | 'owner'>((p) => `select ${select} from ${t.table} t where ${owned(p)}`),
    findOneForUpdate: prepared<'id' | 'owner'>(
      (p) => `select ${select} from ${t.table} t where ${owned(p)} for no key update`,
    ),
    lockOwner: prepared<'owner'>(
      (p) => `select 1 from ${o.table} o where ${o.ref('userId', 'o')} = ${p.$('owner')} for no key update`,
    ),
    insert: prepared<InsertParam>((p) => `with ${slot(p)} ${insertFromSlot(p)}`),
    // With an Idempotency-Key, the same statement stores the created task as the key's response.
    insertRemembered: prepared<InsertParam>(
      (p) =>
        `with ${slot(p)}, created as (${insertFromSlot(p)}), remembered as (` +
        `update ${k.table} k set ${k.column('response')} = (select to_jsonb(created) from created) ` +
        `where ${k.ref('userId', 'k')} = ${p.$('userId')} and ${k.ref('key', 'k')} = ${p.$('key')}) ` +
        `select * from created`,
    ),
    references: prepared<'owner' | 'list' | 'parent' | 'task'>(
      (p) =>
        `select exists (select 1 from ${l.table} l where ${l.ref('userId', 'l')} = ${p.$('owner')} ` +
        `and ${l.ref('id', 'l')} = ${p.$('list', 'uuid')}) as "listFound", ` +
        `(select to_jsonb(x) from (select ${t.selectList('t', ['listId', 'parentId'])} from ${t.table} t ` +
        `where ${col('userId')} = ${p.$('owner')} and ${col('id')} = ${p.$('parent', 'uuid')}) x) as "parent", ` +
        `exists (select 1 from ${t.table} t where ${col('userId')} = ${p.$('owner')} ` +
        `and ${col('parentId')} = ${p.$('task', 'uuid')}) as "hasChildren"`,
    ),
    edge: (placement: Placement, which: 'first' | 'last') => edge(`${which}|${placementShape(placement)}`),
    sibling: (placement: Placement) => sibling(placementShape(placement)),
    neighbour: (placement: Placement) => neighbour(placementShape(placement)),
    window: (placement: Placement, side: 'before' | 'after') =>
      window(`${side}|${placementShape(placement)}`),
    renumber: prepared<'owner' | 'ids' | 'positions'>(
      (p) =>
        `update ${t.table} t set ${t.column('position')} = v.position ` +
        `from unnest(${p.$('ids', 'uuid[]')}, ${p.$('positions', 'text[]')}) as v(id, position) ` +
        `where ${col('userId')} = ${p.$('owner')} and ${col('id')} = v.id`,
    ),
    moveChildren: prepared<'owner' | 'task' | 'list'>(
      (p) =>
        `update ${t.table} t set ${t.column('listId')} = ${p.$('list', 'uuid')} ` +
        `where ${col('userId')} = ${p.$('owner')} and ${col('parentId')} = ${p.$('task', 'uuid')}`,
    ),
    tags: prepared<'owner'>(
      (p) =>
        `select tag as "name", count(*)::int as "count" from ${t.table} t cross join unnest(${col('tags')}) as tag ` +
        `where ${col('userId')} = ${p.$('owner')} group by tag order by tag collate "C"`,
    ),
    claim: prepared<'owner' | 'key' | 'hash' | 'ttl' | 'abandoned'>((p) => {
      const [expires, locked, response] = [k.column('expiresAt'), k.column('lockedAt'), k.column('response')];
      return (
        `with purged as (delete from ${k.table} k where ${k.ref('userId', 'k')} = ${p.$('owner')} ` +
        `and ${k.ref('expiresAt', 'k')} < now() and ${k.ref('key', 'k')} <> ${p.$('key')}) ` +
        `insert into ${k.table} as k (${k.column('userId')}, ${k.column('key')}, ${k.column('requestHash')}, ${locked}, ${expires}) ` +
        `values (${p.$('owner')}, ${p.$('key')}, ${p.$('hash')}, now(), now() + ${p.$('ttl', 'interval')}) ` +
        `on conflict (${k.column('userId')}, ${k.column('key')}) do update set ` +
        `${k.column('requestHash')} = excluded.${k.column('requestHash')}, ${response} = null, ` +
        `${locked} = now(), ${expires} = excluded.${expires} ` +
        `where k.${expires} < now() or (k.${response} is null and k.${locked} < now() - ${p.$('abandoned', 'interval')}) ` +
        `returning 1 as claimed`
      );
    }),
    // The stored response, and the task it created as it is now (if it still exists).
    remembered: prepared<'owner' | 'key'>(
      (p) =>
        `select ${k.ref('requestHash', 'k')} as "requestHash", ${k.ref('response', 'k')} as "response", ` +
        `(select to_jsonb(c) from (select ${select} from ${t.table} t ` +
        `where ${col('userId')} = ${k.ref('userId', 'k')} ` +
        `and ${col('id')} = (${k.ref('response', 'k')}->>'id')::uuid) c) as "current" ` +
        `from ${k.table} k where ${keyOwned(p, 'k')} and ${k.ref('expiresAt', 'k')} >= now()`,
    ),
    release: prepared<'owner' | 'key'>(
      (p) => `delete from ${k.table} k where ${keyOwned(p, 'k')} and ${k.ref('response', 'k')} is null`,
    ),
    sweep: prepared<'batch'>(
      (p) =>
        `with swept as (delete from ${k.table} where (${k.column('userId')}, ${k.column('key')}) in (` +
        `select ${k.column('userId')}, ${k.column('key')} from ${k.table} where ${k.column('expiresAt')} < now() ` +
        `limit ${p.$('batch')}) returning 1) select count(*)::int as n from swept`,
    ),
    /** One UPDATE per set of columns and conditions: at most 2^12 × 8 texts, far fewer in use. */
    update: (
      present: readonly Settable[],
      conditional: boolean,
      partialDue: boolean,
      unlessRecurring = false,
    ) => updates(`${present.join(',')}|${conditional}|${partialDue}|${unlessRecurring}`),
    delete: prepared<'id' | 'owner' | 'versions'>(
      (p) =>
        `delete from ${t.table} t where ${owned(p)} and ${ownerLockedFirst(o, p.$('owner'))} returning ${col('id')}`,
    ),
    deleteIfMatch: prepared<'id' | 'owner' | 'versions'>(
      (p) =>
        `delete from ${t.table} t where ${owned(p)} and ${ownerLockedFirst(o, p.$('owner'))} ` +
        `and ${col('version')} = any(${p.$('versions', 'int[]')}) returning ${col('id')}`,
    ),
  };
}
