import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { EntityTable, prepared, type Params, type Statement } from '../database/entity-table.js';
import { SqlRunner } from '../database/sql-runner.js';
import { List } from '../lists/list.entity.js';
import type { ListRecord } from '../lists/lists.repository.js';
import { Owner } from '../owners/owner.entity.js';
import { Task } from '../tasks/task.entity.js';
import type { TaskRecord } from '../tasks/task.types.js';
import { Deletion, type ChangeKind } from './deletion.entity.js';

/** One row of the feed: a live list or task in its latest state, or a tombstone. */
export type ChangeRow =
  | { kind: 'list'; id: string; position: string; record: ListRecord }
  | { kind: 'task'; id: string; position: string; record: TaskRecord }
  | { kind: ChangeKind; id: string; position: string; record: null };

type PageParam = 'owner' | 'since' | 'limit';

/**
 * The change feed's reads (and the sweep of old tombstones), owner-scoped in
 * every statement. Positions come from the owner's counter (the *_change and
 * *_forget triggers): each live row holds its last write's position, each
 * tombstone its deletion's, so a page is the rows past the token's position,
 * merged in position order, each entity once and in its latest state. Every
 * position at or below what a reader can see is committed (the owner's row
 * stays locked from a transaction's first write to its commit), so a page
 * never runs ahead of a transaction still writing.
 */
@Injectable()
export class ChangesRepository {
  private readonly statements: ReturnType<typeof buildStatements>;

  constructor(
    em: EntityManager,
    private readonly sql: SqlRunner,
  ) {
    const metadata = em.getMetadata();
    this.statements = buildStatements(
      new EntityTable(metadata, Task),
      new EntityTable(metadata, List),
      new EntityTable(metadata, Deletion),
      new EntityTable(metadata, Owner),
    );
  }

  /**
   * Up to `limit` changes after `since`, oldest first; deletions only when
   * `withDeletions` (a first sync has nothing to delete).
   */
  async page(ownerId: string, since: string, limit: number, withDeletions: boolean): Promise<ChangeRow[]> {
    return this.sql.run<ChangeRow>(this.pageStatement(ownerId, since, limit, withDeletions));
  }

  /** The page's statement, public so that its plan can be checked (test/schema.int-spec.ts). */
  pageStatement(ownerId: string, since: string, limit: number, withDeletions: boolean): Statement {
    const statement = withDeletions ? this.statements.page : this.statements.pageLive;
    return statement.bind({ owner: ownerId, since, limit });
  }

  /** The owner's last change position ('0' for an owner who never wrote). */
  async currentPosition(ownerId: string): Promise<string> {
    const rows = await this.sql.run<{ position: string }>(this.statements.current.bind({ owner: ownerId }));
    return rows[0]?.position ?? '0';
  }

  /** Deletes up to `batch` tombstones older than `days`; how many it deleted. */
  async sweep(days: number, batch = 500): Promise<number> {
    const rows = await this.sql.run<{ n: number }>(this.statements.sweep.bind({ days, batch }));
    return rows[0].n;
  }
}

function buildStatements(
  t: EntityTable<Task>,
  l: EntityTable<List>,
  d: EntityTable<Deletion>,
  o: EntityTable<Owner>,
) {
  // The limit sits in a sub-select so that the cached generic plan is used at
  // any owner's size (see TasksRepository.buildList).
  const limit = (p: Params<PageParam>) => `(select ${p.$('limit', 'int')})`;
  const live = (
    table: EntityTable<Task> | EntityTable<List>,
    alias: string,
    kind: ChangeKind,
    p: Params<PageParam>,
  ) => {
    const pos = table.ref('changePosition', alias);
    return (
      `(select '${kind}' as kind, ${table.ref('id', alias)} as id, ${pos} as position, to_jsonb(r) as record ` +
      `from ${table.table} ${alias} cross join lateral (select ${table.selectList(alias)}) r ` +
      `where ${table.ref('userId', alias)} = ${p.$('owner')} and ${pos} > ${p.$('since', 'bigint')} ` +
      `order by ${pos} limit ${limit(p)})`
    );
  };
  const gone = (p: Params<PageParam>) =>
    `(select ${d.ref('kind', 'd')} as kind, ${d.ref('id', 'd')} as id, ${d.ref('position', 'd')} as position, null::jsonb as record ` +
    `from ${d.table} d where ${d.ref('userId', 'd')} = ${p.$('owner')} and ${d.ref('position', 'd')} > ${p.$('since', 'bigint')} ` +
    `order by ${d.ref('position', 'd')} limit ${limit(p)})`;
  const merged = (parts: string[], p: Params<PageParam>) =>
    `select kind, id, position::text as position, record from (${parts.join(' union all ')}) c ` +
    `order by c.position limit ${limit(p)}`;
  return {
    current: prepared<'owner'>(
      (p) =>
        `select ${o.ref('changeSeq', 'o')}::text as position from ${o.table} o where ${o.ref('userId', 'o')} = ${p.$('owner')}`,
    ),
    page: prepared<PageParam>((p) => merged([live(l, 'l', 'list', p), live(t, 't', 'task', p), gone(p)], p)),
    pageLive: prepared<PageParam>((p) => merged([live(l, 'l', 'list', p), live(t, 't', 'task', p)], p)),
    sweep: prepared<'days' | 'batch'>(
      (p) =>
        `with swept as (delete from ${d.table} where (${d.column('userId')}, ${d.column('position')}) in (` +
        `select ${d.column('userId')}, ${d.column('position')} from ${d.table} ` +
        `where ${d.column('deletedAt')} < now() - ${p.$('days', 'int')} * interval '1 day' limit ${p.$('batch', 'int')}) ` +
        `returning 1) select count(*)::int as n from swept`,
    ),
  };
}
