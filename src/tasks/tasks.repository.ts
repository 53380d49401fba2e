import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { TaskNotFoundError, ValidationError, VersionConflictError } from '../database/data-layer.errors.js';
import { EntityTable, Placeholders, type Params, type Statement } from '../database/entity-table.js';
import { SqlRunner } from '../database/sql-runner.js';
import { IdempotencyKey } from './idempotency-key.entity.js';
import { Task } from './task.entity.js';
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

export type IdempotencyClaim =
  { state: 'claimed' } | { state: 'in-progress' } | { state: 'reused' } | { state: 'done'; task: TaskRecord };

/** How long a key is remembered, and when a claim whose request never finished may be retaken. */
const IDEMPOTENCY_TTL = '24 hours';
const ABANDONED_AFTER = '60 seconds';

const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const INT4_MAX = 2_147_483_647;

/** Each sort: the property it orders by, and its direction. */
const SORTS: Record<TaskSort, { key: 'createdAt' | 'updatedAt' | 'title'; descending: boolean }> = {
  createdAt: { key: 'createdAt', descending: false },
  '-createdAt': { key: 'createdAt', descending: true },
  updatedAt: { key: 'updatedAt', descending: false },
  '-updatedAt': { key: 'updatedAt', descending: true },
  title: { key: 'title', descending: false },
  '-title': { key: 'title', descending: true },
};

/** The patchable properties, in the order their SET clauses are written. */
const PATCHABLE = ['title', 'description', 'completed'] as const satisfies readonly (keyof TaskPatch)[];

/** What a conditional write reads back when it touched no row: is the task there at all? */
interface CurrentVersion {
  version: number;
}

/**
 * Versions a conditional request accepts, as bound to `version = any(…)`; a
 * version that is not a positive int4 was never issued and matches nothing.
 * Null for no condition ('*' only asks that the task exists, which the
 * statement's WHERE already does).
 */
function acceptedVersions(ifMatch?: IfMatch): number[] | null {
  if (ifMatch === undefined || ifMatch === '*') return null;
  return ifMatch.filter((v) => Number.isInteger(v) && v >= 1 && v <= INT4_MAX);
}

/**
 * The only code that touches the tasks table. Ownership is part of every
 * method's signature and of the WHERE of every statement it runs, so no code
 * path can read or change another user's task; a task that exists but is not
 * the caller's is reported exactly like one that does not exist (404, never
 * 403), so its existence cannot be detected. Every write is one statement with
 * the version check in its WHERE, so concurrent conditional writers cannot both
 * win and there is no read-then-write window.
 *
 * Statements are written with pieces generated from the entities' metadata
 * (EntityTable): no column is named by hand, and each row comes back already
 * shaped as a TaskRecord. Each statement's text is built once and reused, and
 * runs as a named prepared statement (src/database/statement-names.ts).
 */
@Injectable()
export class TasksRepository {
  private readonly sql: SqlRunner;
  private readonly tasks: EntityTable<Task>;
  private readonly statements: ReturnType<typeof buildStatements>;
  /** List statement texts by shape (sort, filters present, cursor present): a bounded set. */
  private readonly listTexts = new Map<string, { text: string; params: Placeholders<ListParam> }>();

  constructor(em: EntityManager) {
    this.sql = new SqlRunner(em);
    this.tasks = new EntityTable(em.getMetadata(), Task);
    this.statements = buildStatements(this.tasks, new EntityTable(em.getMetadata(), IdempotencyKey));
  }

  /**
   * Inserts the task. With an Idempotency-Key (claimed first with
   * claimIdempotencyKey), the same statement stores the created task as the key's
   * response, so the task and its replayable response are committed together.
   */
  async create(ownerId: string, data: NewTask, idempotencyKey?: string): Promise<TaskRecord> {
    const args = {
      owner: ownerId,
      title: data.title,
      description: data.description ?? null,
      completed: data.completed ?? false,
    };
    const rows =
      idempotencyKey === undefined
        ? await this.sql.run<TaskRecord>(this.statements.insert.bind(args))
        : await this.sql.run<TaskRecord>(
            this.statements.insertRemembered.bind({ ...args, key: idempotencyKey }),
          );
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

  /**
   * Keyset pagination on (sort key, id): each page continues strictly after the
   * previous page's last row, so rows inserted meanwhile never shift a page.
   * One extra row is read to know whether another page exists.
   */
  async list(ownerId: string, query: ListQuery): Promise<TaskPage> {
    const rows = await this.sql.run<TaskRecord>(this.listStatement(ownerId, query));
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    // The record's own property is the sort key at full precision (timestamps with microseconds).
    const next: KeysetPosition | null =
      rows.length > query.limit ? { key: last[SORTS[query.sort].key], id: last.id } : null;
    return { items: page, next };
  }

  /**
   * The list statement, public so that its plan can be checked against the
   * indexes (test/schema.int-spec.ts). ORDER BY names the table's columns
   * through the alias `t`: bare, `created_at` would mean the select list's text
   * column, which no index can serve. Filters that no index serves are written
   * as `(value is null or condition)`, so they do not multiply the shapes.
   */
  listStatement(ownerId: string, query: ListQuery): Statement {
    if (!Object.hasOwn(SORTS, query.sort)) throw ValidationError.field('sort', 'is not a known sort');
    if (!Number.isInteger(query.limit) || query.limit < 1)
      throw ValidationError.field('limit', 'must be at least 1');
    const sort = SORTS[query.sort];
    const isTitle = sort.key === 'title';
    if (query.after && (!UUID.test(query.after.id) || !(isTitle || ISO_MICROS.test(query.after.key))))
      throw ValidationError.field('cursor', 'is not a valid cursor');
    const shape = `${query.sort}|${query.after ? 'after' : 'first'}`;
    let built = this.listTexts.get(shape);
    if (!built) {
      built = this.buildList(sort, query.after !== undefined);
      this.listTexts.set(shape, built);
    }
    // LIKE wildcards in q are literal.
    const pattern = query.q === undefined ? null : `%${query.q.replace(/[\\%_]/g, '\\$&')}%`;
    return {
      text: built.text,
      values: built.params.values({
        owner: ownerId,
        completed: query.completed ?? null,
        pattern,
        afterKey: query.after?.key ?? null,
        afterId: query.after?.id ?? null,
        limit: query.limit + 1,
      }),
    };
  }

  private buildList(sort: (typeof SORTS)[TaskSort], hasCursor: boolean) {
    const t = this.tasks;
    const p = new Placeholders<ListParam>();
    const column = t.ref(sort.key, 't');
    const dir = sort.descending ? 'desc' : 'asc';
    const conditions = [
      `${t.ref('userId', 't')} = ${p.$('owner')}`,
      `(${p.$('completed', 'boolean')} is null or ${t.ref('completed', 't')} = ${p.$('completed')})`,
      // lower() under an ICU collation folds case for all of Unicode, not just
      // ASCII as the column's "C" collation would.
      `(${p.$('pattern', 'text')} is null or lower(${t.ref('title', 't')} collate "und-x-icu") ` +
        `like lower(${p.$('pattern')} collate "und-x-icu"))`,
    ];
    if (hasCursor) {
      const cast = sort.key === 'title' ? 'text collate "C"' : 'timestamptz';
      conditions.push(
        `(${column}, ${t.ref('id', 't')}) ${sort.descending ? '<' : '>'} ` +
          `(${p.$('afterKey')}::${cast}, ${p.$('afterId', 'uuid')})`,
      );
    }
    const text =
      `select ${t.selectList('t')} from ${t.table} t where ${conditions.join(' and ')} ` +
      `order by ${column} ${dir}, ${t.ref('id', 't')} ${dir} limit ${p.$('limit')}`;
    return { text, params: p };
  }

  async update(ownerId: string, id: string, patch: TaskPatch, ifMatch?: IfMatch): Promise<TaskRecord> {
    if (!UUID.test(id)) throw new TaskNotFoundError();
    const present = PATCHABLE.filter((prop) => patch[prop] !== undefined);
    if (present.length === 0) {
      throw ValidationError.field('body', `must contain at least one of ${PATCHABLE.join(', ')}`);
    }
    const versions = acceptedVersions(ifMatch);
    const statement = this.statements.update(present, versions !== null);
    const rows = await this.sql.run<TaskRecord>(
      statement.bind({ ...patch, id, owner: ownerId, versions } as Record<UpdateParam, unknown>),
    );
    if (rows.length === 0) await this.explainMiss(ownerId, id, ifMatch);
    return rows[0];
  }

  async delete(ownerId: string, id: string, ifMatch?: IfMatch): Promise<void> {
    if (!UUID.test(id)) throw new TaskNotFoundError();
    const versions = acceptedVersions(ifMatch);
    const statement = versions === null ? this.statements.delete : this.statements.deleteIfMatch;
    const rows = await this.sql.run(statement.bind({ id, owner: ownerId, versions }));
    if (rows.length === 0) await this.explainMiss(ownerId, id, ifMatch);
  }

  /**
   * A write touched no row: the task is not there (or not the caller's), or
   * its version did not match. Only then is a second, cheap read spent to tell
   * which; the write itself stays one plain statement.
   */
  private async explainMiss(ownerId: string, id: string, ifMatch?: IfMatch): Promise<never> {
    if (acceptedVersions(ifMatch) === null) throw new TaskNotFoundError();
    const rows = await this.sql.run<CurrentVersion>(this.statements.version.bind({ id, owner: ownerId }));
    if (rows.length === 0) throw new TaskNotFoundError();
    throw new VersionConflictError(rows[0].version);
  }
}

type ListParam = 'owner' | 'completed' | 'pattern' | 'afterKey' | 'afterId' | 'limit';
type UpdateParam = (typeof PATCHABLE)[number] | 'id' | 'owner' | 'versions';

/** A statement whose text is fixed, with named values to bind. */
class Prepared<N extends string> {
  constructor(
    readonly text: string,
    private readonly params: Placeholders<N>,
  ) {}

  bind(args: Record<N, unknown>): Statement {
    return { text: this.text, values: this.params.values(args) };
  }
}

function prepared<N extends string>(build: (p: Placeholders<N>) => string): Prepared<N> {
  const params = new Placeholders<N>();
  return new Prepared(build(params), params);
}

/** Every fixed statement of the repository, built once from the entities' metadata. */
function buildStatements(t: EntityTable<Task>, k: EntityTable<IdempotencyKey>) {
  const select = t.selectList('t');
  const owned = (p: Params<'id' | 'owner'>) =>
    `${t.ref('id', 't')} = ${p.$('id')} and ${t.ref('userId', 't')} = ${p.$('owner')}`;
  const insertColumns = (['userId', 'title', 'description', 'completed'] as const).map((c) => t.column(c));
  const insert = (p: Params<'owner' | 'title' | 'description' | 'completed'>) =>
    `insert into ${t.table} as t (${insertColumns.join(', ')}) ` +
    `values (${p.$('owner')}, ${p.$('title')}, ${p.$('description')}, ${p.$('completed')}) returning ${select}`;
  const keyOwned = (p: Params<'owner' | 'key'>, alias: string) =>
    `${k.ref('userId', alias)} = ${p.$('owner')} and ${k.ref('key', alias)} = ${p.$('key')}`;
  const updates = new Map<string, Prepared<UpdateParam>>();

  return {
    findOne: prepared<'id' | 'owner'>((p) => `select ${select} from ${t.table} t where ${owned(p)}`),
    version: prepared<'id' | 'owner'>(
      (p) => `select ${t.ref('version', 't')} as "version" from ${t.table} t where ${owned(p)}`,
    ),
    insert: prepared(insert),
    // With an Idempotency-Key, the same statement stores the created task as the key's response.
    insertRemembered: prepared<'owner' | 'title' | 'description' | 'completed' | 'key'>(
      (p) =>
        `with created as (${insert(p)}), remembered as (` +
        `update ${k.table} k set ${k.column('response')} = (select to_jsonb(created) from created) ` +
        `where ${keyOwned(p, 'k')}) select * from created`,
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
        `where ${t.ref('userId', 't')} = ${k.ref('userId', 'k')} ` +
        `and ${t.ref('id', 't')} = (${k.ref('response', 'k')}->>'id')::uuid) c) as "current" ` +
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
    /** One UPDATE per set of patched properties (at most 2^3 × 2 texts), built on first use. */
    update(present: readonly (typeof PATCHABLE)[number][], conditional: boolean): Prepared<UpdateParam> {
      const shape = `${present.join(',')}|${conditional}`;
      let statement = updates.get(shape);
      if (!statement) {
        statement = prepared<UpdateParam>(
          (p) =>
            `update ${t.table} t set ${present.map((prop) => `${t.column(prop)} = ${p.$(prop)}`).join(', ')} ` +
            `where ${owned(p)}${conditional ? ` and ${t.ref('version', 't')} = any(${p.$('versions', 'int[]')})` : ''} ` +
            `returning ${select}`,
        );
        updates.set(shape, statement);
      }
      return statement;
    },
    delete: prepared<'id' | 'owner' | 'versions'>(
      (p) => `delete from ${t.table} t where ${owned(p)} returning ${t.ref('id', 't')}`,
    ),
    deleteIfMatch: prepared<'id' | 'owner' | 'versions'>(
      (p) =>
        `delete from ${t.table} t where ${owned(p)} ` +
        `and ${t.ref('version', 't')} = any(${p.$('versions', 'int[]')}) returning ${t.ref('id', 't')}`,
    ),
  };
}
