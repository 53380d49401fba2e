import { randomUUID } from 'node:crypto';
import { expectProblem, expectValidationProblem, replayOf } from './helpers/http-assert';
import { startHttpApp, type HttpFixture } from './helpers/http';
import { expectQuotaProblem, holdings, httpCaller, truncateAll } from './helpers/lists';

/**
 * The contract's Quotas (shared/spec/http-api.md): at most MAX_TASKS_PER_USER
 * tasks and MAX_LISTS_PER_USER lists per user, 403 QUOTA_EXCEEDED with `limit`
 * past them, exact under concurrent creates. The app is booted with small
 * limits; every count is checked in the tables themselves and in the owners
 * row the quota is enforced with.
 */

const TASKS = '/api/v1/tasks';
const LISTS = '/api/v1/lists';
const ALICE = 'user_alice';
const BOB = 'user_bob';
const MAX_TASKS = 4;
const MAX_LISTS = 3;

// Booting the app and the concurrent tests can take more than jest's default 5 s on a busy machine.
jest.setTimeout(30_000);

let fixture: HttpFixture;
const call = httpCaller(() => fixture, ALICE);
const secrets = () => call.secrets();

beforeAll(async () => {
  fixture = await startHttpApp({
    MAX_TASKS_PER_USER: String(MAX_TASKS),
    MAX_LISTS_PER_USER: String(MAX_LISTS),
  });
}, 60_000);

afterAll(async () => {
  await fixture?.close();
});

beforeEach(async () => {
  await truncateAll(fixture.sql);
});

async function createTask(body: Record<string, unknown>, as = ALICE): Promise<{ id: string }> {
  const res = await call('POST', TASKS, { as, body });
  expect(res.statusCode).toBe(201);
  return res.json();
}

async function createList(name: string, as = ALICE): Promise<{ id: string }> {
  const res = await call('POST', LISTS, { as, body: { name } });
  expect(res.statusCode).toBe(201);
  return res.json();
}

/** Creates tasks until the user has `n` (numbered titles). */
async function fillTasks(n: number, as = ALICE, extra: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await createTask({ title: `task ${i}`, ...extra }, as)).id);
  return ids;
}

async function fillLists(n: number, as = ALICE): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await createList(`list ${i}`, as)).id);
  return ids;
}

async function idempotencyKeys(): Promise<number> {
  const { rows } = await fixture.sql.query('select count(*)::int as n from idempotency_keys');
  return rows[0].n;
}

describe('MAX_TASKS_PER_USER', () => {
  it('refuses the create past the limit with 403 QUOTA_EXCEEDED and `limit`, storing nothing', async () => {
    await fillTasks(MAX_TASKS);

    const res = await call('POST', TASKS, { body: { title: 'one too many' } });

    expectQuotaProblem(res, TASKS, 'tasks', MAX_TASKS, secrets());
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
      tasks: MAX_TASKS,
      taskCount: MAX_TASKS,
    });
    const { rows } = await fixture.sql.query(
      `select count(*)::int as n from tasks where title = 'one too many'`,
    );
    expect(rows[0].n).toBe(0);
  });

  it('counts subtasks and tasks in lists like any other task', async () => {
    const list = await createList('L');
    const parent = await createTask({ title: 'parent', listId: list.id });
    await createTask({ title: 'sub', listId: list.id, parentId: parent.id });
    await createTask({ title: 'inbox' });
    await createTask({ title: 'listed', listId: list.id });

    for (const body of [
      { title: 'x' },
      { title: 'x', listId: list.id },
      { title: 'x', listId: list.id, parentId: parent.id },
    ]) {
      expectQuotaProblem(await call('POST', TASKS, { body }), TASKS, 'tasks', MAX_TASKS, secrets());
    }
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
      tasks: MAX_TASKS,
      taskCount: MAX_TASKS,
    });
  });

  it('frees a slot when a task is deleted', async () => {
    const ids = await fillTasks(MAX_TASKS);
    expect((await call('POST', TASKS, { body: { title: 'refused' } })).statusCode).toBe(403);

    expect((await call('DELETE', `${TASKS}/${ids[0]}`)).statusCode).toBe(204);
    await createTask({ title: 'fits again' });

    expectQuotaProblem(
      await call('POST', TASKS, { body: { title: 'full again' } }),
      TASKS,
      'tasks',
      MAX_TASKS,
    );
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
      tasks: MAX_TASKS,
      taskCount: MAX_TASKS,
    });
  });

  it('frees the slots of subtasks deleted with their parent', async () => {
    const parent = await createTask({ title: 'parent' });
    await createTask({ title: 'sub 1', parentId: parent.id });
    await createTask({ title: 'sub 2', parentId: parent.id });
    await createTask({ title: 'other' });
    expect((await call('POST', TASKS, { body: { title: 'refused' } })).statusCode).toBe(403);

    expect((await call('DELETE', `${TASKS}/${parent.id}`)).statusCode).toBe(204);
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({ tasks: 1, taskCount: 1 });

    await fillTasks(MAX_TASKS - 1);
    expect((await call('POST', TASKS, { body: { title: 'refused' } })).statusCode).toBe(403);
  });

  it('frees the slots of every task deleted with its list, subtasks included', async () => {
    const list = await createList('L');
    const parent = await createTask({ title: 'parent', listId: list.id });
    await createTask({ title: 'sub', listId: list.id, parentId: parent.id });
    await createTask({ title: 'listed', listId: list.id });
    await createTask({ title: 'inbox' });
    expectQuotaProblem(await call('POST', TASKS, { body: { title: 'refused' } }), TASKS, 'tasks', MAX_TASKS);

    expect((await call('DELETE', `${LISTS}/${list.id}`)).statusCode).toBe(204);
    await expect(holdings(fixture.sql, ALICE)).resolves.toEqual({
      tasks: 1,
      lists: 0,
      taskCount: 1,
      listCount: 0,
    });

    await fillTasks(MAX_TASKS - 1);
    expectQuotaProblem(await call('POST', TASKS, { body: { title: 'refused' } }), TASKS, 'tasks', MAX_TASKS);
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
      tasks: MAX_TASKS,
      taskCount: MAX_TASKS,
    });
  });

  it('holds exactly with one slot left and 20 concurrent creates: one 201, nineteen 403', async () => {
    await fillTasks(MAX_TASKS - 1);

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call('POST', TASKS, { body: { title: `racer ${i}` } })),
    );

    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(1);
    for (const res of responses.filter((r) => r.statusCode !== 201)) {
      expectQuotaProblem(res, TASKS, 'tasks', MAX_TASKS, secrets());
    }
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
      tasks: MAX_TASKS,
      taskCount: MAX_TASKS,
    });
  });

  it('holds exactly for a new user: 20 concurrent first creates give exactly MAX_TASKS_PER_USER tasks', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call('POST', TASKS, { body: { title: `racer ${i}` } })),
    );

    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(MAX_TASKS);
    for (const res of responses.filter((r) => r.statusCode !== 201)) {
      expectQuotaProblem(res, TASKS, 'tasks', MAX_TASKS, secrets());
    }
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
      tasks: MAX_TASKS,
      taskCount: MAX_TASKS,
    });
  });

  it('holds exactly with one slot left and 20 concurrent creates of subtasks in a list', async () => {
    const list = await createList('L');
    const parent = await createTask({ title: 'parent', listId: list.id });
    await fillTasks(MAX_TASKS - 2);

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call('POST', TASKS, { body: { title: `sub ${i}`, listId: list.id, parentId: parent.id } }),
      ),
    );

    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(1);
    for (const res of responses.filter((r) => r.statusCode !== 201)) {
      expectQuotaProblem(res, TASKS, 'tasks', MAX_TASKS, secrets());
    }
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
      tasks: MAX_TASKS,
      taskCount: MAX_TASKS,
    });
  });

  it('answers an Idempotency-Key replay with the first 201 when the user is at the quota', async () => {
    await fillTasks(MAX_TASKS - 1);
    const headers = { 'idempotency-key': 'last-slot' };
    const first = await call('POST', TASKS, { body: { title: 'last one' }, headers });
    expect(first.statusCode).toBe(201);
    expectQuotaProblem(await call('POST', TASKS, { body: { title: 'no room' } }), TASKS, 'tasks', MAX_TASKS);

    const replay = await call('POST', TASKS, { body: { title: 'last one' }, headers });

    expect(replayOf(replay)).toEqual(replayOf(first));
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
      tasks: MAX_TASKS,
      taskCount: MAX_TASKS,
    });
  });

  it('leaves a key refused for the quota free: the retry after a slot is freed creates the task', async () => {
    const ids = await fillTasks(MAX_TASKS);
    const headers = { 'idempotency-key': 'when-there-is-room' };
    const refused = await call('POST', TASKS, { body: { title: 'later' }, headers });
    expectQuotaProblem(refused, TASKS, 'tasks', MAX_TASKS, secrets());
    await expect(idempotencyKeys()).resolves.toBe(0);

    expect((await call('DELETE', `${TASKS}/${ids[0]}`)).statusCode).toBe(204);
    const retry = await call('POST', TASKS, { body: { title: 'later' }, headers });

    expect(retry.statusCode).toBe(201);
    expect(retry.json()).toMatchObject({ title: 'later', userId: ALICE });
    await expect(idempotencyKeys()).resolves.toBe(1);
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
      tasks: MAX_TASKS,
      taskCount: MAX_TASKS,
    });
  });

  it('is per user: Alice at her quota does not stop Bob, and Bob cannot fill Alice', async () => {
    await fillTasks(MAX_TASKS);
    expect((await call('POST', TASKS, { body: { title: 'refused' } })).statusCode).toBe(403);

    await fillTasks(MAX_TASKS, BOB);
    expectQuotaProblem(
      await call('POST', TASKS, { as: BOB, body: { title: 'x' } }),
      TASKS,
      'tasks',
      MAX_TASKS,
    );
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
      tasks: MAX_TASKS,
      taskCount: MAX_TASKS,
    });
    await expect(holdings(fixture.sql, BOB)).resolves.toMatchObject({
      tasks: MAX_TASKS,
      taskCount: MAX_TASKS,
    });

    // Bob deleting his own task frees a slot for Bob only.
    const { rows } = await fixture.sql.query(`select id from tasks where user_id = $1 limit 1`, [BOB]);
    expect((await call('DELETE', `${TASKS}/${rows[0].id}`, { as: BOB })).statusCode).toBe(204);
    expect((await call('POST', TASKS, { body: { title: 'still refused' } })).statusCode).toBe(403);
    expect((await call('POST', TASKS, { as: BOB, body: { title: 'fits' } })).statusCode).toBe(201);
  });

  it('answers a bad body with 400 and a bad reference with 422 before the quota (contract order)', async () => {
    await fillTasks(MAX_TASKS);

    const bad = await call('POST', TASKS, { body: { title: '' } });
    expectValidationProblem(
      bad,
      TASKS,
      [{ field: 'title', message: 'must be 1 to 255 characters' }],
      secrets(),
    );
    const unknownList = await call('POST', TASKS, { body: { title: 'x', listId: randomUUID() } });
    expectProblem(
      unknownList,
      {
        status: 422,
        code: 'REFERENCE_NOT_FOUND',
        title: 'Reference not found',
        detail: 'listId does not name one of your lists',
        instance: TASKS,
      },
      secrets(),
    );
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
      tasks: MAX_TASKS,
      taskCount: MAX_TASKS,
    });
  });

  it('does not count a create that failed', async () => {
    await fillTasks(MAX_TASKS - 1);
    expect((await call('POST', TASKS, { body: { title: 'x', listId: randomUUID() } })).statusCode).toBe(422);
    expect((await call('POST', TASKS, { body: { title: 'a\u0000b' } })).statusCode).toBe(400);

    await createTask({ title: 'the last slot' });
    expect((await call('POST', TASKS, { body: { title: 'refused' } })).statusCode).toBe(403);
  });
});

describe('MAX_LISTS_PER_USER', () => {
  it('refuses the create past the limit with 403 QUOTA_EXCEEDED and `limit`, storing nothing', async () => {
    await fillLists(MAX_LISTS);

    const res = await call('POST', LISTS, { body: { name: 'one too many' } });

    expectQuotaProblem(res, LISTS, 'lists', MAX_LISTS, secrets());
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
      lists: MAX_LISTS,
      listCount: MAX_LISTS,
    });
  });

  it('frees a slot when a list is deleted, and a rename takes no slot', async () => {
    const ids = await fillLists(MAX_LISTS);
    expect((await call('PATCH', `${LISTS}/${ids[1]}`, { body: { name: 'renamed' } })).statusCode).toBe(200);
    expect((await call('POST', LISTS, { body: { name: 'refused' } })).statusCode).toBe(403);

    expect((await call('DELETE', `${LISTS}/${ids[0]}`)).statusCode).toBe(204);
    await createList('fits again');

    expectQuotaProblem(
      await call('POST', LISTS, { body: { name: 'full again' } }),
      LISTS,
      'lists',
      MAX_LISTS,
    );
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
      lists: MAX_LISTS,
      listCount: MAX_LISTS,
    });
  });

  it('holds exactly with one slot left and 20 concurrent creates (distinct names): one 201, nineteen 403', async () => {
    await fillLists(MAX_LISTS - 1);

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call('POST', LISTS, { body: { name: `racer ${i}` } })),
    );

    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(1);
    for (const res of responses.filter((r) => r.statusCode !== 201)) {
      expectQuotaProblem(res, LISTS, 'lists', MAX_LISTS, secrets());
    }
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
      lists: MAX_LISTS,
      listCount: MAX_LISTS,
    });
  });

  it('holds exactly for a new user: 20 concurrent first creates give exactly MAX_LISTS_PER_USER lists', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call('POST', LISTS, { body: { name: `racer ${i}` } })),
    );

    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(MAX_LISTS);
    for (const res of responses.filter((r) => r.statusCode !== 201)) {
      expectQuotaProblem(res, LISTS, 'lists', MAX_LISTS, secrets());
    }
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
      lists: MAX_LISTS,
      listCount: MAX_LISTS,
    });
  });

  it('is per user, and independent of the task quota', async () => {
    await fillLists(MAX_LISTS);
    expect((await call('POST', LISTS, { body: { name: 'refused' } })).statusCode).toBe(403);

    await fillLists(MAX_LISTS, BOB);
    expectQuotaProblem(
      await call('POST', LISTS, { as: BOB, body: { name: 'x' } }),
      LISTS,
      'lists',
      MAX_LISTS,
    );
    // Alice, at her list quota, can still create tasks; at her task quota, still lists (after deleting one).
    await fillTasks(MAX_TASKS);
    const { rows } = await fixture.sql.query(`select id from lists where user_id = $1 limit 1`, [ALICE]);
    expect((await call('DELETE', `${LISTS}/${rows[0].id}`)).statusCode).toBe(204);
    await createList('a list while tasks are full');
    await expect(holdings(fixture.sql, ALICE)).resolves.toEqual({
      tasks: MAX_TASKS,
      lists: MAX_LISTS,
      taskCount: MAX_TASKS,
      listCount: MAX_LISTS,
    });
    await expect(holdings(fixture.sql, BOB)).resolves.toMatchObject({
      lists: MAX_LISTS,
      listCount: MAX_LISTS,
    });
  });

  it('does not count a create that failed', async () => {
    await fillLists(MAX_LISTS - 1);
    expect((await call('POST', LISTS, { body: { name: 'LIST 0' } })).statusCode).toBe(409);
    expect((await call('POST', LISTS, { body: { name: 'a\u0001b' } })).statusCode).toBe(400);

    await createList('the last slot');
    expectQuotaProblem(await call('POST', LISTS, { body: { name: 'refused' } }), LISTS, 'lists', MAX_LISTS);
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
      lists: MAX_LISTS,
      listCount: MAX_LISTS,
    });
  });

  it('answers a bad name with 400 before the quota', async () => {
    await fillLists(MAX_LISTS);

    const res = await call('POST', LISTS, { body: { name: '  ' } });

    expectValidationProblem(
      res,
      LISTS,
      [{ field: 'name', message: 'must be 1 to 100 characters after trimming, without control characters' }],
      secrets(),
    );
  });

  it('answers a taken name at the quota with 409 or 403, never 201 or 5xx', async () => {
    await fillLists(MAX_LISTS);

    const res = await call('POST', LISTS, { body: { name: 'LIST 0' } });

    expect([403, 409]).toContain(res.statusCode);
    expect(res.json().code).toBe(res.statusCode === 403 ? 'QUOTA_EXCEEDED' : 'LIST_NAME_TAKEN');
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
      lists: MAX_LISTS,
      listCount: MAX_LISTS,
    });
  });
});
