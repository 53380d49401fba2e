import { TaskNotFoundError, ValidationError, VersionConflictError } from '../src/database/data-layer.errors';
import { TASK_SORTS, type TaskRecord, type TaskSort } from '../src/tasks/task.types';
import { TasksRepository } from '../src/tasks/tasks.repository';
import { useTestDatabase, repository } from './helpers/test-database';
import { LIMITS, newTask } from './helpers/tasks';

const ALICE = 'user_alice';
const BOB = 'user_bob';
const MISSING_ID = '00000000-0000-4000-8000-000000000000';
const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

const t = useTestDatabase();
let repo: TasksRepository;

beforeEach(async () => {
  await t.sql.query('truncate tasks');
  repo = repository(TasksRepository, t.orm.em.fork());
});

async function row(id: string) {
  const { rows } = await t.sql.query('select * from tasks where id = $1', [id]);
  return rows[0];
}

describe('create', () => {
  it('stores the task for its owner with defaults set by the database', async () => {
    const task = await repo.create(ALICE, newTask({ title: 'Buy milk' }), LIMITS);

    expect(task).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      userId: ALICE,
      listId: null,
      parentId: null,
      title: 'Buy milk',
      description: null,
      completed: false,
      completedAt: null,
      priority: 'none',
      tags: [],
      dueDate: null,
      dueTime: null,
      dueTimeZone: null,
      recurrence: null,
      position: 'a0',
      createdAt: expect.stringMatching(ISO_MICROS),
      updatedAt: expect.stringMatching(ISO_MICROS),
      version: 1,
    });
    expect(task.updatedAt).toBe(task.createdAt);
    const stored = await row(task.id);
    expect(stored).toMatchObject({
      user_id: ALICE,
      title: 'Buy milk',
      description: null,
      completed: false,
      version: 1,
    });
  });

  it('gives timestamps in UTC with the microseconds the database keeps', async () => {
    const task = await repo.create(ALICE, newTask({ title: 'T' }), LIMITS);
    await t.sql.query(`update tasks set created_at = '2026-11-26 09:15:30.123999+01' where id = $1`, [
      task.id,
    ]);
    expect((await repo.findOne(ALICE, task.id)).createdAt).toBe('2026-11-26T08:15:30.123999Z');
  });

  it('stores description and completed when given', async () => {
    const task = await repo.create(ALICE, newTask({ title: 'T', description: 'D', completed: true }), LIMITS);
    expect(await row(task.id)).toMatchObject({ description: 'D', completed: true });
  });

  it.each([
    ['a blank title', { title: '   ' }, 'title', 'must not be blank'],
    ['an empty title', { title: '' }, 'title', 'must not be blank'],
    // pg names no column for a value too long; TasksService checks every length first.
    [
      'a title over 255 characters',
      { title: 'x'.repeat(256) },
      'body',
      'has a value longer than its field allows',
    ],
    [
      'a description over 10,000 characters',
      { title: 'T', description: 'd'.repeat(10_001) },
      'description',
      'must be at most 10000 characters',
    ],
  ])('refuses %s as a ValidationError, not a driver error', async (_case, data, field, message) => {
    const error = await repo.create(ALICE, newTask(data), LIMITS).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).errors).toEqual([{ field, message }]);
    expect((await t.sql.query('select count(*)::int as n from tasks')).rows[0].n).toBe(0);
  });

  it('still refuses a NUL that reaches the database (TasksService refuses it first) as a ValidationError', async () => {
    const error = await repo.create(ALICE, newTask({ title: 'a\u0000b' }), LIMITS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).errors).toEqual([
      { field: 'body', message: 'must not contain the NUL character' },
    ]);
  });

  it('counts the title limit in code points, as PostgreSQL does: 255 emoji fit', async () => {
    const title = '😀'.repeat(255);
    const task = await repo.create(ALICE, newTask({ title }), LIMITS);
    expect((await row(task.id)).title).toBe(title);
  });

  it('refuses an empty owner id', async () => {
    const error = await repo.create('', newTask({ title: 'T' }), LIMITS).catch((e: unknown) => e);
    expect((error as ValidationError).errors).toEqual([{ field: 'userId', message: 'must not be empty' }]);
  });
});

describe('findOne', () => {
  it('returns the owner’s task', async () => {
    const created = await repo.create(ALICE, newTask({ title: 'Mine' }), LIMITS);
    await expect(repo.findOne(ALICE, created.id)).resolves.toEqual(created);
  });

  it.each([
    ['another user’s task', async () => (await repo.create(BOB, newTask({ title: 'Bob’s' }), LIMITS)).id],
    ['a missing id', async () => MISSING_ID],
    ['an id that is not a UUID', async () => 'not-a-uuid'],
  ])('treats %s as not found', async (_case, idOf) => {
    await expect(repo.findOne(ALICE, await idOf())).rejects.toThrow(TaskNotFoundError);
  });
});

describe('update', () => {
  let task: TaskRecord;
  beforeEach(async () => {
    task = await repo.create(ALICE, newTask({ title: 'Old', description: 'keep' }), LIMITS);
  });

  it('changes only the given fields, bumps the version and updated_at in the database', async () => {
    const updated = await repo.update(ALICE, task.id, { completed: true });

    expect(updated).toEqual({
      ...task,
      completed: true,
      completedAt: updated.updatedAt,
      version: 2,
      updatedAt: expect.stringMatching(ISO_MICROS),
    });
    expect(Date.parse(updated.updatedAt)).toBeGreaterThan(Date.parse(task.updatedAt));
    expect(await row(task.id)).toMatchObject({
      title: 'Old',
      description: 'keep',
      completed: true,
      version: 2,
    });
  });

  it('clears the description with null', async () => {
    const updated = await repo.update(ALICE, task.id, { description: null });
    expect(updated.description).toBeNull();
    expect((await row(task.id)).description).toBeNull();
  });

  it('counts a write of the current values as an update', async () => {
    const updated = await repo.update(ALICE, task.id, { title: 'Old' });
    expect(updated.version).toBe(2);
  });

  it('accepts a matching If-Match version, any of a list, or *', async () => {
    await expect(repo.update(ALICE, task.id, { title: 'A' }, { ifMatch: [1] })).resolves.toMatchObject({
      version: 2,
    });
    await expect(repo.update(ALICE, task.id, { title: 'B' }, { ifMatch: [7, 2] })).resolves.toMatchObject({
      version: 3,
    });
    await expect(repo.update(ALICE, task.id, { title: 'C' }, { ifMatch: '*' })).resolves.toMatchObject({
      version: 4,
      title: 'C',
    });
  });

  it('refuses a stale version with VersionConflictError and changes nothing', async () => {
    const error = await repo
      .update(ALICE, task.id, { title: 'New' }, { ifMatch: [5] })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(VersionConflictError);
    expect((error as VersionConflictError).currentVersion).toBe(1);
    expect(await row(task.id)).toMatchObject({ title: 'Old', version: 1 });
  });

  it.each([
    ['without a precondition', undefined],
    ['with a matching version', [1]],
    ['with *', '*' as const],
  ])('treats another user’s task as not found (%s) and leaves it unchanged', async (_case, ifMatch) => {
    await expect(repo.update(BOB, task.id, { title: 'Hijacked' }, { ifMatch: ifMatch })).rejects.toThrow(
      TaskNotFoundError,
    );
    expect(await row(task.id)).toMatchObject({ user_id: ALICE, title: 'Old', version: 1 });
  });

  it('treats a missing or malformed id as not found, also with If-Match', async () => {
    await expect(repo.update(ALICE, MISSING_ID, { title: 'X' })).rejects.toThrow(TaskNotFoundError);
    await expect(repo.update(ALICE, MISSING_ID, { title: 'X' }, { ifMatch: [1] })).rejects.toThrow(
      TaskNotFoundError,
    );
    await expect(repo.update(ALICE, 'nope', { title: 'X' })).rejects.toThrow(TaskNotFoundError);
  });

  it('refuses constraint violations as ValidationError', async () => {
    const error = await repo.update(ALICE, task.id, { title: ' ' }).catch((e: unknown) => e);
    expect((error as ValidationError).errors).toEqual([{ field: 'title', message: 'must not be blank' }]);
    expect(await row(task.id)).toMatchObject({ title: 'Old', version: 1 });
  });

  it('lets exactly one of 20 concurrent writers with the same version win', async () => {
    const attempts = Array.from({ length: 20 }, (_, i) =>
      repository(TasksRepository, t.orm.em.fork()).update(
        ALICE,
        task.id,
        { title: `writer ${i}` },
        { ifMatch: [1] },
      ),
    );
    const results = await Promise.allSettled(attempts);

    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.map((r) => r.reason instanceof VersionConflictError)).toEqual(Array(19).fill(true));
    expect(await row(task.id)).toMatchObject({ version: 2 });
  });

  it('reports the version a concurrent writer left, not the one it read before waiting', async () => {
    const locker = await t.sql.connect();
    try {
      await locker.query('begin');
      await locker.query(`update tasks set title = 'locker' where id = $1`, [task.id]);
      const waiting = repository(TasksRepository, t.orm.em.fork())
        .update(ALICE, task.id, { title: 'late' }, { ifMatch: [1] })
        .catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 100));
      await locker.query('commit');

      const error = await waiting;
      expect(error).toBeInstanceOf(VersionConflictError);
      expect((error as VersionConflictError).currentVersion).toBe(2);
      expect(await row(task.id)).toMatchObject({ title: 'locker', version: 2 });
    } finally {
      locker.release();
    }
  });

  it('moves updatedAt visibly (by at least a millisecond) on every update', async () => {
    let previous = Date.parse(task.updatedAt);
    for (let i = 0; i < 30; i++) {
      const updated = await repo.update(ALICE, task.id, { completed: i % 2 === 0 });
      expect(Date.parse(updated.updatedAt)).toBeGreaterThan(previous);
      previous = Date.parse(updated.updatedAt);
    }
  });

  it('treats If-Match versions that were never issued as not matching', async () => {
    for (const versions of [[2 ** 31], [1.5], [Number.NaN], [0], []]) {
      await expect(repo.update(ALICE, task.id, { title: 'X' }, { ifMatch: versions })).rejects.toThrow(
        VersionConflictError,
      );
    }
    expect(await row(task.id)).toMatchObject({ title: 'Old', version: 1 });
  });

  it('applies all of 20 concurrent unconditional writes', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        repository(TasksRepository, t.orm.em.fork()).update(ALICE, task.id, { title: `writer ${i}` }),
      ),
    );
    expect(await row(task.id)).toMatchObject({ version: 21 });
  });
});

describe('delete', () => {
  let task: TaskRecord;
  beforeEach(async () => {
    task = await repo.create(ALICE, newTask({ title: 'Doomed' }), LIMITS);
  });

  it('deletes the owner’s task', async () => {
    await repo.delete(ALICE, task.id);
    expect(await row(task.id)).toBeUndefined();
    await expect(repo.delete(ALICE, task.id)).rejects.toThrow(TaskNotFoundError);
  });

  it('honours If-Match', async () => {
    const error = await repo.delete(ALICE, task.id, [2]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VersionConflictError);
    expect(await row(task.id)).toBeDefined();
    await repo.delete(ALICE, task.id, [1]);
    expect(await row(task.id)).toBeUndefined();
  });

  it.each([undefined, [1], '*' as const])(
    'treats another user’s task as not found (If-Match %p) and keeps it',
    async (ifMatch) => {
      await expect(repo.delete(BOB, task.id, ifMatch)).rejects.toThrow(TaskNotFoundError);
      expect(await row(task.id)).toMatchObject({ user_id: ALICE, version: 1 });
    },
  );

  it('treats missing and malformed ids as not found', async () => {
    await expect(repo.delete(ALICE, MISSING_ID)).rejects.toThrow(TaskNotFoundError);
    await expect(repo.delete(ALICE, MISSING_ID, '*')).rejects.toThrow(TaskNotFoundError);
    await expect(repo.delete(ALICE, '123')).rejects.toThrow(TaskNotFoundError);
  });
});

describe('list', () => {
  it('returns an empty page for a user with no tasks', async () => {
    await repo.create(BOB, newTask({ title: 'Bob’s' }), LIMITS);
    await expect(repo.list(ALICE, { sort: '-createdAt', limit: 20 })).resolves.toEqual({
      items: [],
      next: null,
    });
  });

  it('never returns another user’s tasks', async () => {
    const mine = await repo.create(ALICE, newTask({ title: 'Mine' }), LIMITS);
    await repo.create(BOB, newTask({ title: 'Mine too' }), LIMITS);
    const page = await repo.list(ALICE, { sort: '-createdAt', limit: 20, q: 'mine' });
    expect(page.items.map((t) => t.id)).toEqual([mine.id]);
  });

  it('filters by completed', async () => {
    const done = await repo.create(ALICE, newTask({ title: 'done', completed: true }), LIMITS);
    const open = await repo.create(ALICE, newTask({ title: 'open' }), LIMITS);
    const ids = async (completed: boolean) =>
      (await repo.list(ALICE, { sort: 'title', limit: 20, completed })).items.map((t) => t.id);
    expect(await ids(true)).toEqual([done.id]);
    expect(await ids(false)).toEqual([open.id]);
  });

  it('matches q as a case-insensitive substring of the title, across Unicode, with wildcards literal', async () => {
    const titles = ['Buy MILK', 'milkshake', 'École', 'CAFÉ au lait', '100% done', 'under_score', 'plain'];
    for (const title of titles) await repo.create(ALICE, newTask({ title }), LIMITS);
    const match = async (q: string) =>
      (await repo.list(ALICE, { sort: 'title', limit: 20, q })).items.map((t) => t.title);

    expect(await match('milk')).toEqual(['Buy MILK', 'milkshake']);
    expect(await match('école')).toEqual(['École']);
    expect(await match('café')).toEqual(['CAFÉ au lait']);
    expect(await match('%')).toEqual(['100% done']);
    expect(await match('_')).toEqual(['under_score']);
    expect(await match('nothing')).toEqual([]);
  });

  it('sorts titles by code point, not by locale', async () => {
    for (const title of ['b', 'B', 'a', 'Z', 'é', '😀']) await repo.create(ALICE, newTask({ title }), LIMITS);
    const page = await repo.list(ALICE, { sort: 'title', limit: 20 });
    expect(page.items.map((t) => t.title)).toEqual(['B', 'Z', 'a', 'b', 'é', '😀']);
  });

  it('sets next only when another task follows', async () => {
    for (let i = 0; i < 3; i++) await repo.create(ALICE, newTask({ title: `t${i}` }), LIMITS);
    const full = await repo.list(ALICE, { sort: 'title', limit: 3 });
    expect(full.next).toBeNull();
    const partial = await repo.list(ALICE, { sort: 'title', limit: 2 });
    expect(partial.next).toEqual({ key: 't1', id: partial.items[1].id });
  });

  it('refuses an unknown sort, a limit below 1 and a cursor key that is not a timestamp', async () => {
    const fail = (query: object) =>
      repo.list(ALICE, { sort: '-createdAt', limit: 2, ...query } as never).catch((e: unknown) => e);
    expect(await fail({ sort: 'toString' })).toBeInstanceOf(ValidationError);
    expect(await fail({ limit: 0 })).toBeInstanceOf(ValidationError);
    expect(await fail({ after: { key: 'yesterday', id: MISSING_ID } })).toBeInstanceOf(ValidationError);
  });

  it('refuses a position whose id is not a UUID', async () => {
    const error = await repo
      .list(ALICE, { sort: 'title', limit: 2, after: { key: 'x', id: 'nope' } })
      .catch((e: unknown) => e);
    expect((error as ValidationError).errors).toEqual([
      { field: 'cursor', message: 'is not a valid cursor' },
    ]);
  });

  describe('keyset pagination', () => {
    // 23 tasks, several sharing a created_at (one statement) and a title, so the
    // id tie-breaker matters; plus updates so updated_at differs from created_at.
    let expected: Map<TaskSort, string[]>;

    beforeEach(async () => {
      await t.sql.query(
        `insert into tasks (user_id, title, completed)
         select $1, 'same title', n % 2 = 0 from generate_series(1, 8) n`,
        [ALICE],
      );
      for (let i = 0; i < 12; i++)
        await repo.create(ALICE, newTask({ title: `task ${String.fromCharCode(97 + (i % 5))}${i}` }), LIMITS);
      await t.sql.query(`update tasks set completed = true where title like 'task a%'`);
      // Dues: some none, some all-day, some timed on the same dates (all-day first), ties on one date.
      await t.sql.query(`update tasks set due_date = date '2026-12-01' + (ascii(right(title, 1)) % 3)
        where title like 'task%' and ascii(right(title, 1)) % 4 <> 0`);
      await t.sql.query(`update tasks set due_time = '09:30', due_time_zone = 'Europe/Berlin'
        where due_date is not null and ascii(right(title, 1)) % 2 = 0`);
      await t.sql.query(
        `update tasks set priority = (array['none','low','medium','high'])[1 + ascii(right(title, 1)) % 4]::task_priority`,
      );
      for (let i = 0; i < 3; i++) await repo.create(BOB, newTask({ title: `bob ${i}` }), LIMITS);
      const orderBy: Record<TaskSort, string> = {
        createdAt: 'created_at asc, id asc',
        '-createdAt': 'created_at desc, id desc',
        updatedAt: 'updated_at asc, id asc',
        '-updatedAt': 'updated_at desc, id desc',
        title: 'title asc, id asc',
        '-title': 'title desc, id desc',
        due: 'due_date asc nulls last, due_time asc nulls first, id asc',
        '-due': 'due_date desc nulls last, due_time desc nulls last, id desc',
        priority: 'priority asc, id asc',
        '-priority': 'priority desc, id desc',
        position: 'position asc, id asc',
      };
      expected = new Map();
      for (const sort of TASK_SORTS) {
        const { rows } = await t.sql.query(
          `select id from tasks where user_id = $1 order by ${orderBy[sort]}`,
          [ALICE],
        );
        expected.set(
          sort,
          rows.map((r) => r.id as string),
        );
      }
    });

    it.each(TASK_SORTS.flatMap((sort) => [1, 5, 20].map((limit) => [sort, limit] as const)))(
      'walks every task exactly once, in order, under %s with pages of %i',
      async (sort, limit) => {
        const seen: string[] = [];
        let after = undefined;
        for (let pages = 0; pages < 100; pages++) {
          const page: Awaited<ReturnType<TasksRepository['list']>> = await repo.list(ALICE, {
            sort,
            limit,
            after,
          });
          expect(page.items.length).toBeLessThanOrEqual(limit);
          seen.push(...page.items.map((t) => t.id));
          if (!page.next) break;
          after = page.next;
        }
        expect(seen).toEqual(expected.get(sort));
      },
    );

    it('keeps its place while tasks are inserted between pages', async () => {
      const first = await repo.list(ALICE, { sort: 'createdAt', limit: 10 });
      const added = await repo.create(ALICE, newTask({ title: 'late arrival' }), LIMITS);
      const seen = first.items.map((t) => t.id);
      let after = first.next ?? undefined;
      while (after) {
        const page = await repo.list(ALICE, { sort: 'createdAt', limit: 10, after });
        seen.push(...page.items.map((t) => t.id));
        after = page.next ?? undefined;
      }
      expect(seen).toEqual([...expected.get('createdAt')!, added.id]);
    });
  });
});
