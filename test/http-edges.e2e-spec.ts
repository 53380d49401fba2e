import { connect } from 'node:net';
import { TRANSPORT_PROBLEM } from './helpers/http-assert';
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

interface ChunkedUpload {
  /** The answer's status line, headers (lower-cased) and body, once it has fully arrived. */
  answer?: { statusLine: string; headers: Record<string, string>; body: string };
  /** Body bytes the client had written when the whole answer had arrived. */
  sentWhenAnswered?: number;
  sent: number;
  /** The first failed write or socket error, and whether the answer had fully arrived by then. */
  error?: { code: string; afterAnswer: boolean };
  /** Whether the server ended the connection (FIN). */
  closed: boolean;
  /** Whether the client gave up waiting: the connection was still open at the deadline. */
  timedOut: boolean;
}

const UPLOAD_CHUNK = Buffer.alloc(16 * 1024, 'a');

/**
 * POSTs a chunked body (no Content-Length) of `total` bytes, 16 KiB a chunk, as a
 * client that keeps sending while the answer arrives, and reads whatever comes back.
 */
function uploadChunked(
  port: number,
  headers: Record<string, string>,
  { total, pauseMs, deadlineMs }: { total: number; pauseMs: number; deadlineMs: number },
): Promise<ChunkedUpload> {
  return new Promise((resolve) => {
    const result: ChunkedUpload = { sent: 0, closed: false, timedOut: false };
    let received = Buffer.alloc(0);
    const socket = connect(port, '127.0.0.1');
    const deadline = setTimeout(() => {
      result.timedOut = true;
      socket.destroy();
    }, deadlineMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      result.answer ??= parseAnswer(received);
      if (result.answer) result.sentWhenAnswered ??= result.sent;
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      result.error ??= { code: error.code ?? error.message, afterAnswer: result.answer !== undefined };
    });
    socket.on('end', () => (result.closed = true));
    socket.on('close', () => {
      clearTimeout(deadline);
      resolve(result);
    });
    const write = (data: string | Buffer) =>
      new Promise<boolean>((done) => socket.write(data, (error) => done(!error)));
    const send = async () => {
      const head = Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      let open = await write(
        `POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\n${head}Transfer-Encoding: chunked\r\n\r\n`,
      );
      while (open && result.sent < total) {
        const size = Math.min(UPLOAD_CHUNK.length, total - result.sent);
        const frame = [
          Buffer.from(`${size.toString(16)}\r\n`),
          UPLOAD_CHUNK.subarray(0, size),
          Buffer.from('\r\n'),
        ];
        open = await write(Buffer.concat(frame));
        if (open) result.sent += size;
        await new Promise((r) => (pauseMs > 0 ? setTimeout(r, pauseMs) : setImmediate(r)));
      }
      if (open) await write('0\r\n\r\n');
    };
    socket.once('connect', () => void send());
  });
}

/** A complete HTTP/1.1 answer with a Content-Length, or undefined while it is still arriving. */
function parseAnswer(bytes: Buffer): ChunkedUpload['answer'] {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const headers = Object.fromEntries(
    lines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
    }),
  );
  const length = Number(headers['content-length']);
  if (bytes.length < end + 4 + length) return undefined;
  return { statusLine, headers, body: bytes.subarray(end + 4, end + 4 + length).toString('utf8') };
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

  /** The 413 a chunked upload over 64 KiB must get, read in full by the client. */
  function expectTooLarge(upload: ChunkedUpload): void {
    expect(upload.answer?.statusLine).toBe('HTTP/1.1 413 Payload Too Large');
    expect(upload.answer?.headers['content-type']).toMatch(/^application\/problem\+json(;|$)/);
    expect(upload.answer?.headers.connection).toBe('close');
    const requestId = upload.answer?.headers['x-request-id'];
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(upload.answer?.body ?? 'null')).toEqual({
      type: 'about:blank',
      ...TRANSPORT_PROBLEM.tooLarge,
      instance: '/api/v1/tasks',
      requestId,
    });
  }

  it('answers a chunked body over 64 KiB with a 413 that a client still sending can read', async () => {
    const total = 900 * 1024;
    const upload = await uploadChunked(
      port,
      { ...(await auth('alice')), 'content-type': 'application/json' },
      { total, pauseMs: 2, deadlineMs: 15_000 },
    );
    expectTooLarge(upload);
    // Answered mid-stream, and the rest of the body (under 1 MiB) was still taken,
    // so no write failed: the connection then closed cleanly.
    expect(upload.sentWhenAnswered).toBeLessThan(total);
    expect(upload.error).toBeUndefined();
    expect(upload.sent).toBe(total);
    expect(upload.closed).toBe(true);
    expect(upload.timedOut).toBe(false);
  }, 20_000);

  it('stops reading a refused body after 1 MiB and closes the connection', async () => {
    const total = 32 * 1024 * 1024;
    const upload = await uploadChunked(
      port,
      { ...(await auth('alice')), 'content-type': 'application/json' },
      { total, pauseMs: 0, deadlineMs: 10_000 },
    );
    expectTooLarge(upload);
    // The server hung up (FIN, or a reset once it stopped reading) long before the
    // client was done: past its 1 MiB, only what the sockets' buffers held was accepted.
    expect(upload.timedOut).toBe(false);
    expect(upload.closed || upload.error !== undefined).toBe(true);
    expect(upload.error?.afterAnswer ?? true).toBe(true);
    expect(upload.sent).toBeGreaterThanOrEqual(1024 * 1024);
    expect(upload.sent).toBeLessThan(total);
  }, 20_000);

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
