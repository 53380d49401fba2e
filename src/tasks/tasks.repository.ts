import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { TaskNotFoundError, ValidationError, VersionConflictError } from '../database/data-layer.errors.js';
import { statementName } from '../database/statement-names.js';
import { translateDriverError } from '../database/translate-driver-error.js';
import {
  type IfMatch,
  type KeysetPosition,
  type ListQuery,
  type NewTask,
  type TaskPage,
  type TaskPatch,
  type TaskRecord,
  type TaskSort,
  UUID,
} from './task.types.js';

interface TaskRow {
  id: string;
  user_id: string;
  title: string;
  description: string | null;
  completed: boolean;
  created_at: string;
  updated_at: string;
  version: number;
}

/** One SQL statement: constant text pieces, with every value bound ($1, $2, …). */
export interface Statement {
  text: string;
  values: unknown[];
}

export type IdempotencyClaim =
  { state: 'claimed' } | { state: 'in-progress' } | { state: 'reused' } | { state: 'done'; task: TaskRecord };

/** How long a key is remembered, and when a claim whose request never finished may be retaken. */
const IDEMPOTENCY_TTL = '24 hours';
const ABANDONED_AFTER = '60 seconds';

const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const INT4_MAX = 2_147_483_647;

// Timestamps leave the database as ISO 8601 UTC with microseconds: exact for
// cursors, and independent of the session's TimeZone and DateStyle.
const iso = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const COLUMN_LIST =
  `id, user_id, title, description, completed, ${iso('created_at')} as created_at, ` +
  `${iso('updated_at')} as updated_at, version`;

// The statements of the most frequent calls, written out once: the same text
// every time, so nothing is compiled per call, and the text's name as a
// prepared statement (src/database/statement-names.ts) is found without hashing it again.
const FIND_ONE = `select ${COLUMN_LIST} from tasks where id = $1 and user_id = $2`;
const INSERT = `insert into tasks (user_id, title, description, completed) values ($1, $2, $3, $4) returning ${COLUMN_LIST}`;
// With an Idempotency-Key ($5), the same statement stores the created row as the key's response.
const INSERT_REMEMBERED = `
  with created as (${INSERT}), remembered as (
    update idempotency_keys set response = (select to_jsonb(created) from created)
    where user_id = $1 and key = $5
  )
  select * from created`;

const SORTS: Record<TaskSort, { column: 'created_at' | 'updated_at' | 'title'; descending: boolean }> = {
  createdAt: { column: 'created_at', descending: false },
  '-createdAt': { column: 'created_at', descending: true },
  updatedAt: { column: 'updated_at', descending: false },
  '-updatedAt': { column: 'updated_at', descending: true },
  title: { column: 'title', descending: false },
  '-title': { column: 'title', descending: true },
};

function toRecord(row: TaskRow): TaskRecord {
  return {
    id: row.id,
    userId: row.user_id,
    title: row.title,
    description: row.description,
    completed: row.completed,
    createdAt: toMillis(row.created_at),
    updatedAt: toMillis(row.updated_at),
    version: row.version,
  };
}

/** The API's precision: `2026-11-26T08:15:30.123456Z` → `2026-11-26T08:15:30.123Z`. */
function toMillis(micros: string): string {
  return `${micros.slice(0, 23)}Z`;
}

function rejectNul(fields: Record<string, unknown>): void {
  for (const [field, value] of Object.entries(fields)) {
    // PostgreSQL cannot store U+0000 in text; refuse it here with the field's name.
    if (typeof value === 'string' && value.includes('\u0000')) {
      throw ValidationError.field(field, 'must not contain the NUL character');
    }
  }
}

function rejectNonBoolean(completed: unknown): void {
  // pg would store 'yes' or 1 as true and fail on 'maybe'; only a boolean is a state.
  if (completed !== undefined && typeof completed !== 'boolean') {
    throw ValidationError.field('completed', 'must be true or false');
  }
}

/**
 * Values bound to a statement, and the placeholder ($1, $2, …) of each as it is
 * added, for the statements whose text depends on the call. Statements are
 * plain text rather than a query builder's, which built and compiled a query
 * tree on every call.
 */
class Bound {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** The version check of a conditional write, with its values bound. */
function versionCondition(bound: Bound, ifMatch?: IfMatch): string {
  // '*' only asks that the task exists, which the join with `target` already does.
  if (ifMatch === undefined || ifMatch === '*') return '';
  // A version that is not a positive int4 was never issued: it matches nothing.
  const versions = ifMatch.filter((v) => Number.isInteger(v) && v >= 1 && v <= INT4_MAX);
  return ` and t.version = any(${bound.add(versions)}::int[])`;
}

/**
 * The list statement, on its own so that its plan can be checked against the
 * indexes (test/schema.int-spec.ts). ORDER BY names the table's columns through
 * the alias `t`: bare, `created_at` would mean the select list's text column of
 * the same name, which no index can serve, and every page would sort all of the
 * owner's rows.
 */
export function listStatement(ownerId: string, query: ListQuery): Statement {
  if (!Object.hasOwn(SORTS, query.sort)) throw ValidationError.field('sort', 'is not a known sort');
  if (!Number.isInteger(query.limit) || query.limit < 1)
    throw ValidationError.field('limit', 'must be at least 1');
  const sort = SORTS[query.sort];
  const column = `t.${sort.column}`;
  const isTitle = sort.column === 'title';
  const dir = sort.descending ? 'desc' : 'asc';
  const bound = new Bound();
  const conditions = [`t.user_id = ${bound.add(ownerId)}`];
  if (query.completed !== undefined) conditions.push(`t.completed = ${bound.add(query.completed)}`);
  if (query.q !== undefined) {
    rejectNul({ q: query.q });
    // lower() under an ICU collation folds case for all of Unicode, not just
    // ASCII as the column's "C" collation would; LIKE wildcards in q are literal.
    const pattern = `%${query.q.replace(/[\\%_]/g, '\\$&')}%`;
    conditions.push(
      `lower(t.title collate "und-x-icu") like lower(${bound.add(pattern)}::text collate "und-x-icu")`,
    );
  }
  if (query.after) {
    const keyIsValid = isTitle || ISO_MICROS.test(query.after.key);
    if (!UUID.test(query.after.id) || !keyIsValid)
      throw ValidationError.field('cursor', 'is not a valid cursor');
    const key = `${bound.add(query.after.key)}${isTitle ? '::text collate "C"' : '::timestamptz'}`;
    conditions.push(
      `(${column}, t.id) ${sort.descending ? '<' : '>'} (${key}, ${bound.add(query.after.id)}::uuid)`,
    );
  }
  const text =
    `select ${COLUMN_LIST} from tasks t where ${conditions.join(' and ')} ` +
    `order by ${column} ${dir}, t.id ${dir} limit ${bound.add(query.limit + 1)}`;
  return { text, values: bound.values };
}

/**
 * The only code that touches the tasks table. Ownership is part of every
 * method's signature and of the WHERE of every statement it runs, so no code
 * path can read or change another user's task; a task that exists but is not
 * the caller's is reported exactly like one that does not exist (404, never
 * 403), so its existence cannot be detected. Each method runs one statement:
 * writes are a single UPDATE/DELETE … RETURNING with the version check inside,
 * so concurrent conditional writers cannot both win and there is no
 * read-then-write window.
 */
@Injectable()
export class TasksRepository {
  private pool?: Pool;

  constructor(private readonly em: EntityManager) {}

  /**
   * Inserts the task. With an Idempotency-Key (claimed first with
   * claimIdempotencyKey), the same statement stores the created row as the key's
   * response, so the task and its replayable response are committed together.
   */
  async create(ownerId: string, data: NewTask, idempotencyKey?: string): Promise<TaskRecord> {
    rejectNul({ userId: ownerId, title: data.title, description: data.description });
    rejectNonBoolean(data.completed);
    const values = [ownerId, data.title, data.description ?? null, data.completed ?? false];
    const rows =
      idempotencyKey === undefined
        ? await this.run<TaskRow>(INSERT, values)
        : await this.run<TaskRow>(INSERT_REMEMBERED, [...values, idempotencyKey]);
    return toRecord(rows[0]);
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
    const claimed = await this.run<{ claimed: number }>(
      `with purged as (
          delete from idempotency_keys where user_id = $1 and expires_at < now() and key <> $2
        )
        insert into idempotency_keys as k (user_id, key, request_hash, locked_at, expires_at)
        values ($1, $2, $3, now(), now() + $4::interval)
        on conflict (user_id, key) do update
          set request_hash = excluded.request_hash, response = null, locked_at = now(), expires_at = excluded.expires_at
          where k.expires_at < now() or (k.response is null and k.locked_at < now() - $5::interval)
        returning 1 as claimed`,
      [ownerId, key, requestHash, IDEMPOTENCY_TTL, ABANDONED_AFTER],
    );
    if (claimed.length > 0) return { state: 'claimed' };
    // Lost the race: read what the winner holds (its INSERT has committed).
    const rows = await this.run<{ request_hash: string; response: TaskRow | null }>(
      `select request_hash, response from idempotency_keys
        where user_id = $1 and key = $2 and expires_at >= now()`,
      [ownerId, key],
    );
    if (rows.length === 0) {
      // The winner failed and released the key between our two statements: try once more.
      return attempt < 1
        ? this.claimIdempotencyKey(ownerId, key, requestHash, attempt + 1)
        : { state: 'in-progress' };
    }
    const [{ request_hash, response }] = rows;
    if (request_hash !== requestHash) return { state: 'reused' };
    return response ? { state: 'done', task: toRecord(response) } : { state: 'in-progress' };
  }

  /** Gives a claimed key back when its create failed, so the client can retry. */
  async releaseIdempotencyKey(ownerId: string, key: string): Promise<void> {
    await this.run('delete from idempotency_keys where user_id = $1 and key = $2 and response is null', [
      ownerId,
      key,
    ]);
  }

  /**
   * Removes other users' expired keys a batch at a time. Owners purge their own
   * keys whenever they use one; this catches owners who never come back, with no
   * scheduler needed. The one statement here not keyed by an owner, on purpose.
   */
  async sweepExpiredIdempotencyKeys(batch = 500): Promise<number> {
    const rows = await this.run<{ n: number }>(
      `with swept as (
          delete from idempotency_keys where (user_id, key) in (
            select user_id, key from idempotency_keys where expires_at < now() limit $1
          ) returning 1
        ) select count(*)::int as n from swept`,
      [batch],
    );
    return rows[0].n;
  }

  async findOne(ownerId: string, id: string): Promise<TaskRecord> {
    if (!UUID.test(id)) throw new TaskNotFoundError();
    const rows = await this.run<TaskRow>(FIND_ONE, [id, ownerId]);
    if (rows.length === 0) throw new TaskNotFoundError();
    return toRecord(rows[0]);
  }

  /**
   * Keyset pagination on (sort key, id): each page continues strictly after the
   * previous page's last row, so rows inserted meanwhile never shift a page.
   * One extra row is read to know whether another page exists.
   */
  async list(ownerId: string, query: ListQuery): Promise<TaskPage> {
    const { text, values } = listStatement(ownerId, query);
    const rows = await this.run<TaskRow>(text, values);
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    // The row's own columns are the sort key at full precision (timestamps
    // with microseconds, before toRecord cuts them to the API's milliseconds).
    const next: KeysetPosition | null =
      rows.length > query.limit ? { key: last[SORTS[query.sort].column], id: last.id } : null;
    return { items: page.map(toRecord), next };
  }

  async update(ownerId: string, id: string, patch: TaskPatch, ifMatch?: IfMatch): Promise<TaskRecord> {
    if (!UUID.test(id)) throw new TaskNotFoundError();
    rejectNul({ title: patch.title, description: patch.description });
    rejectNonBoolean(patch.completed);
    const bound = new Bound();
    const sets: string[] = [];
    if (patch.title !== undefined) sets.push(`title = ${bound.add(patch.title)}`);
    if (patch.description !== undefined) sets.push(`description = ${bound.add(patch.description)}`);
    if (patch.completed !== undefined) sets.push(`completed = ${bound.add(patch.completed)}`);
    if (sets.length === 0) {
      throw ValidationError.field('body', 'must contain at least one of title, description, completed');
    }
    const [task, owner] = [bound.add(id), bound.add(ownerId)];
    // `target` tells "not yours / not there" from "stale version" in the same
    // statement. It locks the row first, so a writer that waited for a concurrent
    // one compares (and reports) the version that writer left, not its snapshot's.
    const rows = await this.run<Partial<TaskRow> & { current_version: number | null }>(
      `with target as (
          select id, version from tasks where id = ${task} and user_id = ${owner} for no key update
        ), updated as (
          update tasks t set ${sets.join(', ')}
          from target
          where t.id = target.id and t.user_id = ${owner}${versionCondition(bound, ifMatch)}
          returning t.*
        )
        select (select version from target) as current_version, u.* from (select 1) one
        left join (select ${COLUMN_LIST} from updated) u on true`,
      bound.values,
    );
    return toRecord(this.written(rows[0], ifMatch) as TaskRow);
  }

  async delete(ownerId: string, id: string, ifMatch?: IfMatch): Promise<void> {
    if (!UUID.test(id)) throw new TaskNotFoundError();
    const bound = new Bound();
    const [task, owner] = [bound.add(id), bound.add(ownerId)];
    const rows = await this.run<{ current_version: number | null; id: string | null }>(
      `with target as (
          select id, version from tasks where id = ${task} and user_id = ${owner} for update
        ), deleted as (
          delete from tasks t using target
          where t.id = target.id and t.user_id = ${owner}${versionCondition(bound, ifMatch)}
          returning t.id
        )
        select (select version from target) as current_version, (select id from deleted) as id`,
      bound.values,
    );
    this.written(rows[0], ifMatch);
  }

  /** Decides the outcome of a conditional write from its single result row. */
  private written<T extends { current_version: number | null; id?: string | null }>(
    row: T,
    ifMatch?: IfMatch,
  ): T {
    if (row.id) return row;
    // Not there (or not the caller's), or deleted by a concurrent request after
    // our snapshot: without a precondition both are simply "not found".
    if (row.current_version === null || ifMatch === undefined || ifMatch === '*')
      throw new TaskNotFoundError();
    throw new VersionConflictError(row.current_version);
  }

  /**
   * The pool MikroORM created. Its Kysely instance ends the pool on orm.close()
   * only once it has run a statement itself (it initialises its driver lazily),
   * so one is run through it here; otherwise closing would leave our
   * connections open.
   */
  private async nativePool(): Promise<Pool> {
    const connection = this.em.getConnection();
    const pool = await connection.getNativeClient();
    await connection.checkConnection();
    return pool;
  }

  /**
   * Runs one statement on the pg pool behind MikroORM's connection, as a named
   * prepared statement. Straight to the pool rather than through the
   * EntityManager's Kysely instance: none of its query building was used, and
   * its connection handling and result wrapping cost 7 % of a list request's
   * allocations (V8's sampling heap profiler).
   */
  private async run<R>(text: string, values: unknown[]): Promise<R[]> {
    try {
      this.pool ??= await this.nativePool();
      const result = await this.pool.query({ name: statementName(text), text, values });
      return result.rows as R[];
    } catch (error) {
      throw translateDriverError(error);
    }
  }
}
