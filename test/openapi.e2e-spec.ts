import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { startHttpApp, tokenFor, type HttpFixture } from './helpers/http';
import { schemaViolations, type Json, type OpenApiDocument } from './helpers/openapi/conformance';
import {
  CONTRACT,
  PROBLEM_CODES_BY_STATUS,
  servedRoutes,
  STATUS_HEADERS,
  TASK_FIELDS,
  TASK_SORTS,
} from './helpers/openapi/contract';
import { generateClient, lintOpenApi, typecheck } from './helpers/openapi/tools';

/**
 * The OpenAPI document cannot drift from the API: it is fetched from the running
 * service, linted, compared with the contract (shared/spec/http-api.md) and with
 * the routes Fastify serves, and a client generated from it drives a real
 * scenario over HTTP, each response checked against the document.
 */

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const byName = (a: string, b: string) => a.localeCompare(b);
const lower = (names: string[]) => names.map((n) => n.toLowerCase()).sort(byName);

/** A route's responses, operation or parameters in the document. */
const operation = (doc: OpenApiDocument, path: string, method: string) => doc.paths?.[path]?.[method];
const headerParams = (op: OpenApiDocument) =>
  (op.parameters ?? []).filter((p: { in: string }) => p.in === 'header').map((p: { name: string }) => p.name);

describe('OpenAPI document (GET /docs/openapi.json)', () => {
  let fixture: HttpFixture;
  let baseUrl: string;
  let dir: string;
  let documentPath: string;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasks-openapi-'));
    fixture = await startHttpApp();
    // A real socket next to inject(), so the generated client talks HTTP.
    await fixture.app.listen(0, '127.0.0.1');
    baseUrl = await fixture.app.getUrl();
    const res = await fetch(`${baseUrl}/docs/openapi.json`);
    expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({
      status: 200,
      type: expect.stringMatching(/^application\/json/),
    });
    doc = await res.json();
    documentPath = join(dir, 'openapi.json');
    await writeFile(documentPath, JSON.stringify(doc, null, 2));
  });

  afterAll(async () => {
    await fixture?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is served without a token, with Swagger UI at /docs', async () => {
    expect(doc.openapi).toMatch(/^3\./);
    const ui = await fetch(`${baseUrl}/docs`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await ui.text()).toContain('swagger-ui');
  });

  it('passes redocly lint (recommended rules, made stricter)', async () => {
    const lint = await lintOpenApi(documentPath, dir);
    // redocly's report is the failure message.
    if (lint.code !== 0) throw new Error(lint.output);
  });

  it('describes exactly the /api/v1 routes Fastify serves', () => {
    const fastify: FastifyInstance = fixture.app.getHttpAdapter().getInstance();
    const served = [...servedRoutes(fastify)].filter(([path]) => path.startsWith('/api/'));
    const documented = Object.entries<Record<string, unknown>>(doc.paths)
      .filter(([path]) => path.startsWith('/api/'))
      .map(([path, item]) => [path, METHODS.filter((m) => m in item).sort(byName)]);
    const contract = Object.entries(CONTRACT).map(([path, ops]) => [path, Object.keys(ops).sort(byName)]);
    expect(Object.fromEntries(served)).toEqual(Object.fromEntries(contract));
    // Under /api the document has exactly the contract's routes, and nothing served outside
    // /api (the health probes) is left out of it; only the Swagger UI's own routes are.
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(contract));
    const undocumented = [...servedRoutes(fastify).keys()].filter(
      (path) => !path.startsWith('/docs') && !(path in doc.paths),
    );
    expect(undocumented).toEqual([]);
  });

  it('documents the health probes as public, with Terminus bodies', () => {
    for (const [path, statuses] of [
      ['/health/live', ['200', '400']],
      ['/health/ready', ['200', '400', '503']],
      ['/health', ['200', '400', '503']],
    ] as const) {
      const op = operation(doc, path, 'get');
      expect({ path, security: op.security, statuses: Object.keys(op.responses).sort() }).toEqual({
        path,
        security: [],
        statuses: [...statuses],
      });
      expect(Object.keys(op.responses[200].content)).toEqual(['application/json']);
    }
  });

  describe.each(
    Object.entries(CONTRACT).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, route]) => ({
        name: `${method.toUpperCase()} ${path}`,
        path,
        method,
        route,
      })),
    ),
  )('$name', ({ path, method, route }) => {
    it('documents every status of the contract, each error as a problem document with examples', () => {
      const op = operation(doc, path, method);
      const statuses = Object.keys(op.responses).map(Number);
      expect(statuses.sort((a, b) => a - b)).toEqual(
        [route.success, ...(route.other ?? []), ...route.errors].sort((a, b) => a - b),
      );
      for (const status of route.errors) {
        const response = op.responses[status];
        expect(Object.keys(response.content)).toEqual(['application/problem+json']);
        const media = response.content['application/problem+json'];
        expect(media.schema).toEqual({ $ref: '#/components/schemas/Problem' });
        const examples = Object.values<{ value: Json }>(media.examples ?? {}).map((e) => e.value);
        expect(examples.length).toBeGreaterThan(0);
        for (const example of examples) {
          expect(schemaViolations(doc, media.schema, example)).toEqual([]);
          expect(example).toMatchObject({ status, instance: expect.stringMatching(/^\/api\/v1\/tasks/) });
        }
        // Every code of the contract for this status, except the ones no route of its own can give.
        const codes = PROBLEM_CODES_BY_STATUS[status].filter((c) => c !== 'ROUTE_NOT_FOUND');
        expect(examples.map((e) => (e as { code: string }).code).sort(byName)).toEqual(codes.sort(byName));
      }
    });

    it('documents the headers: X-Request-Id on every response, the route’s own, and the request headers', () => {
      const op = operation(doc, path, method);
      for (const [status, response] of Object.entries<{ headers?: object }>(op.responses)) {
        const expected = [
          'X-Request-Id',
          ...(STATUS_HEADERS[Number(status)] ?? []),
          ...(route.responseHeaders?.[Number(status)] ?? []),
        ];
        expect({ status, headers: lower(Object.keys(response.headers ?? {})) }).toEqual({
          status,
          headers: expect.arrayContaining(lower(expected)),
        });
      }
      expect(lower(headerParams(op))).toEqual(lower(route.requestHeaders ?? []));
      for (const p of op.parameters ?? [])
        expect({ [p.name]: p.required }).toEqual({ [p.name]: p.in === 'path' });
      if (path.includes('{id}')) {
        expect(op.parameters).toContainEqual(
          expect.objectContaining({
            name: 'id',
            in: 'path',
            required: true,
            schema: expect.objectContaining({ format: 'uuid' }),
          }),
        );
      }
    });

    it('requires the bearer token', () => {
      expect(operation(doc, path, method).security).toEqual([{ bearer: [] }]);
    });

    it('documents the body and the query parameters', () => {
      const op = operation(doc, path, method);
      const success = op.responses[route.success];
      if (route.success === 204) expect(success.content).toBeUndefined();
      else expect(Object.keys(success.content)).toEqual(['application/json']);
      if (route.requestBody) {
        expect(op.requestBody.required).toBe(true);
        const { schema } = op.requestBody.content['application/json'];
        expect(schema).toEqual({ $ref: `#/components/schemas/${route.requestBody.schema}` });
        const body = doc.components.schemas[route.requestBody.schema];
        expect({
          properties: Object.keys(body.properties).sort(byName),
          required: body.required ?? [],
          // Unknown fields are a 400, so a client must not be told it may send them.
          additionalProperties: body.additionalProperties,
          minProperties: body.minProperties,
        }).toEqual({
          properties: [...route.requestBody.properties].sort(byName),
          required: route.requestBody.required,
          additionalProperties: false,
          minProperties: route.requestBody.minProperties,
        });
        expect(body.properties.description.nullable).toBe(true);
      } else {
        expect(op.requestBody).toBeUndefined();
      }
      const query = (op.parameters ?? []).filter((p: { in: string }) => p.in === 'query');
      expect(query.map((p: { name: string }) => p.name).sort(byName)).toEqual(
        [...(route.query ?? [])].sort(byName),
      );
    });
  });

  it('documents the list query as the contract defines it', () => {
    const params = Object.fromEntries(
      operation(doc, '/api/v1/tasks', 'get').parameters.map((p: { name: string; schema: object }) => [
        p.name,
        p.schema,
      ]),
    );
    expect(params).toEqual({
      completed: expect.objectContaining({ type: 'boolean' }),
      q: expect.objectContaining({ type: 'string', minLength: 1, maxLength: 255 }),
      sort: expect.objectContaining({ type: 'string', enum: TASK_SORTS, default: '-createdAt' }),
      limit: expect.objectContaining({ type: 'integer', minimum: 1, maximum: 100, default: 20 }),
      cursor: expect.objectContaining({ type: 'string' }),
    });
  });

  it('describes the Task, the page and the problem document as the contract does', () => {
    const { Task, TaskList, Problem } = doc.components.schemas;
    expect(Object.keys(Task.properties).sort(byName)).toEqual([...TASK_FIELDS].sort(byName));
    expect([...Task.required].sort(byName)).toEqual([...TASK_FIELDS].sort(byName));
    expect(Task.properties).toMatchObject({
      id: { type: 'string', format: 'uuid' },
      description: { type: 'string', nullable: true },
      completed: { type: 'boolean' },
      createdAt: { type: 'string', format: 'date-time' },
      version: { type: 'integer', minimum: 1 },
    });
    expect(TaskList).toMatchObject({
      required: expect.arrayContaining(['items', 'nextCursor']),
      properties: {
        items: { type: 'array', items: { $ref: '#/components/schemas/Task' } },
        nextCursor: { type: 'string', nullable: true },
      },
    });
    expect([...Problem.required].sort(byName)).toEqual(
      ['type', 'title', 'status', 'code', 'detail', 'instance', 'requestId'].sort(byName),
    );
    expect([...Problem.properties.code.enum].sort(byName)).toEqual(
      Object.values(PROBLEM_CODES_BY_STATUS).flat().sort(byName),
    );
  });

  it('declares the bearer scheme and gives a valid example for every schema property', () => {
    expect(doc.components.securitySchemes.bearer).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
    );
    const missing: string[] = [];
    for (const [name, schema] of Object.entries<{ properties: Record<string, object> }>(
      doc.components.schemas,
    )) {
      for (const [property, definition] of Object.entries(schema.properties ?? {})) {
        const items = (definition as { items?: { $ref?: string } }).items;
        if (!('example' in definition) && !items?.$ref) missing.push(`${name}.${property}`);
        else if ('example' in definition) {
          expect(schemaViolations(doc, definition, (definition as { example: Json }).example)).toEqual([]);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  describe('a client generated from it (@hey-api/openapi-ts, fetch)', () => {
    // The generated SDK is plain TypeScript loaded at run time, so it is untyped here;
    // the typecheck test below compiles it, and a probe that uses its types, with tsc.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    type Sdk = Record<string, (options: object) => Promise<any>>;
    let outputDir: string;
    let sdk: Sdk;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    let runtime: any;
    const fn: Record<'create' | 'list' | 'get' | 'update' | 'delete', string> = {
      create: '',
      list: '',
      get: '',
      update: '',
      delete: '',
    };

    beforeAll(async () => {
      outputDir = join(dir, 'client');
      const generated = await generateClient(documentPath, outputDir);
      expect(generated).toEqual({ code: 0, output: expect.any(String) });
      // Jest's transform (@swc/jest) and its `./x.js` → `./x` mapping apply outside rootDir too.
      sdk = await import(join(outputDir, 'sdk.gen.ts'));
      runtime = await import(join(outputDir, 'client', 'index.ts'));
      // SDK functions are named after operationIds; find them by route, not by today's names.
      const sdkName = (path: string, method: string) => {
        const id: string = operation(doc, path, method).operationId;
        const squash = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
        const found = Object.keys(sdk).filter((name) => squash(name) === squash(id));
        expect({ id, found }).toEqual({ id, found: [expect.any(String)] });
        return found[0];
      };
      fn.create = sdkName('/api/v1/tasks', 'post');
      fn.list = sdkName('/api/v1/tasks', 'get');
      fn.get = sdkName('/api/v1/tasks/{id}', 'get');
      fn.update = sdkName('/api/v1/tasks/{id}', 'patch');
      fn.delete = sdkName('/api/v1/tasks/{id}', 'delete');
    });

    it('compiles under strict TypeScript, with types that accept and refuse what the contract does', async () => {
      const probe = `
        import type { CreateTask, Problem, Task, TaskList, UpdateTask } from './types.gen.js';
        import { ${fn.list}, ${fn.update} } from './sdk.gen.js';

        const task: Task = {
          id: '0b6f7c2e-5d0c-4f6e-9a43-9a2f3f1a8c11', userId: 'u', title: 't', description: null,
          completed: false, createdAt: '2026-11-26T08:15:30.123Z', updatedAt: '2026-11-26T08:15:30.123Z', version: 1,
        };
        const page: TaskList = { items: [task], nextCursor: null };
        const create: CreateTask = { title: 't', description: null, completed: true };
        const patch: UpdateTask = { description: null };
        const problem: Problem = {
          type: 'about:blank', title: 'Task not found', status: 404, code: 'TASK_NOT_FOUND',
          detail: 'Task not found', instance: '/api/v1/tasks/x', requestId: 'r',
        };
        // @ts-expect-error title is required
        const untitled: CreateTask = { description: 'd' };
        // @ts-expect-error the owner never comes from a body
        const owned: CreateTask = { title: 't', userId: 'u' };
        // @ts-expect-error completed cannot be null
        const nulled: UpdateTask = { completed: null };
        // @ts-expect-error not a code of the contract
        const unknownCode: Problem['code'] = 'NOT_A_CODE';
        export const values = [task, page, create, patch, problem, untitled, owned, nulled, unknownCode];
        export const calls = () => [
          ${fn.list}({ query: { completed: false, q: 'milk', sort: '-updatedAt', limit: 20, cursor: 'c' } }),
          ${fn.update}({ path: { id: task.id }, body: patch, headers: { 'If-Match': '"1"' } }),
        ];
      `;
      await writeFile(join(outputDir, 'contract-probe.ts'), probe);
      const result = await typecheck(outputDir);
      expect(result).toEqual({ code: 0, output: expect.any(String) });
    });

    /** The response is one the document describes: status, headers and body. */
    function expectDocumented(
      path: string,
      method: string,
      result: { response: Response; data?: Json; error?: Json },
    ): void {
      const { status } = result.response;
      const described = operation(doc, path, method).responses[status];
      expect({ path, method, status, described: described !== undefined }).toEqual({
        path,
        method,
        status,
        described: true,
      });
      // Every header the document promises is sent (X-Request-Id always, documented or not).
      for (const header of new Set(['X-Request-Id', ...Object.keys(described.headers ?? {})])) {
        expect({ status, header, value: result.response.headers.get(header) }).toEqual({
          status,
          header,
          value: expect.any(String),
        });
      }
      if (!described.content) {
        expect(result.response.headers.get('content-type')).toBeNull();
        return;
      }
      const type = (result.response.headers.get('content-type') ?? '').split(';')[0];
      expect(Object.keys(described.content)).toContain(type);
      const body = status < 400 ? result.data : result.error;
      expect(schemaViolations(doc, described.content[type].schema, body ?? null)).toEqual([]);
    }

    it('drives the contract’s scenario against the running service', async () => {
      const token = await tokenFor('openapi-user');
      const client = runtime.createClient(runtime.createConfig({ baseUrl, auth: () => token }));
      const call = (name: keyof typeof fn, options: object) => sdk[fn[name]]({ client, ...options });

      const created = await call('create', {
        body: { title: '  Buy milk  ', description: null },
        headers: { 'Idempotency-Key': 'openapi-e2e-1' },
      });
      expectDocumented('/api/v1/tasks', 'post', created);
      const task = created.data;
      expect(created.response.status).toBe(201);
      expect(task).toMatchObject({ title: 'Buy milk', description: null, completed: false, version: 1 });
      expect(created.response.headers.get('location')).toBe(`/api/v1/tasks/${task.id}`);
      expect(created.response.headers.get('etag')).toBe('"1"');

      const read = await call('get', { path: { id: task.id } });
      expectDocumented('/api/v1/tasks/{id}', 'get', read);
      expect({
        status: read.response.status,
        etag: read.response.headers.get('etag'),
        data: read.data,
      }).toEqual({
        status: 200,
        etag: '"1"',
        data: task,
      });
      const notModified = await call('get', { path: { id: task.id }, headers: { 'If-None-Match': '"1"' } });
      expect(notModified.response.status).toBe(304);
      expectDocumented('/api/v1/tasks/{id}', 'get', notModified);

      const second = await call('create', { body: { title: 'Walk the dog', completed: true } });
      expect(second.response.status).toBe(201);
      const first = await call('list', { query: { sort: 'createdAt', limit: 1 } });
      expectDocumented('/api/v1/tasks', 'get', first);
      expect(first.data.items).toEqual([task]);
      expect(first.data.nextCursor).toEqual(expect.any(String));
      const rest = await call('list', {
        query: { sort: 'createdAt', limit: 1, cursor: first.data.nextCursor },
      });
      expect(rest.data).toEqual({ items: [second.data], nextCursor: null });
      const done = await call('list', { query: { completed: true } });
      expect(done.data).toEqual({ items: [second.data], nextCursor: null });

      const patched = await call('update', {
        path: { id: task.id },
        body: { description: '2 litres', completed: true },
        headers: { 'If-Match': '"1"' },
      });
      expectDocumented('/api/v1/tasks/{id}', 'patch', patched);
      expect(patched.data).toMatchObject({
        id: task.id,
        description: '2 litres',
        completed: true,
        version: 2,
      });
      expect(patched.response.headers.get('etag')).toBe('"2"');

      const stale = await call('update', {
        path: { id: task.id },
        body: { title: 'x' },
        headers: { 'If-Match': '"1"' },
      });
      expectDocumented('/api/v1/tasks/{id}', 'patch', stale);
      expect({ status: stale.response.status, code: stale.error.code }).toEqual({
        status: 412,
        code: 'PRECONDITION_FAILED',
      });

      const invalid = await call('update', { path: { id: 'not-a-uuid' }, body: { title: 'x' } });
      expectDocumented('/api/v1/tasks/{id}', 'patch', invalid);
      expect(invalid.error).toMatchObject({
        status: 400,
        code: 'VALIDATION_ERROR',
        errors: [{ field: 'id' }],
      });

      const deleted = await call('delete', { path: { id: task.id }, headers: { 'If-Match': '"2"' } });
      expectDocumented('/api/v1/tasks/{id}', 'delete', deleted);
      expect(deleted.response.status).toBe(204);

      const gone = await call('get', { path: { id: task.id } });
      expectDocumented('/api/v1/tasks/{id}', 'get', gone);
      expect({ status: gone.response.status, code: gone.error.code }).toEqual({
        status: 404,
        code: 'TASK_NOT_FOUND',
      });

      const anonymous = runtime.createClient(runtime.createConfig({ baseUrl }));
      const refused = await sdk[fn.list]({ client: anonymous });
      expectDocumented('/api/v1/tasks', 'get', refused);
      expect({ status: refused.response.status, code: refused.error.code }).toEqual({
        status: 401,
        code: 'MISSING_TOKEN',
      });
    });
  });
});
