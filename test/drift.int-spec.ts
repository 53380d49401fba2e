import { DECORATORS } from '@nestjs/swagger';
import type { EntityClass } from '@mikro-orm/core';
import { EntityTable } from '../src/database/entity-table';
import { toListResponse, ListResponse } from '../src/lists/list.response';
import { List } from '../src/lists/list.entity';
import { ListsRepository } from '../src/lists/lists.repository';
import { Owner } from '../src/owners/owner.entity';
import { IdempotencyKey } from '../src/tasks/idempotency-key.entity';
import { Deletion } from '../src/sync/deletion.entity';
import { Task } from '../src/tasks/task.entity';
import { toTaskResponse, TaskResponse } from '../src/tasks/task.response';
import { TasksRepository } from '../src/tasks/tasks.repository';
import { LIMITS, newTask } from './helpers/tasks';
import { useTestDatabase, repository } from './helpers/test-database';

/**
 * The entities are the one source of the schema: their properties, the
 * tables' columns, what the repositories' generated statements return, and
 * the response schemas of the OpenAPI document must agree.
 */
const t = useTestDatabase();

const table = <T extends object>(entity: EntityClass<T>) => new EntityTable(t.orm.getMetadata(), entity);

/** The properties a response class declares to @nestjs/swagger, which is what the document lists. */
const schemaProperties = (response: abstract new () => object): string[] =>
  (Reflect.getMetadata(DECORATORS.API_MODEL_PROPERTIES_ARRAY, response.prototype) as string[])
    .map((p) => p.replace(/^:/, ''))
    .sort();

it.each<[string, EntityClass<object>]>([
  ['tasks', Task],
  ['lists', List],
  ['owners', Owner],
  ['idempotency_keys', IdempotencyKey],
  ['deletions', Deletion],
])(
  'has a column in the migrated table %s for every property of its entity, and no other',
  async (name, entity) => {
    const meta = t.orm.getMetadata().get(entity);
    expect(meta.tableName).toBe(name);
    const { rows } = await t.sql.query<{ column_name: string }>(
      `select column_name from information_schema.columns
     where table_schema = current_schema() and table_name = $1 order by column_name`,
      [name],
    );
    const fromEntity = new Set(meta.props.filter((p) => p.persist !== false).flatMap((p) => p.fieldNames));
    expect(rows.map((r) => r.column_name)).toEqual([...fromEntity].sort());
  },
);

it('returns, from every generated task statement, a record with exactly the properties of the entity', async () => {
  const repo = repository(TasksRepository, t.orm.em);
  const created = await repo.create('drift', newTask({ title: 'T' }), LIMITS);
  const read = await repo.findOne('drift', created.id);
  const updated = await repo.update('drift', created.id, { completed: true });
  const moved = await repo.move('drift', created.id, { after: null });
  const listed = (await repo.list('drift', { sort: 'title', limit: 5 })).items[0];
  // Every column but the due sort's key, which is never read back.
  const properties = [...table(Task).columns].sort();
  expect(properties).not.toContain('dueKey');
  for (const record of [created, read, updated, moved, listed]) {
    expect(Object.keys(record).sort()).toEqual(properties);
  }
});

it('returns, from every generated list statement, a record with exactly the properties of the entity', async () => {
  const repo = repository(ListsRepository, t.orm.em);
  const created = await repo.create('drift', 'Groceries', 'groceries', 10);
  const read = await repo.findOne('drift', created.id);
  const renamed = await repo.rename('drift', created.id, 'Food', 'food');
  const listed = (await repo.list('drift', 5)).items[0];
  const properties = [...table(List).columns].sort();
  for (const record of [created, read, renamed, listed]) {
    expect(Object.keys(record).sort()).toEqual(properties);
  }
});

it('maps a task record to exactly the properties of the Task schema', async () => {
  const repo = repository(TasksRepository, t.orm.em);
  const record = await repo.create('drift', newTask({ title: 'T' }), LIMITS);
  expect(Object.keys(toTaskResponse(record)).sort()).toEqual(schemaProperties(TaskResponse));
});

it('maps a list record to exactly the properties of the List schema', async () => {
  const record = await repository(ListsRepository, t.orm.em).create('drift', 'Inbox 2', 'inbox 2', 10);
  expect(Object.keys(toListResponse(record)).sort()).toEqual(schemaProperties(ListResponse));
});
