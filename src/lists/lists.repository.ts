import { ownerLockedFirst } from '../owners/owner-lock.js';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import {
  ListNotFoundError,
  QuotaExceededError,
  ValidationError,
  VersionConflictError,
} from '../database/data-layer.errors.js';
import { EntityTable, prepared, type EntityRecord, type Params } from '../database/entity-table.js';
import { SqlRunner } from '../database/sql-runner.js';
import { Owner } from '../owners/owner.entity.js';
import type { IfMatch } from '../tasks/task.types.js';
import { UUID } from '../tasks/task.types.js';
import { List } from './list.entity.js';

/** A list as the data layer returns it, derived from the entity. */
export type ListRecord = Omit<EntityRecord<List>, 'changePosition'>;

/** Where a page of lists ends: the last list's name and id. */
export interface ListPosition {
  name: string;
  id: string;
}

export interface ListPage {
  items: ListRecord[];
  next: ListPosition | null;
}

const INT4_MAX = 2_147_483_647;

function acceptedVersions(ifMatch?: IfMatch): number[] | null {
  if (ifMatch === undefined || ifMatch === '*') return null;
  return ifMatch.filter((v) => Number.isInteger(v) && v >= 1 && v <= INT4_MAX);
}

/**
 * The only code that touches the lists table; owner-scoped like
 * TasksRepository (a list that is not the caller's does not exist for them).
 * Every method is one statement: a taken name comes back from the unique
 * index (user_id, name_key) as ListNameTakenError, so two racing requests for
 * one name cannot both win; deleting a list deletes its tasks through the
 * foreign key's ON DELETE CASCADE in the same statement.
 */
@Injectable()
export class ListsRepository {
  private readonly statements: ReturnType<typeof buildStatements>;

  constructor(
    em: EntityManager,
    private readonly sql: SqlRunner,
  ) {
    this.statements = buildStatements(
      new EntityTable(em.getMetadata(), List),
      new EntityTable(em.getMetadata(), Owner),
    );
  }

  /** Creates the list if the owner is under `maxLists` (checked on the owner's locked row). */
  async create(ownerId: string, name: string, nameKey: string, maxLists: number): Promise<ListRecord> {
    const rows = await this.sql.run<ListRecord>(
      this.statements.insert.bind({ owner: ownerId, name, nameKey, max: maxLists }),
    );
    if (rows.length === 0) throw new QuotaExceededError('lists', maxLists);
    return rows[0];
  }

  async findOne(ownerId: string, id: string): Promise<ListRecord> {
    if (!UUID.test(id)) throw new ListNotFoundError();
    const rows = await this.sql.run<ListRecord>(this.statements.findOne.bind({ id, owner: ownerId }));
    if (rows.length === 0) throw new ListNotFoundError();
    return rows[0];
  }

  /** By name (code point), then id; keyset pagination as for tasks. */
  async list(ownerId: string, limit: number, after?: ListPosition): Promise<ListPage> {
    if (after && !UUID.test(after.id)) throw ValidationError.field('cursor', 'is not a valid cursor');
    const statement = after ? this.statements.pageAfter : this.statements.firstPage;
    const rows = await this.sql.run<ListRecord>(
      statement.bind({ owner: ownerId, name: after?.name ?? null, id: after?.id ?? null, limit: limit + 1 }),
    );
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return { items, next: rows.length > limit ? { name: last.name, id: last.id } : null };
  }

  async rename(
    ownerId: string,
    id: string,
    name: string,
    nameKey: string,
    ifMatch?: IfMatch,
  ): Promise<ListRecord> {
    if (!UUID.test(id)) throw new ListNotFoundError();
    const versions = acceptedVersions(ifMatch);
    const rows = await this.sql.run<ListRecord>(
      this.statements.rename.bind({ id, owner: ownerId, name, nameKey, versions }),
    );
    if (rows.length > 0) return rows[0];
    return this.explainMiss(ownerId, id, versions);
  }

  async delete(ownerId: string, id: string, ifMatch?: IfMatch): Promise<void> {
    if (!UUID.test(id)) throw new ListNotFoundError();
    const versions = acceptedVersions(ifMatch);
    const rows = await this.sql.run(this.statements.delete.bind({ id, owner: ownerId, versions }));
    if (rows.length === 0) await this.explainMiss(ownerId, id, versions);
  }

  /** A write touched nothing: not there (or not the caller's), or a stale version. */
  private async explainMiss(ownerId: string, id: string, versions: number[] | null): Promise<never> {
    if (versions === null) throw new ListNotFoundError();
    const rows = await this.sql.run<ListRecord>(this.statements.findOne.bind({ id, owner: ownerId }));
    if (rows.length === 0) throw new ListNotFoundError();
    throw new VersionConflictError(rows[0].version, 'list');
  }
}

function buildStatements(l: EntityTable<List>, o: EntityTable<Owner>) {
  const select = l.selectList('l');
  const owned = (p: Params<'id' | 'owner'>) =>
    `${l.ref('id', 'l')} = ${p.$('id')} and ${l.ref('userId', 'l')} = ${p.$('owner')}`;
  // Unconditional when versions is null ('*' or no If-Match), else the version must be one of them.
  const versionMatches = (p: Params<'versions'>) =>
    `(${p.$('versions', 'int[]')} is null or ${l.ref('version', 'l')} = any(${p.$('versions')}))`;
  const page = (p: Params<'owner' | 'limit'>, keyset: string) =>
    `select ${select} from ${l.table} l where ${l.ref('userId', 'l')} = ${p.$('owner')}${keyset} ` +
    `order by ${l.ref('name', 'l')}, ${l.ref('id', 'l')} limit ${p.$('limit')}`;
  return {
    // The quota, as for tasks: the owner's row, locked by the upsert, admits the insert only under the limit.
    insert: prepared<'owner' | 'name' | 'nameKey' | 'max'>(
      (p) =>
        `with slot as (insert into ${o.table} as o (${o.column('userId')}) values (${p.$('owner')}) ` +
        `on conflict (${o.column('userId')}) do update set ${o.column('userId')} = excluded.${o.column('userId')} ` +
        `where ${o.ref('listCount', 'o')} < ${p.$('max', 'int')} returning 1) ` +
        `insert into ${l.table} as l (${l.column('userId')}, ${l.column('name')}, ${l.column('nameKey')}) ` +
        `select ${l.cast('userId', p.$('owner'))}, ${l.cast('name', p.$('name'))}, ${l.cast('nameKey', p.$('nameKey'))} ` +
        `from slot returning ${select}`,
    ),
    findOne: prepared<'id' | 'owner'>((p) => `select ${select} from ${l.table} l where ${owned(p)}`),
    firstPage: prepared<'owner' | 'name' | 'id' | 'limit'>((p) => page(p, '')),
    pageAfter: prepared<'owner' | 'name' | 'id' | 'limit'>((p) =>
      page(
        p,
        ` and (${l.ref('name', 'l')}, ${l.ref('id', 'l')}) > (${p.$('name')}::text collate "C", ${p.$('id', 'uuid')})`,
      ),
    ),
    rename: prepared<'id' | 'owner' | 'name' | 'nameKey' | 'versions'>(
      (p) =>
        `update ${l.table} l set ${l.column('name')} = ${p.$('name')}, ${l.column('nameKey')} = ${p.$('nameKey')} ` +
        `where ${owned(p)} and ${versionMatches(p)} and ${ownerLockedFirst(o, p.$('owner'))} returning ${select}`,
    ),
    delete: prepared<'id' | 'owner' | 'versions'>(
      (p) =>
        `delete from ${l.table} l where ${owned(p)} and ${versionMatches(p)} ` +
        `and ${ownerLockedFirst(o, p.$('owner'))} returning ${l.ref('id', 'l')}`,
    ),
  };
}
