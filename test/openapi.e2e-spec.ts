import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { startHttpApp, tokenFor, type HttpFixture } from './helpers/http';
import { flatten, schemaViolations, type Json, type OpenApiDocument } from './helpers/openapi/conformance';
import {
  CONTRACT,
  LIST_FIELDS,
  PRIORITIES,
  PROBLEM_CODES_BY_STATUS,
  servedRoutes,
  STATUS_HEADERS,
  TASK_FIELDS,
  TASK_SORTS,
  UNSERVED_CODES,
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
const sorted = (names: Iterable<string>) => [...names].sort(byName);

// Small quotas, so the scenario can reach them (each scenario has its own user).
const MAX_TASKS = 10;
const MAX_LISTS = 3;

// Booting the app, generating the client and compiling it take seconds, more on a busy machine.
jest.setTimeout(30_000);
const TOOL_TIMEOUT_MS = 120_000;

/** A route's responses, operation or parameters in the document. */
const operation = (doc: OpenApiDocument, path: string, method: string) => doc.paths?.[path]?.[method];
const headerParams = (op: OpenApiDocument) =>
  (op.parameters ?? []).filter((p: { in: string }) => p.in === 'header').map((p: { name: string }) => p.name);
/** `/api/v1/lists/{id}` → `/api/v1/lists`: the collection a route's problem examples are about. */
const collectionOf = (path: string) => path.split('/').slice(0, 4).join('/');

/** The contract's example Task (shared/spec/http-api.md, "The Task resource"). */
const CONTRACT_TASK = {
  id: '0b6f7c2e-5d0c-4f6e-9a43-9a2f3f1a8c11',
  userId: 'user_abc123',
  listId: null,
  parentId: null,
  title: 'Buy milk',
  description: null,
  completed: false,
  completedAt: null,
  priority: 'none',
  tags: [],
  due: null,
  recurrence: null,
  position: 'a0',
  createdAt: '2026-11-26T08:15:30.123Z',
  updatedAt: '2026-11-26T08:15:30.123Z',
  version: 1,
};

describe('OpenAPI document (GET /docs/openapi.json)', () => {
  let fixture: HttpFixture;
  let baseUrl: string;
  let dir: string;
  let documentPath: string;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasks-openapi-'));
    fixture = await startHttpApp({
      MAX_TASKS_PER_USER: String(MAX_TASKS),
      MAX_LISTS_PER_USER: String(MAX_LISTS),
    });
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
  }, TOOL_TIMEOUT_MS);

  afterAll(async () => {
    await fixture?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The violations of `value` against a named component schema. */
  const against = (schema: string, value: Json) =>
    schemaViolations(doc, { $ref: `#/components/schemas/${schema}` }, value);

  it('is served without a token, with Swagger UI at /docs', async () => {
    expect(doc.openapi).toMatch(/^3\./);
    const ui = await fetch(`${baseUrl}/docs`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await ui.text()).toContain('swagger-ui');
  });

  it(
    'passes redocly lint (recommended rules, made stricter)',
    async () => {
      const lint = await lintOpenApi(documentPath, dir);
      // redocly's report is the failure message.
      if (lint.code !== 0) throw new Error(lint.output);
    },
    TOOL_TIMEOUT_MS,
  );

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
    it('documents every status of the contract, each error as a problem document with an example per code', () => {
      const op = operation(doc, path, method);
      const statuses = Object.keys(op.responses).map(Number);
      expect(statuses.sort((a, b) => a - b)).toEqual(
        [route.success, ...(route.other ?? []), ...Object.keys(route.problems).map(Number)].sort(
          (a, b) => a - b,
        ),
      );
      for (const [status, codes] of Object.entries(route.problems).map(([s, c]) => [Number(s), c] as const)) {
        const response = op.responses[status];
        expect(Object.keys(response.content)).toEqual(['application/problem+json']);
        const media = response.content['application/problem+json'];
        expect(media.schema).toEqual({ $ref: '#/components/schemas/Problem' });
        const examples = Object.values<{ value: Json }>(media.examples ?? {}).map(
          (e) => e.value as Record<string, Json>,
        );
        // Exactly the codes this route can answer with this status, each with an example.
        expect({ status, codes: sorted(examples.map((e) => e.code as string)) }).toEqual({
          status,
          codes: sorted(codes),
        });
        for (const example of examples) {
          expect(schemaViolations(doc, media.schema, example)).toEqual([]);
          expect(example).toMatchObject({
            status,
            instance: expect.stringMatching(`^${collectionOf(path)}`),
          });
          // The description names every code, so a reader of the status alone learns them.
          expect(response.description).toContain(example.code);
          if (example.code === 'QUOTA_EXCEEDED') expect(example.limit).toEqual(expect.any(Number));
          if (example.code === 'VALIDATION_ERROR')
            expect(example.errors).toEqual([{ field: expect.any(String), message: expect.any(String) }]);
        }
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
      else expect(Object.keys(success.content)).toEqual([route.successMedia ?? 'application/json']);
      if (route.requestBody) {
        expect(op.requestBody.required).toBe(true);
        // PATCH also accepts application/merge-patch+json (JSON Merge Patch).
        expect(Object.keys(op.requestBody.content)).toEqual(
          method === 'patch' ? ['application/json', 'application/merge-patch+json'] : ['application/json'],
        );
        for (const media of Object.values<{ schema: object }>(op.requestBody.content))
          expect(media.schema).toEqual({ $ref: `#/components/schemas/${route.requestBody.schema}` });
        const body = doc.components.schemas[route.requestBody.schema];
        expect({
          properties: sorted(Object.keys(body.properties)),
          required: body.required ?? [],
          // Unknown fields are a 400, so a client must not be told it may send them.
          additionalProperties: body.additionalProperties,
          minProperties: body.minProperties,
          // null is accepted exactly where the contract accepts it.
          nullable: sorted(
            Object.entries<{ nullable?: boolean }>(body.properties)
              .filter(([, p]) => p.nullable === true)
              .map(([name]) => name),
          ),
        }).toEqual({
          properties: sorted(route.requestBody.properties),
          required: route.requestBody.required,
          additionalProperties: false,
          minProperties: route.requestBody.minProperties,
          nullable: sorted(route.requestBody.nullable),
        });
      } else {
        expect(op.requestBody).toBeUndefined();
      }
      const query = (op.parameters ?? []).filter((p: { in: string }) => p.in === 'query');
      expect(sorted(query.map((p: { name: string }) => p.name))).toEqual(sorted(route.query ?? []));
    });
  });

  it('documents the task list query as the contract defines it', () => {
    const parameters = operation(doc, '/api/v1/tasks', 'get').parameters;
    const params = Object.fromEntries(
      parameters.map((p: { name: string; schema: object }) => [p.name, p.schema]),
    );
    const UUID = '0b6f7c2e-5d0c-4f6e-9a43-9a2f3f1a8c11';
    expect(params).toEqual({
      completed: expect.objectContaining({ type: 'boolean' }),
      q: expect.objectContaining({ type: 'string', minLength: 1, maxLength: 255 }),
      listId: expect.objectContaining({ type: 'string', pattern: expect.any(String) }),
      parentId: expect.objectContaining({ type: 'string', pattern: expect.any(String) }),
      tag: expect.objectContaining({ type: 'array', items: expect.objectContaining({ type: 'string' }) }),
      priority: expect.objectContaining({ type: 'array', items: { type: 'string', enum: PRIORITIES } }),
      dueFrom: expect.objectContaining({ type: 'string', format: 'date' }),
      dueTo: expect.objectContaining({ type: 'string', format: 'date' }),
      sort: expect.objectContaining({ type: 'string', enum: TASK_SORTS, default: '-createdAt' }),
      limit: expect.objectContaining({ type: 'integer', minimum: 1, maximum: 100, default: 20 }),
      cursor: expect.objectContaining({ type: 'string' }),
    });
    // tag and priority may be repeated (`tag=a&tag=b`): OpenAPI's default for a query array,
    // form style exploded, unless the document says otherwise.
    for (const p of parameters.filter((q: { name: string }) => ['tag', 'priority'].includes(q.name))) {
      expect({ name: p.name, style: p.style ?? 'form', explode: p.explode ?? true }).toEqual({
        name: p.name,
        style: 'form',
        explode: true,
      });
    }
    // Values are case-sensitive: `inbox` and `none` only, besides ids; an empty tag is a 400.
    const accepts = (name: string, value: Json) => schemaViolations(doc, params[name], value);
    expect({
      listIds: [accepts('listId', 'inbox'), accepts('listId', UUID), accepts('listId', UUID.toUpperCase())],
      parentIds: [accepts('parentId', 'none'), accepts('parentId', UUID)],
    }).toEqual({ listIds: [[], [], []], parentIds: [[], []] });
    expect({
      listId: [accepts('listId', 'none'), accepts('listId', 'Inbox'), accepts('listId', 'x')],
      parentId: [accepts('parentId', 'inbox'), accepts('parentId', 'None')],
      tag: accepts('tag', ['']),
      priority: accepts('priority', ['HIGH']),
      sort: accepts('sort', '-position'),
    }).toEqual({
      listId: [[expect.any(String)], [expect.any(String)], [expect.any(String)]],
      parentId: [[expect.any(String)], [expect.any(String)]],
      tag: [expect.any(String)],
      priority: [expect.any(String)],
      sort: [expect.any(String)],
    });
  });

  it('documents the list page query as the contract defines it', () => {
    const params = Object.fromEntries(
      operation(doc, '/api/v1/lists', 'get').parameters.map((p: { name: string; schema: object }) => [
        p.name,
        p.schema,
      ]),
    );
    expect(params).toEqual({
      limit: expect.objectContaining({ type: 'integer', minimum: 1, maximum: 100, default: 100 }),
      cursor: expect.objectContaining({ type: 'string' }),
    });
  });

  it('describes the Task with exactly its sixteen fields, as the contract does', () => {
    const { Task, TaskList, Due } = doc.components.schemas;
    expect(sorted(Object.keys(Task.properties))).toEqual(sorted(TASK_FIELDS));
    expect(sorted(Task.required)).toEqual(sorted(TASK_FIELDS));
    expect(Task.properties).toMatchObject({
      id: { type: 'string', format: 'uuid' },
      userId: { type: 'string', minLength: 1, maxLength: 128 },
      listId: { type: 'string', format: 'uuid', nullable: true },
      parentId: { type: 'string', format: 'uuid', nullable: true },
      title: { type: 'string', minLength: 1, maxLength: 255 },
      description: { type: 'string', nullable: true, maxLength: 10000 },
      completed: { type: 'boolean' },
      completedAt: { type: 'string', format: 'date-time', nullable: true },
      priority: { type: 'string', enum: PRIORITIES },
      tags: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 50 }, maxItems: 20 },
      due: { nullable: true, allOf: [{ $ref: '#/components/schemas/Due' }] },
      recurrence: { type: 'string', nullable: true, maxLength: 255 },
      position: { type: 'string', maxLength: 64 },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
      version: { type: 'integer', minimum: 1 },
    });
    // Fields that are not nullable in the contract are not nullable here.
    const nullable = Object.entries<{ nullable?: boolean }>(Task.properties)
      .filter(([, p]) => p.nullable)
      .map(([name]) => name);
    expect(sorted(nullable)).toEqual(
      sorted(['listId', 'parentId', 'description', 'completedAt', 'due', 'recurrence']),
    );
    // The due: exactly its three members, all present, time and timeZone null for all day.
    expect(Due).toMatchObject({
      type: 'object',
      additionalProperties: false,
      properties: {
        date: { type: 'string', format: 'date' },
        time: { type: 'string', nullable: true, pattern: expect.any(String) },
        timeZone: { type: 'string', nullable: true },
      },
    });
    expect(sorted(Object.keys(Due.properties))).toEqual(['date', 'time', 'timeZone']);
    expect(sorted(Due.required)).toEqual(['date', 'time', 'timeZone']);
    expect(Due.properties.date.nullable).toBeUndefined();
    expect(TaskList).toMatchObject({
      required: expect.arrayContaining(['items', 'nextCursor']),
      properties: {
        items: { type: 'array', items: { $ref: '#/components/schemas/Task' } },
        nextCursor: { type: 'string', nullable: true },
      },
    });
    // The contract's own example is a Task; the same with another field, or without a 1.1 one, is not.
    const timed = {
      ...CONTRACT_TASK,
      listId: '5d0c0b6f-7c2e-4f6e-9a43-9a2f3f1a8c11',
      priority: 'high',
      tags: ['errands'],
      due: { date: '2026-12-24', time: '09:30', timeZone: 'Europe/Berlin' },
      recurrence: 'FREQ=WEEKLY;BYDAY=MO',
    };
    const { position: _position, ...unplaced } = CONTRACT_TASK;
    expect({
      example: against('Task', CONTRACT_TASK),
      timed: against('Task', timed),
      allDay: against('Task', { ...timed, due: { date: '2026-12-24', time: null, timeZone: null } }),
    }).toEqual({ example: [], timed: [], allDay: [] });
    expect({
      extra: against('Task', { ...CONTRACT_TASK, listName: 'Groceries' }),
      unplaced: against('Task', unplaced),
      priority: against('Task', { ...CONTRACT_TASK, priority: 'urgent' }),
      dueMember: against('Task', { ...timed, due: { ...timed.due, offset: '+01:00' } }),
      halfDue: against('Task', { ...timed, due: { date: '2026-12-24' } }),
    }).toEqual({
      extra: ['$.listName: not declared by the schema'],
      unplaced: ['$.position: required but missing'],
      priority: [expect.stringContaining('not in enum')],
      dueMember: ['$.due.offset: not declared by the schema'],
      halfDue: ['$.due.time: required but missing', '$.due.timeZone: required but missing'],
    });
  });

  it('describes the List, its page and the tags as the contract does', () => {
    const { List, ListPage, TagList, TagCount } = doc.components.schemas;
    expect(sorted(Object.keys(List.properties))).toEqual(sorted(LIST_FIELDS));
    expect(sorted(List.required)).toEqual(sorted(LIST_FIELDS));
    expect(List.properties).toMatchObject({
      id: { type: 'string', format: 'uuid' },
      name: { type: 'string', minLength: 1, maxLength: 100 },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
      version: { type: 'integer', minimum: 1 },
    });
    expect(ListPage).toMatchObject({
      required: expect.arrayContaining(['items', 'nextCursor']),
      properties: {
        items: { type: 'array', items: { $ref: '#/components/schemas/List' } },
        nextCursor: { type: 'string', nullable: true },
      },
    });
    expect(TagList).toMatchObject({
      required: ['items'],
      properties: { items: { type: 'array', items: { $ref: '#/components/schemas/TagCount' } } },
    });
    expect(Object.keys(TagList.properties)).toEqual(['items']);
    expect({ properties: Object.keys(TagCount.properties), required: TagCount.required }).toEqual({
      properties: ['name', 'count'],
      required: ['name', 'count'],
    });
    expect(TagCount.properties.count).toMatchObject({ type: 'integer', minimum: 1 });
  });

  it('describes the 1.1 request bodies so that they accept and refuse what the contract does', () => {
    const { CreateTask, UpdateTask, MoveTask, ListName } = doc.components.schemas;
    const id = '0b6f7c2e-5d0c-4f6e-9a43-9a2f3f1a8c11';
    expect(CreateTask.properties).toMatchObject({
      listId: { type: 'string', format: 'uuid', nullable: true },
      parentId: { type: 'string', format: 'uuid', nullable: true },
      priority: { type: 'string', enum: PRIORITIES, default: 'none' },
      tags: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 50 }, maxItems: 20 },
      due: { nullable: true, allOf: [{ $ref: '#/components/schemas/Due' }] },
      recurrence: { type: 'string', nullable: true, maxLength: 255 },
    });
    // A PATCH's due is merged member by member: any of the three, none required, date never null.
    expect(flatten(doc, UpdateTask.properties.due).required ?? []).toEqual([]);
    expect(flatten(doc, UpdateTask.properties.due)).toMatchObject({
      type: 'object',
      nullable: true,
      additionalProperties: false,
      properties: {
        date: { type: 'string', format: 'date' },
        time: { type: 'string', nullable: true },
        timeZone: { type: 'string', nullable: true },
      },
    });
    expect(UpdateTask.properties.due.properties.date.nullable).toBeUndefined();
    expect(MoveTask.properties).toMatchObject({
      listId: { type: 'string', format: 'uuid', nullable: true },
      parentId: { type: 'string', format: 'uuid', nullable: true },
      after: { type: 'string', format: 'uuid', nullable: true },
    });
    expect(ListName.properties.name).toMatchObject({ type: 'string', minLength: 1, maxLength: 100 });

    const allDay = { date: '2026-12-24', time: null, timeZone: null };
    const timed = { date: '2026-12-24', time: '09:30', timeZone: 'Europe/Berlin' };
    const accepted: [string, Json][] = [
      ['CreateTask', { title: 'Buy milk' }],
      [
        'CreateTask',
        {
          title: 'Buy milk',
          description: null,
          completed: false,
          listId: id,
          parentId: null,
          priority: 'high',
          tags: ['errands', 'home'],
          due: timed,
          recurrence: 'FREQ=WEEKLY;BYDAY=MO',
        },
      ],
      ['CreateTask', { title: 'Buy milk', listId: null, parentId: id, due: allDay, recurrence: null }],
      ['UpdateTask', { due: { time: '10:00', timeZone: 'UTC' } }],
      ['UpdateTask', { due: { time: null, timeZone: null } }],
      ['UpdateTask', { due: {} }],
      ['UpdateTask', { due: null, recurrence: null, listId: null, parentId: null, description: null }],
      ['UpdateTask', { priority: 'low', tags: [] }],
      ['MoveTask', {}],
      ['MoveTask', { after: null }],
      ['MoveTask', { listId: id, parentId: id, after: id }],
      ['ListName', { name: 'Groceries' }],
    ];
    expect(accepted.map(([schema, body]) => [schema, body, against(schema, body)])).toEqual(
      accepted.map(([schema, body]) => [schema, body, []]),
    );
    const refused: [string, Json][] = [
      ['CreateTask', { title: 'Buy milk', priority: 'urgent' }],
      ['CreateTask', { title: 'Buy milk', priority: null }],
      ['CreateTask', { title: 'Buy milk', tags: null }],
      ['CreateTask', { title: 'Buy milk', tags: [''] }],
      ['CreateTask', { title: 'Buy milk', due: { date: '2026-12-24' } }],
      ['CreateTask', { title: 'Buy milk', due: { ...timed, offset: '+01:00' } }],
      ['CreateTask', { title: 'Buy milk', due: { ...timed, time: '9:30' } }],
      ['CreateTask', { title: 'Buy milk', listId: 'inbox' }],
      ['CreateTask', { title: 'Buy milk', position: 'a0' }],
      ['CreateTask', { title: 'Buy milk', completedAt: null }],
      ['UpdateTask', {}],
      ['UpdateTask', { title: null }],
      ['UpdateTask', { priority: null }],
      ['UpdateTask', { tags: null }],
      ['UpdateTask', { due: { date: null } }],
      ['UpdateTask', { due: { date: '2026-12-24', at: '10:00' } }],
      ['MoveTask', { position: 'a0' }],
      ['MoveTask', { after: 'first' }],
      ['ListName', {}],
      ['ListName', { name: null }],
      ['ListName', { name: '' }],
      ['ListName', { name: 'Groceries', color: 'green' }],
    ];
    expect(refused.filter(([schema, body]) => against(schema, body).length === 0)).toEqual([]);
  });

  it('describes the problem document with every code of the contract that a served route can answer', () => {
    const { Problem } = doc.components.schemas;
    expect(sorted(Problem.required)).toEqual(
      sorted(['type', 'title', 'status', 'code', 'detail', 'instance', 'requestId']),
    );
    expect(Problem.properties.limit).toMatchObject({ type: 'integer', minimum: 1 });
    expect(Problem.properties.errors).toMatchObject({
      type: 'array',
      items: { $ref: '#/components/schemas/FieldProblem' },
    });
    expect(sorted(Problem.properties.code.enum)).toEqual(
      sorted(
        Object.values(PROBLEM_CODES_BY_STATUS)
          .flat()
          .filter((code) => !UNSERVED_CODES.includes(code)),
      ),
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
          expect({
            property: `${name}.${property}`,
            violations: schemaViolations(doc, definition, (definition as { example: Json }).example),
          }).toEqual({ property: `${name}.${property}`, violations: [] });
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
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    type Result = { response: Response; data?: any; error?: any };
    let outputDir: string;
    let sdk: Sdk;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    let runtime: any;
    // Each SDK function by the route it calls.
    const ROUTES = {
      create: ['/api/v1/tasks', 'post'],
      list: ['/api/v1/tasks', 'get'],
      get: ['/api/v1/tasks/{id}', 'get'],
      update: ['/api/v1/tasks/{id}', 'patch'],
      delete: ['/api/v1/tasks/{id}', 'delete'],
      move: ['/api/v1/tasks/{id}/move', 'post'],
      tags: ['/api/v1/tags', 'get'],
      createList: ['/api/v1/lists', 'post'],
      listLists: ['/api/v1/lists', 'get'],
      getList: ['/api/v1/lists/{id}', 'get'],
      updateList: ['/api/v1/lists/{id}', 'patch'],
      deleteList: ['/api/v1/lists/{id}', 'delete'],
    } as const;
    type Fn = keyof typeof ROUTES;
    const fn = {} as Record<Fn, string>;

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
      for (const [name, [path, method]] of Object.entries(ROUTES)) fn[name as Fn] = sdkName(path, method);
    }, TOOL_TIMEOUT_MS);

    it(
      'compiles under strict TypeScript, with types that accept and refuse what the contract does',
      async () => {
        const probe = `
        import type {
          CreateTask, Due, List, ListName, ListPage, MoveTask, Problem, TagList, Task, TaskList, UpdateTask,
        } from './types.gen.js';
        import {
          ${fn.list}, ${fn.update}, ${fn.move}, ${fn.tags},
          ${fn.createList}, ${fn.listLists}, ${fn.getList}, ${fn.updateList}, ${fn.deleteList},
        } from './sdk.gen.js';

        const task: Task = {
          id: '0b6f7c2e-5d0c-4f6e-9a43-9a2f3f1a8c11', userId: 'u', listId: null, parentId: null, title: 't',
          description: null, completed: false, completedAt: null, priority: 'none', tags: [], due: null,
          recurrence: null, position: 'a0', createdAt: '2026-11-26T08:15:30.123Z',
          updatedAt: '2026-11-26T08:15:30.123Z', version: 1,
        };
        const due: Due = { date: '2026-12-24', time: '09:30', timeZone: 'Europe/Berlin' };
        const allDay: Due = { date: '2026-12-24', time: null, timeZone: null };
        const subtask: Task = {
          ...task, listId: '5d0c0b6f-7c2e-4f6e-9a43-9a2f3f1a8c11', parentId: task.id, completed: true,
          completedAt: '2026-11-26T08:15:30.123Z', priority: 'high', tags: ['errands'], due,
          recurrence: 'FREQ=WEEKLY;BYDAY=MO',
        };
        const page: TaskList = { items: [task, subtask], nextCursor: null };
        const list: List = {
          id: '5d0c0b6f-7c2e-4f6e-9a43-9a2f3f1a8c11', name: 'Groceries',
          createdAt: '2026-11-26T08:15:30.123Z', updatedAt: '2026-11-26T08:15:30.123Z', version: 1,
        };
        const lists: ListPage = { items: [list], nextCursor: 'c' };
        const tags: TagList = { items: [{ name: 'errands', count: 3 }] };
        const create: CreateTask = { title: 't', description: null, completed: true };
        const create11: CreateTask = {
          title: 't', listId: list.id, parentId: null, priority: 'low', tags: ['a', 'b'], due: allDay,
          recurrence: 'FREQ=DAILY',
        };
        const patch: UpdateTask = { description: null };
        const patch11: UpdateTask = {
          listId: null, parentId: task.id, priority: 'medium', tags: [], due: { time: '10:00', timeZone: 'UTC' },
          recurrence: null,
        };
        const allDayAgain: UpdateTask = { due: { time: null, timeZone: null } };
        const undue: UpdateTask = { due: null };
        const moves: MoveTask[] = [{}, { after: null }, { listId: null }, { listId: list.id, parentId: task.id, after: task.id }];
        const name: ListName = { name: 'Groceries' };
        const problem: Problem = {
          type: 'about:blank', title: 'Task not found', status: 404, code: 'TASK_NOT_FOUND',
          detail: 'Task not found', instance: '/api/v1/tasks/x', requestId: 'r',
        };
        const quota: Problem = {
          type: 'about:blank', title: 'Quota exceeded', status: 403, code: 'QUOTA_EXCEEDED',
          detail: 'You have reached the limit of 1000 lists', instance: '/api/v1/lists', requestId: 'r', limit: 1000,
        };
        const codes: Problem['code'][] = ['LIST_NOT_FOUND', 'LIST_NAME_TAKEN', 'REFERENCE_NOT_FOUND', 'INVALID_PARENT'];

        // @ts-expect-error title is required
        const untitled: CreateTask = { description: 'd' };
        // @ts-expect-error the owner never comes from a body
        const owned: CreateTask = { title: 't', userId: 'u' };
        // @ts-expect-error the server places a task
        const placed: CreateTask = { title: 't', position: 'a0' };
        // @ts-expect-error not a priority
        const urgent: CreateTask = { title: 't', priority: 'urgent' };
        // @ts-expect-error tags are a list of strings, never null
        const untagged: CreateTask = { title: 't', tags: null };
        // @ts-expect-error a created due has its three members
        const halfDue: CreateTask = { title: 't', due: { date: '2026-12-24' } };
        // @ts-expect-error a due has exactly its three members
        const offset: Due = { date: '2026-12-24', time: null, timeZone: null, offset: '+01:00' };
        // @ts-expect-error completed cannot be null
        const nulled: UpdateTask = { completed: null };
        // @ts-expect-error priority cannot be null
        const unprioritised: UpdateTask = { priority: null };
        // @ts-expect-error tags cannot be null (send [] to clear them)
        const cleared: UpdateTask = { tags: null };
        // @ts-expect-error a patched due keeps a date
        const undated: UpdateTask = { due: { date: null } };
        // @ts-expect-error a move sets no position itself
        const positioned: MoveTask = { position: 'a0' };
        // @ts-expect-error a list needs its name
        const unnamed: ListName = {};
        // @ts-expect-error a list has nothing but a name to send
        const coloured: ListName = { name: 'n', color: 'green' };
        // @ts-expect-error a 1.1 Task has its new fields
        const old: Task = {
          id: task.id, userId: 'u', title: 't', description: null, completed: false,
          createdAt: task.createdAt, updatedAt: task.updatedAt, version: 1,
        };
        // @ts-expect-error a List has exactly its five fields
        const ownedList: List = { id: list.id, name: 'n', createdAt: '', updatedAt: '', version: 1, userId: 'u' };
        // @ts-expect-error not a code of the contract
        const unknownCode: Problem['code'] = 'NOT_A_CODE';
        export const values = [
          task, subtask, page, list, lists, tags, create, create11, patch, patch11, allDayAgain, undue, moves, name,
          problem, quota, codes, untitled, owned, placed, urgent, untagged, halfDue, offset, nulled, unprioritised,
          cleared, undated, positioned, unnamed, coloured, old, ownedList, unknownCode,
        ];
        export const calls = () => [
          ${fn.list}({ query: { completed: false, q: 'milk', sort: '-updatedAt', limit: 20, cursor: 'c' } }),
          ${fn.list}({
            query: {
              listId: 'inbox', parentId: 'none', tag: ['errands', 'home'], priority: ['high', 'low'],
              dueFrom: '2026-12-01', dueTo: '2026-12-31', sort: 'due',
            },
          }),
          ${fn.list}({ query: { listId: list.id, parentId: task.id, sort: 'position' } }),
          ${fn.list}({ query: { sort: '-priority' } }),
          // @ts-expect-error the manual order has no descending form
          ${fn.list}({ query: { sort: '-position' } }),
          // @ts-expect-error priorities are lower-case
          ${fn.list}({ query: { priority: ['HIGH'] } }),
          ${fn.update}({ path: { id: task.id }, body: patch, headers: { 'If-Match': '"1"' } }),
          ${fn.move}({ path: { id: task.id }, body: {}, headers: { 'If-Match': '"1"' } }),
          ${fn.move}({ path: { id: task.id }, body: { after: null } }),
          ${fn.tags}(),
          ${fn.createList}({ body: name }),
          ${fn.listLists}({ query: { limit: 100, cursor: 'c' } }),
          ${fn.getList}({ path: { id: list.id }, headers: { 'If-None-Match': '"1"' } }),
          ${fn.updateList}({ path: { id: list.id }, body: { name: 'Errands' }, headers: { 'If-Match': '"1"' } }),
          ${fn.deleteList}({ path: { id: list.id }, headers: { 'If-Match': '"2"' } }),
        ];
      `;
        await writeFile(join(outputDir, 'contract-probe.ts'), probe);
        const result = await typecheck(outputDir);
        expect(result).toEqual({ code: 0, output: expect.any(String) });
      },
      TOOL_TIMEOUT_MS,
    );

    /** The response is one the document describes: status, headers and body. */
    function expectDocumented(path: string, method: string, result: Result): void {
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
      // A problem's code is one the document gives as an example for that status and route.
      if (status >= 400) {
        const codes = Object.keys(described.content[type].examples ?? {});
        expect({ path, method, status, code: body.code, documented: codes.includes(body.code) }).toEqual({
          path,
          method,
          status,
          code: body.code,
          documented: true,
        });
      }
    }

    /** A caller of the generated SDK as `sub`, each response checked against the document. */
    async function clientFor(sub: string) {
      const token = await tokenFor(sub);
      const client = runtime.createClient(runtime.createConfig({ baseUrl, auth: () => token }));
      return async (name: Fn, options: object = {}): Promise<Result> => {
        const result: Result = await sdk[fn[name]]({ client, ...options });
        expectDocumented(ROUTES[name][0], ROUTES[name][1], result);
        return result;
      };
    }
    const problemOf = (result: Result) => ({ status: result.response.status, code: result.error?.code });

    it('drives the contract’s scenario against the running service', async () => {
      const call = await clientFor('openapi-user');

      const created = await call('create', {
        body: { title: '  Buy milk  ', description: null },
        headers: { 'Idempotency-Key': 'openapi-e2e-1' },
      });
      const task = created.data;
      expect(created.response.status).toBe(201);
      expect(task).toMatchObject({ title: 'Buy milk', description: null, completed: false, version: 1 });
      expect(created.response.headers.get('location')).toBe(`/api/v1/tasks/${task.id}`);
      expect(created.response.headers.get('etag')).toBe('"1"');

      const read = await call('get', { path: { id: task.id } });
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

      const second = await call('create', { body: { title: 'Walk the dog', completed: true } });
      expect(second.response.status).toBe(201);
      const first = await call('list', { query: { sort: 'createdAt', limit: 1 } });
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
      expect(problemOf(stale)).toEqual({ status: 412, code: 'PRECONDITION_FAILED' });

      const invalid = await call('update', { path: { id: 'not-a-uuid' }, body: { title: 'x' } });
      expect(invalid.error).toMatchObject({
        status: 400,
        code: 'VALIDATION_ERROR',
        errors: [{ field: 'id' }],
      });

      const deleted = await call('delete', { path: { id: task.id }, headers: { 'If-Match': '"2"' } });
      expect(deleted.response.status).toBe(204);

      const gone = await call('get', { path: { id: task.id } });
      expect(problemOf(gone)).toEqual({ status: 404, code: 'TASK_NOT_FOUND' });

      const anonymous = runtime.createClient(runtime.createConfig({ baseUrl }));
      const refused = await sdk[fn.list]({ client: anonymous });
      expectDocumented('/api/v1/tasks', 'get', refused);
      expect(problemOf(refused)).toEqual({ status: 401, code: 'MISSING_TOKEN' });
    });

    it('drives the 1.1 scenario: lists, subtasks, due, tags, filters, sorts and moves', async () => {
      const call = await clientFor('openapi-lists-user');

      // Lists: create, a taken name, read, 304, rename, page.
      const created = await call('createList', { body: { name: '  Party ' } });
      const list = created.data;
      expect({
        status: created.response.status,
        location: created.response.headers.get('location'),
        etag: created.response.headers.get('etag'),
        list,
      }).toEqual({
        status: 201,
        location: `/api/v1/lists/${list.id}`,
        etag: '"1"',
        list: {
          id: expect.any(String),
          name: 'Party',
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
          version: 1,
        },
      });
      expect(problemOf(await call('createList', { body: { name: 'PARTY' } }))).toEqual({
        status: 409,
        code: 'LIST_NAME_TAKEN',
      });
      const read = await call('getList', { path: { id: list.id } });
      expect({
        status: read.response.status,
        etag: read.response.headers.get('etag'),
        data: read.data,
      }).toEqual({
        status: 200,
        etag: '"1"',
        data: list,
      });
      const unchanged = await call('getList', { path: { id: list.id }, headers: { 'If-None-Match': '"1"' } });
      expect(unchanged.response.status).toBe(304);
      const renamed = await call('updateList', {
        path: { id: list.id },
        body: { name: 'Christmas party' },
        headers: { 'If-Match': '"1"' },
      });
      expect({ data: renamed.data, etag: renamed.response.headers.get('etag') }).toEqual({
        data: { ...list, name: 'Christmas party', updatedAt: expect.any(String), version: 2 },
        etag: '"2"',
      });
      const staleList = await call('updateList', {
        path: { id: list.id },
        body: { name: 'x' },
        headers: { 'If-Match': '"1"' },
      });
      expect(problemOf(staleList)).toEqual({ status: 412, code: 'PRECONDITION_FAILED' });
      const lists = await call('listLists', { query: { limit: 10 } });
      expect(lists.data).toEqual({ items: [renamed.data], nextCursor: null });

      // A task in the list with the 1.1 fields, and a subtask of it.
      const parent = (
        await call('create', {
          body: {
            title: 'Plan the party',
            listId: list.id,
            priority: 'high',
            tags: [' Party ', 'Errands'],
            due: { date: '2026-12-24', time: null, timeZone: null },
          },
        })
      ).data;
      expect(parent).toMatchObject({
        listId: list.id,
        parentId: null,
        priority: 'high',
        tags: ['party', 'errands'],
        due: { date: '2026-12-24', time: null, timeZone: null },
        recurrence: null,
        completedAt: null,
        position: expect.any(String),
      });
      const subtask = (
        await call('create', {
          body: {
            title: 'Buy balloons',
            listId: list.id,
            parentId: parent.id,
            tags: ['errands'],
            due: { date: '2026-12-20', time: '09:30', timeZone: 'Europe/Berlin' },
            recurrence: 'FREQ=WEEKLY;BYDAY=SA',
          },
        })
      ).data;
      expect(subtask).toMatchObject({
        listId: list.id,
        parentId: parent.id,
        priority: 'none',
        due: { date: '2026-12-20', time: '09:30', timeZone: 'Europe/Berlin' },
        recurrence: 'FREQ=WEEKLY;BYDAY=SA',
      });
      const inbox = (await call('create', { body: { title: 'Call grandma', priority: 'low' } })).data;
      expect(inbox).toMatchObject({ listId: null, parentId: null, priority: 'low', tags: [], due: null });

      // References: unknown ones are 422 REFERENCE_NOT_FOUND, a subtask as parent 422 INVALID_PARENT.
      const unknownList = await call('create', { body: { title: 'x', listId: randomUUID() } });
      expect(problemOf(unknownList)).toEqual({ status: 422, code: 'REFERENCE_NOT_FOUND' });
      const nested = await call('create', { body: { title: 'x', parentId: subtask.id } });
      expect(problemOf(nested)).toEqual({ status: 422, code: 'INVALID_PARENT' });
      const reparented = await call('update', { path: { id: inbox.id }, body: { parentId: subtask.id } });
      expect(problemOf(reparented)).toEqual({ status: 422, code: 'INVALID_PARENT' });

      // Filters and sorts, with repeated tag and priority sent by the client as the contract reads them.
      const ids = (result: Result) => result.data.items.map((t: { id: string }) => t.id);
      const query = async (q: object) => ids(await call('list', { query: q }));
      expect({
        topLevelOfList: await query({ listId: list.id, parentId: 'none' }),
        subtasks: await query({ parentId: parent.id }),
        inbox: await query({ listId: 'inbox' }),
        everyTag: await query({ tag: ['errands', ' PARTY'] }),
        oneTag: await query({ tag: ['errands'], sort: 'createdAt' }),
        anyPriority: await query({ priority: ['high', 'low'], sort: 'createdAt' }),
        dueRange: await query({ dueFrom: '2026-12-21', dueTo: '2026-12-31' }),
        byDue: await query({ sort: 'due' }),
        byDueDescending: await query({ sort: '-due' }),
        byPriority: await query({ sort: '-priority' }),
      }).toEqual({
        topLevelOfList: [parent.id],
        subtasks: [subtask.id],
        inbox: [inbox.id],
        everyTag: [parent.id],
        oneTag: [parent.id, subtask.id],
        anyPriority: [parent.id, inbox.id],
        dueRange: [parent.id],
        byDue: [subtask.id, parent.id, inbox.id],
        byDueDescending: [parent.id, subtask.id, inbox.id],
        byPriority: [parent.id, inbox.id, subtask.id],
      });
      const badPriority = await call('list', { query: { priority: ['urgent'] } });
      expect(problemOf(badPriority)).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });

      // A PATCH merges due member by member: the all-day task gets a time.
      const timed = await call('update', {
        path: { id: parent.id },
        body: { due: { time: '18:00', timeZone: 'Europe/Berlin' } },
        headers: { 'If-Match': '"1"' },
      });
      expect({ data: timed.data, etag: timed.response.headers.get('etag') }).toEqual({
        data: {
          ...parent,
          due: { date: '2026-12-24', time: '18:00', timeZone: 'Europe/Berlin' },
          updatedAt: expect.any(String),
          version: 2,
        },
        etag: '"2"',
      });

      const tags = await call('tags');
      expect(tags.data).toEqual({
        items: [
          { name: 'errands', count: 2 },
          { name: 'party', count: 1 },
        ],
      });

      // Manual order: three siblings in the inbox, then moves.
      const b = (await call('create', { body: { title: 'B' } })).data;
      const c = (await call('create', { body: { title: 'C' } })).data;
      const inboxOrder = () => query({ listId: 'inbox', parentId: 'none', sort: 'position' });
      expect(await inboxOrder()).toEqual([inbox.id, b.id, c.id]);
      const first = await call('move', {
        path: { id: c.id },
        body: { after: null },
        headers: { 'If-Match': '"1"' },
      });
      expect({ data: first.data, etag: first.response.headers.get('etag') }).toEqual({
        data: { ...c, position: expect.any(String), updatedAt: expect.any(String), version: 2 },
        etag: '"2"',
      });
      await call('move', { path: { id: inbox.id }, body: { after: b.id } });
      expect(await inboxOrder()).toEqual([c.id, b.id, inbox.id]);
      const last = await call('move', { path: { id: c.id }, body: {} });
      expect(last.data.version).toBe(3);
      expect(await inboxOrder()).toEqual([b.id, inbox.id, c.id]);
      const afterItself = await call('move', { path: { id: b.id }, body: { after: b.id } });
      expect(problemOf(afterItself)).toEqual({ status: 422, code: 'REFERENCE_NOT_FOUND' });
      const staleMove = await call('move', { path: { id: b.id }, body: {}, headers: { 'If-Match': '"9"' } });
      expect(problemOf(staleMove)).toEqual({ status: 412, code: 'PRECONDITION_FAILED' });
      const missing = await call('move', { path: { id: randomUUID() }, body: {} });
      expect(problemOf(missing)).toEqual({ status: 404, code: 'TASK_NOT_FOUND' });
      const badMove = await call('move', { path: { id: b.id }, body: { after: 'first' } });
      expect(badMove.error).toMatchObject({
        status: 400,
        code: 'VALIDATION_ERROR',
        errors: [{ field: 'after' }],
      });
      // Into the list, under the parent, after the subtask.
      const moved = await call('move', {
        path: { id: b.id },
        body: { parentId: parent.id, after: subtask.id },
      });
      expect(moved.data).toMatchObject({ listId: list.id, parentId: parent.id, version: 2 });
      expect(await query({ parentId: parent.id, sort: 'position' })).toEqual([subtask.id, b.id]);

      // Deleting the list deletes its tasks; the list is then 404 LIST_NOT_FOUND.
      const deleted = await call('deleteList', { path: { id: list.id }, headers: { 'If-Match': '"2"' } });
      expect(deleted.response.status).toBe(204);
      expect(problemOf(await call('getList', { path: { id: list.id } }))).toEqual({
        status: 404,
        code: 'LIST_NOT_FOUND',
      });
      expect(problemOf(await call('deleteList', { path: { id: list.id } }))).toEqual({
        status: 404,
        code: 'LIST_NOT_FOUND',
      });
      for (const id of [parent.id, subtask.id, b.id])
        expect(problemOf(await call('get', { path: { id } }))).toEqual({
          status: 404,
          code: 'TASK_NOT_FOUND',
        });
      expect(await query({ sort: 'position', listId: 'inbox' })).toEqual([inbox.id, c.id]);
      expect((await call('tags')).data).toEqual({ items: [] });
    });

    it('answers creates past the quotas with 403 QUOTA_EXCEEDED and the limit', async () => {
      const call = await clientFor('openapi-quota-user');
      for (let i = 0; i < MAX_LISTS; i++)
        expect((await call('createList', { body: { name: `List ${i}` } })).response.status).toBe(201);
      const lists = await call('createList', { body: { name: 'One too many' } });
      expect(lists.error).toMatchObject({ status: 403, code: 'QUOTA_EXCEEDED', limit: MAX_LISTS });
      for (let i = 0; i < MAX_TASKS; i++)
        expect((await call('create', { body: { title: `Task ${i}` } })).response.status).toBe(201);
      const tasks = await call('create', { body: { title: 'One too many' } });
      expect(tasks.error).toMatchObject({ status: 403, code: 'QUOTA_EXCEEDED', limit: MAX_TASKS });
    });
  });
});
