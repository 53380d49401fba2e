import { randomUUID } from 'node:crypto';
import type { HTTPMethods } from 'fastify';
import { comparable, expectNoLeak, expectProblem, UUID_RE } from './helpers/http-assert';
import {
  ALICE,
  BASE,
  BOB,
  call,
  type Call,
  count,
  createTask,
  MISSING_ID,
  PROBLEM,
  row,
  secrets,
  taskUrl,
  tokenOf,
  useTasksHttp,
} from './helpers/tasks-http';

/**
 * What every task route shares (shared/spec/http-api.md): ownership (another
 * user's task is answered exactly like a missing one), authentication,
 * routing, X-Request-Id and what error bodies never contain. Through
 * Fastify's inject against the production app on a real PostgreSQL. JWT
 * verification itself is covered elsewhere; here a missing token is the only 401.
 */

useTasksHttp();

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

describe('error bodies', () => {
  it('never echo the request body, the token or driver text', async () => {
    const token = await tokenOf(ALICE);
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
