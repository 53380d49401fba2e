import { randomUUID } from 'node:crypto';
import type { HTTPMethods } from 'fastify';
import { TEST_JWT_SECRET } from './helpers/boot-app';
import {
  comparable,
  expectNoLeak,
  expectProblem,
  expectTaskShape,
  expectValidationProblem,
  UUID_RE,
  type InjectResponse,
  type TaskJson,
} from './helpers/http-assert';
import { TASK_SORTS } from '../src/tasks/task.types';
import { startHttpApp, tokenFor, type HttpFixture } from './helpers/http';

/**
 * The HTTP contract of the task routes (shared/spec/http-api.md), through
 * Fastify's inject against the production app on a real PostgreSQL. Every
 * write is also checked in the database with plain SQL, independent of the code
 * under test. JWT verification itself is covered elsewhere; here a missing
 * token is the only 401.
 */

const BASE = '/api/v1/tasks';
const ALICE = 'user_alice';
const BOB = 'user_bob';
const MISSING_ID = '00000000-0000-4000-8000-000000000000';

const PROBLEM = {
  notFound: { status: 404, code: 'TASK_NOT_FOUND', title: 'Task not found', detail: 'Task not found' },
  precondition: {
    status: 412,
    code: 'PRECONDITION_FAILED',
    title: 'Precondition failed',
    detail: 'The task has been changed since the given version',
  },
  unsupported: {
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    title: 'Unsupported media type',
    detail: 'The request body must be sent as application/json',
  },
  tooLarge: {
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    title: 'Payload too large',
    detail: 'The request body is larger than 64 KiB',
  },
  routeNotFound: { status: 404, code: 'ROUTE_NOT_FOUND', title: 'Route not found', detail: 'No such route' },
  methodNotAllowed: {
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
    title: 'Method not allowed',
    detail: 'The route does not support this method',
  },
  missingToken: {
    status: 401,
    code: 'MISSING_TOKEN',
    title: 'Unauthorized',
    detail: 'A bearer token is required',
  },
  inProgress: {
    status: 409,
    code: 'IDEMPOTENCY_KEY_IN_PROGRESS',
    title: 'Idempotency key in progress',
    detail: 'A request with this Idempotency-Key is still being processed',
  },
  reused: {
    status: 422,
    code: 'IDEMPOTENCY_KEY_REUSED',
    title: 'Idempotency key reused',
    detail: 'This Idempotency-Key was already used with a different request body',
  },
} as const;

const TITLE_LENGTH = { field: 'title', message: 'must be 1 to 255 characters' };
const NOT_A_UUID = { field: 'id', message: 'must be a UUID' };
const BAD_CURSOR = { field: 'cursor', message: 'is not a valid cursor for this list' };
const EMPTY_PATCH = {
  field: 'body',
  message:
    'must contain at least one of title, description, completed, listId, parentId, priority, tags, due, recurrence',
};
const NOT_AN_OBJECT = { field: 'body', message: 'must be a JSON object' };
const BAD_QUERY_ENCODING = { field: 'query', message: 'must be valid percent-encoded UTF-8' };
const BAD_KEY = { field: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' };
const notAllowed = (field: string) => ({ field, message: 'is not allowed' });
const noNul = (field: string) => ({ field, message: 'must not contain the NUL character' });

const EMOJI = '😀'; // one code point, two UTF-16 units, four UTF-8 bytes
const SORTS = ['createdAt', '-createdAt', 'updatedAt', '-updatedAt', 'title', '-title'] as const;
type Sort = (typeof SORTS)[number];

let fixture: HttpFixture;
const tokens = new Map<string, string>();
/** Every token this file issued: none may ever appear in a response body. */
const secrets = () => [...tokens.values(), TEST_JWT_SECRET];

interface Call {
  /** Whose token to send; null sends no Authorization header. Alice by default. */
  as?: string | null;
  headers?: Record<string, string | string[]>;
  /** Sent as application/json. */
  body?: unknown;
  /** Sent as-is, with only the headers given. */
  raw?: string | Buffer;
}

async function call(method: HTTPMethods, url: string, options: Call = {}): Promise<InjectResponse> {
  const user = options.as === undefined ? ALICE : options.as;
  const headers: Record<string, string | string[]> = {};
  if (user !== null) {
    if (!tokens.has(user)) tokens.set(user, await tokenFor(user, TEST_JWT_SECRET, '30m'));
    headers.authorization = `Bearer ${tokens.get(user)}`;
  }
  let payload: string | Buffer | undefined = options.raw;
  if (options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  return fixture.app.inject({ method, url, headers: { ...headers, ...options.headers }, payload });
}

async function createTask(body: Record<string, unknown> = { title: 'Buy milk' }, as = ALICE) {
  const res = await call('POST', BASE, { as, body });
  expect(res.statusCode).toBe(201);
  const task = res.json();
  expectTaskShape(task);
  return task;
}

/** The stored row, timestamps at full (microsecond) precision and as the API shows them. */
async function row(id: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await fixture.sql.query(
    `select id, user_id, list_id, parent_id, title, description, completed, version, priority, tags,
            to_char(due_date, 'YYYY-MM-DD') as due_date, to_char(due_time, 'HH24:MI') as due_time, due_time_zone,
            recurrence, position,
            to_char(completed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as completed_ms,
            to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as created_us,
            to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as updated_us,
            to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_ms,
            to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as updated_ms
     from tasks where id = $1`,
    [id],
  );
  return rows[0];
}

async function count(table: 'tasks' | 'idempotency_keys'): Promise<number> {
  const { rows } = await fixture.sql.query(`select count(*)::int as n from ${table}`);
  return rows[0].n;
}

/** The row as the API should show it. */
function asTask(r: Record<string, unknown>): TaskJson {
  return {
    id: r.id as string,
    userId: r.user_id as string,
    listId: r.list_id as string | null,
    parentId: r.parent_id as string | null,
    title: r.title as string,
    description: r.description as string | null,
    completed: r.completed as boolean,
    completedAt: r.completed_ms as string | null,
    priority: r.priority as TaskJson['priority'],
    tags: r.tags as string[],
    due:
      r.due_date === null
        ? null
        : {
            date: r.due_date as string,
            time: r.due_time as string | null,
            timeZone: r.due_time_zone as string | null,
          },
    recurrence: r.recurrence as string | null,
    position: r.position as string,
    createdAt: r.created_ms as string,
    updatedAt: r.updated_ms as string,
    version: r.version as number,
  };
}

const taskUrl = (id: string) => `${BASE}/${id}`;

beforeAll(async () => {
  fixture = await startHttpApp();
});

afterAll(async () => {
  await fixture?.close();
});

beforeEach(async () => {
  await fixture.sql.query('truncate tasks, idempotency_keys');
});

describe('POST /api/v1/tasks', () => {
  it('creates the task: 201 with exactly the Task, Location, ETag "1", the title trimmed, the row stored', async () => {
    const res = await call('POST', BASE, { body: { title: '  Buy milk \n', description: '2 litres' } });

    expect(res.statusCode).toBe(201);
    const task = res.json();
    expectTaskShape(task);
    expect(task).toMatchObject({
      userId: ALICE,
      title: 'Buy milk',
      description: '2 litres',
      completed: false,
      version: 1,
    });
    expect(task.updatedAt).toBe(task.createdAt);
    expect(res.headers.location).toBe(`/api/v1/tasks/${task.id}`);
    expect(res.headers.etag).toBe('"1"');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const stored = await row(task.id);
    expect(stored).toBeDefined();
    expect(asTask(stored!)).toEqual(task);
    await expect(count('tasks')).resolves.toBe(1);
  });

  it('defaults description to null and completed to false, and takes completed and description: null', async () => {
    const plain = await createTask({ title: 'plain' });
    expect(plain).toMatchObject({ description: null, completed: false });

    const done = await createTask({ title: 'done', description: null, completed: true });
    expect(done).toMatchObject({ description: null, completed: true });
    await expect(row(done.id)).resolves.toMatchObject({ description: null, completed: true });
  });

  it('accepts application/json with a charset parameter', async () => {
    const res = await call('POST', BASE, {
      raw: JSON.stringify({ title: 'charset' }),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });

    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ title: 'charset' });
  });

  it.each([
    ['id', randomUUID()],
    ['userId', BOB],
    ['version', 7],
    ['createdAt', '2020-01-01T00:00:00.000Z'],
    ['updatedAt', '2020-01-01T00:00:00.000Z'],
    ['completedAt', '2020-01-01T00:00:00.000Z'],
    ['position', 'a0'],
    ['owner', 'x'],
  ])(
    'refuses the unknown or server-owned field %s with a 400 naming it, storing nothing',
    async (field, value) => {
      const res = await call('POST', BASE, { body: { title: 'x', [field]: value } });

      expectValidationProblem(res, BASE, [notAllowed(field)], secrets());
      await expect(count('tasks')).resolves.toBe(0);
    },
  );

  it('lists every unknown field of one body', async () => {
    const res = await call('POST', BASE, { body: { title: 'x', id: randomUUID(), userId: BOB } });

    expect(res.statusCode).toBe(400);
    const fields = (res.json().errors as { field: string }[]).map((e) => e.field).sort();
    expect(fields).toEqual(['id', 'userId']);
    await expect(count('tasks')).resolves.toBe(0);
  });

  it.each([
    ['empty', ''],
    ['only white space', ' \t\n '],
    ['256 code points', EMOJI.repeat(256)],
    ['256 ASCII characters', 'a'.repeat(256)],
    ['256 characters after trimming', `  ${'b'.repeat(256)}  `],
  ])('refuses a title that is %s', async (_case, title) => {
    const res = await call('POST', BASE, { body: { title } });

    expectValidationProblem(res, BASE, [TITLE_LENGTH], secrets());
    await expect(count('tasks')).resolves.toBe(0);
  });

  it.each([
    ['missing', {}, 'is required'],
    ['null', { title: null }, 'is required'],
    ['a number', { title: 42 }, 'must be a string'],
    ['an array', { title: ['a'] }, 'must be a string'],
  ])('refuses a title that is %s', async (_case, body, message) => {
    const res = await call('POST', BASE, { body });

    expectValidationProblem(res, BASE, [{ field: 'title', message }], secrets());
    await expect(count('tasks')).resolves.toBe(0);
  });

  it('fits 255 emoji in a title (code points, not UTF-16 units), after trimming', async () => {
    const title = EMOJI.repeat(255);
    const task = await createTask({ title: `  ${title}  ` });

    expect(task.title).toBe(title);
    const { rows } = await fixture.sql.query('select char_length(title) as n from tasks where id = $1', [
      task.id,
    ]);
    expect(rows[0].n).toBe(255);
  });

  it('takes a description of 10,000 code points and refuses 10,001', async () => {
    const description = EMOJI.repeat(10_000);
    const task = await createTask({ title: 'long', description });
    expect(task.description).toBe(description);

    const res = await call('POST', BASE, { body: { title: 'longer', description: `${description}x` } });
    expectValidationProblem(
      res,
      BASE,
      [{ field: 'description', message: 'must be at most 10000 characters' }],
      secrets(),
    );
    await expect(count('tasks')).resolves.toBe(1);
  });

  it.each([
    ['description', { title: 'ok', description: 5 }, 'must be a string or null'],
    ['completed', { title: 'ok', completed: 'true' }, 'must be true or false'],
    ['completed', { title: 'ok', completed: null }, 'must be true or false'],
  ])('refuses a %s of the wrong type (%j)', async (field, body, message) => {
    const res = await call('POST', BASE, { body });

    expectValidationProblem(res, BASE, [{ field, message }], secrets());
    await expect(count('tasks')).resolves.toBe(0);
  });

  it('reports every problem of one body together', async () => {
    const res = await call('POST', BASE, { body: { title: '', description: 'd'.repeat(10_001) } });

    expectValidationProblem(
      res,
      BASE,
      [TITLE_LENGTH, { field: 'description', message: 'must be at most 10000 characters' }],
      secrets(),
    );
  });

  it.each([
    ['title', { title: 'a\u0000b' }],
    ['description', { title: 'ok', description: 'nul \u0000 inside' }],
  ])('answers a NUL character in the %s with a 400, not a 500', async (field, body) => {
    const res = await call('POST', BASE, { body });

    expectValidationProblem(res, BASE, [noNul(field)], secrets());
    await expect(count('tasks')).resolves.toBe(0);
  });

  it.each([
    ['an array', '[]'],
    ['a string', '"x"'],
    ['a number', '42'],
    ['null', 'null'],
    ['a boolean', 'true'],
  ])('refuses a body that is %s', async (_case, raw) => {
    const res = await call('POST', BASE, { raw, headers: { 'content-type': 'application/json' } });

    expectValidationProblem(res, BASE, [NOT_AN_OBJECT], secrets());
    await expect(count('tasks')).resolves.toBe(0);
  });

  it.each([
    ['malformed JSON', '{"title": "x"', 'must be valid JSON'],
    ['trailing garbage', '{"title": "x"} x', 'must be valid JSON'],
    ['an empty body', '', 'must not be empty'],
  ])('refuses %s as application/json with a 400 that does not echo it', async (_case, raw, message) => {
    const res = await call('POST', BASE, { raw, headers: { 'content-type': 'application/json' } });

    expectProblem(
      res,
      {
        status: 400,
        code: 'VALIDATION_ERROR',
        title: 'Validation failed',
        detail: `body ${message}`,
        instance: BASE,
        errors: [{ field: 'body', message }],
      },
      secrets(),
    );
    await expect(count('tasks')).resolves.toBe(0);
  });

  it('takes a body of exactly 64 KiB and refuses one byte more with 413, before parsing it', async () => {
    const json = JSON.stringify({ title: 'exactly 64 KiB' });
    const exact = json + ' '.repeat(64 * 1024 - json.length);
    expect(Buffer.byteLength(exact)).toBe(65_536);

    const ok = await call('POST', BASE, { raw: exact, headers: { 'content-type': 'application/json' } });
    expect(ok.statusCode).toBe(201);

    const over = await call('POST', BASE, {
      raw: `${exact} `,
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(over, { ...PROBLEM.tooLarge, instance: BASE }, secrets());

    // Not parsed first: malformed JSON over the limit is a 413 too, not a 400.
    const garbage = await call('POST', BASE, {
      raw: '{'.repeat(70_000),
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(garbage, { ...PROBLEM.tooLarge, instance: BASE }, secrets());
    await expect(count('tasks')).resolves.toBe(1);
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['application/x-www-form-urlencoded', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['application/merge-patch+json (PATCH only)', { 'content-type': 'application/merge-patch+json' }],
    ['no Content-Type', {}],
  ])('refuses a body sent as %s with 415', async (_case, headers) => {
    const res = await call('POST', BASE, { raw: JSON.stringify({ title: 'x' }), headers });

    expectProblem(res, { ...PROBLEM.unsupported, instance: BASE }, secrets());
    await expect(count('tasks')).resolves.toBe(0);
  });

  it.each([
    ['deeply nested arrays', `${'['.repeat(30_000)}${']'.repeat(30_000)}`, [NOT_AN_OBJECT]],
    [
      'a deeply nested unknown field',
      `{"title":"x","deep":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
      [notAllowed('deep')],
    ],
    [
      'a huge number',
      `{"title":"x","completed":1${'0'.repeat(50_000)}}`,
      [{ field: 'completed', message: 'must be true or false' }],
    ],
  ])('answers %s with 400 within 2 s', async (_case, raw, errors) => {
    const started = performance.now();
    const res = await call('POST', BASE, { raw, headers: { 'content-type': 'application/json' } });

    expect(performance.now() - started).toBeLessThan(2000);
    expectValidationProblem(res, BASE, errors, secrets());
  });

  it.each([
    ['__proto__', '{"title":"x","__proto__":{"completed":true}}'],
    ['constructor.prototype', '{"title":"x","constructor":{"prototype":{"completed":true}}}'],
  ])('refuses a body with a %s member with 400 and stores nothing', async (_case, raw) => {
    const res = await call('POST', BASE, { raw, headers: { 'content-type': 'application/json' } });

    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'VALIDATION_ERROR',
      errors: [{ field: 'body', message: 'must not contain __proto__ or constructor.prototype keys' }],
    });
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    await expect(count('tasks')).resolves.toBe(0);
  });

  it('refuses a POST with neither body nor Content-Type with 415', async () => {
    const res = await call('POST', BASE);

    expectProblem(res, { ...PROBLEM.unsupported, instance: BASE }, secrets());
  });

  it('refuses an unknown query parameter', async () => {
    const res = await call('POST', `${BASE}?dryRun=true`, { body: { title: 'x' } });

    expectValidationProblem(res, BASE, [notAllowed('dryRun')], secrets());
    await expect(count('tasks')).resolves.toBe(0);
  });
});

describe('Idempotency-Key on POST', () => {
  it('replays the first response to a retry (status, body, Location, ETag) and creates nothing', async () => {
    const headers = { 'idempotency-key': 'order-42' };
    const first = await call('POST', BASE, { body: { title: 'Pay rent' }, headers });
    const retry = await call('POST', BASE, { body: { title: 'Pay rent' }, headers });

    expect(first.statusCode).toBe(201);
    expect({ status: retry.statusCode, body: retry.json(), location: retry.headers.location }).toEqual({
      status: 201,
      body: first.json(),
      location: first.headers.location,
    });
    expect(retry.headers.etag).toBe(first.headers.etag);
    expect(first.headers.etag).toBe('"1"');
    await expect(count('tasks')).resolves.toBe(1);
  });

  it('refuses the same key with a different body with 422 and creates nothing', async () => {
    const headers = { 'idempotency-key': 'order-43' };
    const first = await createTaskWithKey('Pay rent', headers);
    const res = await call('POST', BASE, { body: { title: 'Pay more rent' }, headers });

    expectProblem(res, { ...PROBLEM.reused, instance: BASE }, secrets());
    await expect(count('tasks')).resolves.toBe(1);
    await expect(row(first.id)).resolves.toMatchObject({ title: 'Pay rent' });
  });

  it('scopes keys to the user: the same key from another user creates an independent task', async () => {
    const headers = { 'idempotency-key': 'shared-key' };
    const alices = await createTaskWithKey('same body', headers);
    const res = await call('POST', BASE, { as: BOB, body: { title: 'same body' }, headers });

    expect(res.statusCode).toBe(201);
    const bobs = res.json();
    expect(bobs).toMatchObject({ userId: BOB, title: 'same body' });
    expect(bobs.id).not.toBe(alices.id);
    expect(res.headers.location).toBe(`/api/v1/tasks/${bobs.id}`);
    await expect(count('tasks')).resolves.toBe(2);
    await expect(row(alices.id)).resolves.toMatchObject({ user_id: ALICE });
    await expect(row(bobs.id)).resolves.toMatchObject({ user_id: BOB });
  });

  it.each([
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['containing a space', 'my key'],
    ['containing a non-ASCII character', 'clé'],
  ])('refuses a key that is %s with 400 and stores nothing', async (_case, key) => {
    const res = await call('POST', BASE, { body: { title: 'x' }, headers: { 'idempotency-key': key } });

    expectValidationProblem(res, BASE, [BAD_KEY], secrets());
    await expect(count('tasks')).resolves.toBe(0);
    await expect(count('idempotency_keys')).resolves.toBe(0);
  });

  it('treats a body with its fields in another order as the same body', async () => {
    const headers = { 'idempotency-key': 'reordered' };
    const first = await call('POST', BASE, {
      body: { title: 'x', completed: true, description: 'd' },
      headers,
    });
    const retry = await call('POST', BASE, {
      body: { description: 'd', completed: true, title: 'x' },
      headers,
    });

    expect(first.statusCode).toBe(201);
    expect({ status: retry.statusCode, body: retry.json() }).toEqual({ status: 201, body: first.json() });
    await expect(count('tasks')).resolves.toBe(1);
  });

  it('replays the first response even after the task has changed since', async () => {
    const headers = { 'idempotency-key': 'then-edited' };
    const first = await call('POST', BASE, { body: { title: 'draft' }, headers });
    const id = first.json().id as string;
    expect((await call('PATCH', taskUrl(id), { body: { title: 'final' } })).statusCode).toBe(200);

    const retry = await call('POST', BASE, { body: { title: 'draft' }, headers });

    expect({ status: retry.statusCode, body: retry.json(), etag: retry.headers.etag }).toEqual({
      status: 201,
      body: first.json(),
      etag: '"1"',
    });
    await expect(count('tasks')).resolves.toBe(1);
    await expect(row(id)).resolves.toMatchObject({ title: 'final', version: 2 });
  });

  it('remembers a key for 24 hours, and treats a retry after that as a new request', async () => {
    const headers = { 'idempotency-key': 'old-key' };
    const first = await createTaskWithKey('daily', headers);
    const { rows } = await fixture.sql.query(
      `select extract(epoch from expires_at - now())::int as ttl from idempotency_keys where key = 'old-key'`,
    );
    expect(rows[0].ttl).toBeGreaterThan(24 * 3600 - 60);
    expect(rows[0].ttl).toBeLessThanOrEqual(24 * 3600);

    await fixture.sql.query(`update idempotency_keys set expires_at = now() - interval '1 second'`);
    const later = await call('POST', BASE, { body: { title: 'daily' }, headers });

    expect(later.statusCode).toBe(201);
    expect(later.json().id).not.toBe(first.id);
    await expect(count('tasks')).resolves.toBe(2);
  });

  it('answers 409 IDEMPOTENCY_KEY_IN_PROGRESS while the first request has not finished', async () => {
    const headers = { 'idempotency-key': 'slow' };
    await createTaskWithKey('slow one', headers);
    // The state a first request is in between claiming the key and storing its response.
    await fixture.sql.query(`update idempotency_keys set response = null, locked_at = now()`);

    const res = await call('POST', BASE, { body: { title: 'slow one' }, headers });

    expectProblem(res, { ...PROBLEM.inProgress, instance: BASE }, secrets());
    await expect(count('tasks')).resolves.toBe(1);
  });

  it('takes a key of 255 visible ASCII characters', async () => {
    const key = `!~${'k'.repeat(253)}`;
    const first = await call('POST', BASE, { body: { title: 'x' }, headers: { 'idempotency-key': key } });
    const retry = await call('POST', BASE, { body: { title: 'x' }, headers: { 'idempotency-key': key } });

    expect(first.statusCode).toBe(201);
    expect(retry.json()).toEqual(first.json());
    await expect(count('tasks')).resolves.toBe(1);
  });

  it.each([
    ['a blank title (refused before the key is claimed)', { title: '   ' }, [TITLE_LENGTH]],
    ['a NUL in the title (refused after the key is claimed)', { title: 'a\u0000' }, [noNul('title')]],
  ])('does not burn the key when the first create fails: %s', async (_case, badBody, errors) => {
    const headers = { 'idempotency-key': 'retry-me' };
    const failed = await call('POST', BASE, { body: badBody, headers });
    expectValidationProblem(failed, BASE, errors, secrets());
    await expect(count('idempotency_keys')).resolves.toBe(0);

    const created = await call('POST', BASE, { body: { title: 'fixed' }, headers });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ title: 'fixed' });
    const replay = await call('POST', BASE, { body: { title: 'fixed' }, headers });
    expect(replay.json()).toEqual(created.json());
    await expect(count('tasks')).resolves.toBe(1);
  });
});

async function createTaskWithKey(title: string, headers: Record<string, string>): Promise<TaskJson> {
  const res = await call('POST', BASE, { body: { title }, headers });
  expect(res.statusCode).toBe(201);
  return res.json();
}

describe('GET /api/v1/tasks/{id}', () => {
  it('answers 200 with the Task and its ETag', async () => {
    const created = await createTask({ title: 'Read me', description: 'd', completed: true });
    const res = await call('GET', taskUrl(created.id));

    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(created);
    expect(res.headers.etag).toBe('"1"');
  });

  it('answers an id that is a UUID in upper case like the lower-case one (the contract is silent)', async () => {
    const created = await createTask();
    const res = await call('GET', taskUrl(created.id.toUpperCase()));

    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(created);
  });

  it.each([
    ['a word', 'abc'],
    ['a number', '123'],
    ['a UUID without dashes', '0b6f7c2e5d0c4f6e9a439a2f3f1a8c11'],
    ['a UUID with a suffix', `${MISSING_ID}x`],
    ['a UUID in braces', `%7B${MISSING_ID}%7D`],
    ['300 characters', 'x'.repeat(300)],
  ])('refuses an id that is %s with 400 naming the id', async (_case, id) => {
    const res = await call('GET', taskUrl(id));

    expectValidationProblem(res, taskUrl(id), [NOT_A_UUID], secrets());
  });

  it('answers 404 TASK_NOT_FOUND for a UUID that is no task', async () => {
    const res = await call('GET', taskUrl(MISSING_ID));

    expectProblem(res, { ...PROBLEM.notFound, instance: taskUrl(MISSING_ID) }, secrets());
  });

  it('refuses an unknown query parameter', async () => {
    const created = await createTask();
    const res = await call('GET', `${taskUrl(created.id)}?expand=all`);

    expectValidationProblem(res, taskUrl(created.id), [notAllowed('expand')], secrets());
  });

  describe('If-None-Match (weak comparison)', () => {
    it.each([
      ['the current ETag', '"1"'],
      ['a list containing it', '"7", "1"'],
      ['*', '*'],
      ['the weak form of the current ETag', 'W/"1"'],
    ])('answers 304 with the ETag and no body for %s', async (_case, ifNoneMatch) => {
      const created = await createTask();
      const res = await call('GET', taskUrl(created.id), { headers: { 'if-none-match': ifNoneMatch } });

      expect(res.statusCode).toBe(304);
      expect(res.body).toBe('');
      expect(res.headers.etag).toBe('"1"');
      expect(res.headers['x-request-id']).toEqual(expect.any(String));
    });

    it('answers 200 with the new ETag once the task has changed', async () => {
      const created = await createTask();
      const patched = await call('PATCH', taskUrl(created.id), { body: { completed: true } });
      expect(patched.statusCode).toBe(200);

      const res = await call('GET', taskUrl(created.id), { headers: { 'if-none-match': '"1"' } });

      expect(res.statusCode).toBe(200);
      expect(res.headers.etag).toBe('"2"');
      expect(res.json()).toEqual(patched.json());
    });

    it.each([['1'], ['"1'], ['"1" "2"'], ['W/1']])(
      'refuses the malformed If-None-Match %s with 400',
      async (h) => {
        const created = await createTask();
        const res = await call('GET', taskUrl(created.id), { headers: { 'if-none-match': h } });

        expectValidationProblem(
          res,
          taskUrl(created.id),
          [{ field: 'If-None-Match', message: 'must be * or a list of entity tags such as "3"' }],
          secrets(),
        );
      },
    );
  });
});

describe('PATCH /api/v1/tasks/{id}', () => {
  it('changes only the given fields, moves version, ETag and updatedAt, and keeps createdAt', async () => {
    const created = await createTask({ title: 'Buy milk', description: 'semi-skimmed' });
    const before = await row(created.id);
    const res = await call('PATCH', taskUrl(created.id), { body: { completed: true } });

    expect(res.statusCode).toBe(200);
    const task = res.json();
    expectTaskShape(task);
    expect(task).toEqual({
      ...created,
      completed: true,
      completedAt: task.updatedAt,
      version: 2,
      updatedAt: expect.any(String),
    });
    expect(res.headers.etag).toBe('"2"');
    const after = await row(created.id);
    expect(asTask(after!)).toEqual(task);
    expect(after!.created_us).toBe(before!.created_us);
    expect((after!.updated_us as string) > (before!.updated_us as string)).toBe(true);
  });

  it('trims the title and clears the description with null (merge patch)', async () => {
    const created = await createTask({ title: 'old', description: 'to be cleared' });
    const res = await call('PATCH', taskUrl(created.id), { body: { title: '  new  ', description: null } });

    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ title: 'new', description: null, completed: false, version: 2 });
    await expect(row(created.id)).resolves.toMatchObject({ title: 'new', description: null, version: 2 });
  });

  it('counts a PATCH that repeats the current values as an update (version +1)', async () => {
    const created = await createTask({ title: 'same', completed: false });
    const res = await call('PATCH', taskUrl(created.id), { body: { title: 'same', completed: false } });

    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ title: 'same', version: 2 });
    expect(res.headers.etag).toBe('"2"');
    await expect(row(created.id)).resolves.toMatchObject({ version: 2 });
  });

  it('accepts application/merge-patch+json, with or without a charset', async () => {
    const created = await createTask();
    for (const type of ['application/merge-patch+json', 'application/merge-patch+json; charset=utf-8']) {
      const res = await call('PATCH', taskUrl(created.id), {
        raw: JSON.stringify({ description: type }),
        headers: { 'content-type': type },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ description: type });
    }
    await expect(row(created.id)).resolves.toMatchObject({ version: 3 });
  });

  it('fits 255 emoji in a new title and refuses 256', async () => {
    const created = await createTask();
    const ok = await call('PATCH', taskUrl(created.id), { body: { title: EMOJI.repeat(255) } });
    expect(ok.statusCode).toBe(200);

    const res = await call('PATCH', taskUrl(created.id), { body: { title: EMOJI.repeat(256) } });
    expectValidationProblem(res, taskUrl(created.id), [TITLE_LENGTH], secrets());
    await expect(row(created.id)).resolves.toMatchObject({ title: EMOJI.repeat(255), version: 2 });
  });

  it.each([
    ['null title', { title: null }, [{ field: 'title', message: 'must be a string' }]],
    ['null completed', { completed: null }, [{ field: 'completed', message: 'must be true or false' }]],
    ['blank title', { title: '  ' }, [TITLE_LENGTH]],
    ['empty body', {}, [EMPTY_PATCH]],
    [
      'description of 10,001',
      { description: 'd'.repeat(10_001) },
      [{ field: 'description', message: 'must be at most 10000 characters' }],
    ],
    ['NUL in the title', { title: '\u0000' }, [noNul('title')]],
    ['NUL in the description', { description: 'x\u0000' }, [noNul('description')]],
    ['id in the body', { id: MISSING_ID }, [notAllowed('id')]],
    ['userId in the body', { userId: BOB }, [notAllowed('userId')]],
    ['version in the body', { version: 9 }, [notAllowed('version')]],
    ['createdAt in the body', { createdAt: '2020-01-01T00:00:00.000Z' }, [notAllowed('createdAt')]],
    ['an unknown field beside a valid one', { completed: true, colour: 'red' }, [notAllowed('colour')]],
  ])('refuses a %s with 400 and changes nothing', async (_case, body, errors) => {
    const created = await createTask({ title: 'keep', description: 'keep' });
    const before = await row(created.id);
    const res = await call('PATCH', taskUrl(created.id), { body });

    expectValidationProblem(res, taskUrl(created.id), errors, secrets());
    await expect(row(created.id)).resolves.toEqual(before);
  });

  it.each([['[]'], ['"x"'], ['42'], ['null']])('refuses the non-object body %s', async (raw) => {
    const created = await createTask();
    const res = await call('PATCH', taskUrl(created.id), {
      raw,
      headers: { 'content-type': 'application/json' },
    });

    expectValidationProblem(res, taskUrl(created.id), [NOT_AN_OBJECT], secrets());
    await expect(row(created.id)).resolves.toMatchObject({ version: 1 });
  });

  it.each([
    ['malformed JSON', '{"title":', 'must be valid JSON'],
    ['an empty body', '', 'must not be empty'],
  ])('refuses %s with 400', async (_case, raw, message) => {
    const created = await createTask();
    const res = await call('PATCH', taskUrl(created.id), {
      raw,
      headers: { 'content-type': 'application/json' },
    });

    expectProblem(
      res,
      {
        status: 400,
        code: 'VALIDATION_ERROR',
        title: 'Validation failed',
        detail: `body ${message}`,
        instance: taskUrl(created.id),
        errors: [{ field: 'body', message }],
      },
      secrets(),
    );
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['no Content-Type', {}],
  ])('refuses a body sent as %s with 415', async (_case, headers) => {
    const created = await createTask();
    const res = await call('PATCH', taskUrl(created.id), { raw: '{"completed":true}', headers });

    expectProblem(res, { ...PROBLEM.unsupported, instance: taskUrl(created.id) }, secrets());
    await expect(row(created.id)).resolves.toMatchObject({ completed: false, version: 1 });
  });

  it('refuses a body over 64 KiB with 413', async () => {
    const created = await createTask();
    const res = await call('PATCH', taskUrl(created.id), {
      raw: JSON.stringify({ description: 'd'.repeat(70_000) }),
      headers: { 'content-type': 'application/json' },
    });

    expectProblem(res, { ...PROBLEM.tooLarge, instance: taskUrl(created.id) }, secrets());
    await expect(row(created.id)).resolves.toMatchObject({ version: 1 });
  });

  it('refuses a non-UUID id with 400 and answers a missing task with 404', async () => {
    const bad = await call('PATCH', taskUrl('nope'), { body: { completed: true } });
    expectValidationProblem(bad, taskUrl('nope'), [NOT_A_UUID], secrets());

    const missing = await call('PATCH', taskUrl(MISSING_ID), { body: { completed: true } });
    expectProblem(missing, { ...PROBLEM.notFound, instance: taskUrl(MISSING_ID) }, secrets());
  });

  it('refuses an unknown query parameter', async () => {
    const created = await createTask();
    const res = await call('PATCH', `${taskUrl(created.id)}?force=1`, { body: { completed: true } });

    expectValidationProblem(res, taskUrl(created.id), [notAllowed('force')], secrets());
    await expect(row(created.id)).resolves.toMatchObject({ version: 1 });
  });

  describe('If-Match (strong comparison)', () => {
    it.each([
      ['the current ETag', '"1"'],
      ['a list containing it', '"5", "1"'],
      ['*', '*'],
    ])('updates when it is %s', async (_case, ifMatch) => {
      const created = await createTask();
      const res = await call('PATCH', taskUrl(created.id), {
        body: { completed: true },
        headers: { 'if-match': ifMatch },
      });

      expect(res.statusCode).toBe(200);
      expect(res.headers.etag).toBe('"2"');
      await expect(row(created.id)).resolves.toMatchObject({ completed: true, version: 2 });
    });

    it.each([
      ['stale', '"1"'],
      ['a weak tag of the current version', 'W/"2"'],
      ['a list without the current version', '"1", "3"'],
      ['not a version we issue', '"abc"'],
    ])('answers 412 and changes nothing when it is %s', async (_case, ifMatch) => {
      const created = await createTask({ title: 'v1' });
      expect((await call('PATCH', taskUrl(created.id), { body: { title: 'v2' } })).statusCode).toBe(200);
      const before = await row(created.id);

      const res = await call('PATCH', taskUrl(created.id), {
        body: { title: 'v3' },
        headers: { 'if-match': ifMatch },
      });

      expectProblem(res, { ...PROBLEM.precondition, instance: taskUrl(created.id) }, secrets());
      await expect(row(created.id)).resolves.toEqual(before);
    });

    it.each([['1'], ['"1'], ['W/1'], ['']])('refuses the malformed If-Match %j with 400', async (ifMatch) => {
      const created = await createTask();
      const res = await call('PATCH', taskUrl(created.id), {
        body: { completed: true },
        headers: { 'if-match': ifMatch },
      });

      expectValidationProblem(
        res,
        taskUrl(created.id),
        [{ field: 'If-Match', message: 'must be * or a list of entity tags such as "3"' }],
        secrets(),
      );
      await expect(row(created.id)).resolves.toMatchObject({ completed: false, version: 1 });
    });
  });
});

describe('DELETE /api/v1/tasks/{id}', () => {
  it('answers 204 with no body and removes the row; the task is then 404 everywhere', async () => {
    const created = await createTask();
    const res = await call('DELETE', taskUrl(created.id));

    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    await expect(row(created.id)).resolves.toBeUndefined();

    for (const method of ['GET', 'DELETE'] as const) {
      const again = await call(method, taskUrl(created.id));
      expectProblem(again, { ...PROBLEM.notFound, instance: taskUrl(created.id) }, secrets());
    }
  });

  it.each([['"1"'], ['*'], ['"4", "1"']])('deletes with the matching If-Match %s', async (ifMatch) => {
    const created = await createTask();
    const res = await call('DELETE', taskUrl(created.id), { headers: { 'if-match': ifMatch } });

    expect(res.statusCode).toBe(204);
    await expect(row(created.id)).resolves.toBeUndefined();
  });

  it.each([['"2"'], ['W/"1"']])('answers 412 to If-Match %s and keeps the row', async (ifMatch) => {
    const created = await createTask();
    const before = await row(created.id);
    const res = await call('DELETE', taskUrl(created.id), { headers: { 'if-match': ifMatch } });

    expectProblem(res, { ...PROBLEM.precondition, instance: taskUrl(created.id) }, secrets());
    await expect(row(created.id)).resolves.toEqual(before);
  });

  it('refuses a malformed If-Match with 400 and keeps the row', async () => {
    const created = await createTask();
    const res = await call('DELETE', taskUrl(created.id), { headers: { 'if-match': 'version-1' } });

    expectValidationProblem(
      res,
      taskUrl(created.id),
      [{ field: 'If-Match', message: 'must be * or a list of entity tags such as "3"' }],
      secrets(),
    );
    await expect(count('tasks')).resolves.toBe(1);
  });

  it('refuses a non-UUID id with 400 and answers a missing task with 404', async () => {
    const bad = await call('DELETE', taskUrl('1'));
    expectValidationProblem(bad, taskUrl('1'), [NOT_A_UUID], secrets());

    const missing = await call('DELETE', taskUrl(MISSING_ID));
    expectProblem(missing, { ...PROBLEM.notFound, instance: taskUrl(MISSING_ID) }, secrets());
  });

  it('refuses an unknown query parameter and keeps the row', async () => {
    const created = await createTask();
    const res = await call('DELETE', `${taskUrl(created.id)}?cascade=true`);

    expectValidationProblem(res, taskUrl(created.id), [notAllowed('cascade')], secrets());
    await expect(count('tasks')).resolves.toBe(1);
  });
});

describe("another user's task is indistinguishable from a missing one", () => {
  const cases: [string, HTTPMethods, Call][] = [
    ['GET', 'GET', {}],
    ['GET with If-None-Match: *', 'GET', { headers: { 'if-none-match': '*' } }],
    ['PATCH', 'PATCH', { body: { title: 'hijacked' } }],
    [
      'PATCH with the current If-Match',
      'PATCH',
      { body: { title: 'hijacked' }, headers: { 'if-match': '"1"' } },
    ],
    ['PATCH with a stale If-Match', 'PATCH', { body: { title: 'hijacked' }, headers: { 'if-match': '"9"' } }],
    ['PATCH with If-Match: *', 'PATCH', { body: { completed: true }, headers: { 'if-match': '*' } }],
    ['DELETE', 'DELETE', {}],
    ['DELETE with the current If-Match', 'DELETE', { headers: { 'if-match': '"1"' } }],
    ['DELETE with a stale If-Match', 'DELETE', { headers: { 'if-match': '"9"' } }],
  ];

  it.each(cases)(
    "%s on Alice's task by Bob answers exactly as for a random UUID",
    async (_case, method, options) => {
      const alices = await createTask({ title: 'Alice only', description: 'private' });
      const before = await row(alices.id);

      const theirs = await call(method, taskUrl(alices.id), { ...options, as: BOB });
      const random = randomUUID();
      const nobodys = await call(method, taskUrl(random), { ...options, as: BOB });

      expectProblem(theirs, { ...PROBLEM.notFound, instance: taskUrl(alices.id) }, secrets());
      expectProblem(nobodys, { ...PROBLEM.notFound, instance: taskUrl(random) }, secrets());
      expect(comparable(theirs)).toEqual(comparable(nobodys));
      expect(Object.keys(theirs.headers).sort()).toEqual(Object.keys(nobodys.headers).sort());
      await expect(row(alices.id)).resolves.toEqual(before);
    },
  );

  it("does not list Alice's tasks to Bob, whatever the filters", async () => {
    await createTask({ title: 'Alice milk', completed: true });
    await createTask({ title: 'Alice bread' });

    for (const query of ['', '?q=milk', '?completed=true', '?completed=false', '?sort=title&limit=100']) {
      const bobs = await call('GET', `${BASE}${query}`, { as: BOB });
      expect(bobs.statusCode).toBe(200);
      expect(bobs.json()).toEqual({ items: [], nextCursor: null });
    }
    await expect(count('tasks')).resolves.toBe(2);
  });
});

describe('authentication', () => {
  const routes: [HTTPMethods, string, Call][] = [
    ['POST', BASE, { body: { title: 'x' } }],
    ['GET', BASE, {}],
    ['GET', taskUrl(MISSING_ID), {}],
    ['PATCH', taskUrl(MISSING_ID), { body: { title: 'x' } }],
    ['DELETE', taskUrl(MISSING_ID), {}],
  ];

  it.each(routes)(
    '%s %s without Authorization is 401 MISSING_TOKEN with WWW-Authenticate: Bearer',
    async (m, u, o) => {
      const res = await call(m, u, { ...o, as: null });

      expectProblem(res, { ...PROBLEM.missingToken, instance: u }, secrets());
      expect(res.headers['www-authenticate']).toMatch(/^Bearer(\s|$)/);
    },
  );

  it('changes nothing for a request without a token', async () => {
    const created = await createTask();
    const before = await row(created.id);

    await expect(call('POST', BASE, { as: null, body: { title: 'x' } })).resolves.toMatchObject({
      statusCode: 401,
    });
    await expect(
      call('PATCH', taskUrl(created.id), { as: null, body: { title: 'x' } }),
    ).resolves.toMatchObject({
      statusCode: 401,
    });
    await expect(call('DELETE', taskUrl(created.id), { as: null })).resolves.toMatchObject({
      statusCode: 401,
    });
    await expect(count('tasks')).resolves.toBe(1);
    await expect(row(created.id)).resolves.toEqual(before);
  });

  it('never echoes a credential that is not a bearer token', async () => {
    const res = await call('GET', BASE, {
      as: null,
      headers: { authorization: 'Basic c2VjcmV0LXBhc3N3b3Jk' },
    });

    expect(res.statusCode).toBe(401);
    expect(['MISSING_TOKEN', 'INVALID_TOKEN']).toContain(res.json().code);
    expectNoLeak(res.body, ['c2VjcmV0LXBhc3N3b3Jk', 'secret-password']);
  });
});

describe('routing', () => {
  it.each([
    ['/api/v1/nope'],
    ['/api/v1/tasks/00000000-0000-4000-8000-000000000000/subtasks'],
    ['/api/v2/tasks'],
    ['/tasks'],
  ])('answers the unknown route %s with 404 ROUTE_NOT_FOUND, with or without a token', async (url) => {
    for (const as of [ALICE, null]) {
      const res = await call('GET', url, { as });
      expectProblem(res, { ...PROBLEM.routeNotFound, instance: url }, secrets());
    }
  });

  it.each([
    ['PUT', BASE, 'GET, HEAD, POST'],
    ['DELETE', BASE, 'GET, HEAD, POST'],
    ['PATCH', BASE, 'GET, HEAD, POST'],
    ['PUT', taskUrl(MISSING_ID), 'GET, HEAD, PATCH, DELETE'],
    ['POST', taskUrl(MISSING_ID), 'GET, HEAD, PATCH, DELETE'],
  ] as [HTTPMethods, string, string][])(
    'answers %s %s with 405 and Allow: %s',
    async (method, url, allow) => {
      // A body of any type: the method is wrong before the media type matters.
      const res = await call(method, url, { raw: 'x', headers: { 'content-type': 'text/plain' } });

      expectProblem(res, { ...PROBLEM.methodNotAllowed, instance: url }, secrets());
      expect(res.headers.allow).toBe(allow);
    },
  );

  it.each([
    ['GET', '%zz'],
    ['GET', '%E0%A4'],
    ['PATCH', '%'],
    ['DELETE', '%zz'],
  ] as [HTTPMethods, string][])(
    'answers %s of an id that is not valid percent-encoded UTF-8 (%s) with a 400 problem document',
    async (method, id) => {
      const res = await call(method, taskUrl(id), method === 'PATCH' ? { body: { completed: true } } : {});

      expect({ status: res.statusCode, contentType: res.headers['content-type'] }).toEqual({
        status: 400,
        contentType: expect.stringMatching(/^application\/problem\+json/),
      });
      expect(res.json()).toMatchObject({
        type: 'about:blank',
        title: 'Validation failed',
        status: 400,
        code: 'VALIDATION_ERROR',
        requestId: res.headers['x-request-id'],
      });
      expect(res.headers['x-request-id']).toMatch(UUID_RE);
      expectNoLeak(res.body, secrets());
    },
  );

  it('answers the collection path with a trailing slash as an unknown route, not 405 with GET in Allow', async () => {
    const res = await call('GET', `${BASE}/`);

    expectProblem(res, { ...PROBLEM.routeNotFound, instance: `${BASE}/` }, secrets());
    expect(res.headers.allow).toBeUndefined();
  });

  it('serves HEAD as Allow announces it', async () => {
    const created = await createTask();
    const res = await call('HEAD', taskUrl(created.id));

    expect(res.statusCode).toBe(200);
    expect(res.headers.etag).toBe('"1"');
    expect(res.body).toBe('');
  });
});

describe('X-Request-Id', () => {
  const sane = `!~${'r'.repeat(126)}`; // 128 visible ASCII characters, both ends of the range

  it('echoes a sane caller value on success and on error, where it is also the requestId', async () => {
    const ok = await call('GET', BASE, { headers: { 'x-request-id': sane } });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['x-request-id']).toBe(sane);

    const failed = await call('GET', taskUrl(MISSING_ID), { headers: { 'x-request-id': 'abc-123' } });
    expect(failed.headers['x-request-id']).toBe('abc-123');
    expect(failed.json().requestId).toBe('abc-123');

    const created = await call('POST', BASE, { body: { title: 'x' }, headers: { 'x-request-id': 'a' } });
    expect(created.headers['x-request-id']).toBe('a');
  });

  it.each([
    ['contains a space', 'abc 123'],
    ['is 129 characters', 'r'.repeat(129)],
    ['is empty', ''],
    ['contains a non-ASCII character', 'req-é'],
  ])('replaces a value that %s with a fresh UUID', async (_case, given) => {
    const ok = await call('GET', BASE, { headers: { 'x-request-id': given } });
    expect(ok.headers['x-request-id']).toMatch(UUID_RE);

    const failed = await call('GET', taskUrl('bad-id'), { headers: { 'x-request-id': given } });
    expect(failed.headers['x-request-id']).toMatch(UUID_RE);
    expect(failed.json().requestId).toBe(failed.headers['x-request-id']);
  });

  it('gives every request without one a fresh UUID, also on 401, 404 and 405', async () => {
    const responses = [
      await call('GET', BASE),
      await call('GET', BASE),
      await call('GET', BASE, { as: null }),
      await call('GET', '/api/v1/nope'),
      await call('PUT', BASE),
    ];
    const ids = responses.map((r) => r.headers['x-request-id']);

    for (const id of ids) expect(id).toMatch(UUID_RE);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('GET /api/v1/tasks', () => {
  it('answers a user with no tasks with an empty page and no cursor', async () => {
    const res = await call('GET', BASE);

    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ items: [], nextCursor: null });
  });

  it('lists newest first, 20 to a page, by default', async () => {
    const created: TaskJson[] = [];
    for (let i = 0; i < 21; i++) created.push(await createTask({ title: `task ${i}` }));
    const newestFirst = created.map((t) => t.id).reverse();

    const first = await call('GET', BASE);
    expect(first.statusCode).toBe(200);
    const page = first.json();
    expect(page.items.map((t: TaskJson) => t.id)).toEqual(newestFirst.slice(0, 20));
    expect(page.items[0]).toEqual(created[20]);
    expect(page.nextCursor).toEqual(expect.any(String));

    const second = await call('GET', `${BASE}?cursor=${encodeURIComponent(page.nextCursor)}`);
    expect(second.json()).toEqual({ items: [created[0]], nextCursor: null });
  });

  it('filters by completed', async () => {
    const open = await createTask({ title: 'open' });
    const done = await createTask({ title: 'done', completed: true });

    const onlyDone = await call('GET', `${BASE}?completed=true`);
    expect(onlyDone.json()).toEqual({ items: [done], nextCursor: null });
    const onlyOpen = await call('GET', `${BASE}?completed=false`);
    expect(onlyOpen.json()).toEqual({ items: [open], nextCursor: null });
  });

  it('filters by a case-insensitive substring of the title, with % and _ taken literally', async () => {
    const milk = await createTask({ title: 'Buy MILK' });
    const ete = await createTask({ title: 'Été à Paris' });
    const percent = await createTask({ title: '100% done' });
    const underscore = await createTask({ title: 'snake_case' });
    await createTask({ title: 'something else', completed: true });

    const titles = async (query: string) => {
      const res = await call('GET', `${BASE}?sort=title&${query}`);
      expect(res.statusCode).toBe(200);
      expect(res.json().nextCursor).toBeNull();
      return res.json().items.map((t: TaskJson) => t.id);
    };

    await expect(titles('q=milk')).resolves.toEqual([milk.id]);
    await expect(titles('q=bUy%20mIlK')).resolves.toEqual([milk.id]);
    await expect(titles(`q=${encodeURIComponent('ÉTÉ')}`)).resolves.toEqual([ete.id]);
    await expect(titles('q=%25')).resolves.toEqual([percent.id]);
    await expect(titles('q=_')).resolves.toEqual([underscore.id]);
    await expect(titles('q=milk&completed=true')).resolves.toEqual([]);
    await expect(titles('q=else&completed=true')).resolves.toHaveLength(1);
    await expect(titles(`q=${encodeURIComponent(EMOJI.repeat(255))}`)).resolves.toEqual([]);
  });

  it.each([
    ['limit=0', [{ field: 'limit', message: 'must be an integer from 1 to 100' }]],
    ['limit=101', [{ field: 'limit', message: 'must be an integer from 1 to 100' }]],
    ['limit=abc', [{ field: 'limit', message: 'must be an integer from 1 to 100' }]],
    ['limit=-1', [{ field: 'limit', message: 'must be an integer from 1 to 100' }]],
    ['limit=1.5', [{ field: 'limit', message: 'must be an integer from 1 to 100' }]],
    ['limit=', [{ field: 'limit', message: 'must be an integer from 1 to 100' }]],
    [
      'sort=-position',
      [
        {
          field: 'sort',
          message: `must be one of ${TASK_SORTS.join(', ')}`,
        },
      ],
    ],
    [
      'sort=',
      [
        {
          field: 'sort',
          message: `must be one of ${TASK_SORTS.join(', ')}`,
        },
      ],
    ],
    ['completed=yes', [{ field: 'completed', message: 'must be true or false' }]],
    ['completed=1', [{ field: 'completed', message: 'must be true or false' }]],
    ['q=', [{ field: 'q', message: 'must be 1 to 255 characters' }]],
    [`q=${encodeURIComponent(EMOJI.repeat(256))}`, [{ field: 'q', message: 'must be 1 to 255 characters' }]],
    ['q=%00', [noNul('q')]],
    ['page=2', [notAllowed('page')]],
    ['userId=user_bob', [notAllowed('userId')]],
    ['q=a&q=b', [{ field: 'q', message: 'must be given once' }]],
    ['q=a&q=a', [{ field: 'q', message: 'must be given once' }]],
    ['limit=5&limit=5', [{ field: 'limit', message: 'must be an integer from 1 to 100' }]],
    [
      'sort=title&sort=title',
      [
        {
          field: 'sort',
          message: `must be one of ${TASK_SORTS.join(', ')}`,
        },
      ],
    ],
    ['completed=true&completed=true', [{ field: 'completed', message: 'must be true or false' }]],
    ['q=%zz', [BAD_QUERY_ENCODING]],
    ['q=%', [BAD_QUERY_ENCODING]],
    ['q=%E0%A4', [BAD_QUERY_ENCODING]],
    ['q=%ff', [BAD_QUERY_ENCODING]],
  ])('refuses ?%s with 400 naming the parameter', async (query, errors) => {
    await createTask();
    const res = await call('GET', `${BASE}?${query}`);

    expectValidationProblem(res, BASE, errors, secrets());
  });

  it('takes limit 1 and limit 100', async () => {
    await createTask({ title: 'a' });
    await createTask({ title: 'b' });

    const one = await call('GET', `${BASE}?limit=1`);
    expect(one.json()).toMatchObject({ items: [{ title: 'b' }], nextCursor: expect.any(String) });
    const hundred = await call('GET', `${BASE}?limit=100`);
    expect(hundred.json()).toMatchObject({ items: [{ title: 'b' }, { title: 'a' }], nextCursor: null });
  });

  describe('keyset pagination', () => {
    /**
     * Alice's tasks, inserted with chosen timestamps (microseconds apart inside one
     * millisecond, and exact ties, so the millisecond JSON form cannot be the cursor)
     * and titles that sort differently by code point than by UTF-16 unit or locale.
     */
    const BASE_TIME = '2020-01-01 00:00:00+00';
    const SEED: { title: string; created: number; updated: number; completed: boolean }[] = [
      { title: 'b', created: 0, updated: 40, completed: false },
      { title: 'B', created: 1, updated: 1, completed: true },
      { title: 'a', created: 1, updated: 1, completed: false },
      { title: '\uFF21', created: 1, updated: 999, completed: false }, // fullwidth A: after 'z', before emoji
      { title: EMOJI, created: 2, updated: 1000, completed: false },
      { title: 'é', created: 500, updated: 1000, completed: true },
      { title: 'e', created: 999, updated: 1000, completed: false },
      { title: 'same', created: 1000, updated: 2, completed: false },
      { title: 'same', created: 1001, updated: 2, completed: false },
      { title: 'same', created: 1001, updated: 2, completed: true },
      { title: 'Zed', created: 5000, updated: 5_000_000, completed: false },
      { title: 'zed', created: 5001, updated: 0, completed: false },
      { title: '_x', created: 1_000_000, updated: 3, completed: false },
    ];

    interface Seeded {
      id: string;
      title: string;
      created: number;
      updated: number;
      completed: boolean;
    }

    async function seed(user: string, rows = SEED): Promise<Seeded[]> {
      const seeded = rows.map((r) => ({ ...r, id: randomUUID() }));
      for (const t of seeded) {
        await fixture.sql.query(
          `insert into tasks (id, user_id, title, completed, created_at, updated_at)
           values ($1, $2, $3, $4, $5::timestamptz + $6::bigint * interval '1 microsecond',
                   $5::timestamptz + $7::bigint * interval '1 microsecond')`,
          [t.id, user, t.title, t.completed, BASE_TIME, t.created, t.updated],
        );
      }
      return seeded;
    }

    const byCodePoint = (a: string, b: string) =>
      Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

    function expectedOrder(tasks: Seeded[], sort: Sort): string[] {
      const key = sort.replace('-', '') as 'createdAt' | 'updatedAt' | 'title';
      const sign = sort.startsWith('-') ? -1 : 1;
      return [...tasks]
        .sort((x, y) => {
          const byKey =
            key === 'title'
              ? byCodePoint(x.title, y.title)
              : key === 'createdAt'
                ? x.created - y.created
                : x.updated - y.updated;
          // PostgreSQL orders uuids by their bytes: the same as their lower-case hex text.
          return sign * (byKey !== 0 ? byKey : x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
        })
        .map((t) => t.id);
    }

    async function page(
      query: string,
      as = ALICE,
    ): Promise<{ items: TaskJson[]; nextCursor: string | null }> {
      const res = await call('GET', `${BASE}?${query}`, { as });
      expect(res.statusCode).toBe(200);
      return res.json();
    }

    const titlesToInsert = ['c', 'A', 'sama', 'samf', '\u00e9z', EMOJI + EMOJI, '0', 'zz'];

    it.each(SORTS)(
      'sort=%s walks every task exactly once, in order, while tasks are being created',
      async (sort) => {
        const originals = await seed(ALICE);
        await seed(BOB, SEED.slice(0, 4));
        const expected = expectedOrder(originals, sort);
        const limit = 4;

        const seen: string[] = [];
        const pages: number[] = [];
        let cursor: string | null = null;
        let inserted = 0;
        do {
          const query: string = `sort=${sort}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
          const current = await page(query);
          pages.push(current.items.length);
          for (const item of current.items) {
            expectTaskShape(item);
            expect(item.userId).toBe(ALICE);
            seen.push(item.id);
          }
          cursor = current.nextCursor;
          // Another client creates a task between two pages.
          await createTask({ title: titlesToInsert[inserted++ % titlesToInsert.length] });
          expect(pages.length).toBeLessThan(20);
        } while (cursor !== null);

        expect(new Set(seen).size).toBe(seen.length);
        const ids = new Set(expected);
        expect(seen.filter((id) => ids.has(id))).toEqual(expected);
        // Only the last page may be short, and none is empty.
        expect(pages.slice(0, -1).every((n) => n === limit)).toBe(true);
        expect(pages[pages.length - 1]).toBeGreaterThan(0);
      },
    );

    it.each(SORTS)(
      'sort=%s returns exactly the expected pages, nextCursor null on the last one',
      async (sort) => {
        const originals = await seed(ALICE, SEED.slice(0, 12));
        const expected = expectedOrder(originals, sort);

        const ids = (p: { items: TaskJson[] }) => p.items.map((t) => t.id);
        const first = await page(`sort=${sort}&limit=4`);
        const second = await page(`sort=${sort}&limit=4&cursor=${encodeURIComponent(first.nextCursor!)}`);
        const third = await page(`sort=${sort}&limit=4&cursor=${encodeURIComponent(second.nextCursor!)}`);

        expect([ids(first), ids(second), ids(third)]).toEqual([
          expected.slice(0, 4),
          expected.slice(4, 8),
          expected.slice(8, 12),
        ]);
        expect(first.nextCursor).toEqual(expect.any(String));
        expect(second.nextCursor).toEqual(expect.any(String));
        expect(third.nextCursor).toBeNull();

        const whole = await page(`sort=${sort}&limit=12`);
        expect({ ids: ids(whole), nextCursor: whole.nextCursor }).toEqual({
          ids: expected,
          nextCursor: null,
        });
      },
    );

    it('shows the stored values of each listed task', async () => {
      const [one] = await seed(ALICE, SEED.slice(0, 1));
      const listed = await page('limit=1');

      expect(listed.items).toEqual([asTask((await row(one.id))!)]);
    });

    it('pages through a filtered list (completed and q) with the filter kept', async () => {
      const originals = await seed(ALICE);
      const open = originals.filter((t) => !t.completed);
      const expected = expectedOrder(open, 'title');

      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const current = await page(
          `completed=false&sort=title&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        seen.push(...current.items.map((t) => t.id));
        cursor = current.nextCursor;
      } while (cursor !== null);
      expect(seen).toEqual(expected);

      const sames = expectedOrder(
        originals.filter((t) => t.title === 'same'),
        '-createdAt',
      );
      const p1 = await page('q=SAME&limit=2');
      const p2 = await page(`q=SAME&limit=2&cursor=${encodeURIComponent(p1.nextCursor!)}`);
      expect([...p1.items, ...p2.items].map((t) => t.id)).toEqual(sames);
      expect(p2.nextCursor).toBeNull();
    });

    describe('refuses a cursor that is not a cursor of this list', () => {
      let cursor: string;

      beforeEach(async () => {
        await seed(ALICE);
        await seed(BOB);
        const first = await page('sort=title&limit=2');
        cursor = first.nextCursor!;
        expect(cursor).toEqual(expect.any(String));
      });

      const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);

      const refused = async (query: string, as = ALICE) => {
        const res = await call('GET', `${BASE}?${query}`, { as });
        expectValidationProblem(res, BASE, [BAD_CURSOR], secrets());
      };

      it('altered in its payload', async () => {
        await refused(`sort=title&limit=2&cursor=${encodeURIComponent(flip(cursor, 3))}`);
      });

      it('altered in its signature', async () => {
        await refused(`sort=title&limit=2&cursor=${encodeURIComponent(flip(cursor, cursor.length - 2))}`);
      });

      it('forged: another position under the original signature', async () => {
        const [, signature] = cursor.split('.');
        const forged = Buffer.from(JSON.stringify({ s: 'title', k: 'a', i: MISSING_ID })).toString(
          'base64url',
        );
        await refused(`sort=title&limit=2&cursor=${encodeURIComponent(`${forged}.${signature}`)}`);
      });

      it.each([['garbage'], [''], ['a.b.c'], ['.']])('malformed: %j', async (bad) => {
        await refused(`sort=title&limit=2&cursor=${encodeURIComponent(bad)}`);
      });

      it.each([['-title'], ['createdAt'], ['-updatedAt']])(
        'made for sort=title, used with sort=%s',
        async (sort) => {
          await refused(`sort=${sort}&limit=2&cursor=${encodeURIComponent(cursor)}`);
        },
      );

      it('made for sort=title, used with the default sort', async () => {
        await refused(`limit=2&cursor=${encodeURIComponent(cursor)}`);
      });

      it('made for Alice, used by Bob (same sort, and Bob has tasks)', async () => {
        await refused(`sort=title&limit=2&cursor=${encodeURIComponent(cursor)}`, BOB);
      });

      it('given twice', async () => {
        const c = encodeURIComponent(cursor);
        const res = await call('GET', `${BASE}?sort=title&cursor=${c}&cursor=${c}`);
        expectValidationProblem(res, BASE, [{ field: 'cursor', message: 'must be given once' }], secrets());
      });
    });
  });
});

describe('concurrent requests', () => {
  it('lets exactly one of 20 PATCHes with the same If-Match win; the 19 others get 412', async () => {
    const created = await createTask({ title: 'contended' });

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call('PATCH', taskUrl(created.id), {
          body: { title: `writer ${i}` },
          headers: { 'if-match': '"1"' },
        }),
      ),
    );

    const winners = responses.filter((r) => r.statusCode === 200);
    const losers = responses.filter((r) => r.statusCode !== 200);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(19);
    for (const loser of losers) {
      expectProblem(loser, { ...PROBLEM.precondition, instance: taskUrl(created.id) }, secrets());
    }
    const winner = winners[0].json();
    expect(winner.version).toBe(2);
    expect(winners[0].headers.etag).toBe('"2"');
    await expect(row(created.id)).resolves.toMatchObject({ title: winner.title, version: 2 });
  });

  it('applies all of 20 unconditional PATCHes, one after another (last write wins)', async () => {
    const created = await createTask({ title: 'contended' });

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call('PATCH', taskUrl(created.id), { body: { title: `writer ${i}` } }),
      ),
    );

    expect(responses.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    const versions = responses.map((r) => r.json().version as number).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    const last = responses.find((r) => r.json().version === 21)!.json();
    await expect(row(created.id)).resolves.toMatchObject({ title: last.title, version: 21 });
  });

  it('creates one task for 10 simultaneous POSTs with one Idempotency-Key and one body', async () => {
    const headers = { 'idempotency-key': 'double-click' };

    const responses = await Promise.all(
      Array.from({ length: 10 }, () => call('POST', BASE, { body: { title: 'once' }, headers })),
    );

    const created = responses.filter((r) => r.statusCode === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    const first = created[0];
    for (const r of created) {
      expect({ body: r.json(), location: r.headers.location, etag: r.headers.etag }).toEqual({
        body: first.json(),
        location: first.headers.location,
        etag: first.headers.etag,
      });
    }
    for (const r of responses.filter((x) => x.statusCode !== 201)) {
      expectProblem(r, { ...PROBLEM.inProgress, instance: BASE }, secrets());
    }
    const { rows } = await fixture.sql.query('select id from tasks');
    expect(rows).toEqual([{ id: first.json().id }]);
  });
});

describe('error bodies', () => {
  it('never echo the request body, the token or driver text', async () => {
    const token = tokens.get(ALICE) ?? (await tokenFor(ALICE));
    const responses = [
      await call('POST', BASE, {
        raw: `{"title": "${token}`,
        headers: { 'content-type': 'application/json' },
      }),
      await call('POST', BASE, { body: { title: `${token}\u0000` } }),
      await call('GET', `${BASE}?q=%00${token.slice(0, 20)}`),
      await call('GET', `${BASE}?sort=${token.slice(0, 20)}`),
      await call('PATCH', taskUrl(MISSING_ID), { body: { title: token.slice(0, 200) } }),
    ];

    for (const res of responses) {
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expectNoLeak(res.body, [token, ...secrets()]);
    }
  });
});
