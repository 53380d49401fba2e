import { get as httpGet, type ClientRequest } from 'node:http';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { bootApp, TEST_JWT_SECRET } from './helpers/boot-app';
import { productionEnv, startBuiltService, useServiceDatabase } from './helpers/built-service';
import { startHttpApp, tokenFor, type HttpFixture } from './helpers/http';
import { expectProblem, TRANSPORT_PROBLEM } from './helpers/http-assert';
import { appDatabaseEnv } from './helpers/test-database';
import { freePort } from './helpers/test-server';
import { eventually } from './helpers/wait';

/**
 * GET /metrics (README, Metrics): Prometheus metrics on a listener of their own
 * (METRICS_PORT), never on the API's port; every count is checked to move with
 * real traffic over real sockets.
 */

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments left out). */
function parseExposition(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, name, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
        labels[name] = value;
      return { name: match[1], labels, value: Number(match[3]) };
    });
}

/** One series' value: the sample with exactly these labels, 0 when there is none yet. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels);
  const found = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === wanted.length &&
      wanted.every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} names ${found.length} series`);
  return found[0]?.value ?? 0;
}

async function scrape(metricsPort: number): Promise<Sample[]> {
  const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  expect(response.status).toBe(200);
  return parseExposition(await response.text());
}

const requests = (route: string, method: string, status: number) => ({
  method,
  route,
  status_code: String(status),
});

/** A change stream on a real socket; `close` destroys it (fetch's abort may leave the socket open). */
function openStream(
  base: string,
  token: string,
): Promise<{ events: () => number; ended: Promise<void>; close: () => void }> {
  return new Promise((resolve, reject) => {
    let received = '';
    const request: ClientRequest = httpGet(
      `${base}/api/v1/changes/stream`,
      { headers: { authorization: `Bearer ${token}` } },
      (response) => {
        if (response.statusCode !== 200) return reject(new Error(`stream answered ${response.statusCode}`));
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (received += chunk));
        resolve({
          events: () => received.split('event: change\n').length - 1,
          ended: new Promise((done) => response.on('close', done)),
          close: () => request.destroy(),
        });
      },
    );
    request.on('error', () => undefined);
  });
}

describe('metrics of a running app', () => {
  let fixture: HttpFixture;
  let app: NestFastifyApplication;
  let base: string;
  let metricsPort: number;
  let token: string;

  beforeAll(async () => {
    metricsPort = await freePort();
    fixture = await startHttpApp({ METRICS_PORT: String(metricsPort), HOST: '127.0.0.1' });
    app = fixture.app;
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
    // Started as main.ts starts it, once the API listens.
    const { MetricsService } = await import('../src/metrics/metrics.service.js');
    expect(await app.get(MetricsService).listen()).toBe(metricsPort);
    token = await tokenFor('metrics_alice');
  }, 60_000);

  afterAll(async () => {
    await fixture?.close();
  }, 60_000);

  const api = (method: string, path: string, body?: unknown, signal?: AbortSignal) =>
    fetch(`${base}${path}`, {
      method,
      signal,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('counts and times each request by method, route pattern and status', async () => {
    const created = await api('POST', '/api/v1/tasks', { title: 'counted' });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const before = await scrape(metricsPort);

    for (let i = 0; i < 3; i++) expect((await api('GET', `/api/v1/tasks/${id}`)).status).toBe(200);
    const missing = '00000000-0000-4000-8000-000000000000';
    expect((await api('GET', `/api/v1/tasks/${missing}`)).status).toBe(404);
    expect((await api('GET', `/api/v1/no/such/${id}`)).status).toBe(404);
    expect((await api('POST', '/api/v1/tasks', { title: 'two' })).status).toBe(201);
    const after = await scrape(metricsPort);

    const delta = (name: string, labels: Record<string, string>) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);
    const count = 'http_server_request_duration_seconds_count';
    expect({
      got: delta(count, requests('/api/v1/tasks/:id', 'GET', 200)),
      missing: delta(count, requests('/api/v1/tasks/:id', 'GET', 404)),
      // The path itself never becomes a label: a random path would make a new series.
      unmatched: delta(count, requests('unmatched', 'GET', 404)),
      created: delta(count, requests('/api/v1/tasks', 'POST', 201)),
    }).toEqual({ got: 3, missing: 1, unmatched: 1, created: 1 });
    expect(after.some((s) => s.labels.route?.includes('/api/v1/no/'))).toBe(false);

    const got = requests('/api/v1/tasks/:id', 'GET', 200);
    expect(delta('http_server_request_duration_seconds_sum', got)).toBeGreaterThan(0);
    expect(delta('http_server_request_duration_seconds_bucket', { ...got, le: '+Inf' })).toBe(3);
    // Every answered request has left the in-flight count.
    expect(valueOf(after, 'http_server_active_requests')).toBe(0);
    // Each of those requests ran at least one statement.
    expect(delta('db_client_operation_duration_seconds_count', {})).toBeGreaterThanOrEqual(5);
  });

  it('counts a request in flight while it waits, and the pool connection it holds', async () => {
    const created = await api('POST', '/api/v1/tasks', { title: 'locked' });
    const { id } = (await created.json()) as { id: string };
    const locker = await fixture.sql.connect();
    try {
      await locker.query('begin');
      await locker.query('select * from tasks where id = $1 for update', [id]);
      const patch = api('PATCH', `/api/v1/tasks/${id}`, { title: 'waited' }).then((r) => r.status);

      await eventually(async () => {
        const during = await scrape(metricsPort);
        expect({
          active: valueOf(during, 'http_server_active_requests'),
          used: valueOf(during, 'db_client_connections', { state: 'used' }),
        }).toEqual({ active: 1, used: 1 });
      });
      await locker.query('commit');
      expect(await patch).toBe(200);
    } finally {
      locker.release();
    }

    const after = await scrape(metricsPort);
    expect({
      active: valueOf(after, 'http_server_active_requests'),
      used: valueOf(after, 'db_client_connections', { state: 'used' }),
      idle: valueOf(after, 'db_client_connections', { state: 'idle' }) >= 1,
      max: valueOf(after, 'db_client_connections_max'),
      pending: valueOf(after, 'db_client_connections_pending_requests'),
    }).toEqual({ active: 0, used: 0, idle: true, max: 10, pending: 0 });
  });

  it('takes a request whose client went away out of the in-flight count', async () => {
    const created = await api('POST', '/api/v1/tasks', { title: 'abandoned' });
    const { id } = (await created.json()) as { id: string };
    const locker = await fixture.sql.connect();
    try {
      await locker.query('begin');
      await locker.query('select * from tasks where id = $1 for update', [id]);
      const controller = new AbortController();
      const patch = api('PATCH', `/api/v1/tasks/${id}`, { title: 'never read' }, controller.signal);
      await eventually(async () =>
        expect(valueOf(await scrape(metricsPort), 'http_server_active_requests')).toBe(1),
      );
      controller.abort();
      await expect(patch).rejects.toThrow('aborted');
      await locker.query('commit');
    } finally {
      locker.release();
    }
    await eventually(async () =>
      expect(valueOf(await scrape(metricsPort), 'http_server_active_requests')).toBe(0),
    );
  });

  it('counts open streams apart from requests, and times a live change to its stream', async () => {
    const before = await scrape(metricsPort);
    // The service ends the stream when its token expires, as a whole response (which Fastify's
    // onResponse sees), unlike a stream whose client goes away.
    const stream = await openStream(base, await tokenFor('metrics_alice', TEST_JWT_SECRET, '3s'));
    try {
      const open = await scrape(metricsPort);
      expect({
        streams: valueOf(open, 'tasks_change_streams_open'),
        active: valueOf(open, 'http_server_active_requests'),
      }).toEqual({ streams: 1, active: 0 });

      expect((await api('POST', '/api/v1/tasks', { title: 'streamed' })).status).toBe(201);
      await eventually(async () => expect(stream.events()).toBe(1));
      const delivered = await scrape(metricsPort);
      const delta = (name: string) => valueOf(delivered, name) - valueOf(before, name);
      expect(delta('tasks_change_stream_delivery_seconds_count')).toBe(1);
      expect(delta('tasks_change_stream_delivery_seconds_sum')).toBeGreaterThan(0);
      await stream.ended;
    } finally {
      stream.close();
    }
    expect(valueOf(await scrape(metricsPort), 'tasks_change_streams_open')).toBe(0);

    // A refused stream is an ordinary request, counted with its status; a stream that ran is not.
    const refused = await api('GET', '/api/v1/changes/stream?since=nonsense');
    expect(refused.status).toBe(400);
    await refused.text();
    const after = await scrape(metricsPort);
    const streamRoute = after.filter(
      (s) =>
        s.name === 'http_server_request_duration_seconds_count' &&
        s.labels.route === '/api/v1/changes/stream',
    );
    expect(
      streamRoute.map((s) => [s.labels.status_code, s.value - valueOf(before, s.name, s.labels)]),
    ).toEqual([['400', 1]]);
  });

  it('serves the process and event loop metrics in the Prometheus text format', async () => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    const names = new Set(parseExposition(text).map((s) => s.name));
    expect([...names]).toEqual(
      expect.arrayContaining([
        'process_cpu_seconds_total',
        'process_resident_memory_bytes',
        'nodejs_eventloop_lag_p99_seconds',
        'nodejs_heap_size_used_bytes',
        'nodejs_eventloop_lag_seconds',
      ]),
    );
    expect(text).toContain('# TYPE http_server_request_duration_seconds histogram\n');
    // Prometheus keeps the _total suffix for counters (promtool check metrics refuses anything else).
    const misnamed = [...text.matchAll(/^# TYPE (\w+_total) (\w+)$/gm)].filter(
      ([, , type]) => type !== 'counter',
    );
    expect(misnamed.map(([, name]) => name)).toEqual([]);
  });

  it('answers nothing but GET /metrics on its port', async () => {
    const other = await fetch(`http://127.0.0.1:${metricsPort}/api/v1/tasks`);
    const post = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: 'POST' });
    expect([other.status, post.status]).toEqual([404, 404]);
  });

  it('is not served on the API port', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expectProblem(res, { ...TRANSPORT_PROBLEM.routeNotFound, instance: '/metrics' });
  });

  it('listens nowhere with METRICS_PORT=0', async () => {
    const off = await bootApp({
      NODE_ENV: 'production',
      LOG_LEVEL: 'silent',
      ...appDatabaseEnv(fixture.db),
      JWT_SECRET: TEST_JWT_SECRET,
      METRICS_PORT: '0',
    });
    try {
      const { MetricsService } = await import('../src/metrics/metrics.service.js');
      expect(await off.get(MetricsService).listen()).toBeUndefined();
    } finally {
      await off.close();
    }
  });
});

/** The built service (npm test builds it first), started and stopped as in production. */
describe('metrics of the built service', () => {
  const fixture = useServiceDatabase();

  it('serves /metrics on METRICS_PORT once ready, and stops it with the service', async () => {
    const metricsPort = await freePort();
    const service = startBuiltService(await productionEnv(fixture.db, { METRICS_PORT: String(metricsPort) }));
    await service.ready();
    try {
      expect((await fetch(`${service.base}/health/live`)).status).toBe(200);
      const samples = await scrape(metricsPort);
      expect(
        valueOf(samples, 'http_server_request_duration_seconds_count', requests('/health/live', 'GET', 200)),
      ).toBe(1);
      expect(service.output()).toContain(`"msg":"metrics on http://127.0.0.1:${metricsPort}/metrics"`);
    } finally {
      await service.stop();
    }
  });

  it('starts no metrics listener with METRICS_PORT=0', async () => {
    const service = startBuiltService(await productionEnv(fixture.db, { METRICS_PORT: '0' }));
    await service.ready();
    await service.stop();
    expect(service.output()).not.toContain('metrics on');
  });
});
