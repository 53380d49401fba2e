import { randomUUID } from 'node:crypto';
import { TEST_JWT_SECRET } from './helpers/boot-app';
import { startHttpApp, tokenFor, type HttpFixture } from './helpers/http';
import {
  comparable,
  expectProblem,
  expectTaskShape,
  expectValidationProblem,
  type InjectResponse,
  type TaskJson,
} from './helpers/http-assert';
import {
  ApiClient,
  expectMoved,
  expectPositionsAscending,
  POSITION_RE,
  TASKS,
  type Group,
} from './helpers/move';
import { PROBLEM as TASK_PROBLEM } from './helpers/tasks-http';

/**
 * POST /api/v1/tasks/{id}/move (shared/spec/http-api.md, "manual order")
 * through Fastify's inject against the production app on a real PostgreSQL.
 * The order is always read back through GET /api/v1/tasks?…&sort=position, and
 * what a refused move must not change is compared with the stored rows. Each
 * test works as a user of its own, so tests do not depend on one another.
 */

const PROBLEM = {
  ...TASK_PROBLEM,
  afterNotFound: {
    status: 422,
    code: 'REFERENCE_NOT_FOUND',
    title: 'Reference not found',
    detail: 'after does not name one of your tasks',
  },
} as const;

let fixture: HttpFixture;

beforeAll(async () => {
  fixture = await startHttpApp();
}, 30_000);

afterAll(async () => {
  await fixture?.close();
}, 30_000);

/** A user of the test's own. */
function newUser(prefix = 'mover'): ApiClient {
  return new ApiClient(fixture, `${prefix}_${randomUUID()}`);
}

const moveUrl = (id: string) => `${TASKS}/${id}/move`;
const ids = (tasks: readonly { id: string }[]) => tasks.map((t) => t.id);
const TOP: Group = { listId: null, parentId: null };

interface StoredRow {
  id: string;
  listId: string | null;
  parentId: string | null;
  position: string;
  version: number;
  updatedUs: string;
}

/** The user's rows as stored, by id: what a refused move must leave exactly as it was. */
async function storedRows(user: string): Promise<StoredRow[]> {
  const { rows } = await fixture.sql.query<StoredRow>(
    `select id, list_id as "listId", parent_id as "parentId", position, version,
            to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as "updatedUs"
     from tasks where user_id = $1 order by id`,
    [user],
  );
  return rows;
}

/** A list's top-level rows as stored, in the byte order of their positions (then id). */
async function storedSiblings(user: string, listId: string): Promise<StoredRow[]> {
  const { rows } = await fixture.sql.query<StoredRow>(
    `select id, list_id as "listId", parent_id as "parentId", position, version,
            to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as "updatedUs"
     from tasks where user_id = $1 and list_id = $2 and parent_id is null
     order by position collate "C", id`,
    [user, listId],
  );
  return rows;
}

async function storedRow(id: string): Promise<Omit<StoredRow, 'id' | 'updatedUs'> | undefined> {
  const { rows } = await fixture.sql.query<StoredRow>(
    `select list_id as "listId", parent_id as "parentId", position, version from tasks where id = $1`,
    [id],
  );
  return rows[0];
}

/** The moved task as stored: its place and version agree with the answer. */
async function expectStored(task: TaskJson): Promise<void> {
  expect(await storedRow(task.id)).toEqual({
    listId: task.listId,
    parentId: task.parentId,
    position: task.position,
    version: task.version,
  });
}

/**
 * A small world for one user: lists L and M; in L the top-level tasks a, b and
 * the parent p (after b) with the subtasks p1, p2; in M the task m1; in the
 * inbox the task i1.
 */
async function world() {
  const user = newUser();
  const L = await user.createList('L');
  const M = await user.createList('M');
  const [a, b, p] = await user.createTasks(['a', 'b', 'p'], { listId: L });
  const p1 = await user.createTask({ title: 'p1', listId: L, parentId: p.id });
  const p2 = await user.createTask({ title: 'p2', listId: L, parentId: p.id });
  const m1 = await user.createTask({ title: 'm1', listId: M });
  const i1 = await user.createTask({ title: 'i1' });
  return { user, L, M, a, b, p, p1, p2, m1, i1 };
}

describe('POST /api/v1/tasks/{id}/move: the place among the siblings', () => {
  it('moves the task last among its current siblings with {}', async () => {
    const user = newUser();
    const [a, b, c] = await user.createTasks(['a', 'b', 'c']);

    const res = await user.move(a.id);

    const moved = await expectMoved(user, res, {
      id: a.id,
      listId: null,
      parentId: null,
      title: 'a',
      version: 2,
      createdAt: a.createdAt,
    });
    await expectStored(moved);
    expect(await user.orderIds(TOP)).toEqual([b.id, c.id, a.id]);
    expect(moved.position > c.position).toBe(true);
  });

  it('moves the task first with after: null', async () => {
    const user = newUser();
    const L = await user.createList('L');
    const [a, b, c] = await user.createTasks(['a', 'b', 'c'], { listId: L });

    const res = await user.move(c.id, { after: null });

    const moved = await expectMoved(user, res, { id: c.id, listId: L, parentId: null, version: 2 });
    await expectStored(moved);
    expect(await user.orderIds({ listId: L, parentId: null })).toEqual([c.id, a.id, b.id]);
  });

  it('puts the task directly after the sibling named by after', async () => {
    const user = newUser();
    const [a, b, c, d] = await user.createTasks(['a', 'b', 'c', 'd']);

    await expectMoved(user, await user.move(d.id, { after: a.id }), { id: d.id, version: 2 });
    expect(await user.orderIds(TOP)).toEqual([a.id, d.id, b.id, c.id]);

    // After the last sibling: last.
    await expectMoved(user, await user.move(a.id, { after: c.id }), { id: a.id, version: 2 });
    expect(await user.orderIds(TOP)).toEqual([d.id, b.id, c.id, a.id]);

    // Into the middle, twice into the same gap: the later one comes first.
    await expectMoved(user, await user.move(d.id, { after: b.id }), { id: d.id, version: 3 });
    await expectMoved(user, await user.move(a.id, { after: b.id }), { id: a.id, version: 3 });
    expect(await user.orderIds(TOP)).toEqual([b.id, a.id, d.id, c.id]);
  });

  it('orders subtasks among the subtasks of their parent, leaving the parent and its siblings alone', async () => {
    const user = newUser();
    const L = await user.createList('L');
    const [p, q] = await user.createTasks(['p', 'q'], { listId: L });
    const [x, y, z] = await user.createTasks(['x', 'y', 'z'], { listId: L, parentId: p.id });
    const before = (await user.order({ listId: L, parentId: null })).map((t) => [t.id, t.version]);

    const first = await expectMoved(user, await user.move(z.id, { after: null }), {
      id: z.id,
      listId: L,
      parentId: p.id,
      version: 2,
    });
    await expectStored(first);
    await expectMoved(user, await user.move(x.id, { after: y.id }), { id: x.id, parentId: p.id });
    await expectMoved(user, await user.move(z.id), { id: z.id, parentId: p.id, version: 3 });

    expect(await user.orderIds({ listId: L, parentId: p.id })).toEqual([y.id, x.id, z.id]);
    expect((await user.order({ listId: L, parentId: null })).map((t) => [t.id, t.version])).toEqual(before);
    expect(before).toEqual([
      [p.id, 1],
      [q.id, 1],
    ]);
  });

  it.each([
    ['{} on the last sibling', (t: Record<string, TaskJson>) => ({ task: t.c, body: {} })],
    [
      'after: null on the first sibling',
      (t: Record<string, TaskJson>) => ({ task: t.a, body: { after: null } }),
    ],
    ['after: its own predecessor', (t: Record<string, TaskJson>) => ({ task: t.b, body: { after: t.a.id } })],
  ])('counts a move to where the task already is (%s) as an update', async (_case, pick) => {
    const user = newUser();
    const [a, b, c] = await user.createTasks(['a', 'b', 'c']);
    const { task, body } = pick({ a, b, c });
    const before = await storedRows(user.user);

    const res = await user.move(task.id, body);

    const moved = await expectMoved(user, res, { id: task.id, listId: null, parentId: null, version: 2 });
    expect(moved.updatedAt > task.updatedAt).toBe(true);
    await expectStored(moved);
    expect(await user.orderIds(TOP)).toEqual([a.id, b.id, c.id]);
    // Only the moved task was updated.
    const after = await storedRows(user.user);
    expect(after.filter((r) => r.id !== task.id)).toEqual(before.filter((r) => r.id !== task.id));
  });
});

describe('POST /api/v1/tasks/{id}/move: the target list and parent', () => {
  it('keeps the list when listId is absent; parentId: null makes a subtask top level in that list, last', async () => {
    const { user, L, a, b, p, p1, p2 } = await world();

    const res = await user.move(p1.id, { parentId: null });

    const moved = await expectMoved(user, res, { id: p1.id, listId: L, parentId: null, version: 2 });
    await expectStored(moved);
    expect(await user.orderIds({ listId: L, parentId: null })).toEqual([a.id, b.id, p.id, p1.id]);
    expect(await user.orderIds({ listId: L, parentId: p.id })).toEqual([p2.id]);
  });

  it("puts the task into the parent's list when parentId comes without listId", async () => {
    const { user, L, M, p, p1, p2, m1, i1 } = await world();

    // From the inbox, and from another list.
    const fromInbox = await expectMoved(user, await user.move(i1.id, { parentId: p.id }), {
      id: i1.id,
      listId: L,
      parentId: p.id,
      version: 2,
    });
    await expectStored(fromInbox);
    const fromM = await expectMoved(user, await user.move(m1.id, { parentId: p.id, after: p1.id }), {
      id: m1.id,
      listId: L,
      parentId: p.id,
      version: 2,
    });
    await expectStored(fromM);

    expect(await user.orderIds({ listId: L, parentId: p.id })).toEqual([p1.id, m1.id, p2.id, i1.id]);
    expect(await user.orderIds(TOP)).toEqual([]);
    expect(await user.orderIds({ listId: M, parentId: null })).toEqual([]);
  });

  it('keeps the parent when parentId is absent and the list stays the same', async () => {
    const { user, L, p, p1, p2 } = await world();

    const res = await user.move(p2.id, { listId: L, after: null });

    const moved = await expectMoved(user, res, { id: p2.id, listId: L, parentId: p.id, version: 2 });
    await expectStored(moved);
    expect(await user.orderIds({ listId: L, parentId: p.id })).toEqual([p2.id, p1.id]);
  });

  it.each([
    ['another list', 'M'],
    ['the inbox', 'inbox'],
  ] as const)('detaches a subtask moved to %s without parentId: top level there, last', async (_c, to) => {
    const { user, L, M, a, b, p, p1, p2, m1, i1 } = await world();
    const listId = to === 'M' ? M : null;

    const res = await user.move(p1.id, { listId });

    const moved = await expectMoved(user, res, { id: p1.id, listId, parentId: null, version: 2 });
    await expectStored(moved);
    expect(await user.orderIds({ listId, parentId: null })).toEqual(
      to === 'M' ? [m1.id, p1.id] : [i1.id, p1.id],
    );
    expect(await user.orderIds({ listId: L, parentId: p.id })).toEqual([p2.id]);
    expect(await user.orderIds({ listId: L, parentId: null })).toEqual([a.id, b.id, p.id]);
  });

  it('moves to the given list and parent together, after a sibling there', async () => {
    const user = newUser();
    const L = await user.createList('L');
    const q = await user.createTask({ title: 'q' });
    const [q1, q2] = await user.createTasks(['q1', 'q2'], { parentId: q.id });
    const t = await user.createTask({ title: 't', listId: L });

    const res = await user.move(t.id, { listId: null, parentId: q.id, after: q1.id });

    const moved = await expectMoved(user, res, { id: t.id, listId: null, parentId: q.id, version: 2 });
    await expectStored(moved);
    expect(await user.orderIds({ listId: null, parentId: q.id })).toEqual([q1.id, t.id, q2.id]);
    expect(await user.orderIds({ listId: L, parentId: null })).toEqual([]);
  });

  it('takes the subtasks along when a parent changes list: each updated, their order kept', async () => {
    const { user, L, M, a, b, p, p1, p2, m1 } = await world();
    const p3 = await user.createTask({ title: 'p3', listId: L, parentId: p.id });
    await expectMoved(user, await user.move(p3.id, { after: null }), { id: p3.id, version: 2 });
    const subtasks = await user.order({ listId: L, parentId: p.id });
    expect(ids(subtasks)).toEqual([p3.id, p1.id, p2.id]);

    const res = await user.move(p.id, { listId: M, after: null });

    const moved = await expectMoved(user, res, { id: p.id, listId: M, parentId: null, version: 2 });
    await expectStored(moved);
    expect(await user.orderIds({ listId: M, parentId: null })).toEqual([p.id, m1.id]);
    expect(await user.orderIds({ listId: L, parentId: null })).toEqual([a.id, b.id]);
    expect(await user.orderIds({ listId: L, parentId: p.id })).toEqual([]);
    const carried = await user.order({ listId: M, parentId: p.id });
    expect(ids(carried)).toEqual([p3.id, p1.id, p2.id]);
    for (const [i, subtask] of carried.entries()) {
      const was = subtasks[i];
      // Their order is what must be kept; their positions may be new.
      expect(subtask).toEqual({
        ...was,
        listId: M,
        version: was.version + 1,
        position: subtask.position,
        updatedAt: subtask.updatedAt,
      });
      expect(subtask.updatedAt > was.updatedAt).toBe(true);
      await expectStored(subtask);
    }

    // And back to the inbox: once more, each subtask is updated.
    await expectMoved(user, await user.move(p.id, { listId: null }), { id: p.id, listId: null, version: 3 });
    const inInbox = await user.order({ listId: null, parentId: p.id });
    expect(inInbox.map((t) => [t.id, t.listId, t.version])).toEqual([
      [p3.id, null, 4],
      [p1.id, null, 3],
      [p2.id, null, 3],
    ]);
  });

  it('leaves the subtasks untouched when their parent moves within its list', async () => {
    const { user, L, a, b, p } = await world();
    const before = await user.order({ listId: L, parentId: p.id });

    await expectMoved(user, await user.move(p.id, { after: null }), { id: p.id, listId: L, version: 2 });

    expect(await user.orderIds({ listId: L, parentId: null })).toEqual([p.id, a.id, b.id]);
    expect(await user.order({ listId: L, parentId: p.id })).toEqual(before);
  });
});

describe('POST /api/v1/tasks/{id}/move: refused moves change nothing', () => {
  type World = Awaited<ReturnType<typeof world>>;

  /** Sends the move and checks the exact problem, and that no stored row changed. */
  async function expectRefused(
    w: World,
    task: TaskJson,
    body: Record<string, unknown>,
    problem: { status: number; code: string; title: string; detail: string },
    headers?: Record<string, string>,
  ): Promise<InjectResponse> {
    const before = await storedRows(w.user.user);
    const res = await w.user.move(task.id, body, headers);
    expectProblem(res, { ...problem, instance: moveUrl(task.id) }, [TEST_JWT_SECRET]);
    expect(await storedRows(w.user.user)).toEqual(before);
    return res;
  }

  const afterCases: [string, (w: World) => Promise<Record<string, unknown>>][] = [
    ['a task in another list', async (w) => ({ after: w.m1.id })],
    ['a task in the inbox', async (w) => ({ after: w.i1.id })],
    [
      'a sibling where the task is now, when the target is another list',
      async (w) => ({ listId: w.M, after: w.b.id }),
    ],
    ['a subtask, when the target is the top level', async (w) => ({ after: w.p1.id })],
    [
      'a top-level task, when the target is under a parent',
      async (w) => ({ parentId: w.p.id, after: w.b.id }),
    ],
    ['the target parent itself', async (w) => ({ parentId: w.p.id, after: w.p.id })],
    ['the task itself', async (w) => ({ after: w.a.id })],
    ['a random UUID', async () => ({ after: randomUUID() })],
    [
      "another user's task",
      async () => {
        const stranger = newUser('stranger');
        const theirs = await stranger.createTask({ title: 'theirs', listId: await stranger.createList('L') });
        return { after: theirs.id };
      },
    ],
  ];

  it.each(afterCases)('answers 422 REFERENCE_NOT_FOUND for an after that is %s', async (_case, body) => {
    const w = await world();
    await expectRefused(w, w.a, await body(w), PROBLEM.afterNotFound);
  });

  it("answers a listId of another user's exactly like a random UUID: 422 REFERENCE_NOT_FOUND", async () => {
    const w = await world();
    const stranger = newUser('stranger');
    const theirList = await stranger.createList('L');
    const theirs = await stranger.createTask({ title: 'theirs', listId: theirList });

    const foreign = await expectRefused(w, w.a, { listId: theirList }, PROBLEM.listNotFound);
    const missing = await expectRefused(w, w.a, { listId: randomUUID() }, PROBLEM.listNotFound);

    expect(comparable(foreign)).toEqual(comparable(missing));
    expect(await stranger.orderIds({ listId: theirList, parentId: null })).toEqual([theirs.id]);
  });

  it("answers a parentId of another user's exactly like a random UUID: 422 REFERENCE_NOT_FOUND", async () => {
    const w = await world();
    const stranger = newUser('stranger');
    const theirs = await stranger.createTask({ title: 'theirs' });

    const foreign = await expectRefused(w, w.a, { parentId: theirs.id }, PROBLEM.parentNotFound);
    const missing = await expectRefused(w, w.a, { parentId: randomUUID() }, PROBLEM.parentNotFound);
    // With the list given too, the answer is the same.
    const withList = await expectRefused(
      w,
      w.i1,
      { listId: null, parentId: theirs.id },
      PROBLEM.parentNotFound,
    );

    expect(comparable(foreign)).toEqual(comparable(missing));
    expect(comparable(foreign)).toEqual(comparable(withList));
    expect(await stranger.orderIds(TOP)).toEqual([theirs.id]);
  });

  it('answers 422 INVALID_PARENT for a subtask as the parent', async () => {
    const w = await world();
    await expectRefused(
      w,
      w.a,
      { parentId: w.p1.id },
      PROBLEM.invalidParent('The parent is itself a subtask'),
    );
    await expectRefused(
      w,
      w.m1,
      { parentId: w.p1.id },
      PROBLEM.invalidParent('The parent is itself a subtask'),
    );
  });

  it('answers 422 INVALID_PARENT for a parent in another list than the one given', async () => {
    const w = await world();
    const inM = PROBLEM.invalidParent('The parent is in another list');
    await expectRefused(w, w.a, { listId: w.M, parentId: w.p.id }, inM);
    await expectRefused(w, w.m1, { listId: w.M, parentId: w.p.id }, inM);
    await expectRefused(w, w.i1, { listId: null, parentId: w.p.id }, inM);
  });

  it('answers 422 INVALID_PARENT for a task with subtasks becoming a subtask', async () => {
    const w = await world();
    const problem = PROBLEM.invalidParent('A task that has subtasks cannot become a subtask');
    await expectRefused(w, w.p, { parentId: w.a.id }, problem);
    await expectRefused(w, w.p, { listId: w.L, parentId: w.b.id, after: null }, problem);
    const otherParent = await w.user.createTask({ title: 'other parent', listId: w.M });
    await expectRefused(w, w.p, { parentId: otherParent.id }, problem);
  });

  it('answers 422 INVALID_PARENT for the task as its own parent', async () => {
    const w = await world();
    await expectRefused(
      w,
      w.a,
      { parentId: w.a.id },
      PROBLEM.invalidParent('A task cannot be its own parent'),
    );
  });

  it('answers 412 for a stale If-Match (also a weak one) and moves with a matching one', async () => {
    const w = await world();
    await expectMoved(w.user, await w.user.move(w.a.id), { id: w.a.id, version: 2 });
    const a = await w.user.get(w.a.id);

    await expectRefused(w, a, { after: null }, PROBLEM.precondition, { 'if-match': '"1"' });
    await expectRefused(w, a, { after: null }, PROBLEM.precondition, { 'if-match': 'W/"2"' });
    // 412 comes before the 422 of a bad reference.
    await expectRefused(w, a, { after: randomUUID() }, PROBLEM.precondition, { 'if-match': '"1"' });

    const matched = await expectMoved(
      w.user,
      await w.user.move(a.id, { after: null }, { 'if-match': '"2"' }),
      {
        id: a.id,
        version: 3,
      },
    );
    await expectStored(matched);
    await expectMoved(w.user, await w.user.move(a.id, { after: w.b.id }, { 'if-match': '"1", "3"' }), {
      id: a.id,
      version: 4,
    });
    await expectMoved(w.user, await w.user.move(a.id, { after: null }, { 'if-match': '*' }), {
      id: a.id,
      version: 5,
    });
    expect(await w.user.orderIds({ listId: w.L, parentId: null })).toEqual([a.id, w.b.id, w.p.id]);
  });

  it("answers 404 for another user's task exactly as for a missing one, and leaves it alone", async () => {
    const w = await world();
    const owner = newUser('owner');
    const theirs = await owner.createTask({ title: 'theirs' });
    const before = await storedRows(owner.user);

    const foreign = await w.user.move(theirs.id, {});
    const missingId = randomUUID();
    const missing = await w.user.move(missingId, {});

    expectProblem(foreign, { ...PROBLEM.notFound, instance: moveUrl(theirs.id) });
    expectProblem(missing, { ...PROBLEM.notFound, instance: moveUrl(missingId) });
    expect(comparable(foreign)).toEqual(comparable(missing));
    // 404 comes before the 412 and the 422s.
    const loaded = await w.user.move(theirs.id, { after: randomUUID() }, { 'if-match': '"9"' });
    expectProblem(loaded, { ...PROBLEM.notFound, instance: moveUrl(theirs.id) });
    expect(await storedRows(owner.user)).toEqual(before);
  });

  it('answers 400 for ids that are not UUIDs and for fields the move does not take', async () => {
    const w = await world();
    const before = await storedRows(w.user.user);

    const badId = await w.user.call('POST', `${TASKS}/not-a-uuid/move`, { body: {} });
    expectValidationProblem(badId, `${TASKS}/not-a-uuid/move`, [{ field: 'id', message: 'must be a UUID' }]);
    const badRefs = await w.user.move(w.a.id, { listId: 'x', parentId: 7, after: 'first' });
    expectValidationProblem(badRefs, moveUrl(w.a.id), [
      { field: 'listId', message: 'must be a UUID or null' },
      { field: 'parentId', message: 'must be a UUID or null' },
      { field: 'after', message: 'must be a UUID or null' },
    ]);
    const unknown = await w.user.move(w.a.id, { position: 'a0' });
    expectValidationProblem(unknown, moveUrl(w.a.id), [{ field: 'position', message: 'is not allowed' }]);

    expect(await storedRows(w.user.user)).toEqual(before);
  });
});

describe('POST /api/v1/tasks/{id}/move: many moves', () => {
  it('keeps 300 moves to the front within 64 characters and in exactly the expected order', async () => {
    const user = newUser();
    const L = await user.createList('L');
    const group = { listId: L, parentId: null };
    let expected = ids(
      await user.createTasks(
        Array.from({ length: 30 }, (_, i) => `t${i}`),
        { listId: L },
      ),
    );
    const tooLong: string[] = [];

    for (let i = 1; i <= 300; i++) {
      // The current last task goes first.
      const last = expected[expected.length - 1];
      const res = await user.move(last, { after: null });
      expect(res.statusCode).toBe(200);
      const { position } = res.json<TaskJson>();
      if (!POSITION_RE.test(position)) tooLong.push(position);
      expected = [last, ...expected.slice(0, -1)];
      if (i % 50 === 0) expect(await user.orderIds(group)).toEqual(expected);
    }

    expect(tooLong).toEqual([]);
    const final = await user.order(group);
    expectPositionsAscending(final);
    expect(ids(final)).toEqual(expected);
    // 300 is ten full turns of 30: the original order again, each task moved ten times.
    expect(final.map((t) => [t.title, t.version])).toEqual(
      Array.from({ length: 30 }, (_, i) => [`t${i}`, 11]),
    );
  }, 30_000);

  it.each([
    ['between 20 other siblings on each side (a window of them is renumbered)', 20],
    ['in a list of only those four (all of them are renumbered)', 0],
  ])(
    'renumbers siblings when one gap is used up, %s: positions within 64, order exact, renumbered siblings updated',
    async (_case, side) => {
      const user = newUser();
      const L = await user.createList('L');
      const group = { listId: L, parentId: null };
      const left = await user.createTasks(
        Array.from({ length: side }, (_, i) => `l${i}`),
        { listId: L },
      );
      const [anchor, p, q, right] = await user.createTasks(['anchor', 'p', 'q', 'right'], { listId: L });
      const far = await user.createTasks(
        Array.from({ length: side }, (_, i) => `r${i}`),
        { listId: L },
      );

      // Each move puts one of p, q directly after the anchor, ahead of the other:
      // the gap between the anchor and the nearer of them is split again and again.
      // After every move the stored rows are compared with the previous ones; the
      // API's order is read at every renumbering, every 30 moves and at the end.
      let movers = [p.id, q.id];
      const expectedOrder = () => [...ids(left), anchor.id, ...movers, right.id, ...ids(far)];
      let previous = new Map((await storedSiblings(user.user, L)).map((r) => [r.id, r]));
      let renumberings = 0;
      const untouchedSiblings = new Set(previous.keys());
      const MOVES = 420; // the server's keys outgrow 64 characters after ~370 splits of one gap

      for (let i = 1; i <= MOVES; i++) {
        const mover = movers[1];
        const res = await user.move(mover, { after: anchor.id });
        expect(res.statusCode).toBe(200);
        movers = [mover, movers[0]];

        const now = await storedSiblings(user.user, L);
        expect(ids(now)).toEqual(expectedOrder());
        const changed: { id: string; version: [number, number]; updatedLater: boolean }[] = [];
        for (const row of now) {
          const was = previous.get(row.id)!;
          if (row.id === mover) {
            expect([row.version, row.updatedUs > was.updatedUs]).toEqual([was.version + 1, true]);
          } else if (row.position !== was.position || row.version !== was.version) {
            changed.push({
              id: row.id,
              version: [was.version, row.version],
              updatedLater: row.updatedUs > was.updatedUs,
            });
            untouchedSiblings.delete(row.id);
          }
        }
        // Every renumbered sibling is an updated task: version +1, a later updatedAt.
        expect(changed).toEqual(
          changed.map((c) => ({ ...c, version: [c.version[0], c.version[0] + 1], updatedLater: true })),
        );
        if (changed.length > 0) renumberings++;
        if (changed.length > 0 || i % 30 === 0 || i === MOVES) {
          const listed = await user.order(group);
          expectPositionsAscending(listed);
          expect(listed.map((t) => [t.id, t.position, t.version])).toEqual(
            now.map((r) => [r.id, r.position, r.version]),
          );
        }
        previous = new Map(now.map((r) => [r.id, r]));
      }

      expect(renumberings).toBeGreaterThanOrEqual(1);
      if (side > 0) {
        // The window is bounded: the outermost siblings kept their positions and versions.
        expect([untouchedSiblings.has(left[0].id), untouchedSiblings.has(far[far.length - 1].id)]).toEqual([
          true,
          true,
        ]);
      }
      const stored = await storedRows(user.user);
      expect(stored.filter((r) => r.position.length > 64)).toEqual([]);
    },
    90_000,
  );

  describe('concurrently, over HTTP', () => {
    let baseUrl: string;

    beforeAll(async () => {
      await fixture.app.listen(0, '127.0.0.1');
      const { port } = fixture.app.getHttpServer().address() as { port: number };
      baseUrl = `http://127.0.0.1:${port}`;
    });

    it('answers 20 simultaneous moves into one list without a 5xx, losing or duplicating no task', async () => {
      const user = newUser();
      const authorization = `Bearer ${await tokenFor(user.user, TEST_JWT_SECRET, '30m')}`;
      const T = await user.createList('T');
      const S = await user.createList('S');
      const fixed = await user.createTasks(['x0', 'x1', 'x2', 'x3'], { listId: T });
      const [parent1, parent2] = await user.createTasks(['parent1', 'parent2'], { listId: S });
      const subtasks = [
        ...(await user.createTasks(['c1a', 'c1b'], { listId: S, parentId: parent1.id })),
        ...(await user.createTasks(['c2a', 'c2b'], { listId: S, parentId: parent2.id })),
      ];
      const others = [
        ...(await user.createTasks(['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7'], { listId: S })),
        ...(await user.createTasks(['i0', 'i1', 'i2', 'i3', 'i4', 'i5', 'i6', 'i7', 'i8', 'i9'])),
      ];
      const movers = [parent1, parent2, ...others];
      expect(movers).toHaveLength(20);
      // Where each goes: first, last, or right after one of the fixed tasks of T.
      const targets: (string | null | undefined)[] = [null, undefined, ...ids(fixed)];
      const plan = movers.map((task, i) => ({ task, after: targets[i % targets.length] }));

      const answers = await Promise.all(
        plan.map(async ({ task, after }) => {
          const res = await fetch(`${baseUrl}${moveUrl(task.id)}`, {
            method: 'POST',
            headers: { authorization, 'content-type': 'application/json' },
            body: JSON.stringify({ listId: T, ...(after === undefined ? {} : { after }) }),
            signal: AbortSignal.timeout(10_000),
          });
          return { status: res.status, body: (await res.json()) as TaskJson };
        }),
      );

      expect(answers.map((a) => a.status)).toEqual(plan.map(() => 200));
      for (const [i, { body }] of answers.entries()) {
        expectTaskShape(body);
        expect([body.id, body.listId, body.parentId, body.version]).toEqual([plan[i].task.id, T, null, 2]);
      }

      const order = ids(await user.order({ listId: T, parentId: null }));
      expect([...order].sort()).toEqual([...ids(fixed), ...ids(movers)].sort());
      // Whatever order they committed in: the firsts are ahead of every fixed task,
      // those after a fixed task lie between it and the next one, the lasts come last.
      const segment = (after: string | null | undefined) =>
        plan
          .filter((m) => m.after === after)
          .map((m) => m.task.id)
          .sort();
      const at = fixed.map((t) => order.indexOf(t.id));
      expect(at).toEqual([...at].sort((x, y) => x - y));
      const between = (from: number, to: number) => order.slice(from, to).sort();
      expect(between(0, at[0])).toEqual(segment(null));
      for (let k = 0; k < fixed.length - 1; k++) {
        expect(between(at[k] + 1, at[k + 1])).toEqual(segment(fixed[k].id));
      }
      expect(between(at[3] + 1, order.length)).toEqual(
        [...segment(fixed[3].id), ...segment(undefined)].sort(),
      );
      const tail = order.slice(at[3] + 1);
      expect(tail.slice(-segment(undefined).length).sort()).toEqual(segment(undefined));

      expect(await user.orderIds({ listId: S, parentId: null })).toEqual([]);
      expect(await user.orderIds(TOP)).toEqual([]);
      for (const parent of [parent1, parent2]) {
        const carried = await user.order({ listId: T, parentId: parent.id });
        expect(carried.map((t) => [t.title, t.listId, t.version])).toEqual(
          subtasks.filter((s) => s.parentId === parent.id).map((s) => [s.title, T, 2]),
        );
      }
      const all = await user.all();
      expect(all).toHaveLength(4 + 20 + 4);
      expect(new Set(ids(all)).size).toBe(all.length);
    }, 30_000);
  });
});
