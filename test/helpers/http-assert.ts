import type { LightMyRequestResponse } from 'fastify';

export type InjectResponse = LightMyRequestResponse;

const PROBLEM_TYPE = /^application\/problem\+json(\s*;.*)?$/;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ExpectedProblem {
  status: number;
  code: string;
  title: string;
  detail: string;
  instance: string;
  errors?: { field: string; message: string }[];
}

/** The problem documents every route answers the same way, whatever its resource. */
export const TRANSPORT_PROBLEM = {
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
} as const;

/**
 * Things that must never reach a client in an error body (shared/spec/http-api.md, Errors):
 * stack frames, SQL text, driver messages, connection strings. Secrets the test knows
 * (tokens, passwords) are passed in and must not appear either.
 */
export function expectNoLeak(body: string, secrets: readonly string[] = []): void {
  expect(body).not.toMatch(/\bat .+:\d+:\d+/); // a stack frame
  expect(body).not.toMatch(/node_modules|\/src\/|\.ts\b|\.js\b/);
  expect(body).not.toMatch(/\b(select|insert into|update \w+ set|delete from|returning)\b/i);
  expect(body).not.toMatch(/postgres(ql)?:\/\//i);
  expect(body).not.toMatch(/duplicate key|violates|invalid byte sequence|syntax error at/i);
  for (const secret of secrets) expect(body).not.toContain(secret);
}

/**
 * The response is exactly this RFC 9457 problem document: every member compared,
 * requestId equal to the response's X-Request-Id, the problem media type, nothing leaked.
 */
export function expectProblem(
  res: InjectResponse,
  expected: ExpectedProblem,
  secrets: readonly string[] = [],
) {
  expect({ status: res.statusCode, contentType: res.headers['content-type'] }).toEqual({
    status: expected.status,
    contentType: expect.stringMatching(PROBLEM_TYPE),
  });
  const requestId = res.headers['x-request-id'];
  expect(requestId).toEqual(expect.any(String));
  expect(res.json()).toEqual({
    type: 'about:blank',
    title: expected.title,
    status: expected.status,
    code: expected.code,
    detail: expected.detail,
    instance: expected.instance,
    requestId,
    ...(expected.errors ? { errors: expected.errors } : {}),
  });
  expectNoLeak(res.body, secrets);
}

/** A 400 VALIDATION_ERROR naming exactly these fields, detail being "<field> <message>" joined by "; ". */
export function expectValidationProblem(
  res: InjectResponse,
  instance: string,
  errors: { field: string; message: string }[],
  secrets: readonly string[] = [],
): void {
  expectProblem(
    res,
    {
      status: 400,
      code: 'VALIDATION_ERROR',
      title: 'Validation failed',
      detail: errors.map((e) => `${e.field} ${e.message}`).join('; '),
      instance,
      errors,
    },
    secrets,
  );
}

export interface TaskJson {
  id: string;
  userId: string;
  listId: string | null;
  parentId: string | null;
  title: string;
  description: string | null;
  completed: boolean;
  completedAt: string | null;
  priority: 'none' | 'low' | 'medium' | 'high';
  tags: string[];
  due: { date: string; time: string | null; timeZone: string | null } | null;
  recurrence: string | null;
  position: string;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** Exactly the sixteen fields of the contract's Task, with their formats. */
export function expectTaskShape(task: unknown): asserts task is TaskJson {
  const t = (task ?? {}) as Partial<TaskJson>;
  const nullOr = (value: unknown, matcher: unknown) => (value === null ? null : matcher);
  expect(task).toEqual({
    id: expect.stringMatching(UUID_RE),
    userId: expect.any(String),
    listId: nullOr(t.listId, expect.stringMatching(UUID_RE)),
    parentId: nullOr(t.parentId, expect.stringMatching(UUID_RE)),
    title: expect.any(String),
    description: nullOr(t.description, expect.any(String)),
    completed: expect.any(Boolean),
    completedAt: nullOr(t.completedAt, expect.stringMatching(ISO_MS)),
    priority: expect.stringMatching(/^(none|low|medium|high)$/),
    tags: expect.any(Array),
    due: nullOr(t.due, {
      date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      time: nullOr(t.due?.time, expect.stringMatching(/^\d{2}:\d{2}$/)),
      timeZone: nullOr(t.due?.timeZone, expect.any(String)),
    }),
    recurrence: nullOr(t.recurrence, expect.any(String)),
    position: expect.stringMatching(/^[\x21-\x7e]{1,64}$/),
    createdAt: expect.stringMatching(ISO_MS),
    updatedAt: expect.stringMatching(ISO_MS),
    version: expect.any(Number),
  });
}

/** What an Idempotency-Key replay must repeat of the first answer: status, body, Location and ETag. */
export function replayOf(res: InjectResponse): Record<string, unknown> {
  return { status: res.statusCode, body: res.json(), location: res.headers.location, etag: res.headers.etag };
}

/** A problem body without the members that legitimately differ between two requests. */
export function comparable(res: InjectResponse): Record<string, unknown> {
  const { requestId: _r, instance: _i, ...rest } = res.json<Record<string, unknown>>();
  return { status: res.statusCode, contentType: res.headers['content-type'], ...rest };
}
