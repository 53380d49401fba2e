import type { HTTPMethods } from 'fastify';
import type pg from 'pg';
import { TEST_JWT_SECRET } from './boot-app';
import { expectNoLeak, type InjectResponse } from './http-assert';
import { tokenFor, type HttpFixture } from './http';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ListJson {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** Exactly the five fields of the contract's List, with their formats. */
export function expectListShape(list: unknown): asserts list is ListJson {
  expect(list).toEqual({
    id: expect.stringMatching(UUID_RE),
    name: expect.any(String),
    createdAt: expect.stringMatching(ISO_MS),
    updatedAt: expect.stringMatching(ISO_MS),
    version: expect.any(Number),
  });
}

export interface Call {
  /** Whose token to send; null sends no Authorization header. The caller's default user otherwise. */
  as?: string | null;
  headers?: Record<string, string | string[]>;
  /** Sent as application/json. */
  body?: unknown;
  /** Sent as-is, with only the headers given. */
  raw?: string | Buffer;
}

export type Caller = ((method: HTTPMethods, url: string, options?: Call) => Promise<InjectResponse>) & {
  /** Every token issued so far, and the secret: none may appear in a response body. */
  secrets(): string[];
};

/**
 * HTTP through Fastify's inject as a user (a fresh 30-minute HS256 token per
 * user, cached), like the `call` of tasks.http.e2e-spec.ts.
 */
export function httpCaller(fixture: () => HttpFixture, defaultUser: string): Caller {
  const tokens = new Map<string, string>();
  const call = async (method: HTTPMethods, url: string, options: Call = {}) => {
    const user = options.as === undefined ? defaultUser : options.as;
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
    return fixture().app.inject({ method, url, headers: { ...headers, ...options.headers }, payload });
  };
  return Object.assign(call, { secrets: () => [...tokens.values(), TEST_JWT_SECRET] });
}

/** Empties every table a test of lists, tasks or quotas writes (the owners' counts included). */
export async function truncateAll(sql: pg.Pool): Promise<void> {
  await sql.query('truncate tasks, lists, owners, idempotency_keys, deletions cascade');
}

/** The stored list row, timestamps as the API shows them (and at full precision). */
export async function listRow(sql: pg.Pool, id: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await sql.query(
    `select id, user_id, name, name_key, version,
            to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_ms,
            to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as updated_ms,
            to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as created_us,
            to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as updated_us
     from lists where id = $1`,
    [id],
  );
  return rows[0];
}

/** The row as the API should show it. */
export function asList(r: Record<string, unknown>): ListJson {
  return {
    id: r.id as string,
    name: r.name as string,
    createdAt: r.created_ms as string,
    updatedAt: r.updated_ms as string,
    version: r.version as number,
  };
}

/** What the owners table says a user holds, and what the tasks and lists tables really hold. */
export async function holdings(
  sql: pg.Pool,
  user: string,
): Promise<{ tasks: number; lists: number; taskCount: number | null; listCount: number | null }> {
  const { rows } = await sql.query(
    `select (select count(*)::int from tasks where user_id = $1) as tasks,
            (select count(*)::int from lists where user_id = $1) as lists,
            (select task_count from owners where user_id = $1) as "taskCount",
            (select list_count from owners where user_id = $1) as "listCount"`,
    [user],
  );
  return rows[0];
}

/**
 * The 403 QUOTA_EXCEEDED problem document, exactly: every member of the
 * contract's problem document plus `limit` (shared/spec/http-api.md, Quotas).
 */
export function expectQuotaProblem(
  res: InjectResponse,
  instance: string,
  resource: 'tasks' | 'lists',
  limit: number,
  secrets: readonly string[] = [],
): void {
  expect({ status: res.statusCode, contentType: res.headers['content-type'] }).toEqual({
    status: 403,
    contentType: expect.stringMatching(/^application\/problem\+json(\s*;.*)?$/),
  });
  const requestId = res.headers['x-request-id'];
  expect(requestId).toEqual(expect.any(String));
  expect(res.json()).toEqual({
    type: 'about:blank',
    title: 'Quota exceeded',
    status: 403,
    code: 'QUOTA_EXCEEDED',
    detail: `You have reached the limit of ${limit} ${resource}`,
    instance,
    requestId,
    limit,
  });
  expectNoLeak(res.body, secrets);
}
