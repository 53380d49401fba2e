import { connect } from 'node:net';
import { auth, startHttpApp, type HttpFixture } from './helpers/http';

/** Sends raw bytes and returns everything the server answers before closing. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.setTimeout(2000, () => socket.destroy(new Error('no answer within 2 s')));
  });
}

describe('edges of HTTP', () => {
  let fixture: HttpFixture;
  let port: number;

  beforeAll(async () => {
    fixture = await startHttpApp();
    await fixture.app.listen(0, '127.0.0.1');
    port = (fixture.app.getHttpServer().address() as { port: number }).port;
  });

  afterAll(() => fixture?.close());

  it.each([
    ['a malformed request line', 'NOT HTTP AT ALL\r\n\r\n', 400],
    ['headers over the size limit', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
  ])('answers %s with a problem document', async (_case, request, status) => {
    const answer = await raw(port, request);
    const [head, body] = answer.split('\r\n\r\n');
    expect(head).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    expect(head).toMatch(/content-type: application\/problem\+json/i);
    expect(head).toMatch(/x-request-id: [0-9a-f-]{36}/i);
    expect(JSON.parse(body)).toMatchObject({ type: 'about:blank', status, code: 'VALIDATION_ERROR' });
  });

  it('deletes with a JSON Content-Type and no body (as fetch wrappers send it)', async () => {
    const headers = await auth('alice');
    const created = await fixture.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: { ...headers, 'content-type': 'application/json' },
      payload: { title: 'x' },
    });
    const res = await fixture.app.inject({
      method: 'DELETE',
      url: `/api/v1/tasks/${created.json().id}`,
      headers: { ...headers, 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(204);
  });

  it.each([
    ['title', { title: 'a\ud800b' }],
    ['description', { title: 'ok', description: '\udc00' }],
  ])('refuses an unpaired surrogate in the %s instead of storing U+FFFD', async (field, body) => {
    const res = await fixture.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: { ...(await auth('alice')), 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([
      { field, message: 'must be well-formed Unicode text (no unpaired surrogates)' },
    ]);
  });

  it('answers an id longer than the router allows as a bad id', async () => {
    const res = await fixture.app.inject({
      method: 'GET',
      url: `/api/v1/tasks/${'a'.repeat(3000)}`,
      headers: await auth('alice'),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ field: 'id', message: 'must be a UUID' }]);
  });
});
