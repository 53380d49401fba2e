import { connect } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SyncTokenCodec } from '../src/sync/sync-token-codec';
import { bootApp, TEST_JWT_SECRET } from './helpers/boot-app';
import { Stream } from './helpers/change-stream';
import { productionAppEnv, startHttpApp, tokenFor, type HttpFixture } from './helpers/http';
import { eventually } from './helpers/wait';

/**
 * GET /api/v1/changes/stream (shared/spec/http-api.md, Change feed): Server-
 * Sent Events over real sockets, from two instances of the service on one
 * database, so that a change written through one arrives on a stream held on
 * the other.
 */

let a: HttpFixture;
let b: NestFastifyApplication;
let urlA: string;
let urlB: string;
let user = 0;
/** A user of the test's own, so that no test sees another's changes. */
const newUser = () => `stream_user_${++user}`;

beforeAll(async () => {
  a = await startHttpApp({ STREAM_MAX_PER_USER: '2' });
  b = await bootApp({ ...productionAppEnv(a.db), STREAM_MAX_CONNECTIONS: '3' });
  await a.app.listen(0, '127.0.0.1');
  await b.listen(0, '127.0.0.1');
  urlA = await a.app.getUrl();
  urlB = await b.getUrl();
}, 60_000);

afterAll(async () => {
  // fetch leaves the sockets of aborted streams open; the service's own shutdown cuts
  // connections still open after SHUTDOWN_GRACE_MS (main.ts), as this does at once.
  for (const app of [b, a?.app]) app?.getHttpServer().closeAllConnections();
  await b?.close();
  await a?.close();
}, 60_000);

async function api(base: string, as: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${await tokenFor(as)}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: res.status,
    body: res.status === 204 ? undefined : ((await res.json()) as Record<string, unknown>),
  };
}

const createTask = async (base: string, as: string, title: string) => {
  const res = await api(base, as, 'POST', '/api/v1/tasks', { title });
  expect(res.status).toBe(201);
  return res.body as { id: string; title: string };
};

/** The streams open on the instance at `base`, as its /health reports them. */
const openStreams = async (base: string) =>
  ((await (await fetch(`${base}/health`)).json()) as { details: { changeStreams: { open: number } } }).details
    .changeStreams.open;

async function firstSyncToken(base: string, as: string): Promise<string> {
  return (await api(base, as, 'GET', '/api/v1/changes')).body!.next as string;
}

describe('GET /api/v1/changes/stream', () => {
  it('sends what changed after the token, then a change committed on another instance within 1 s', async () => {
    const me = newUser();
    const since = await firstSyncToken(urlA, me);
    const before = await createTask(urlA, me, 'before the stream');
    const stream = await Stream.open(urlA, me, { since });
    try {
      expect(stream.response.status).toBe(200);
      expect(stream.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const [first] = await stream.take(1);
      expect(first).toMatchObject({ event: 'change', data: { kind: 'task', id: before.id, deleted: false } });

      const written = Date.now();
      const live = await createTask(urlB, me, 'written on the other instance');
      const [event] = await stream.take(1, 1000);
      expect(Date.now() - written).toBeLessThan(1000);
      // Exactly what GET /changes gives for it.
      const page = (await api(urlB, me, 'GET', `/api/v1/changes?since=${encodeURIComponent(first.id)}`))
        .body!;
      expect(page.changes).toEqual([event.data]);
      expect(event.data.data).toEqual((await api(urlB, me, 'GET', `/api/v1/tasks/${live.id}`)).body);
      // Both instances give the same pages.
      const fromA = (await api(urlA, me, 'GET', `/api/v1/changes?since=${encodeURIComponent(since)}&limit=1`))
        .body!;
      const fromB = (await api(urlB, me, 'GET', `/api/v1/changes?since=${encodeURIComponent(since)}&limit=1`))
        .body!;
      expect(fromB.changes).toEqual(fromA.changes);
      expect(fromA.changes).toEqual([first.data]);
      // Its id is the token after it: nothing follows it yet.
      const after = (await api(urlA, me, 'GET', `/api/v1/changes?since=${encodeURIComponent(event.id)}`))
        .body!;
      expect(after).toMatchObject({ changes: [], hasMore: false });
    } finally {
      stream.close();
    }
  });

  it('starts from now without a token, and sends deletions', async () => {
    const me = newUser();
    await createTask(urlA, me, 'earlier');
    const stream = await Stream.open(urlA, me);
    try {
      const task = await createTask(urlA, me, 'later');
      const [created] = await stream.take(1);
      expect(created.data).toMatchObject({ kind: 'task', id: task.id, deleted: false });
      expect((await api(urlB, me, 'DELETE', `/api/v1/tasks/${task.id}`)).status).toBe(204);
      const [deleted] = await stream.take(1);
      expect(deleted.data).toEqual({ kind: 'task', id: task.id, deleted: true });
    } finally {
      stream.close();
    }
  });

  it('sends a `: ping` comment 15 s into an idle stream, and events still follow it', async () => {
    const me = newUser();
    const stream = await Stream.open(urlA, me);
    const opened = performance.now();
    try {
      expect(stream.response.status).toBe(200);
      const ping = await stream.comment(18_000);
      expect(ping.text).toBe('ping');
      // Measured from the response's headers, which the server sent just before arming the timer.
      expect(ping.at - opened).toBeGreaterThan(14_500);
      expect(stream.events).toEqual([]);

      const task = await createTask(urlB, me, 'after the ping');
      const [created] = await stream.take(1);
      expect(created.data).toMatchObject({ kind: 'task', id: task.id, deleted: false });
    } finally {
      stream.close();
    }
  }, 30_000);

  it('resumes from Last-Event-ID (which wins over since) with no duplicate and no gap', async () => {
    const me = newUser();
    const since = await firstSyncToken(urlA, me);
    const tasks = [];
    for (let i = 0; i < 3; i++) tasks.push(await createTask(urlA, me, `t${i}`));
    const first = await Stream.open(urlA, me, { since });
    const seen = await first.take(2);
    first.close();
    for (let i = 3; i < 5; i++) tasks.push(await createTask(urlB, me, `t${i}`));

    const resumed = await Stream.open(urlB, me, { since: 'not even a token', lastEventId: seen[1].id });
    try {
      const rest = await resumed.take(3);
      expect([...seen, ...rest].map((e) => e.data.id)).toEqual(tasks.map((t) => t.id));
    } finally {
      resumed.close();
    }
  });

  it('answers a bad, foreign or expired token with a problem document before any event', async () => {
    const me = newUser();
    const bad = await fetch(`${urlA}/api/v1/changes/stream?since=garbage`, {
      headers: { authorization: `Bearer ${await tokenFor(me)}` },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(await bad.json()).toMatchObject({
      errors: [{ field: 'since', message: 'is not a valid sync token' }],
    });

    const foreign = await firstSyncToken(urlA, newUser());
    const other = await fetch(`${urlA}/api/v1/changes/stream`, {
      headers: { authorization: `Bearer ${await tokenFor(me)}`, 'last-event-id': foreign },
    });
    expect(other.status).toBe(400);
    expect(await other.json()).toMatchObject({
      errors: [{ field: 'Last-Event-ID', message: 'is not a valid sync token' }],
    });

    const old = new SyncTokenCodec(TEST_JWT_SECRET).encode(me, {
      position: '0',
      issuedAt: Math.floor(Date.now() / 1000) - 31 * 86_400,
    });
    const expired = await fetch(`${urlA}/api/v1/changes/stream?since=${encodeURIComponent(old)}`, {
      headers: { authorization: `Bearer ${await tokenFor(me)}` },
    });
    expect(expired.status).toBe(410);
    expect(await expired.json()).toMatchObject({ code: 'SYNC_TOKEN_EXPIRED' });
  });

  it('refuses a user past STREAM_MAX_PER_USER with 429 TOO_MANY_STREAMS, until one closes', async () => {
    const me = newUser();
    const open = [await Stream.open(urlA, me), await Stream.open(urlA, me)];
    try {
      const third = await fetch(`${urlA}/api/v1/changes/stream`, {
        headers: { authorization: `Bearer ${await tokenFor(me)}` },
      });
      expect(third.status).toBe(429);
      expect(await third.json()).toMatchObject({
        status: 429,
        code: 'TOO_MANY_STREAMS',
        title: 'Too many streams',
        detail: 'You already have 2 change streams open; close one first',
      });
      // Another user is not affected.
      const theirs = await Stream.open(urlA, newUser());
      expect(theirs.response.status).toBe(200);
      theirs.close();

      open.pop()!.close();
      let status = 0;
      for (let attempt = 0; attempt < 20 && status !== 200; attempt++) {
        const again = await Stream.open(urlA, me);
        status = again.response.status;
        if (status === 200) open.push(again);
        else await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(200);
    } finally {
      for (const s of open) s.close();
    }
  });

  it('answers 503 with Retry-After past the instance’s STREAM_MAX_CONNECTIONS', async () => {
    const open = [];
    try {
      for (let i = 0; i < 3; i++) open.push(await Stream.open(urlB, newUser()));
      expect(open.map((s) => s.response.status)).toEqual([200, 200, 200]);
      const full = await fetch(`${urlB}/api/v1/changes/stream`, {
        headers: { authorization: `Bearer ${await tokenFor(newUser())}` },
      });
      expect(full.status).toBe(503);
      expect(full.headers.get('retry-after')).toBe('5');
      expect(await full.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    } finally {
      for (const s of open) s.close();
    }
  });

  it('closes the stream of a client that does not read, rather than buffer without bound', async () => {
    const me = newUser();
    const since = await firstSyncToken(urlA, me);
    // About 18 MB of events: more than the sockets' buffers and the stream's 1 MiB cap.
    await a.sql.query(
      `insert into tasks (user_id, title, description) select $1, 'big ' || n, repeat('x', 9000)
       from generate_series(1, 2000) n`,
      [me],
    );
    const { port } = new URL(urlA);
    const socket = connect(Number(port), '127.0.0.1');
    socket.write(
      `GET /api/v1/changes/stream?since=${encodeURIComponent(since)} HTTP/1.1\r\nHost: x\r\n` +
        `Authorization: Bearer ${await tokenFor(me)}\r\n\r\n`,
    );
    // The answer's first bytes show the stream was admitted; from then on the client never reads.
    // (Polling the open count for a 1 instead could miss a stream opened and dropped between polls.)
    const head = await new Promise<string>((resolve) =>
      socket.once('data', (chunk: Buffer) => {
        socket.pause();
        resolve(chunk.toString('latin1'));
      }),
    );
    try {
      expect(head.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
      // The server gives the stream up once 1 MiB waits unread, instead of buffering all 18 MB.
      await eventually(async () => expect(await openStreams(urlA)).toBe(0), 10_000);
    } finally {
      socket.destroy();
    }
  }, 20_000);

  it('frees the slot of a client that leaves while its stream is being admitted', async () => {
    const me = newUser();
    const locker = await a.sql.connect();
    const { port } = new URL(urlA);
    const socket = connect(Number(port), '127.0.0.1');
    try {
      // Admission reads the owner's position: held up here until the client has gone.
      await locker.query('begin');
      await locker.query('lock table owners in access exclusive mode');
      socket.write(
        `GET /api/v1/changes/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${await tokenFor(me)}\r\n\r\n`,
      );
      for (let waiting = 0, attempt = 0; waiting === 0; attempt++) {
        if (attempt === 100) throw new Error('the admission never waited on the lock');
        await new Promise((r) => setTimeout(r, 50));
        const { rows } = await a.sql.query(
          `select count(*)::int as n from pg_stat_activity
           where datname = current_database() and wait_event_type = 'Lock'`,
        );
        waiting = rows[0].n as number;
      }
      socket.destroy();
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      socket.destroy();
      await locker.query('commit');
      locker.release();
    }
    await eventually(async () => expect(await openStreams(urlA)).toBe(0), 2000);
    // Both of the user's STREAM_MAX_PER_USER=2 slots are free.
    const streams = [await Stream.open(urlA, me), await Stream.open(urlA, me)];
    try {
      expect(streams.map((s) => s.response.status)).toEqual([200, 200]);
    } finally {
      for (const s of streams) s.close();
    }
  });

  it('keeps the stream of a token valid for 30 days open (longer than one timer can wait)', async () => {
    const me = newUser();
    const stream = await Stream.open(urlA, me, { token: await tokenFor(me, TEST_JWT_SECRET, '30d') });
    try {
      expect(stream.response.status).toBe(200);
      await new Promise((r) => setTimeout(r, 200));
      const task = await createTask(urlB, me, 'a month-long token');
      const [created] = await stream.take(1);
      expect(created.data).toMatchObject({ kind: 'task', id: task.id, deleted: false });
    } finally {
      stream.close();
    }
  });

  it('sends X-Request-Id on the stream, as on every answer', async () => {
    const me = newUser();
    const controller = new AbortController();
    const res = await fetch(`${urlA}/api/v1/changes/stream`, {
      headers: { authorization: `Bearer ${await tokenFor(me)}`, 'x-request-id': 'stream-1' },
      signal: controller.signal,
    });
    try {
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toBe('stream-1');
    } finally {
      controller.abort();
    }
  });

  it('ends, without a closing event, when the caller’s token expires', async () => {
    const me = newUser();
    const stream = await Stream.open(urlA, me, { token: await tokenFor(me, TEST_JWT_SECRET, '2s') });
    const started = Date.now();
    await stream.ended;
    expect(Date.now() - started).toBeLessThan(4000);
    expect(stream.events).toEqual([]);
  });

  it('ends its streams when the instance drains for shutdown', async () => {
    const c = await bootApp(productionAppEnv(a.db));
    await c.listen(0, '127.0.0.1');
    const stream = await Stream.open(await c.getUrl(), newUser());
    expect(stream.response.status).toBe(200);
    const started = Date.now();
    await c.close();
    await stream.ended;
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
