import { SyncTokenCodec } from '../src/sync/sync-token-codec';
import { applyChanges, currentState, type Change } from './helpers/changes';
import { TEST_JWT_SECRET } from './helpers/boot-app';
import {
  expectProblem,
  expectValidationProblem,
  type InjectResponse,
  type TaskJson,
} from './helpers/http-assert';
import {
  ALICE,
  BASE,
  BOB,
  call,
  createTask,
  secrets,
  sql,
  taskUrl,
  useTasksHttp,
} from './helpers/tasks-http';

/**
 * GET /api/v1/changes, the Change feed section of shared/spec/http-api.md:
 * first syncs, incremental pages in commit order with tombstones, paging,
 * tokens bound to their user and use, retention, and the promise that no
 * change is skipped while another transaction of the same user is running.
 */

useTasksHttp();

const CHANGES = '/api/v1/changes';
const INVALID_SINCE = { field: 'since', message: 'is not a valid sync token' };
const BAD_LIMIT = { field: 'limit', message: 'must be an integer from 1 to 1000' };

interface Page {
  changes: Change[];
  next: string;
  hasMore: boolean;
}

async function changes(since?: string, options: { limit?: number; as?: string } = {}): Promise<Page> {
  const query = new URLSearchParams();
  if (since !== undefined) query.set('since', since);
  if (options.limit !== undefined) query.set('limit', String(options.limit));
  const res = await call('GET', `${CHANGES}?${query.toString()}`, { as: options.as ?? ALICE });
  expect({ status: res.statusCode, body: res.statusCode === 200 ? 'a page' : res.json() }).toEqual({
    status: 200,
    body: 'a page',
  });
  return res.json<Page>();
}

/** Every page from `since` until hasMore is false: the changes in order, and the last next. */
async function drain(since: string | undefined, limit = 100, as = ALICE) {
  const all: Change[] = [];
  let next = since;
  for (let pages = 1; ; pages++) {
    const page = await changes(next, { limit, as });
    all.push(...page.changes);
    next = page.next;
    if (!page.hasMore) return { all, next, pages };
  }
}

async function createList(name: string, as = ALICE): Promise<Record<string, unknown>> {
  const res = await call('POST', '/api/v1/lists', { as, body: { name } });
  expect(res.statusCode).toBe(201);
  return res.json();
}

async function get(url: string, as = ALICE): Promise<Record<string, unknown>> {
  const res = await call('GET', url, { as });
  expect(res.statusCode).toBe(200);
  return res.json();
}

describe('GET /api/v1/changes without since', () => {
  it("gives the caller's lists, then tasks, in their latest state, and no deletions", async () => {
    const gone = await createTask({ title: 'gone' });
    const task = await createTask({ title: 'first' });
    const list = await createList('Home');
    expect((await call('DELETE', taskUrl(gone.id))).statusCode).toBe(204);
    await createTask({ title: 'bob' }, BOB);

    const page = await changes();

    expect(page.changes).toEqual([
      { kind: 'list', id: list.id, deleted: false, data: await get(`/api/v1/lists/${String(list.id)}`) },
      { kind: 'task', id: task.id, deleted: false, data: await get(taskUrl(task.id)) },
    ]);
    expect(page.hasMore).toBe(false);
  });

  it('gives an empty page and a token to an account with nothing yet', async () => {
    const page = await changes();

    expect(page).toEqual({ changes: [], next: expect.any(String), hasMore: false });
    const task = await createTask();
    expect((await changes(page.next)).changes.map((c) => c.id)).toEqual([task.id]);
  });
});

describe('GET /api/v1/changes?since=…', () => {
  it('gives every create, update and delete after the token once, in its latest state, in commit order', async () => {
    const kept = await createTask({ title: 'kept' });
    const doomed = await createTask({ title: 'doomed' });
    const { next } = await changes();

    const added = await createTask({ title: 'added' });
    await call('PATCH', taskUrl(kept.id), { body: { title: 'kept, renamed' } });
    await call('PATCH', taskUrl(added.id), { body: { priority: 'high' } });
    await call('DELETE', taskUrl(doomed.id));

    const page = await changes(next);

    expect(page.changes).toEqual([
      { kind: 'task', id: kept.id, deleted: false, data: await get(taskUrl(kept.id)) },
      { kind: 'task', id: added.id, deleted: false, data: await get(taskUrl(added.id)) },
      { kind: 'task', id: doomed.id, deleted: true },
    ]);
    expect(page.changes[1].data?.priority).toBe('high');
    expect(page.hasMore).toBe(false);
    expect((await changes(page.next)).changes).toEqual([]);
  });

  it('puts a page’s lists before its tasks, and reports the tasks deleted with their list', async () => {
    const list = await createList('Errands');
    const inList = await createTask({ title: 'in the list', listId: list.id });
    const sub = await createTask({ title: 'subtask', parentId: inList.id });
    const { next } = await changes();

    await call('PATCH', taskUrl(inList.id), { body: { title: 'renamed first' } });
    expect((await call('DELETE', `/api/v1/lists/${String(list.id)}`)).statusCode).toBe(204);

    const page = await changes(next);

    expect(page.changes[0]).toEqual({ kind: 'list', id: list.id, deleted: true });
    expect(new Set(page.changes.slice(1).map((c) => JSON.stringify(c)))).toEqual(
      new Set([
        JSON.stringify({ kind: 'task', id: inList.id, deleted: true }),
        JSON.stringify({ kind: 'task', id: sub.id, deleted: true }),
      ]),
    );
    expect(page.changes).toHaveLength(3);
  });

  it('records the siblings a move renumbers', async () => {
    const tasks: TaskJson[] = [];
    for (let i = 0; i < 3; i++) tasks.push(await createTask({ title: `t${i}` }));
    const { next } = await changes();

    const moved = await call('POST', `${taskUrl(tasks[2].id)}/move`, { body: { after: null } });
    expect(moved.statusCode).toBe(200);

    const page = await changes(next);
    const latest = new Map(page.changes.map((c) => [c.id, c.data]));
    expect(latest.get(tasks[2].id)).toEqual(await get(taskUrl(tasks[2].id)));
  });

  it('never shows another user’s changes', async () => {
    const { next } = await changes();
    const bobs = await createTask({ title: 'bob' }, BOB);
    await call('PATCH', taskUrl(bobs.id), { as: BOB, body: { title: 'bob 2' } });
    await call('DELETE', taskUrl(bobs.id), { as: BOB });

    expect((await changes(next)).changes).toEqual([]);
    expect((await changes(undefined, { as: BOB })).changes).toEqual([]);
  });
});

describe('paging', () => {
  it('walks 2 at a time to exactly the caller’s state, and says hasMore until the end', async () => {
    const list = await createList('Work');
    const created: TaskJson[] = [];
    for (let i = 0; i < 5; i++) created.push(await createTask({ title: `task ${i}`, listId: list.id }));
    await call('DELETE', taskUrl(created[0].id));

    const first = await drain(undefined, 2);
    const copy = applyChanges(new Map(), first.all);

    expect(first.pages).toBe(3);
    expect(copy).toEqual(await currentState());

    await call('PATCH', taskUrl(created[1].id), { body: { title: 'changed' } });
    await call('DELETE', taskUrl(created[2].id));
    const later = await drain(first.next, 1);
    expect(later.all).toEqual([
      { kind: 'task', id: created[1].id, deleted: false, data: await get(taskUrl(created[1].id)) },
      { kind: 'task', id: created[2].id, deleted: true },
    ]);
    expect(later.pages).toBe(2);
    expect(applyChanges(copy, later.all)).toEqual(await currentState());
  });

  it.each([
    ['0', [BAD_LIMIT]],
    ['1001', [BAD_LIMIT]],
    ['ten', [BAD_LIMIT]],
    ['-1', [BAD_LIMIT]],
  ])('refuses limit=%s with 400', async (limit, errors) => {
    const res = await call('GET', `${CHANGES}?limit=${limit}`);
    expectValidationProblem(res, CHANGES, errors, secrets());
  });

  it('refuses an unknown query parameter with 400', async () => {
    const res = await call('GET', `${CHANGES}?after=1`);
    expectValidationProblem(res, CHANGES, [{ field: 'after', message: 'is not allowed' }], secrets());
  });
});

describe('sync tokens', () => {
  const codec = new SyncTokenCodec(TEST_JWT_SECRET);
  const since = (token: string) => call('GET', `${CHANGES}?since=${encodeURIComponent(token)}`);

  it.each([
    ['altered', (t: string) => `${t.slice(0, -2)}AA`],
    ['cut', (t: string) => t.slice(0, 10)],
    ['empty', () => ''],
    ['not a token', () => 'hello'],
  ])('refuses an %s token with 400', async (_case, alter) => {
    const { next } = await changes();
    expectValidationProblem(await since(alter(next)), CHANGES, [INVALID_SINCE], secrets());
  });

  it("refuses another user's token with 400", async () => {
    const { next } = await changes(undefined, { as: BOB });
    expectValidationProblem(await since(next), CHANGES, [INVALID_SINCE], secrets());
  });

  it('refuses a list cursor as a token, and a token as a list cursor', async () => {
    for (let i = 0; i < 3; i++) await createTask({ title: `t${i}` });
    const cursor = (await call('GET', `${BASE}?limit=1`)).json<{ nextCursor: string }>().nextCursor;
    const { next } = await changes();

    expectValidationProblem(await since(cursor), CHANGES, [INVALID_SINCE], secrets());
    const res = await call('GET', `${BASE}?cursor=${encodeURIComponent(next)}`);
    expectValidationProblem(
      res,
      BASE,
      [{ field: 'cursor', message: 'is not a valid cursor for this list' }],
      secrets(),
    );
  });

  it('answers 410 SYNC_TOKEN_EXPIRED to a token older than CHANGE_RETENTION_DAYS (30)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = codec.encode(ALICE, { position: '0', issuedAt: now - 30 * 86_400 - 60 });
    const fresh = codec.encode(ALICE, { position: '0', issuedAt: now - 29 * 86_400 });

    expectProblem(
      await since(old),
      {
        status: 410,
        code: 'SYNC_TOKEN_EXPIRED',
        title: 'Sync token expired',
        detail: 'The sync token is older than 30 days; sync again without since',
        instance: CHANGES,
      },
      secrets(),
    );
    expect((await since(fresh)).statusCode).toBe(200);
  });
});

describe('no change is skipped, and no user waits for another', () => {
  it("holds one user's writes behind their open transaction, not other users' writes or anyone's reads", async () => {
    const held = await createTask({ title: 'held' });
    const other = await createTask({ title: 'other' });
    const { next } = await changes();

    const client = await sql().connect();
    let patch: Promise<InjectResponse> | undefined;
    try {
      await client.query('begin');
      // A write of Alice's, left uncommitted: it holds her owners row (her change counter).
      await client.query(
        `update tasks set title = 'in the open transaction' where user_id = $1 and id = $2`,
        [ALICE, held.id],
      );

      let settled = false;
      patch = call('PATCH', taskUrl(other.id), { body: { title: 'waits its turn' } }).finally(() => {
        settled = true;
      });
      // Bob writes and reads; Alice reads: none of them waits for her transaction.
      const started = Date.now();
      const bobs = await createTask({ title: 'bob goes on' }, BOB);
      expect((await changes(undefined, { as: BOB })).changes.map((c) => c.id)).toEqual([bobs.id]);
      const during = await changes(next);
      expect(Date.now() - started).toBeLessThan(2000);
      // Nothing of hers is visible yet, and nothing is handed out past her running transaction.
      expect(during).toEqual({ changes: [], next: expect.any(String), hasMore: false });
      expect(settled).toBe(false);

      await client.query('commit');
      expect((await patch).statusCode).toBe(200);

      // A reader with the token from during the transaction sees both changes, in commit order.
      const after = await changes(during.next);
      expect(after.changes.map((c) => [c.id, c.data?.title])).toEqual([
        [held.id, 'in the open transaction'],
        [other.id, 'waits its turn'],
      ]);
    } finally {
      await client.query('rollback').catch(() => undefined);
      client.release();
      await patch;
    }
  });
});
