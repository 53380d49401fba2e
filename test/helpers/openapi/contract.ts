import type { FastifyInstance } from 'fastify';

/**
 * What /work/shared/spec/http-api.md promises, route by route, as data the
 * OpenAPI test checks the served document against.
 */
export interface RouteContract {
  success: number;
  /** Other non-error statuses (304). */
  other?: number[];
  /** Every problem status the route can answer. */
  errors: number[];
  requestHeaders?: string[];
  /** Headers each listed status must declare, besides X-Request-Id on every response. */
  responseHeaders?: Record<number, string[]>;
  requestBody?: { schema: string; required: string[]; properties: string[]; minProperties?: number };
  query?: string[];
}

// Every /api/v1 route can fail authentication, hit a bug or lose the database.
const ALWAYS = [401, 500, 503];

export const CONTRACT: Record<string, Record<string, RouteContract>> = {
  '/api/v1/tasks': {
    post: {
      success: 201,
      errors: [400, 409, 413, 415, 422, ...ALWAYS],
      requestHeaders: ['Idempotency-Key'],
      responseHeaders: { 201: ['Location', 'ETag'] },
      requestBody: {
        schema: 'CreateTask',
        required: ['title'],
        properties: ['title', 'description', 'completed'],
      },
    },
    get: {
      success: 200,
      errors: [400, ...ALWAYS],
      query: ['completed', 'q', 'sort', 'limit', 'cursor'],
    },
  },
  '/api/v1/tasks/{id}': {
    get: {
      success: 200,
      other: [304],
      errors: [400, 404, ...ALWAYS],
      requestHeaders: ['If-None-Match'],
      responseHeaders: { 200: ['ETag'], 304: ['ETag'] },
    },
    patch: {
      success: 200,
      errors: [400, 404, 412, 413, 415, ...ALWAYS],
      requestHeaders: ['If-Match'],
      responseHeaders: { 200: ['ETag'] },
      requestBody: {
        schema: 'UpdateTask',
        required: [],
        properties: ['title', 'description', 'completed'],
        minProperties: 1,
      },
    },
    delete: {
      success: 204,
      errors: [400, 404, 412, ...ALWAYS],
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
  404: ['TASK_NOT_FOUND', 'ROUTE_NOT_FOUND'],
  405: ['METHOD_NOT_ALLOWED'],
  409: ['IDEMPOTENCY_KEY_IN_PROGRESS'],
  412: ['PRECONDITION_FAILED'],
  413: ['PAYLOAD_TOO_LARGE'],
  415: ['UNSUPPORTED_MEDIA_TYPE'],
  422: ['IDEMPOTENCY_KEY_REUSED'],
  500: ['INTERNAL_ERROR'],
  503: ['SERVICE_UNAVAILABLE'],
};

export const TASK_FIELDS = [
  'id',
  'userId',
  'title',
  'description',
  'completed',
  'createdAt',
  'updatedAt',
  'version',
];
export const TASK_SORTS = ['createdAt', '-createdAt', 'updatedAt', '-updatedAt', 'title', '-title'];

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
