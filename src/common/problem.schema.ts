import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiResponse, ApiSchema, getSchemaPath } from '@nestjs/swagger';

const EXAMPLE_REQUEST_ID = '8f1c2b7e-4a57-4c1e-9a43-2f1a8c110b6f';
const EXAMPLE_TASK_URL = '/api/v1/tasks/0b6f7c2e-5d0c-4f6e-9a43-9a2f3f1a8c11';

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

interface ProblemExample {
  code: (typeof PROBLEM_CODES)[number];
  title: string;
  detail: string;
  instance?: string;
  errors?: { field: string; message: string }[];
  limit?: number;
}

const PROBLEMS: Record<
  number,
  { description: string; examples: ProblemExample[]; headers?: Record<string, HeaderObject> }
> = {
  400: {
    description: 'VALIDATION_ERROR: bad body, query, id, header or cursor; unknown fields and parameters',
    examples: [
      {
        code: 'VALIDATION_ERROR',
        title: 'Validation failed',
        detail: 'title must be 1 to 255 characters',
        errors: [{ field: 'title', message: 'must be 1 to 255 characters' }],
      },
    ],
  },
  401: {
    description: 'MISSING_TOKEN, INVALID_TOKEN or TOKEN_EXPIRED',
    examples: [
      { code: 'MISSING_TOKEN', title: 'Unauthorized', detail: 'A bearer token is required' },
      { code: 'INVALID_TOKEN', title: 'Unauthorized', detail: 'The token is not valid' },
      { code: 'TOKEN_EXPIRED', title: 'Unauthorized', detail: 'The token has expired' },
    ],
    headers: {
      'WWW-Authenticate': {
        description: 'Bearer challenge (RFC 6750); `error="invalid_token"` when a token was sent',
        schema: { type: 'string' },
        example: 'Bearer realm="tasks", error="invalid_token", error_description="The token has expired"',
      },
    },
  },
  403: {
    description: 'QUOTA_EXCEEDED: the caller has reached the limit of tasks or lists; `limit` says which',
    examples: [
      {
        code: 'QUOTA_EXCEEDED',
        title: 'Quota exceeded',
        detail: 'You have reached the limit of 100000 tasks',
        limit: 100000,
      },
    ],
  },
  404: {
    description:
      'TASK_NOT_FOUND or LIST_NOT_FOUND: no such task or list for this user (another user’s looks the same)',
    examples: [
      {
        code: 'TASK_NOT_FOUND',
        title: 'Task not found',
        detail: 'Task not found',
        instance: EXAMPLE_TASK_URL,
      },
      {
        code: 'LIST_NOT_FOUND',
        title: 'List not found',
        detail: 'List not found',
        instance: '/api/v1/lists/5d0c0b6f-7c2e-4f6e-9a43-9a2f3f1a8c11',
      },
    ],
  },
  409: {
    description:
      'IDEMPOTENCY_KEY_IN_PROGRESS: the first request with this Idempotency-Key is still running; ' +
      'LIST_NAME_TAKEN: another of your lists has this name (case-insensitively)',
    examples: [
      {
        code: 'IDEMPOTENCY_KEY_IN_PROGRESS',
        title: 'Idempotency key in progress',
        detail: 'A request with this Idempotency-Key is still being processed',
      },
      {
        code: 'LIST_NAME_TAKEN',
        title: 'List name taken',
        detail: 'You already have a list with this name',
        instance: '/api/v1/lists',
      },
    ],
  },
  412: {
    description: 'PRECONDITION_FAILED: If-Match does not match the current version; nothing changed',
    examples: [
      {
        code: 'PRECONDITION_FAILED',
        title: 'Precondition failed',
        detail: 'The task has been changed since the given version',
        instance: EXAMPLE_TASK_URL,
      },
    ],
  },
  413: {
    description: 'PAYLOAD_TOO_LARGE: body larger than 64 KiB',
    examples: [
      {
        code: 'PAYLOAD_TOO_LARGE',
        title: 'Payload too large',
        detail: 'The request body is larger than 64 KiB',
      },
    ],
  },
  415: {
    description: 'UNSUPPORTED_MEDIA_TYPE: body not sent as application/json',
    examples: [
      {
        code: 'UNSUPPORTED_MEDIA_TYPE',
        title: 'Unsupported media type',
        detail: 'The request body must be sent as application/json',
      },
    ],
  },
  422: {
    description:
      'IDEMPOTENCY_KEY_REUSED: Idempotency-Key reused with a different body; REFERENCE_NOT_FOUND: a listId, ' +
      'parentId or after that names none of your lists or tasks; INVALID_PARENT: a parentId that breaks the ' +
      'one-level nesting or same-list rule',
    examples: [
      {
        code: 'IDEMPOTENCY_KEY_REUSED',
        title: 'Idempotency key reused',
        detail: 'This Idempotency-Key was already used with a different request body',
      },
      {
        code: 'REFERENCE_NOT_FOUND',
        title: 'Reference not found',
        detail: 'listId does not name one of your lists',
      },
      {
        code: 'INVALID_PARENT',
        title: 'Invalid parent',
        detail: 'The parent is itself a subtask',
      },
    ],
  },
  500: {
    description: 'INTERNAL_ERROR: a bug; the body says nothing about internals',
    examples: [
      { code: 'INTERNAL_ERROR', title: 'Internal server error', detail: 'An unexpected error occurred' },
    ],
  },
  503: {
    description: 'SERVICE_UNAVAILABLE: the database cannot be reached',
    examples: [
      {
        code: 'SERVICE_UNAVAILABLE',
        title: 'Service unavailable',
        detail: 'The service cannot reach a dependency; try again shortly',
      },
    ],
    headers: {
      'Retry-After': {
        description: 'Seconds to wait before retrying',
        schema: { type: 'integer' },
        example: 5,
      },
    },
  },
};

export const REQUEST_ID_HEADER: Record<string, HeaderObject> = {
  'X-Request-Id': {
    description: 'The caller’s X-Request-Id when it is 1–128 visible ASCII characters, else a new UUID',
    schema: { type: 'string', minLength: 1, maxLength: 128 },
    example: EXAMPLE_REQUEST_ID,
  },
};

/** Documents the problem responses a route can give, with the contract's codes. */
export function ApiProblems(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: PROBLEMS[status].description,
        headers: { ...REQUEST_ID_HEADER, ...PROBLEMS[status].headers },
        content: {
          'application/problem+json': {
            schema: { $ref: getSchemaPath(ProblemSchema) },
            examples: Object.fromEntries(
              PROBLEMS[status].examples.map(({ instance = '/api/v1/tasks', ...example }) => [
                example.code,
                {
                  summary: example.code,
                  value: {
                    type: 'about:blank',
                    title: example.title,
                    status,
                    code: example.code,
                    detail: example.detail,
                    instance,
                    requestId: EXAMPLE_REQUEST_ID,
                    ...(example.errors ? { errors: example.errors } : {}),
                    ...(example.limit ? { limit: example.limit } : {}),
                  },
                },
              ]),
            ),
          },
        },
      }),
    ),
  );
}
