import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiResponse } from '@nestjs/swagger';

class FieldProblemSchema {
  @ApiProperty({ example: 'title' })
  field!: string;

  @ApiProperty({ example: 'must be 1 to 255 characters' })
  message!: string;
}

/** RFC 9457 problem document (application/problem+json), for the OpenAPI document. */
export class ProblemSchema {
  @ApiProperty({ example: 'about:blank' })
  type!: string;

  @ApiProperty({ example: 'Validation failed' })
  title!: string;

  @ApiProperty({ example: 400 })
  status!: number;

  @ApiProperty({
    enum: [
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
      'INTERNAL_ERROR',
      'SERVICE_UNAVAILABLE',
    ],
    example: 'VALIDATION_ERROR',
  })
  code!: string;

  @ApiProperty({ example: 'title must be 1 to 255 characters' })
  detail!: string;

  @ApiProperty({ example: '/api/v1/tasks' })
  instance!: string;

  @ApiProperty({ example: '8f1c2b7e-4a57-4c1e-9a43-2f1a8c110b6f' })
  requestId!: string;

  @ApiProperty({
    type: [FieldProblemSchema],
    required: false,
    description: 'For VALIDATION_ERROR: each field.',
  })
  errors?: FieldProblemSchema[];
}

const PROBLEMS: Record<number, { description: string; code: string; headers?: Record<string, object> }> = {
  400: { description: 'Bad body, query, id, header or cursor', code: 'VALIDATION_ERROR' },
  401: {
    description: 'Missing, invalid or expired token (MISSING_TOKEN, INVALID_TOKEN, TOKEN_EXPIRED)',
    code: 'INVALID_TOKEN',
    headers: {
      'WWW-Authenticate': { description: 'Bearer challenge (RFC 6750)', schema: { type: 'string' } },
    },
  },
  404: { description: 'No such task for this user', code: 'TASK_NOT_FOUND' },
  409: {
    description: 'The first request with this Idempotency-Key is still running',
    code: 'IDEMPOTENCY_KEY_IN_PROGRESS',
  },
  412: { description: 'If-Match does not match the current version', code: 'PRECONDITION_FAILED' },
  413: { description: 'Body larger than 64 KiB', code: 'PAYLOAD_TOO_LARGE' },
  415: { description: 'Body not sent as application/json', code: 'UNSUPPORTED_MEDIA_TYPE' },
  422: { description: 'Idempotency-Key reused with a different body', code: 'IDEMPOTENCY_KEY_REUSED' },
  500: { description: 'A bug; the body says nothing about internals', code: 'INTERNAL_ERROR' },
  503: {
    description: 'The database cannot be reached',
    code: 'SERVICE_UNAVAILABLE',
    headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } },
  },
};

export const REQUEST_ID_HEADER = {
  'X-Request-Id': { description: 'The caller’s id when sane, else a new UUID', schema: { type: 'string' } },
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
            schema: { $ref: '#/components/schemas/ProblemSchema' },
            example: {
              type: 'about:blank',
              title: 'Error',
              status,
              code: PROBLEMS[status].code,
              detail: PROBLEMS[status].description,
              instance: '/api/v1/tasks',
              requestId: '8f1c2b7e-4a57-4c1e-9a43-2f1a8c110b6f',
            },
          },
        },
      }),
    ),
  );
}
