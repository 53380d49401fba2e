import { randomBytes, randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { readFile, rm } from 'node:fs/promises';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILT_MAIN, productionEnv, startBuiltService, useServiceDatabase } from './helpers/built-service';
import { tokenFor } from './helpers/http';

const SPAN_KIND_SERVER = 2;

/** A span as OTLP/JSON carries it (ids in hex). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}

interface OtlpRequest {
  resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
}

/** An OTLP/HTTP collector reduced to what the test reads: every span POSTed to /v1/traces. */
async function startReceiver(): Promise<{ url: string; spans: OtlpSpan[]; close(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const server: Server = createHttpServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const request = JSON.parse(body) as OtlpRequest;
        for (const resource of request.resourceSpans)
          for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value && Object.values(value)[0];
};

describe('OpenTelemetry traces', () => {
  const fixture = useServiceDatabase();

  async function createTask(base: string, headers: Record<string, string>): Promise<string> {
    const created = await fetch(`${base}/api/v1/tasks`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'a title that stays out of traces' }),
    });
    expect(created.status).toBe(201);
    return ((await created.json()) as { id: string }).id;
  }

  it('exports one trace per request: a server span named by its route, a span per statement without its values, and the trace id on its log lines', async () => {
    const receiver = await startReceiver();
    const service = startBuiltService(
      await productionEnv(fixture.db, {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      }),
    );
    const { base } = service;
    try {
      await service.ready();
      const userId = `trace-user-${randomUUID()}`;
      const headers = { authorization: `Bearer ${await tokenFor(userId)}` };
      const id = await createTask(base, headers);
      // As a caller that is itself traced would send it (W3C Trace Context).
      const callerTrace = randomBytes(16).toString('hex');
      const callerSpan = randomBytes(8).toString('hex');
      const read = await fetch(`${base}/api/v1/tasks/${id}`, {
        headers: {
          ...headers,
          'x-request-id': 'traced-get',
          traceparent: `00-${callerTrace}-${callerSpan}-01`,
        },
      });
      expect(read.status).toBe(200);
      // Also a probe, which is not traced.
      expect((await fetch(`${base}/health/ready`)).status).toBe(200);
      // The spans still buffered are sent on the way out.
      await service.stop();

      const routed = receiver.spans.filter(
        (s) => s.kind === SPAN_KIND_SERVER && attribute(s, 'http.route') === '/api/v1/tasks/:id',
      );
      expect(routed).toHaveLength(1);
      const [server] = routed;
      expect(server.name).toBe('GET /api/v1/tasks/:id');
      expect(attribute(server, 'http.request.method')).toBe('GET');
      expect(attribute(server, 'http.response.status_code')).toBe(200);
      // It continues the caller's trace.
      expect(server.traceId).toBe(callerTrace);
      expect(server.parentSpanId).toBe(callerSpan);
      expect(receiver.spans.filter((s) => String(attribute(s, 'url.path')).startsWith('/health'))).toEqual(
        [],
      );

      // Every span of the request's trace descends from its server span.
      const trace = receiver.spans.filter((s) => s.traceId === server.traceId);
      const byId = new Map(trace.map((s) => [s.spanId, s]));
      for (const span of trace) {
        let ancestor = span;
        for (let depth = 0; ancestor !== server && depth < trace.length; depth++) {
          ancestor = byId.get(ancestor.parentSpanId ?? '') ?? ancestor;
        }
        expect({ span: span.name, reachesServer: ancestor === server }).toEqual({
          span: span.name,
          reachesServer: true,
        });
      }

      const statements = trace.filter((s) => s.name.startsWith('pg.query'));
      expect(statements.length).toBeGreaterThanOrEqual(1);
      expect(statements.map((s) => attribute(s, 'db.query.text'))).toContainEqual(
        expect.stringMatching(/ from "tasks" t where .*\$1/),
      );
      // The statement text has placeholders; the values bound to them (the id, the owner) are nowhere.
      for (const statement of statements) {
        const recorded = JSON.stringify(statement.attributes);
        expect(recorded).not.toContain(id);
        expect(recorded).not.toContain(userId);
      }
      expect(JSON.stringify(receiver.spans)).not.toContain(userId);
      expect(JSON.stringify(receiver.spans)).not.toContain('a title that stays out of traces');

      // The request's log lines carry its trace id, and the id of one of its spans.
      const lines = service
        .lines()
        .filter(
          (l) => l.requestId === 'traced-get' || (l.req as { id?: string } | undefined)?.id === 'traced-get',
        );
      expect(lines.length).toBeGreaterThanOrEqual(1);
      for (const line of lines) {
        expect(line.trace_id).toBe(server.traceId);
        expect(byId.has(line.span_id as string)).toBe(true);
      }
      const created = service.lines().find((l) => l.method === 'POST' && l.route === '/api/v1/tasks');
      expect(created?.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(created?.trace_id).not.toBe(server.traceId);
    } finally {
      service.child.kill('SIGKILL');
      await receiver.close();
    }
  }, 60_000);

  it('serves requests and stops within about a second when the collector never answers', async () => {
    // Accepts connections and never answers: the exporter waits for its whole timeout.
    const sockets = new Set<Socket>();
    const silent = createTcpServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const service = startBuiltService(
      await productionEnv(fixture.db, {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_EXPORTER_OTLP_TIMEOUT: '10000',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      }),
    );
    const { base } = service;
    try {
      await service.ready();
      const headers = { authorization: `Bearer ${await tokenFor('alice')}` };
      const id = await createTask(base, headers);
      expect((await fetch(`${base}/api/v1/tasks/${id}`, { headers })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 300)); // an export is now waiting on the collector
      expect(sockets.size).toBeGreaterThanOrEqual(1);

      const signalled = Date.now();
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(5000);
    } finally {
      service.child.kill('SIGKILL');
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 60_000);

  it('logs a bad OTEL_* setting the SDK meets at start-up as a JSON line, and nothing on stderr', async () => {
    const service = startBuiltService(
      await productionEnv(fixture.db, {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
        OTEL_TRACES_SAMPLER: 'sometimes',
      }),
    );
    await service.ready();
    await service.stop();
    expect(service.stderr()).toBe('');
    expect(service.lines().filter((l) => l.context === 'Tracing')).toEqual([
      expect.objectContaining({
        level: 50,
        msg: 'OpenTelemetry: unknown OTEL_TRACES_SAMPLER value "sometimes", using default',
      }),
    ]);
  }, 30_000);

  it('refuses to start with an endpoint that is not an http(s) URL', async () => {
    const service = startBuiltService(
      await productionEnv(fixture.db, { OTEL_EXPORTER_OTLP_ENDPOINT: 'otel-collector:4318' }),
    );
    expect(await service.exited).toBe(1);
    expect(service.stderr()).toContain('  - OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL\n');
  });

  it('loads no OpenTelemetry module when OTEL_EXPORTER_OTLP_ENDPOINT is unset', async () => {
    // The built service, required by a wrapper that records every module it
    // resolves, through require or import, and writes them down when it exits.
    const record = join(tmpdir(), `tracing-modules-${randomUUID()}.json`);
    const wrapper = `
      const resolved = new Set();
      require('node:module').registerHooks({
        resolve: (specifier, context, next) => {
          const result = next(specifier, context);
          resolved.add(result.url);
          return result;
        },
      });
      process.on('exit', () =>
        require('node:fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify([...resolved])),
      );
      require(${JSON.stringify(BUILT_MAIN)});
    `;
    const service = startBuiltService(await productionEnv(fixture.db), ['-e', wrapper]);
    const { base } = service;
    try {
      await service.ready();
      const headers = { authorization: `Bearer ${await tokenFor('alice')}` };
      const id = await createTask(base, headers);
      expect((await fetch(`${base}/api/v1/tasks/${id}`, { headers })).status).toBe(200);
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);

      const modules = JSON.parse(await readFile(record, 'utf8')) as string[];
      // It saw the application's modules, CommonJS and ES alike…
      expect(modules.some((m) => m.includes('/node_modules/pg/'))).toBe(true);
      expect(modules.some((m) => m.includes('/node_modules/@nestjs/core/'))).toBe(true);
      // …and no part of OpenTelemetry's SDK, instrumentations or exporters. (The
      // API alone is loaded by prom-client for its exemplars; with no SDK
      // registered, every call to it is a no-op.)
      expect(modules.filter((m) => /\/@opentelemetry\/(?!api\/)|\/@fastify\/otel\//.test(m))).toEqual([]);
      // Nor does a log line carry a trace id.
      expect(service.lines().filter((l) => 'trace_id' in l)).toEqual([]);
    } finally {
      await rm(record, { force: true });
    }
  }, 60_000);
});
