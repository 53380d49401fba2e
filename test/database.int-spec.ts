import { TasksRepository } from '../src/tasks/tasks.repository';
import { DatabaseConnectionError } from '../src/database/data-layer.errors';
import { openOrm, repository, useTestDatabase } from './helpers/test-database';
import { LIMITS, newTask } from './helpers/tasks';
import { freePort } from './helpers/test-server';

const t = useTestDatabase();

it('keeps tasks across a fresh ORM instance, as across a restart', async () => {
  const first = await openOrm(t.db.url);
  const created = await repository(TasksRepository, first.em.fork()).create(
    'owner',
    newTask({ title: 'survives' }),
    LIMITS,
  );
  await first.close();

  const second = await openOrm(t.db.url);
  try {
    await expect(repository(TasksRepository, second.em.fork()).findOne('owner', created.id)).resolves.toEqual(
      created,
    );
  } finally {
    await second.close();
  }
});

it('runs the repository statements as prepared statements, parsed once per connection', async () => {
  const orm = await openOrm(t.db.url, { DB_POOL_MAX: 1 });
  try {
    const repo = repository(TasksRepository, orm.em.fork());
    const task = await repo.create('owner', newTask({ title: 'prepared' }), LIMITS);
    await repo.findOne('owner', task.id);
    await repo.findOne('owner', task.id);
    // The pool's one connection: what it has prepared is what the repository ran.
    const prepared = await orm.em
      .getConnection()
      .execute<{ statement: string }[]>('select statement from pg_prepared_statements order by prepare_time');
    expect(prepared.map((p) => p.statement.trim().split(/\s+/).slice(0, 2).join(' '))).toEqual([
      // The new task's place (last among its siblings), the insert, and the read.
      'select t."position"',
      'with slot',
      'select t."user_id"',
    ]);
  } finally {
    await orm.close();
  }
});

it('fails fast with DatabaseConnectionError, not a driver error, when nothing listens', async () => {
  const closed = new URL(t.db.url);
  closed.port = String(await freePort());
  const orm = await openOrm(closed.toString());
  try {
    const started = Date.now();
    const error = await repository(TasksRepository, orm.em.fork())
      .findOne('owner', crypto.randomUUID())
      .catch((e) => e);

    expect(error).toBeInstanceOf(DatabaseConnectionError);
    expect(error).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      message: 'The database cannot be reached (ECONNREFUSED)',
    });
    expect(error.cause).toBeDefined();
    expect(Date.now() - started).toBeLessThan(2000);
  } finally {
    await orm.close();
  }
});

it('turns a statement timeout into DatabaseConnectionError and leaves the row as it was', async () => {
  const orm = await openOrm(t.db.url, { DB_STATEMENT_TIMEOUT_MS: 200 });
  const locker = await t.sql.connect();
  try {
    const task = await repository(TasksRepository, orm.em.fork()).create(
      'owner',
      newTask({ title: 'locked' }),
      LIMITS,
    );
    await locker.query('begin');
    await locker.query('select * from tasks where id = $1 for update', [task.id]);

    const error = await repository(TasksRepository, orm.em.fork())
      .update('owner', task.id, { title: 'blocked' })
      .catch((e) => e);

    expect(error).toBeInstanceOf(DatabaseConnectionError);
    expect(error.message).toBe('The database did not answer in time (57014)');
    await locker.query('rollback');
    const { rows } = await t.sql.query('select title, version from tasks where id = $1', [task.id]);
    expect(rows).toEqual([{ title: 'locked', version: 1 }]);
  } finally {
    locker.release();
    await orm.close();
  }
});
