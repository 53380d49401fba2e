import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { migrationsList } from '../migrations';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/database/embedded-postgres';
import { HEARTBEAT_MS } from '../src/sync/change-listener';
import { bootApp, TEST_JWT_SECRET } from './helpers/boot-app';
import { productionEnv, startBuiltService, useServiceDatabase } from './helpers/built-service';
import { Stream } from './helpers/change-stream';
import { tokenFor } from './helpers/http';
import { createTestDatabase, sqlClient, type TestDatabase } from './helpers/test-database';
import { freePort } from './helpers/test-server';
import { eventually, within } from './helpers/wait';

const PROD = { NODE_ENV: 'production', LOG_LEVEL: 'silent', JWT_SECRET: TEST_JWT_SECRET };

async function get(app: NestFastifyApplication, url: string, headers: Record<string, string> = {}) {
  const started = performance.now();
  const res = await app.inject({ method: 'GET', url, headers });
  return { res, ms: performance.now() - started };
}

describe('health probes and a database outage', () => {
  let dir: string;
  let dataDir: string;
  let port: number;
  let pg: EmbeddedPostgres;
  let app: NestFastifyApplication;
  let auth: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasks-outage-'));
    await chmod(dir, 0o755); // PostgreSQL runs as its own OS user under root
    dataDir = join(dir, 'pg');
    port = await freePort();
    // A PostgreSQL of this test's own: the only kind a test may stop.
    pg = await startEmbeddedPostgres({ dataDir, port, database: 'ops', durable: false });
    app = await bootApp({ ...PROD, DATABASE_URL: pg.url, DB_MIGRATE_ON_START: 'true' });
    auth = { authorization: `Bearer ${await tokenFor('alice')}` };
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('is live and ready while the database answers', async () => {
    expect((await get(app, '/health/live')).res.json()).toEqual({
      status: 'ok',
      info: {},
      error: {},
      details: {},
    });
    const ready = (await get(app, '/health/ready')).res;
    expect(ready.statusCode).toBe(200);
    const up = { status: 'up', responseTime: expect.any(Number) };
    const checks = {
      shutdown: { status: 'up' },
      database: up,
      changeStreams: { status: 'up', listening: true, open: 0 },
      migrations: up,
    };
    expect(ready.json()).toEqual({ status: 'ok', info: checks, error: {}, details: checks });
    expect((await get(app, '/health')).res.statusCode).toBe(200);
  });

  it('answers 503 while PostgreSQL is down, commits nothing, and recovers by itself when it is back', async () => {
    const before = await app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: { title: 'before the outage' },
    });
    expect(before.statusCode).toBe(201);
    // A change stream held over a real socket while the database goes away.
    await app.listen(0, '127.0.0.1');
    const held = await fetch(`${await app.getUrl()}/api/v1/changes/stream`, { headers: auth });
    expect(held.status).toBe(200);
    const streamEnded = (async () => {
      for await (const _ of held.body!) {
        // only waiting for the end
      }
    })().then(
      () => Date.now(),
      () => Date.now(),
    );

    const stopped = Date.now();
    await pg.stop();
    // It ends (the client resumes with Last-Event-ID once the service can serve it again).
    expect((await streamEnded) - stopped).toBeLessThan(5000);

    const ready = await get(app, '/health/ready');
    expect(ready.ms).toBeLessThan(2000);
    expect(ready.res.statusCode).toBe(503);
    expect(ready.res.json()).toMatchObject({ status: 'error', error: { database: { status: 'down' } } });
    expect((await get(app, '/health/live')).res.statusCode).toBe(200);

    const list = await get(app, '/api/v1/tasks', auth);
    expect(list.ms).toBeLessThan(2000);
    expect(list.res.statusCode).toBe(503);
    expect(list.res.headers['retry-after']).toBe('5');
    expect(list.res.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });

    const write = await app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: { title: 'during the outage' },
    });
    expect(write.statusCode).toBe(503);
    // Without its LISTEN connection the instance refuses new change streams, and says so.
    const stream = await get(app, '/api/v1/changes/stream', auth);
    expect(stream.res.statusCode).toBe(503);
    expect(stream.res.headers['retry-after']).toBe('5');
    expect(stream.res.json()).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      detail: 'Change streams are unavailable; try again shortly',
    });
    expect((await get(app, '/health')).res.json().details.changeStreams).toEqual({
      status: 'up',
      listening: false,
      open: 0,
    });

    pg = await startEmbeddedPostgres({ dataDir, port, database: 'ops', durable: false });

    await eventually(async () => expect((await get(app, '/health/ready')).res.statusCode).toBe(200));
    const after = await get(app, '/api/v1/tasks', auth);
    expect(after.res.statusCode).toBe(200);
    expect(after.res.json().items.map((t: { title: string }) => t.title)).toEqual(['before the outage']);
    // The LISTEN connection comes back by itself (it retries every second).
    await eventually(async () =>
      expect((await get(app, '/health')).res.json().details.changeStreams.listening).toBe(true),
    );
  }, 60_000);
});

/**
 * A TCP proxy to PostgreSQL that can go silent: it then forwards nothing either
 * way and answers no new connection, as a connection cut without a reset (a
 * NAT's idle timeout, a failover) looks to the client.
 */
async function silencingProxy(target: string) {
  const { hostname, port } = new URL(target);
  let silent = true;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('error', () => client.destroy());
    if (silent) return;
    const upstream = connect(Number(port), hostname);
    sockets.add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', close).on('close', close);
    client.on('close', close);
    client.on('data', (chunk) => silent || upstream.write(chunk));
    upstream.on('data', (chunk) => silent || client.write(chunk));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = new URL(target);
  url.port = String((server.address() as { port: number }).port);
  return {
    url: url.toString(),
    silence: () => (silent = true),
    speak: () => (silent = false),
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe('the change listener’s connection (DATABASE_DIRECT_URL)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(() => db?.drop());

  it('neither hangs start-up when it never answers nor stays "up" when it goes silent', async () => {
    const proxy = await silencingProxy(db.url);
    const sql = sqlClient(db.url);
    await sql.query(`alter database "${db.name}" set statement_timeout = 5000`);
    await sql.end();
    const env = {
      ...PROD,
      DATABASE_URL: db.url,
      DATABASE_DIRECT_URL: proxy.url,
      DB_CONNECT_TIMEOUT_MS: '500',
    };
    let app: NestFastifyApplication | undefined;
    try {
      // A direct URL that accepts and never answers: the service starts, streams off.
      app = await within(bootApp(env), 15_000, 'no start-up');
      const listening = async () =>
        (await get(app!, '/health')).res.json().details.changeStreams.listening as boolean;
      expect((await get(app, '/health/ready')).res.statusCode).toBe(200);
      expect(await listening()).toBe(false);

      proxy.speak();
      await eventually(async () => expect(await listening()).toBe(true), 3000);
      await app.listen(0, '127.0.0.1');
      const stream = await Stream.open(await app.getUrl(), 'listener_user');
      expect(stream.response.status).toBe(200);
      const created = await app.inject({
        method: 'POST',
        url: '/api/v1/tasks',
        headers: {
          authorization: `Bearer ${await tokenFor('listener_user')}`,
          'content-type': 'application/json',
        },
        payload: { title: 'through the proxy' },
      });
      expect((await stream.take(1)).map((e) => e.data.id)).toEqual([created.json().id]);

      // Silent, not reset: found by the heartbeat, its streams end (clients resume) and new ones wait.
      proxy.silence();
      await within(stream.ended, HEARTBEAT_MS + 500 + 2000, 'the stream did not end');
      expect(await listening()).toBe(false);

      proxy.speak();
      await eventually(async () => expect(await listening()).toBe(true), 4000);
    } finally {
      if (app) {
        app.getHttpServer().closeAllConnections();
        await app.close();
      }
      proxy.close();
    }
  }, 60_000);
});

describe('readiness', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase({ empty: true });
  });

  afterAll(() => db?.drop());

  it('is 503 naming the migrations while one is pending, and 503 as soon as draining starts', async () => {
    const app = await bootApp({ ...PROD, DATABASE_URL: db.url });
    try {
      const pending = (await get(app, '/health/ready')).res;
      expect(pending.statusCode).toBe(503);
      expect(pending.json().error.migrations.status).toBe('down');
      expect(pending.json().error.migrations.message).toContain('pending: Migration20261126083023_tasks');

      const { ShutdownState } = await import('../src/health/shutdown-state.js');
      app.get(ShutdownState).beginDraining();
      const draining = (await get(app, '/health')).res;
      expect(draining.statusCode).toBe(503);
      expect(draining.json().error.shutdown).toEqual({ status: 'down', message: 'shutting down' });
      expect((await get(app, '/health/live')).res.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('the running service', () => {
  const fixture = useServiceDatabase();

  it('finishes in-flight requests on SIGTERM, refuses new ones, logs JSON lines and exits 0', async () => {
    const port = await freePort();
    const service = startBuiltService(
      await productionEnv(fixture.db, { PORT: String(port), SHUTDOWN_GRACE_MS: '5000' }),
    );
    const { base } = service;
    await service.ready();
    const token = await tokenFor('alice');
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = await fetch(`${base}/api/v1/tasks`, {
      method: 'POST',
      headers: { ...headers, 'x-request-id': 'create-1' },
      body: JSON.stringify({ title: 'slow' }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const unknown = await fetch(`${base}/api/v1/nope`, { headers: { 'x-request-id': 'nope-1' } });
    expect(unknown.status).toBe(404);

    // Make three PATCHes slow: they wait for a row lock held here.
    const sql = sqlClient(fixture.db.url);
    const locker = await sql.connect();
    await locker.query('begin');
    await locker.query('select * from tasks where id = $1 for update', [id]);
    const inFlight = [1, 2, 3].map((n) =>
      fetch(`${base}/api/v1/tasks/${id}`, {
        method: 'PATCH',
        headers: { ...headers, 'x-request-id': `patch-${n}` },
        body: JSON.stringify({ title: `patch ${n}` }),
      }).then((r) => r.status),
    );
    await new Promise((r) => setTimeout(r, 300));
    service.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));

    // Draining: no new connection is served.
    const late = await fetch(`${base}/health/ready`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect(late).not.toBe(200);

    await locker.query('commit');
    locker.release();
    await sql.end();
    expect(await Promise.all(inFlight)).toEqual([200, 200, 200]);
    const code = await service.exited;
    // The service's own words make a failure here explainable.
    if (code !== 0) throw new Error(`exited ${code}:\n${service.output()}`);

    const lines = service.lines();
    const ready = lines.find((l) => String(l.msg).startsWith('ready on'));
    expect(ready?.msg).toMatch(
      new RegExp(
        `^ready on http://127\\.0\\.0\\.1:${port} \\(NODE_ENV=production\\); database PostgreSQL at .+; migrations applied: ${migrationsList.length} \\(latest ${migrationsList.at(-1)!.name}\\)$`,
      ),
    );
    const patch = lines.find((l) => l.requestId === 'patch-2');
    expect(patch).toMatchObject({
      context: 'Http',
      method: 'PATCH',
      route: '/api/v1/tasks/:id',
      path: `/api/v1/tasks/${id}`,
      status: 200,
      userId: 'alice',
    });
    expect(typeof patch?.durationMs).toBe('number');
    // Every line written while a request runs is bound to it, by the same id.
    expect(patch?.req).toEqual({ id: 'patch-2', method: 'PATCH', path: `/api/v1/tasks/${id}` });
    // So is the line of a request no route matched.
    expect(lines.find((l) => l.requestId === 'nope-1')).toMatchObject({
      status: 404,
      req: { id: 'nope-1', method: 'GET', path: '/api/v1/nope' },
    });
    for (const line of lines.filter((l) => l.req !== undefined && l.requestId !== undefined)) {
      expect((line.req as { id: string }).id).toBe(line.requestId);
    }
    expect(lines.some((l) => String(l.msg).startsWith('SIGTERM received: readiness 503 for 0 ms'))).toBe(
      true,
    );
    expect(service.output()).not.toContain(token);
    expect(service.output()).not.toContain(new URL(fixture.db.url).password || 'no password in this URL');
  }, 30_000);

  it('answers readiness 503 for SHUTDOWN_DELAY_MS while still serving, before it refuses connections', async () => {
    const service = startBuiltService(await productionEnv(fixture.db, { SHUTDOWN_DELAY_MS: '1500' }));
    const { base } = service;
    await service.ready();
    const headers = { authorization: `Bearer ${await tokenFor('alice')}` };
    service.child.kill('SIGTERM');
    // A load balancer polling readiness: what it sees, in order, until it is refused.
    const seen: (number | 'refused')[] = [];
    let servedDuringDelay = 0;
    for (let polls = 0; polls < 100 && seen.at(-1) !== 'refused'; polls++) {
      seen.push(
        await fetch(`${base}/health/ready`).then(
          (r) => r.status,
          () => 'refused' as const,
        ),
      );
      if (seen.at(-1) === 503 && servedDuringDelay === 0) {
        servedDuringDelay = (await fetch(`${base}/api/v1/tasks`, { headers })).status;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const statuses = seen.filter((s, i) => i === 0 || s !== seen[i - 1]);
    // Possibly a 200 polled before the signal landed; then 503s for the delay; then refused.
    expect(statuses.filter((s) => s !== 200)).toEqual([503, 'refused']);
    expect(seen.filter((s) => s === 503).length).toBeGreaterThan(10);
    expect(servedDuringDelay).toBe(200);
    expect(await service.exited).toBe(0);
  }, 30_000);

  it('cuts a stalled upload once SHUTDOWN_GRACE_MS is over, and still exits 0', async () => {
    const port = await freePort();
    const service = startBuiltService(
      await productionEnv(fixture.db, { PORT: String(port), SHUTDOWN_GRACE_MS: '500' }),
    );
    await service.ready();
    // A body announced as 100 bytes of which 10 ever arrive.
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      'POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"title":',
    );
    const closed = new Promise((r) => socket.once('close', r));
    await new Promise((r) => setTimeout(r, 200));
    await service.stop();
    await closed;
    expect(service.output()).toContain(
      'requests still open after SHUTDOWN_GRACE_MS=500: closing their connections',
    );
  }, 30_000);

  it('migrates an empty database on start with DB_MIGRATE_ON_START, its progress in JSON log lines', async () => {
    const empty = await createTestDatabase({ empty: true });
    try {
      const service = startBuiltService(await productionEnv(empty, { DB_MIGRATE_ON_START: 'true' }));
      await service.ready();
      await service.stop();
      const migrator = service
        .lines()
        .filter((l) => l.context === 'Database')
        .map((l) => l.msg);
      expect(migrator).toEqual([
        ...migrationsList.flatMap(({ name }) => [
          `[migrator] Processing '${name}'`,
          `[migrator] Applied '${name}'`,
        ]),
        `applied migrations: ${migrationsList.map(({ name }) => name).join(', ')}`,
      ]);
    } finally {
      await empty.drop();
    }
  }, 60_000);

  it('exits 1 with one line when its port is taken', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const { port } = blocker.address() as { port: number };
    try {
      const service = startBuiltService(
        await productionEnv(fixture.db, { PORT: String(port), LOG_LEVEL: 'silent' }),
      );
      expect(await service.exited).toBe(1);
      expect(service.output()).toBe(
        `Start-up failed: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`,
      );
    } finally {
      blocker.close();
    }
  }, 30_000);
});
