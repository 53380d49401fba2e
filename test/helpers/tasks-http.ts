import type { HTTPMethods } from 'fastify';
import type pg from 'pg';
import { TEST_JWT_SECRET } from './boot-app';
import { expectTaskShape, TRANSPORT_PROBLEM, type InjectResponse, type TaskJson } from './http-assert';
import { startHttpApp, tokenFor, type HttpFixture } from './http';

/**
 * What the task routes' HTTP tests (test/tasks.*.e2e-spec.ts) share: the
 * production app on a database of the test file's own, a request helper that
 * signs as a given user, and plain-SQL readers of what was really stored,
 * independent of the code under test. Jest gives every test file its own
 * module registry, so the state below is the calling file's alone.
 */

export const BASE = '/api/v1/tasks';
export const TAGS_URL = '/api/v1/tags';
export const ALICE = 'user_alice';
export const BOB = 'user_bob';
export const MISSING_ID = '00000000-0000-4000-8000-000000000000';

export const PROBLEM = {
  ...TRANSPORT_PROBLEM,
  notFound: { status: 404, code: 'TASK_NOT_FOUND', title: 'Task not found', detail: 'Task not found' },
  precondition: {
    status: 412,
    code: 'PRECONDITION_FAILED',
    title: 'Precondition failed',
    detail: 'The task has been changed since the given version',
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
  listNotFound: {
    status: 422,
    code: 'REFERENCE_NOT_FOUND',
    title: 'Reference not found',
    detail: 'listId does not name one of your lists',
  },
  parentNotFound: {
    status: 422,
    code: 'REFERENCE_NOT_FOUND',
    title: 'Reference not found',
    detail: 'parentId does not name one of your tasks',
  },
  /** 422 INVALID_PARENT; the detail names which nesting rule was broken. */
  invalidParent: (detail: string) => ({
    status: 422,
    code: 'INVALID_PARENT',
    title: 'Invalid parent',
    detail,
  }),
} as const;

/** The INVALID_PARENT details, one per nesting rule. */
export const PARENT_RULE = {
  subtask: 'The parent is itself a subtask',
  otherList: 'The parent is in another list',
  hasSubtasks: 'A task that has subtasks cannot become a subtask',
  itself: 'A task cannot be its own parent',
} as const;

export const TITLE_LENGTH = { field: 'title', message: 'must be 1 to 255 characters' };
export const NOT_A_UUID = { field: 'id', message: 'must be a UUID' };
export const BAD_CURSOR = { field: 'cursor', message: 'is not a valid cursor for this list' };
export const EMPTY_PATCH = {
  field: 'body',
  message:
    'must contain at least one of title, description, completed, listId, parentId, priority, tags, due, recurrence',
};
export const NOT_AN_OBJECT = { field: 'body', message: 'must be a JSON object' };
export const BAD_QUERY_ENCODING = { field: 'query', message: 'must be valid percent-encoded UTF-8' };
export const BAD_KEY = { field: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' };
export const notAllowed = (field: string) => ({ field, message: 'is not allowed' });
export const noNul = (field: string) => ({ field, message: 'must not contain the NUL character' });

export const EMOJI = '😀'; // one code point, two UTF-16 units, four UTF-8 bytes

export const taskUrl = (id: string) => `${BASE}/${id}`;

let fixture: HttpFixture | undefined;
const tokens = new Map<string, string>();

function current(): HttpFixture {
  if (!fixture) throw new Error('useTasksHttp() must be called at the top of the test file');
  return fixture;
}

/** Booting the app loads the whole module graph afresh: slow on a busy machine, so hooks get this long. */
const HOOK_TIMEOUT_MS = 60_000;

/**
 * Starts the app for the calling file (beforeAll), stops it (afterAll), and
 * empties every table the task routes write before each test, so no test
 * depends on another's data.
 */
export function useTasksHttp(): void {
  beforeAll(async () => {
    fixture = await startHttpApp();
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await fixture?.close();
    fixture = undefined;
  }, HOOK_TIMEOUT_MS);

  beforeEach(async () => {
    await current().sql.query('truncate tasks, lists, idempotency_keys, owners, deletions');
  });
}

/** Direct SQL on the app's database, to arrange and to assert what is really stored. */
export function sql(): pg.Pool {
  return current().sql;
}

/** Every token this file issued: none may ever appear in a response body. */
export const secrets = () => [...tokens.values(), TEST_JWT_SECRET];

/** The token `call` sends for the user (issued on first use, valid for 30 minutes). */
export async function tokenOf(user: string): Promise<string> {
  if (!tokens.has(user)) tokens.set(user, await tokenFor(user, TEST_JWT_SECRET, '30m'));
  return tokens.get(user)!;
}

export interface Call {
  /** Whose token to send; null sends no Authorization header. Alice by default. */
  as?: string | null;
  headers?: Record<string, string | string[]>;
  /** Sent as application/json. */
  body?: unknown;
  /** Sent as-is, with only the headers given. */
  raw?: string | Buffer;
}

export async function call(method: HTTPMethods, url: string, options: Call = {}): Promise<InjectResponse> {
  const user = options.as === undefined ? ALICE : options.as;
  const headers: Record<string, string | string[]> = {};
  if (user !== null) headers.authorization = `Bearer ${await tokenOf(user)}`;
  let payload: string | Buffer | undefined = options.raw;
  if (options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  return current().app.inject({ method, url, headers: { ...headers, ...options.headers }, payload });
}

/** Creates a task through the API, asserting the 201 and the Task's shape. */
export async function createTask(
  body: Record<string, unknown> = { title: 'Buy milk' },
  as = ALICE,
): Promise<TaskJson> {
  const res = await call('POST', BASE, { as, body });
  // On any other status the assertion shows the problem document.
  expect({ status: res.statusCode, body: res.statusCode === 201 ? 'a Task' : res.json() }).toEqual({
    status: 201,
    body: 'a Task',
  });
  const task = res.json();
  expectTaskShape(task);
  return task;
}

export async function createTaskWithKey(title: string, headers: Record<string, string>): Promise<TaskJson> {
  const res = await call('POST', BASE, { body: { title }, headers });
  expect(res.statusCode).toBe(201);
  return res.json();
}

/** A list of the user's, inserted with plain SQL (the lists routes are not under test here). */
export async function createList(name: string, as = ALICE): Promise<string> {
  const { rows } = await current().sql.query<{ id: string }>(
    'insert into lists (user_id, name, name_key) values ($1, $2::text, lower($2::text)) returning id',
    [as, name],
  );
  return rows[0].id;
}

/** The stored row, timestamps at full (microsecond) precision and as the API shows them. */
export async function row(id: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await current().sql.query(
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

export async function count(table: 'tasks' | 'idempotency_keys'): Promise<number> {
  const { rows } = await current().sql.query(`select count(*)::int as n from ${table}`);
  return rows[0].n;
}

/** The row as the API should show it. */
export function asTask(r: Record<string, unknown>): TaskJson {
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
