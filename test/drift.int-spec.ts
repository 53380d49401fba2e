import { EntityTable } from '../src/database/entity-table';
import { Task } from '../src/tasks/task.entity';
import { TasksRepository } from '../src/tasks/tasks.repository';
import { LIMITS, newTask } from './helpers/tasks';
import { useTestDatabase } from './helpers/test-database';

/**
 * The entity is the one source of the schema: its properties, the table's
 * columns, and what the repository's generated statements return must agree.
 */
const t = useTestDatabase();

const table = () => new EntityTable(t.orm.getMetadata(), Task);

it('has a column in the migrated table for every property of the entity, and no other', async () => {
  const meta = t.orm.getMetadata().get(Task);
  const { rows } = await t.sql.query<{ column_name: string }>(
    `select column_name from information_schema.columns where table_name = 'tasks' order by column_name`,
  );
  const fromEntity = new Set(meta.props.filter((p) => p.persist !== false).flatMap((p) => p.fieldNames));
  expect(rows.map((r) => r.column_name)).toEqual([...fromEntity].sort());
});

it('returns, from every generated statement, a record with exactly the properties of the entity', async () => {
  const repo = new TasksRepository(t.orm.em);
  const created = await repo.create('drift', newTask({ title: 'T' }), LIMITS);
  const read = await repo.findOne('drift', created.id);
  const updated = await repo.update('drift', created.id, { completed: true });
  const listed = (await repo.list('drift', { sort: 'title', limit: 5 })).items[0];
  // Every column but the due sort's key, which is never read back.
  const properties = [...table().columns].sort();
  expect(properties).not.toContain('dueKey');
  for (const record of [created, read, updated, listed]) {
    expect(Object.keys(record).sort()).toEqual(properties);
  }
});
