import type { FastifyInstance } from 'fastify';

/**
 * What /work/shared/spec/http-api.md promises, route by route, as data the
 * OpenAPI test checks the served document against.
 */
export interface RouteContract {
  success: number;
  /** The success body's media type, when not application/json. */
  successMedia?: string;
  /** Other non-error statuses (304). */
  other?: number[];
  /** Every problem the route can answer: status → the contract's codes for it. */
  problems: Record<number, string[]>;
  requestHeaders?: string[];
  /** Headers each listed status must declare, besides X-Request-Id on every response. */
  responseHeaders?: Record<number, string[]>;
  requestBody?: {
    schema: string;
    required: string[];
    properties: string[];
    /** The properties that accept null; `null` for any other is a 400. */
    nullable: string[];
    minProperties?: number;
  };
  query?: string[];
}

// Every /api/v1 route can fail authentication, hit a bug or lose the database.
const ALWAYS: Record<number, string[]> = {
  401: ['MISSING_TOKEN', 'INVALID_TOKEN', 'TOKEN_EXPIRED'],
  500: ['INTERNAL_ERROR'],
  503: ['SERVICE_UNAVAILABLE'],
};
const BAD_REQUEST = { 400: ['VALIDATION_ERROR'] };
// A body that is too large or not JSON.
const BODY = { 413: ['PAYLOAD_TOO_LARGE'], 415: ['UNSUPPORTED_MEDIA_TYPE'] };
const STALE = { 412: ['PRECONDITION_FAILED'] };
const REFERENCES = { 422: ['REFERENCE_NOT_FOUND', 'INVALID_PARENT'] };

/** The fields a create and a PATCH of a task share (the contract's Task rules). */
const TASK_BODY_FIELDS = [
  'title',
  'description',
  'completed',
  'listId',
  'parentId',
  'priority',
  'tags',
  'due',
  'recurrence',
];
const TASK_NULLABLE = ['description', 'listId', 'parentId', 'due', 'recurrence'];

export const CONTRACT: Record<string, Record<string, RouteContract>> = {
  '/api/v1/tasks': {
    post: {
      success: 201,
      problems: {
        ...ALWAYS,
        ...BAD_REQUEST,
        ...BODY,
        403: ['QUOTA_EXCEEDED'],
        409: ['IDEMPOTENCY_KEY_IN_PROGRESS'],
        422: ['IDEMPOTENCY_KEY_REUSED', ...REFERENCES[422]],
      },
      requestHeaders: ['Idempotency-Key'],
      responseHeaders: { 201: ['Location', 'ETag'] },
      requestBody: {
        schema: 'CreateTask',
        required: ['title'],
        properties: TASK_BODY_FIELDS,
        nullable: TASK_NULLABLE,
      },
    },
    get: {
      success: 200,
      problems: { ...ALWAYS, ...BAD_REQUEST },
      query: [
        'completed',
        'q',
        'listId',
        'parentId',
        'tag',
        'priority',
        'dueFrom',
        'dueTo',
        'sort',
        'limit',
        'cursor',
      ],
    },
  },
  '/api/v1/tasks/{id}': {
    get: {
      success: 200,
      other: [304],
      problems: { ...ALWAYS, ...BAD_REQUEST, 404: ['TASK_NOT_FOUND'] },
      requestHeaders: ['If-None-Match'],
      responseHeaders: { 200: ['ETag'], 304: ['ETag'] },
    },
    patch: {
      success: 200,
      problems: { ...ALWAYS, ...BAD_REQUEST, ...BODY, ...STALE, ...REFERENCES, 404: ['TASK_NOT_FOUND'] },
      requestHeaders: ['If-Match'],
      responseHeaders: { 200: ['ETag'] },
      requestBody: {
        schema: 'UpdateTask',
        required: [],
        properties: TASK_BODY_FIELDS,
        nullable: TASK_NULLABLE,
        minProperties: 1,
      },
    },
    delete: {
      success: 204,
      problems: { ...ALWAYS, ...BAD_REQUEST, ...STALE, 404: ['TASK_NOT_FOUND'] },
      requestHeaders: ['If-Match'],
    },
  },
  '/api/v1/tasks/{id}/move': {
    post: {
      success: 200,
      problems: { ...ALWAYS, ...BAD_REQUEST, ...BODY, ...STALE, ...REFERENCES, 404: ['TASK_NOT_FOUND'] },
      requestHeaders: ['If-Match'],
      responseHeaders: { 200: ['ETag'] },
      // `{}` is a move too: last among the current siblings.
      requestBody: {
        schema: 'MoveTask',
        required: [],
        properties: ['listId', 'parentId', 'after'],
        nullable: ['listId', 'parentId', 'after'],
      },
    },
  },
  '/api/v1/tags': {
    get: { success: 200, problems: { ...ALWAYS, ...BAD_REQUEST } },
  },
  '/api/v1/changes': {
    get: {
      success: 200,
      problems: { ...ALWAYS, ...BAD_REQUEST, 410: ['SYNC_TOKEN_EXPIRED'] },
      query: ['since', 'limit'],
    },
  },
  '/api/v1/changes/stream': {
    get: {
      success: 200,
      problems: { ...ALWAYS, ...BAD_REQUEST, 410: ['SYNC_TOKEN_EXPIRED'], 429: ['TOO_MANY_STREAMS'] },
      successMedia: 'text/event-stream',
      query: ['since'],
      requestHeaders: ['Last-Event-ID'],
    },
  },
  '/api/v1/lists': {
    post: {
      success: 201,
      problems: {
        ...ALWAYS,
        ...BAD_REQUEST,
        ...BODY,
        403: ['QUOTA_EXCEEDED'],
        409: ['LIST_NAME_TAKEN'],
      },
      responseHeaders: { 201: ['Location', 'ETag'] },
      requestBody: { schema: 'ListName', required: ['name'], properties: ['name'], nullable: [] },
    },
    get: {
      success: 200,
      problems: { ...ALWAYS, ...BAD_REQUEST },
      query: ['limit', 'cursor'],
    },
  },
  '/api/v1/lists/{id}': {
    get: {
      success: 200,
      other: [304],
      problems: { ...ALWAYS, ...BAD_REQUEST, 404: ['LIST_NOT_FOUND'] },
      requestHeaders: ['If-None-Match'],
      responseHeaders: { 200: ['ETag'], 304: ['ETag'] },
    },
    patch: {
      success: 200,
      problems: {
        ...ALWAYS,
        ...BAD_REQUEST,
        ...BODY,
        ...STALE,
        404: ['LIST_NOT_FOUND'],
        409: ['LIST_NAME_TAKEN'],
      },
      requestHeaders: ['If-Match'],
      responseHeaders: { 200: ['ETag'] },
      requestBody: { schema: 'ListName', required: ['name'], properties: ['name'], nullable: [] },
    },
    delete: {
      success: 204,
      problems: { ...ALWAYS, ...BAD_REQUEST, ...STALE, 404: ['LIST_NOT_FOUND'] },
      requestHeaders: ['If-Match'],
    },
  },
};

/** Headers every response of a given status carries (besides X-Request-Id on all). */
export const STATUS_HEADERS: Record<number, string[]> = { 401: ['WWW-Authenticate'], 503: ['Retry-After'] };

/** The error table of the contract: status → codes. */
export const PROBLEM_CODES_BY_STATUS: Record<number, string[]> = {
  400: ['VALIDATION_ERROR'],
  401: ['MISSING_TOKEN', 'INVALID_TOKEN', 'TOKEN_EXPIRED'],
  403: ['QUOTA_EXCEEDED'],
  404: ['TASK_NOT_FOUND', 'LIST_NOT_FOUND', 'ROUTE_NOT_FOUND'],
  405: ['METHOD_NOT_ALLOWED'],
  409: ['IDEMPOTENCY_KEY_IN_PROGRESS', 'LIST_NAME_TAKEN'],
  410: ['SYNC_TOKEN_EXPIRED'],
  412: ['PRECONDITION_FAILED'],
  413: ['PAYLOAD_TOO_LARGE'],
  415: ['UNSUPPORTED_MEDIA_TYPE'],
  422: ['IDEMPOTENCY_KEY_REUSED', 'REFERENCE_NOT_FOUND', 'INVALID_PARENT'],
  429: ['TOO_MANY_STREAMS'],
  500: ['INTERNAL_ERROR'],
  503: ['SERVICE_UNAVAILABLE'],
};

/** Codes of the contract that no served route answers yet (none: every route is served). */
export const UNSERVED_CODES: string[] = [];

/** The Task resource: "exactly these fields, nothing more". */
export const TASK_FIELDS = [
  'id',
  'userId',
  'listId',
  'parentId',
  'title',
  'description',
  'completed',
  'completedAt',
  'priority',
  'tags',
  'due',
  'recurrence',
  'position',
  'createdAt',
  'updatedAt',
  'version',
];
export const LIST_FIELDS = ['id', 'name', 'createdAt', 'updatedAt', 'version'];
export const PRIORITIES = ['none', 'low', 'medium', 'high'];
export const TASK_SORTS = [
  'createdAt',
  '-createdAt',
  'updatedAt',
  '-updatedAt',
  'title',
  '-title',
  'due',
  '-due',
  'priority',
  '-priority',
  'position',
];

/**
 * The routes Fastify really serves, as OpenAPI paths (`:id` → `{id}`) with
 * lower-case methods, read from `printRoutes` (HEAD, added by Fastify for every
 * GET, and the CORS preflight's OPTIONS are left out).
 */
export function servedRoutes(fastify: FastifyInstance): Map<string, string[]> {
  const routes = new Map<string, string[]>();
  const stack: string[] = [];
  for (const line of fastify.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:[│ ] {3})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1].length / 4;
    stack.length = depth;
    stack.push(match[2]);
    const methods = (match[3] ?? '')
      .split(',')
      .map((m) => m.trim().toLowerCase())
      .filter((m) => m && m !== 'head' && m !== 'options');
    if (methods.length === 0) continue;
    const path = stack.join('').replace(/:(\w+)/g, '{$1}');
    routes.set(path, [...new Set([...(routes.get(path) ?? []), ...methods])].sort());
  }
  return routes;
}
