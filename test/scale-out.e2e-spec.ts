import type { HTTPMethods } from 'fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type pg from 'pg';
import { bootApp, TEST_JWT_SECRET } from './helpers/boot-app';
import { Stream } from './helpers/change-stream';
import { expectProblem, expectTaskShape, replayOf, type InjectResponse } from './helpers/http-assert';
import { productionAppEnv, tokenFor } from './helpers/http';
import { expectQuotaProblem, holdings } from './helpers/lists';
import { PROBLEM } from './helpers/tasks-http';
import { createTestDatabase, sqlClient, type TestDatabase } from './helpers/test-database';

/**
 * Several instances (issue 13): two instances of the service on one database,
 * every request of a scenario sent alternately to A and to B.
 *
 * Why this shows that no state lives in a process: each scenario only passes
 * if what one instance did is known to the other, and the only thing the two
 * share is PostgreSQL (and the configured secrets). Were idempotency keys
 * remembered in memory, B would create a second task for A's key; were the
 * version check or the quota counted per process, two PATCHes (one on each)
 * or twice the quota would succeed; were a cursor a server-side handle, B
 * would not know A's; and were changes announced inside a process, B's stream
 * would never hear of a write on A. The instances run in one Node process here
 * but are separate Nest applications, each with its own module registry
 * (bootApp resets it), pools and listener, so nothing is shared in memory.
 */

const TASKS = '/api/v1/tasks';
const LISTS = '/api/v1/lists';
const MAX_TASKS = 5;
const MAX_LISTS = 3;
/** A deadline that catches a stream that never delivers; the 1 s promise is asserted on the measured time. */
const EVENT_DEADLINE_MS = 5000;

let db: TestDatabase;
let sql: pg.Pool;
let a: NestFastifyApplication;
let b: NestFastifyApplication;
let urlB: string;

beforeAll(async () => {
  db = await createTestDatabase();
  sql = sqlClient(db.url);
  const env = {
    ...productionAppEnv(db),
    METRICS_PORT: '0',
    MAX_TASKS_PER_USER: String(MAX_TASKS),
    MAX_LISTS_PER_USER: String(MAX_LISTS),
  };
  a = await bootApp(env);
  b = await bootApp(env);
  // The stream needs a real socket; every other request goes through inject.
  await b.listen(0, '127.0.0.1');
  urlB = await b.getUrl();
}, 120_000);

afterAll(async () => {
  // fetch leaves an aborted stream's socket open; cut it so that close() does not wait for it.
  b?.getHttpServer().closeAllConnections();
  await b?.close();
  await a?.close();
  await sql?.end();
  await db?.drop();
}, 60_000);

let users = 0;
/** A user of the test's own, so that no test sees another's tasks or quota. */
const newUser = () => `scale_out_user_${++users}`;

const tokens = new Map<string, string>();
async function bearer(user: string): Promise<string> {
  if (!tokens.has(user)) tokens.set(user, await tokenFor(user, TEST_JWT_SECRET, '30m'));
  return `Bearer ${tokens.get(user)}`;
}

type Send = (
  method: HTTPMethods,
  url: string,
  options?: { body?: unknown; headers?: Record<string, string> },
) => Promise<InjectResponse>;

/**
 * Requests as `user`, the first to A, the next to B, and so on. The instance is
 * chosen when the call is made, so calls started together in Promise.all alternate too.
 */
function alternately(user: string): Send {
  const apps = [a, b];
  let n = 0;
  return async (method, url, options = {}) => {
    const app = apps[n++ % 2];
    const headers: Record<string, string> = { authorization: await bearer(user), ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    return app.inject({ method, url, headers, payload });
  };
}

const secrets = () => [...tokens.values(), TEST_JWT_SECRET];

async function countOf(table: 'tasks' | 'idempotency_keys', user: string): Promise<number> {
  const { rows } = await sql.query(`select count(*)::int as n from ${table} where user_id = $1`, [user]);
  return rows[0].n;
}

describe('two instances on one database', () => {
  it('replays an idempotent create on the other instance, and refuses the key with another body there', async () => {
    const me = newUser();
    const send = alternately(me);
    const headers = { 'idempotency-key': 'scale-out-create-1' };

    const created = await send('POST', TASKS, { body: { title: 'Buy milk' }, headers }); // A
    expect(created.statusCode).toBe(201);
    expectTaskShape(created.json());
    expect(created.headers.location).toBe(`${TASKS}/${created.json().id}`);
    const replays = [
      await send('POST', TASKS, { body: { title: 'Buy milk' }, headers }), // B
      await send('POST', TASKS, { body: { title: 'Buy milk' }, headers }), // A
    ];
    for (const replay of replays) expect(replayOf(replay)).toEqual(replayOf(created));

    const reused = await send('POST', TASKS, { body: { title: 'Buy oat milk' }, headers }); // B

    expectProblem(reused, { ...PROBLEM.reused, instance: TASKS }, secrets());
    await expect(countOf('tasks', me)).resolves.toBe(1);
    await expect(countOf('idempotency_keys', me)).resolves.toBe(1);
  });

  it('creates one task for one key sent to both instances at once', async () => {
    const me = newUser();
    const send = alternately(me);
    const headers = { 'idempotency-key': 'scale-out-race' };

    const responses = await Promise.all(
      Array.from({ length: 10 }, () => send('POST', TASKS, { body: { title: 'Once' }, headers })),
    );

    // Each racer either is answered the one task (created, or replayed once the
    // first has committed) or finds the first still running.
    const created = responses.filter((r) => r.statusCode === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    for (const res of created) expect(res.json()).toEqual(created[0].json());
    for (const res of responses.filter((r) => r.statusCode !== 201)) {
      expectProblem(res, { ...PROBLEM.inProgress, instance: TASKS }, secrets());
    }
    const { rows } = await sql.query('select id from tasks where user_id = $1', [me]);
    expect(rows).toEqual([{ id: created[0].json().id }]);
  });

  it('lets exactly one of 20 concurrent PATCHes with the same If-Match win, across both', async () => {
    const me = newUser();
    const send = alternately(me);
    const task = (await send('POST', TASKS, { body: { title: 'contested' } })).json();
    expect(task.version).toBe(1);
    const url = `${TASKS}/${task.id}`;

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        send('PATCH', url, { body: { title: `racer ${i}` }, headers: { 'if-match': '"1"' } }),
      ),
    );

    const winners = responses.filter((r) => r.statusCode === 200);
    expect(winners).toHaveLength(1);
    for (const res of responses.filter((r) => r.statusCode !== 200)) {
      expectProblem(res, { ...PROBLEM.precondition, instance: url }, secrets());
    }
    const winner = winners[0].json();
    expect(winner).toMatchObject({ id: task.id, version: 2 });
    expect(winners[0].headers.etag).toBe('"2"');
    const { rows } = await sql.query('select title, version from tasks where id = $1', [task.id]);
    expect(rows).toEqual([{ title: winner.title, version: 2 }]);
  });

  it('continues on B a page walk begun on A, every task exactly once, in order', async () => {
    const me = newUser();
    const send = alternately(me);
    for (let i = 0; i < MAX_TASKS; i++) {
      expect((await send('POST', TASKS, { body: { title: `task ${i}` } })).statusCode).toBe(201);
    }
    const walk = alternately(me);

    const pages: { items: { id: string }[]; nextCursor: string | null }[] = [];
    let cursor: string | null = null;
    do {
      const query = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const res = await walk('GET', `${TASKS}?limit=2${query}`); // A, B, A
      expect(res.statusCode).toBe(200);
      pages.push(res.json());
      cursor = pages[pages.length - 1].nextCursor;
    } while (cursor !== null && pages.length < 10);

    expect(pages.map((p) => p.items.length)).toEqual([2, 2, 1]);
    const { rows } = await sql.query(
      'select id from tasks where user_id = $1 order by created_at desc, id desc',
      [me],
    );
    expect(pages.flatMap((p) => p.items.map((t) => t.id))).toEqual(rows.map((r) => r.id));
  });

  it.each([
    {
      route: TASKS,
      kind: 'tasks',
      max: MAX_TASKS,
      over: 15,
      body: (i: number) => ({ title: `racer ${i}` }),
      stored: { tasks: MAX_TASKS, taskCount: MAX_TASKS },
    },
    {
      route: LISTS,
      kind: 'lists',
      max: MAX_LISTS,
      over: 7,
      body: (i: number) => ({ name: `list ${i}` }),
      stored: { lists: MAX_LISTS, listCount: MAX_LISTS },
    },
  ] as const)(
    'holds the quota of $kind exactly over both: N+$over concurrent creates give N $kind',
    async ({ route, kind, max, over, body, stored }) => {
      const me = newUser();
      const send = alternately(me);

      const responses = await Promise.all(
        Array.from({ length: max + over }, (_, i) => send('POST', route, { body: body(i) })),
      );

      expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(max);
      for (const res of responses.filter((r) => r.statusCode !== 201)) {
        expectQuotaProblem(res, route, kind, max, secrets());
      }
      await expect(holdings(sql, me)).resolves.toMatchObject(stored);
    },
  );

  it('delivers a change written on A to a stream held on B within 1 s', async () => {
    const me = newUser();
    const stream = await Stream.open(urlB, me);
    try {
      expect(stream.response.status).toBe(200);

      let sent = performance.now();
      const created = await a.inject({
        method: 'POST',
        url: TASKS,
        headers: { authorization: await bearer(me), 'content-type': 'application/json' },
        payload: JSON.stringify({ title: 'written on A' }),
      });
      expect(created.statusCode).toBe(201);
      const [first] = await stream.take(1, EVENT_DEADLINE_MS);
      expect(first.at - sent).toBeLessThan(1000);
      expect(first.data).toEqual({
        kind: 'task',
        id: created.json().id,
        deleted: false,
        data: created.json(),
      });

      sent = performance.now();
      const updated = await a.inject({
        method: 'PATCH',
        url: `${TASKS}/${created.json().id}`,
        headers: { authorization: await bearer(me), 'content-type': 'application/json', 'if-match': '"1"' },
        payload: JSON.stringify({ completed: true }),
      });
      expect(updated.statusCode).toBe(200);
      const [second] = await stream.take(1, EVENT_DEADLINE_MS);
      expect(second.at - sent).toBeLessThan(1000);
      expect(second.data).toEqual({
        kind: 'task',
        id: created.json().id,
        deleted: false,
        data: updated.json(),
      });
      expect(updated.json()).toMatchObject({ version: 2, completed: true });

      // The event's id, issued by B, is a resume point on A: nothing lies after it.
      const after = await a.inject({
        method: 'GET',
        url: `/api/v1/changes?since=${encodeURIComponent(second.id)}`,
        headers: { authorization: await bearer(me) },
      });
      expect(after.statusCode).toBe(200);
      expect(after.json()).toMatchObject({ changes: [], hasMore: false });
    } finally {
      stream.close();
    }
  });
});
