import { HttpException, Logger, NotFoundException, type ArgumentsHost } from '@nestjs/common';
import { AuthenticationError, KeySetUnavailableError } from '../auth/auth.errors';
import {
  DatabaseConnectionError,
  IdempotencyKeyInProgressError,
  IdempotencyKeyReusedError,
  TaskNotFoundError,
  VersionConflictError,
} from '../database/data-layer.errors';
import { ProblemDetailsFilter } from './problem-details.filter';
import type { RouteTable } from './route-table';

/** Runs the filter on one exception and returns what it sent. */
function answer(exception: unknown, allowed: string[] = [], method = 'GET') {
  const sent: { status?: number; headers: Record<string, string>; body?: unknown } = { headers: {} };
  const reply = {
    status(code: number) {
      sent.status = code;
      return reply;
    },
    headers(h: Record<string, string>) {
      Object.assign(sent.headers, h);
      return reply;
    },
    header(name: string, value: string) {
      sent.headers[name] = value;
      return reply;
    },
    send(body: unknown) {
      sent.body = body;
      return reply;
    },
  };
  const request = { id: 'req-1', url: '/api/v1/tasks/x?y=1', method };
  const host = {
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => reply }),
  } as unknown as ArgumentsHost;
  const routes = { allowedMethods: () => allowed } as unknown as RouteTable;
  new ProblemDetailsFilter(routes).catch(exception, host);
  return sent;
}

const base = { type: 'about:blank', instance: '/api/v1/tasks/x', requestId: 'req-1' };

describe('ProblemDetailsFilter', () => {
  // The filter logs 5xx answers; that is checked elsewhere and only noise here.
  beforeAll(() => Logger.overrideLogger(false));

  it('answers an unexpected error with a bare 500 that reveals nothing', () => {
    const sent = answer(new TypeError('secret internals at line 42'));
    expect(sent.status).toBe(500);
    expect(sent.headers['content-type']).toBe('application/problem+json');
    expect(sent.body).toEqual({
      ...base,
      title: 'Internal server error',
      status: 500,
      code: 'INTERNAL_ERROR',
      detail: 'An unexpected error occurred',
    });
  });

  it.each([
    [new TaskNotFoundError(), 404, 'TASK_NOT_FOUND'],
    [new VersionConflictError(3), 412, 'PRECONDITION_FAILED'],
    [new IdempotencyKeyInProgressError(), 409, 'IDEMPOTENCY_KEY_IN_PROGRESS'],
    [new IdempotencyKeyReusedError(), 422, 'IDEMPOTENCY_KEY_REUSED'],
  ])('maps %p to %i %s', (error, status, code) => {
    expect(answer(error)).toMatchObject({ status, body: { ...base, status, code, detail: error.message } });
  });

  it.each([new DatabaseConnectionError('down'), new KeySetUnavailableError()])(
    'answers %p with 503 and Retry-After',
    (error) => {
      const sent = answer(error);
      expect(sent.status).toBe(503);
      expect(sent.headers['retry-after']).toBe('5');
      expect(sent.body).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    },
  );

  it('challenges with WWW-Authenticate, with an error attribute only when a token was sent', () => {
    expect(
      answer(new AuthenticationError('MISSING_TOKEN', 'A bearer token is required')).headers,
    ).toMatchObject({
      'www-authenticate': 'Bearer realm="tasks"',
    });
    const expired = answer(new AuthenticationError('TOKEN_EXPIRED', 'The token has expired'));
    expect(expired.status).toBe(401);
    expect(expired.headers['www-authenticate']).toBe(
      'Bearer realm="tasks", error="invalid_token", error_description="The token has expired"',
    );
    expect(expired.body).toMatchObject({ code: 'TOKEN_EXPIRED', title: 'Unauthorized' });
  });

  it('turns a 404 on a known path into 405 with Allow, unless the method is allowed there', () => {
    const sent = answer(new NotFoundException(), ['GET', 'HEAD', 'PATCH', 'DELETE'], 'PUT');
    expect(sent.status).toBe(405);
    expect(sent.headers.allow).toBe('GET, HEAD, PATCH, DELETE');
    expect(sent.body).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
    expect(answer(new NotFoundException())).toMatchObject({ status: 404, body: { code: 'ROUTE_NOT_FOUND' } });
    expect(answer(new NotFoundException(), ['GET', 'HEAD'], 'GET')).toMatchObject({
      status: 404,
      body: { code: 'ROUTE_NOT_FOUND' },
    });
  });

  it('keeps other framework 4xx statuses, and hides framework 5xx', () => {
    expect(answer(new HttpException('URI too long', 414))).toMatchObject({
      status: 414,
      body: { code: 'VALIDATION_ERROR' },
    });
    expect(answer(new HttpException('boom', 502))).toMatchObject({
      status: 500,
      body: { code: 'INTERNAL_ERROR' },
    });
  });
});
