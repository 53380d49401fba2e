import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiResponse, ApiSchema, getSchemaPath } from '@nestjs/swagger';

const EXAMPLE_REQUEST_ID = '8f1c2b7e-4a57-4c1e-9a43-2f1a8c110b6f';
/** The ids of the document's examples. */
export const EXAMPLE_TASK_ID = '0b6f7c2e-5d0c-4f6e-9a43-9a2f3f1a8c11';
export const EXAMPLE_LIST_ID = '5d0c0b6f-7c2e-4f6e-9a43-9a2f3f1a8c11';

@ApiSchema({ name: 'FieldProblem', description: 'What is wrong with one field, header or parameter.' })
class FieldProblemSchema {
  @ApiProperty({ description: 'The field (or header, query parameter, `body`).', example: 'title' })
  field!: string;

  @ApiProperty({ example: 'must be 1 to 255 characters' })
  message!: string;
}

/** The `code`s of the contract's problem documents. */
export const PROBLEM_CODES = [
  'VALIDATION_ERROR',
  'MISSING_TOKEN',
  'INVALID_TOKEN',
  'TOKEN_EXPIRED',
  'TASK_NOT_FOUND',
  'ROUTE_NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'IDEMPOTENCY_KEY_IN_PROGRESS',
  'PRECONDITION_FAILED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'IDEMPOTENCY_KEY_REUSED',
  'LIST_NOT_FOUND',
  'REFERENCE_NOT_FOUND',
  'INVALID_PARENT',
  'QUOTA_EXCEEDED',
  'LIST_NAME_TAKEN',
  'SYNC_TOKEN_EXPIRED',
  'TOO_MANY_STREAMS',
  'INTERNAL_ERROR',
  'SERVICE_UNAVAILABLE',
] as const;

/** RFC 9457 problem document (application/problem+json), for the OpenAPI document. */
@ApiSchema({
  name: 'Problem',
  description: 'RFC 9457 problem document, sent as application/problem+json for every error.',
})
export class ProblemSchema {
  @ApiProperty({ description: 'Always about:blank; `code` says what happened.', example: 'about:blank' })
  type!: string;

  @ApiProperty({ description: 'Short summary of the status.', example: 'Validation failed' })
  title!: string;

  @ApiProperty({ type: 'integer', minimum: 400, maximum: 599, example: 400 })
  status!: number;

  @ApiProperty({
    enum: PROBLEM_CODES,
    description: 'Stable, machine-readable reason; switch on this rather than on `title` or `detail`.',
    example: 'VALIDATION_ERROR',
  })
  code!: string;

  @ApiProperty({ description: 'Human-readable explanation.', example: 'title must be 1 to 255 characters' })
  detail!: string;

  @ApiProperty({ description: 'The request path, without its query string.', example: '/api/v1/tasks' })
  instance!: string;

  @ApiProperty({ description: 'The X-Request-Id of the request.', example: EXAMPLE_REQUEST_ID })
  requestId!: string;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    required: false,
    description: 'For QUOTA_EXCEEDED: the limit that was reached.',
    example: 100000,
  })
  limit?: number;

  @ApiProperty({
    type: [FieldProblemSchema],
    required: false,
    description: 'For VALIDATION_ERROR: each field.',
    example: [{ field: 'title', message: 'must be 1 to 255 characters' }],
  })
  errors?: FieldProblemSchema[];
}

interface HeaderObject {
  description: string;
  schema: Record<string, unknown>;
  example?: unknown;
}

export type ProblemCode = (typeof PROBLEM_CODES)[number];

/** What a route's problems are about, read from the example `instance` it is documented with. */
type Resource = 'task' | 'list' | 'other';

interface ProblemExample {
  title: string;
  detail: string;
  errors?: { field: string; message: string }[];
  limit?: number;
}

interface ProblemDoc {
  status: number;
  /** One line of the response's description: when the code is answered. */
  when: string;
  example: (resource: Resource) => ProblemExample;
}

// The defaults of MAX_TASKS_PER_USER and MAX_LISTS_PER_USER.
const EXAMPLE_LIMITS = { task: 100000, list: 1000 } as const;

/**
 * Every code a route of ours can answer, with its status, when it is answered and
 * an example like the service's own. ROUTE_NOT_FOUND and METHOD_NOT_ALLOWED are
 * left out: no route of the document answers them (they are in the `code` enum).
 */
const PROBLEMS: Record<Exclude<ProblemCode, 'ROUTE_NOT_FOUND' | 'METHOD_NOT_ALLOWED'>, ProblemDoc> = {
  VALIDATION_ERROR: {
    status: 400,
    when: 'VALIDATION_ERROR: bad body, query, id, header or cursor; unknown fields and parameters',
    example: (resource) => {
      const [field, message] =
        resource === 'task'
          ? ['title', 'must be 1 to 255 characters']
          : resource === 'list'
            ? ['name', 'must be 1 to 100 characters after trimming, without control characters']
            : ['sort', 'is not allowed'];
      return {
        title: 'Validation failed',
        detail: `${field} ${message}`,
        errors: [{ field, message }],
      };
    },
  },
  MISSING_TOKEN: {
    status: 401,
    when: 'MISSING_TOKEN: no bearer token',
    example: () => ({ title: 'Unauthorized', detail: 'A bearer token is required' }),
  },
  INVALID_TOKEN: {
    status: 401,
    when: 'INVALID_TOKEN: bad signature, algorithm, issuer, audience, sub or no exp',
    example: () => ({ title: 'Unauthorized', detail: 'The token is not valid' }),
  },
  TOKEN_EXPIRED: {
    status: 401,
    when: 'TOKEN_EXPIRED: the token’s exp is past',
    example: () => ({ title: 'Unauthorized', detail: 'The token has expired' }),
  },
  QUOTA_EXCEEDED: {
    status: 403,
    when: 'QUOTA_EXCEEDED: the caller has reached their limit of tasks or lists, given as `limit`',
    example: (resource) => {
      const limit = resource === 'list' ? EXAMPLE_LIMITS.list : EXAMPLE_LIMITS.task;
      return {
        title: 'Quota exceeded',
        detail: `You have reached the limit of ${limit} ${resource === 'list' ? 'lists' : 'tasks'}`,
        limit,
      };
    },
  },
  TASK_NOT_FOUND: {
    status: 404,
    when: 'TASK_NOT_FOUND: no such task for this user (another user’s task looks the same)',
    example: () => ({ title: 'Task not found', detail: 'Task not found' }),
  },
  LIST_NOT_FOUND: {
    status: 404,
    when: 'LIST_NOT_FOUND: no such list for this user (another user’s list looks the same)',
    example: () => ({ title: 'List not found', detail: 'List not found' }),
  },
  IDEMPOTENCY_KEY_IN_PROGRESS: {
    status: 409,
    when: 'IDEMPOTENCY_KEY_IN_PROGRESS: the first request with this Idempotency-Key is still running',
    example: () => ({
      title: 'Idempotency key in progress',
      detail: 'A request with this Idempotency-Key is still being processed',
    }),
  },
  LIST_NAME_TAKEN: {
    status: 409,
    when: 'LIST_NAME_TAKEN: another of your lists has this name (compared case-insensitively)',
    example: () => ({ title: 'List name taken', detail: 'You already have a list with this name' }),
  },
  SYNC_TOKEN_EXPIRED: {
    status: 410,
    when: 'SYNC_TOKEN_EXPIRED: the token is older than CHANGE_RETENTION_DAYS; sync again without since',
    example: () => ({
      title: 'Sync token expired',
      detail: 'The sync token is older than 30 days; sync again without since',
    }),
  },
  TOO_MANY_STREAMS: {
    status: 429,
    when: 'TOO_MANY_STREAMS: the caller already has STREAM_MAX_PER_USER change streams open on this instance',
    example: () => ({
      title: 'Too many streams',
      detail: 'You already have 10 change streams open; close one first',
    }),
  },
  PRECONDITION_FAILED: {
    status: 412,
    when: 'PRECONDITION_FAILED: If-Match does not match the current version; nothing changed',
    example: (resource) => ({
      title: 'Precondition failed',
      detail: `The ${resource === 'list' ? 'list' : 'task'} has been changed since the given version`,
    }),
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    when: 'PAYLOAD_TOO_LARGE: body larger than 64 KiB',
    example: () => ({ title: 'Payload too large', detail: 'The request body is larger than 64 KiB' }),
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    when: 'UNSUPPORTED_MEDIA_TYPE: body not sent as application/json',
    example: () => ({
      title: 'Unsupported media type',
      detail: 'The request body must be sent as application/json',
    }),
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    when: 'IDEMPOTENCY_KEY_REUSED: Idempotency-Key reused with a different body',
    example: () => ({
      title: 'Idempotency key reused',
      detail: 'This Idempotency-Key was already used with a different request body',
    }),
  },
  REFERENCE_NOT_FOUND: {
    status: 422,
    when: 'REFERENCE_NOT_FOUND: a listId, parentId or after that names none of your lists or tasks',
    example: () => ({ title: 'Reference not found', detail: 'listId does not name one of your lists' }),
  },
  INVALID_PARENT: {
    status: 422,
    when: 'INVALID_PARENT: a parentId that breaks the one-level nesting or the same-list rule',
    example: () => ({ title: 'Invalid parent', detail: 'The parent is itself a subtask' }),
  },
  INTERNAL_ERROR: {
    status: 500,
    when: 'INTERNAL_ERROR: a bug; the body says nothing about internals',
    example: () => ({ title: 'Internal server error', detail: 'An unexpected error occurred' }),
  },
  SERVICE_UNAVAILABLE: {
    status: 503,
    when: 'SERVICE_UNAVAILABLE: the database cannot be reached',
    example: () => ({
      title: 'Service unavailable',
      detail: 'The service cannot reach a dependency; try again shortly',
    }),
  },
};

/** A code this document's routes can answer (see PROBLEMS). */
export type RouteProblemCode = keyof typeof PROBLEMS;

/** Headers every response of a status carries, besides X-Request-Id. */
const STATUS_HEADERS: Record<number, Record<string, HeaderObject>> = {
  401: {
    'WWW-Authenticate': {
      description: 'Bearer challenge (RFC 6750); `error="invalid_token"` when a token was sent',
      schema: { type: 'string' },
      example: 'Bearer realm="tasks", error="invalid_token", error_description="The token has expired"',
    },
  },
  503: {
    'Retry-After': {
      description: 'Seconds to wait before retrying',
      schema: { type: 'integer' },
      example: 5,
    },
  },
};

/** What every /api/v1 route can answer: authentication failures, a bug, an unreachable database. */
export const API_ROUTE_PROBLEMS: RouteProblemCode[] = [
  'MISSING_TOKEN',
  'INVALID_TOKEN',
  'TOKEN_EXPIRED',
  'INTERNAL_ERROR',
  'SERVICE_UNAVAILABLE',
];

export const REQUEST_ID_HEADER: Record<string, HeaderObject> = {
  'X-Request-Id': {
    description: 'The caller’s X-Request-Id when it is 1–128 visible ASCII characters, else a new UUID',
    schema: { type: 'string', minLength: 1, maxLength: 128 },
    example: EXAMPLE_REQUEST_ID,
  },
};

/**
 * Documents the problem responses a route can give: one response per status,
 * with an example of each of the given codes. `instance` is the examples' request
 * path (`/api/v1/lists/…`); the resource it names shapes their wording.
 */
export function ApiProblems(
  instance: string,
  ...codes: RouteProblemCode[]
): MethodDecorator & ClassDecorator {
  const resource: Resource = instance.startsWith('/api/v1/tasks')
    ? 'task'
    : instance.startsWith('/api/v1/lists')
      ? 'list'
      : 'other';
  const byStatus = new Map<number, RouteProblemCode[]>();
  for (const code of codes) {
    const { status } = PROBLEMS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return applyDecorators(
    ...[...byStatus].map(([status, group]) =>
      ApiResponse({
        status,
        description: group.map((code) => PROBLEMS[code].when).join('; '),
        headers: { ...REQUEST_ID_HEADER, ...STATUS_HEADERS[status] },
        content: {
          'application/problem+json': {
            schema: { $ref: getSchemaPath(ProblemSchema) },
            examples: Object.fromEntries(
              group.map((code) => {
                const { title, detail, errors, limit } = PROBLEMS[code].example(resource);
                const value = {
                  type: 'about:blank',
                  title,
                  status,
                  code,
                  detail,
                  instance,
                  requestId: EXAMPLE_REQUEST_ID,
                  ...(errors ? { errors } : {}),
                  ...(limit !== undefined ? { limit } : {}),
                };
                return [code, { summary: code, value }];
              }),
            ),
          },
        },
      }),
    ),
  );
}
