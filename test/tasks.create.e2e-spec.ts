import { randomUUID } from 'node:crypto';
import {
  comparable,
  expectProblem,
  expectTaskShape,
  expectValidationProblem,
  replayOf,
} from './helpers/http-assert';
import {
  ALICE,
  asTask,
  BAD_KEY,
  BASE,
  BOB,
  call,
  count,
  createTask,
  createList,
  createTaskWithKey,
  EMOJI,
  noNul,
  NOT_AN_OBJECT,
  notAllowed,
  PARENT_RULE,
  PROBLEM,
  row,
  secrets,
  sql,
  taskUrl,
  TITLE_LENGTH,
  useTasksHttp,
} from './helpers/tasks-http';

/**
 * POST /api/v1/tasks (shared/spec/http-api.md, Routes), through Fastify's
 * inject against the production app on a real PostgreSQL. Every write is also
 * checked in the database with plain SQL, independent of the code under test.
 */

useTasksHttp();

describe('POST /api/v1/tasks', () => {
  it('creates the task: 201 with exactly the Task, Location, ETag "1", the title trimmed, the row stored', async () => {
    const res = await call('POST', BASE, { body: { title: '  Buy milk \n', description: '2 litres' } });

    expect(res.statusCode).toBe(201);
    const task = res.json();
    expectTaskShape(task);
    expect(task).toMatchObject({
      userId: ALICE,
      title: 'Buy milk',
      description: '2 litres',
      completed: false,
      version: 1,
    });
    expect(task.updatedAt).toBe(task.createdAt);
    expect(res.headers.location).toBe(`/api/v1/tasks/${task.id}`);
    expect(res.headers.etag).toBe('"1"');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const stored = await row(task.id);
    expect(stored).toBeDefined();
    expect(asTask(stored!)).toEqual(task);
    await expect(count('tasks')).resolves.toBe(1);
  });

  it('defaults description to null and completed to false, and takes completed and description: null', async () => {
    const plain = await createTask({ title: 'plain' });
    expect(plain).toMatchObject({ description: null, completed: false });

    const done = await createTask({ title: 'done', description: null, completed: true });
    expect(done).toMatchObject({ description: null, completed: true });
    await expect(row(done.id)).resolves.toMatchObject({ description: null, completed: true });
  });

  it('accepts application/json with a charset parameter', async () => {
    const res = await call('POST', BASE, {
      raw: JSON.stringify({ title: 'charset' }),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });

    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ title: 'charset' });
  });

  it.each([
    ['id', randomUUID()],
    ['userId', BOB],
    ['version', 7],
    ['createdAt', '2020-01-01T00:00:00.000Z'],
    ['updatedAt', '2020-01-01T00:00:00.000Z'],
    ['completedAt', '2020-01-01T00:00:00.000Z'],
    ['position', 'a0'],
    ['owner', 'x'],
  ])(
    'refuses the unknown or server-owned field %s with a 400 naming it, storing nothing',
    async (field, value) => {
      const res = await call('POST', BASE, { body: { title: 'x', [field]: value } });

      expectValidationProblem(res, BASE, [notAllowed(field)], secrets());
      await expect(count('tasks')).resolves.toBe(0);
    },
  );

  it('lists every unknown field of one body', async () => {
    const res = await call('POST', BASE, { body: { title: 'x', id: randomUUID(), userId: BOB } });

    expect(res.statusCode).toBe(400);
    const fields = (res.json().errors as { field: string }[]).map((e) => e.field).sort();
    expect(fields).toEqual(['id', 'userId']);
    await expect(count('tasks')).resolves.toBe(0);
  });

  it.each([
    ['empty', ''],
    ['only white space', ' \t\n '],
    ['256 code points', EMOJI.repeat(256)],
    ['256 ASCII characters', 'a'.repeat(256)],
    ['256 characters after trimming', `  ${'b'.repeat(256)}  `],
  ])('refuses a title that is %s', async (_case, title) => {
    const res = await call('POST', BASE, { body: { title } });

    expectValidationProblem(res, BASE, [TITLE_LENGTH], secrets());
    await expect(count('tasks')).resolves.toBe(0);
  });

  it.each([
    ['missing', {}, 'is required'],
    ['null', { title: null }, 'is required'],
    ['a number', { title: 42 }, 'must be a string'],
    ['an array', { title: ['a'] }, 'must be a string'],
  ])('refuses a title that is %s', async (_case, body, message) => {
    const res = await call('POST', BASE, { body });

    expectValidationProblem(res, BASE, [{ field: 'title', message }], secrets());
    await expect(count('tasks')).resolves.toBe(0);
  });

  it('fits 255 emoji in a title (code points, not UTF-16 units), after trimming', async () => {
    const title = EMOJI.repeat(255);
    const task = await createTask({ title: `  ${title}  ` });

    expect(task.title).toBe(title);
    const { rows } = await sql().query('select char_length(title) as n from tasks where id = $1', [task.id]);
    expect(rows[0].n).toBe(255);
  });

  it('takes a description of 10,000 code points and refuses 10,001', async () => {
    const description = EMOJI.repeat(10_000);
    const task = await createTask({ title: 'long', description });
    expect(task.description).toBe(description);

    const res = await call('POST', BASE, { body: { title: 'longer', description: `${description}x` } });
    expectValidationProblem(
      res,
      BASE,
      [{ field: 'description', message: 'must be at most 10000 characters' }],
      secrets(),
    );
    await expect(count('tasks')).resolves.toBe(1);
  });

  it.each([
    ['description', { title: 'ok', description: 5 }, 'must be a string or null'],
    ['completed', { title: 'ok', completed: 'true' }, 'must be true or false'],
    ['completed', { title: 'ok', completed: null }, 'must be true or false'],
  ])('refuses a %s of the wrong type (%j)', async (field, body, message) => {
    const res = await call('POST', BASE, { body });

    expectValidationProblem(res, BASE, [{ field, message }], secrets());
    await expect(count('tasks')).resolves.toBe(0);
  });

  it('reports every problem of one body together', async () => {
    const res = await call('POST', BASE, { body: { title: '', description: 'd'.repeat(10_001) } });

    expectValidationProblem(
      res,
      BASE,
      [TITLE_LENGTH, { field: 'description', message: 'must be at most 10000 characters' }],
      secrets(),
    );
  });

  it.each([
    ['title', { title: 'a\u0000b' }],
    ['description', { title: 'ok', description: 'nul \u0000 inside' }],
  ])('answers a NUL character in the %s with a 400, not a 500', async (field, body) => {
    const res = await call('POST', BASE, { body });

    expectValidationProblem(res, BASE, [noNul(field)], secrets());
    await expect(count('tasks')).resolves.toBe(0);
  });

  it.each([
    ['an array', '[]'],
    ['a string', '"x"'],
    ['a number', '42'],
    ['null', 'null'],
    ['a boolean', 'true'],
  ])('refuses a body that is %s', async (_case, raw) => {
    const res = await call('POST', BASE, { raw, headers: { 'content-type': 'application/json' } });

    expectValidationProblem(res, BASE, [NOT_AN_OBJECT], secrets());
    await expect(count('tasks')).resolves.toBe(0);
  });

  it.each([
    ['malformed JSON', '{"title": "x"', 'must be valid JSON'],
    ['trailing garbage', '{"title": "x"} x', 'must be valid JSON'],
    ['an empty body', '', 'must not be empty'],
  ])('refuses %s as application/json with a 400 that does not echo it', async (_case, raw, message) => {
    const res = await call('POST', BASE, { raw, headers: { 'content-type': 'application/json' } });

    expectProblem(
      res,
      {
        status: 400,
        code: 'VALIDATION_ERROR',
        title: 'Validation failed',
        detail: `body ${message}`,
        instance: BASE,
        errors: [{ field: 'body', message }],
      },
      secrets(),
    );
    await expect(count('tasks')).resolves.toBe(0);
  });

  it('takes a body of exactly 64 KiB and refuses one byte more with 413, before parsing it', async () => {
    const json = JSON.stringify({ title: 'exactly 64 KiB' });
    const exact = json + ' '.repeat(64 * 1024 - json.length);
    expect(Buffer.byteLength(exact)).toBe(65_536);

    const ok = await call('POST', BASE, { raw: exact, headers: { 'content-type': 'application/json' } });
    expect(ok.statusCode).toBe(201);

    const over = await call('POST', BASE, {
      raw: `${exact} `,
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(over, { ...PROBLEM.tooLarge, instance: BASE }, secrets());

    // Not parsed first: malformed JSON over the limit is a 413 too, not a 400.
    const garbage = await call('POST', BASE, {
      raw: '{'.repeat(70_000),
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(garbage, { ...PROBLEM.tooLarge, instance: BASE }, secrets());
    await expect(count('tasks')).resolves.toBe(1);
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['application/x-www-form-urlencoded', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['application/merge-patch+json (PATCH only)', { 'content-type': 'application/merge-patch+json' }],
    ['no Content-Type', {}],
  ])('refuses a body sent as %s with 415', async (_case, headers) => {
    const res = await call('POST', BASE, { raw: JSON.stringify({ title: 'x' }), headers });

    expectProblem(res, { ...PROBLEM.unsupported, instance: BASE }, secrets());
    await expect(count('tasks')).resolves.toBe(0);
  });

  it.each([
    ['deeply nested arrays', `${'['.repeat(30_000)}${']'.repeat(30_000)}`, [NOT_AN_OBJECT]],
    [
      'a deeply nested unknown field',
      `{"title":"x","deep":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
      [notAllowed('deep')],
    ],
    [
      'a huge number',
      `{"title":"x","completed":1${'0'.repeat(50_000)}}`,
      [{ field: 'completed', message: 'must be true or false' }],
    ],
  ])('answers %s with 400 within 2 s', async (_case, raw, errors) => {
    const started = performance.now();
    const res = await call('POST', BASE, { raw, headers: { 'content-type': 'application/json' } });

    expect(performance.now() - started).toBeLessThan(2000);
    expectValidationProblem(res, BASE, errors, secrets());
  });

  it.each([
    ['__proto__', '{"title":"x","__proto__":{"completed":true}}'],
    ['constructor.prototype', '{"title":"x","constructor":{"prototype":{"completed":true}}}'],
  ])('refuses a body with a %s member with 400 and stores nothing', async (_case, raw) => {
    const res = await call('POST', BASE, { raw, headers: { 'content-type': 'application/json' } });

    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'VALIDATION_ERROR',
      errors: [{ field: 'body', message: 'must not contain __proto__ or constructor.prototype keys' }],
    });
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    await expect(count('tasks')).resolves.toBe(0);
  });

  it('refuses a POST with neither body nor Content-Type with 415', async () => {
    const res = await call('POST', BASE);

    expectProblem(res, { ...PROBLEM.unsupported, instance: BASE }, secrets());
  });

  it('refuses an unknown query parameter', async () => {
    const res = await call('POST', `${BASE}?dryRun=true`, { body: { title: 'x' } });

    expectValidationProblem(res, BASE, [notAllowed('dryRun')], secrets());
    await expect(count('tasks')).resolves.toBe(0);
  });
});

describe('Idempotency-Key on POST', () => {
  it('replays the first response to a retry (status, body, Location, ETag) and creates nothing', async () => {
    const headers = { 'idempotency-key': 'order-42' };
    const first = await call('POST', BASE, { body: { title: 'Pay rent' }, headers });
    const retry = await call('POST', BASE, { body: { title: 'Pay rent' }, headers });

    expect(first.statusCode).toBe(201);
    expect(replayOf(retry)).toEqual(replayOf(first));
    expect(first.headers.etag).toBe('"1"');
    await expect(count('tasks')).resolves.toBe(1);
  });

  it('refuses the same key with a different body with 422 and creates nothing', async () => {
    const headers = { 'idempotency-key': 'order-43' };
    const first = await createTaskWithKey('Pay rent', headers);
    const res = await call('POST', BASE, { body: { title: 'Pay more rent' }, headers });

    expectProblem(res, { ...PROBLEM.reused, instance: BASE }, secrets());
    await expect(count('tasks')).resolves.toBe(1);
    await expect(row(first.id)).resolves.toMatchObject({ title: 'Pay rent' });
  });

  it('scopes keys to the user: the same key from another user creates an independent task', async () => {
    const headers = { 'idempotency-key': 'shared-key' };
    const alices = await createTaskWithKey('same body', headers);
    const res = await call('POST', BASE, { as: BOB, body: { title: 'same body' }, headers });

    expect(res.statusCode).toBe(201);
    const bobs = res.json();
    expect(bobs).toMatchObject({ userId: BOB, title: 'same body' });
    expect(bobs.id).not.toBe(alices.id);
    expect(res.headers.location).toBe(`/api/v1/tasks/${bobs.id}`);
    await expect(count('tasks')).resolves.toBe(2);
    await expect(row(alices.id)).resolves.toMatchObject({ user_id: ALICE });
    await expect(row(bobs.id)).resolves.toMatchObject({ user_id: BOB });
  });

  it.each([
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['containing a space', 'my key'],
    ['containing a non-ASCII character', 'clé'],
  ])('refuses a key that is %s with 400 and stores nothing', async (_case, key) => {
    const res = await call('POST', BASE, { body: { title: 'x' }, headers: { 'idempotency-key': key } });

    expectValidationProblem(res, BASE, [BAD_KEY], secrets());
    await expect(count('tasks')).resolves.toBe(0);
    await expect(count('idempotency_keys')).resolves.toBe(0);
  });

  it('treats a body with its fields in another order as the same body', async () => {
    const headers = { 'idempotency-key': 'reordered' };
    const first = await call('POST', BASE, {
      body: { title: 'x', completed: true, description: 'd' },
      headers,
    });
    const retry = await call('POST', BASE, {
      body: { description: 'd', completed: true, title: 'x' },
      headers,
    });

    expect(first.statusCode).toBe(201);
    expect({ status: retry.statusCode, body: retry.json() }).toEqual({ status: 201, body: first.json() });
    await expect(count('tasks')).resolves.toBe(1);
  });

  it('replays the first response even after the task has changed since', async () => {
    const headers = { 'idempotency-key': 'then-edited' };
    const first = await call('POST', BASE, { body: { title: 'draft' }, headers });
    const id = first.json().id as string;
    expect((await call('PATCH', taskUrl(id), { body: { title: 'final' } })).statusCode).toBe(200);

    const retry = await call('POST', BASE, { body: { title: 'draft' }, headers });

    expect({ status: retry.statusCode, body: retry.json(), etag: retry.headers.etag }).toEqual({
      status: 201,
      body: first.json(),
      etag: '"1"',
    });
    await expect(count('tasks')).resolves.toBe(1);
    await expect(row(id)).resolves.toMatchObject({ title: 'final', version: 2 });
  });

  it('remembers a key for 24 hours, and treats a retry after that as a new request', async () => {
    const headers = { 'idempotency-key': 'old-key' };
    const first = await createTaskWithKey('daily', headers);
    const { rows } = await sql().query(
      `select extract(epoch from expires_at - now())::int as ttl from idempotency_keys where key = 'old-key'`,
    );
    expect(rows[0].ttl).toBeGreaterThan(24 * 3600 - 60);
    expect(rows[0].ttl).toBeLessThanOrEqual(24 * 3600);

    await sql().query(`update idempotency_keys set expires_at = now() - interval '1 second'`);
    const later = await call('POST', BASE, { body: { title: 'daily' }, headers });

    expect(later.statusCode).toBe(201);
    expect(later.json().id).not.toBe(first.id);
    await expect(count('tasks')).resolves.toBe(2);
  });

  it('answers 409 IDEMPOTENCY_KEY_IN_PROGRESS while the first request has not finished', async () => {
    const headers = { 'idempotency-key': 'slow' };
    await createTaskWithKey('slow one', headers);
    // The state a first request is in between claiming the key and storing its response.
    await sql().query(`update idempotency_keys set response = null, locked_at = now()`);

    const res = await call('POST', BASE, { body: { title: 'slow one' }, headers });

    expectProblem(res, { ...PROBLEM.inProgress, instance: BASE }, secrets());
    await expect(count('tasks')).resolves.toBe(1);
  });

  it('takes a key of 255 visible ASCII characters', async () => {
    const key = `!~${'k'.repeat(253)}`;
    const first = await call('POST', BASE, { body: { title: 'x' }, headers: { 'idempotency-key': key } });
    const retry = await call('POST', BASE, { body: { title: 'x' }, headers: { 'idempotency-key': key } });

    expect(first.statusCode).toBe(201);
    expect(retry.json()).toEqual(first.json());
    await expect(count('tasks')).resolves.toBe(1);
  });

  it.each([
    ['a blank title (refused before the key is claimed)', { title: '   ' }, [TITLE_LENGTH]],
    ['a NUL in the title (refused after the key is claimed)', { title: 'a\u0000' }, [noNul('title')]],
  ])('does not burn the key when the first create fails: %s', async (_case, badBody, errors) => {
    const headers = { 'idempotency-key': 'retry-me' };
    const failed = await call('POST', BASE, { body: badBody, headers });
    expectValidationProblem(failed, BASE, errors, secrets());
    await expect(count('idempotency_keys')).resolves.toBe(0);

    const created = await call('POST', BASE, { body: { title: 'fixed' }, headers });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ title: 'fixed' });
    const replay = await call('POST', BASE, { body: { title: 'fixed' }, headers });
    expect(replay.json()).toEqual(created.json());
    await expect(count('tasks')).resolves.toBe(1);
  });
});

describe('concurrent requests', () => {
  it('creates one task for 10 simultaneous POSTs with one Idempotency-Key and one body', async () => {
    const headers = { 'idempotency-key': 'double-click' };

    const responses = await Promise.all(
      Array.from({ length: 10 }, () => call('POST', BASE, { body: { title: 'once' }, headers })),
    );

    const created = responses.filter((r) => r.statusCode === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    const first = created[0];
    for (const r of created) {
      expect({ body: r.json(), location: r.headers.location, etag: r.headers.etag }).toEqual({
        body: first.json(),
        location: first.headers.location,
        etag: first.headers.etag,
      });
    }
    for (const r of responses.filter((x) => x.statusCode !== 201)) {
      expectProblem(r, { ...PROBLEM.inProgress, instance: BASE }, secrets());
    }
    const { rows } = await sql().query('select id from tasks');
    expect(rows).toEqual([{ id: first.json().id }]);
  });
});

describe('POST /api/v1/tasks: the 1.1 fields', () => {
  it('gives a new task the defaults of the contract', async () => {
    const res = await call('POST', BASE, { body: { title: 'defaults' } });

    expect(res.statusCode).toBe(201);
    const task = res.json();
    expectTaskShape(task);
    expect(task).toEqual({
      ...task,
      listId: null,
      parentId: null,
      completed: false,
      completedAt: null,
      priority: 'none',
      tags: [],
      due: null,
      recurrence: null,
    });
    await expect(row(task.id)).resolves.toMatchObject({
      list_id: null,
      parent_id: null,
      priority: 'none',
      tags: [],
      due_date: null,
      due_time: null,
      due_time_zone: null,
      recurrence: null,
      completed_ms: null,
    });
  });

  it('takes every 1.1 field at once, returns each as sent (tags normalised) and stores exactly that', async () => {
    const listId = await createList('Groceries');
    const body = {
      title: 'Everything',
      description: 'all of it',
      listId,
      priority: 'high',
      tags: ['  Errands ', 'shop'],
      due: { date: '2026-12-24', time: '09:30', timeZone: 'Europe/Berlin' },
      recurrence: 'FREQ=WEEKLY;BYDAY=TH',
    };
    const res = await call('POST', BASE, { body });

    expect(res.statusCode).toBe(201);
    const task = res.json();
    expectTaskShape(task);
    expect(task).toMatchObject({ ...body, tags: ['errands', 'shop'], parentId: null, completedAt: null });
    expect(asTask((await row(task.id))!)).toEqual(task);
  });

  it('sets completedAt to the creation time for a task created completed, and null otherwise', async () => {
    const done = await createTask({ title: 'done already', completed: true });
    const open = await createTask({ title: 'open', completed: false });

    expect(done.completedAt).toBe(done.createdAt);
    expect(open.completedAt).toBeNull();
    await expect(row(done.id)).resolves.toMatchObject({ completed_ms: done.createdAt });
    await expect(row(open.id)).resolves.toMatchObject({ completed_ms: null });
  });

  it('places each new task last among its siblings (byte order of position)', async () => {
    const listId = await createList('Work');
    const inbox = [await createTask({ title: 'i1' }), await createTask({ title: 'i2' })];
    const listed = [await createTask({ title: 'l1', listId }), await createTask({ title: 'l2', listId })];
    const subtasks = [
      await createTask({ title: 's1', parentId: inbox[0].id }),
      await createTask({ title: 's2', parentId: inbox[0].id }),
    ];
    const inbox3 = await createTask({ title: 'i3' });

    const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    for (const group of [[...inbox, inbox3], listed, subtasks]) {
      const positions = group.map((t) => t.position);
      expect(positions).toEqual([...positions].sort(byteOrder));
      expect(new Set(positions).size).toBe(positions.length);
    }
  });

  describe('listId', () => {
    it("puts the task into one of the caller's lists", async () => {
      const listId = await createList('Groceries');
      const task = await createTask({ title: 'milk', listId });

      expect(task).toMatchObject({ listId, parentId: null });
      await expect(row(task.id)).resolves.toMatchObject({ list_id: listId });
    });

    it('takes a list id in upper case as the same list', async () => {
      const listId = await createList('Groceries');
      const task = await createTask({ title: 'milk', listId: listId.toUpperCase() });

      expect(task.listId).toBe(listId);
    });

    it('takes listId: null as the inbox', async () => {
      const task = await createTask({ title: 'inbox', listId: null });

      expect(task.listId).toBeNull();
    });

    it('answers a list that does not exist with 422 REFERENCE_NOT_FOUND and stores nothing', async () => {
      const res = await call('POST', BASE, { body: { title: 'x', listId: randomUUID() } });

      expectProblem(res, { ...PROBLEM.listNotFound, instance: BASE }, secrets());
      await expect(count('tasks')).resolves.toBe(0);
    });

    it("answers another user's list exactly like a list that does not exist", async () => {
      const bobs = await createList('Bob only', BOB);

      const theirs = await call('POST', BASE, { body: { title: 'x', listId: bobs } });
      const nobodys = await call('POST', BASE, { body: { title: 'x', listId: randomUUID() } });

      expectProblem(theirs, { ...PROBLEM.listNotFound, instance: BASE }, secrets());
      expect(comparable(theirs)).toEqual(comparable(nobodys));
      await expect(count('tasks')).resolves.toBe(0);
    });
  });

  describe('parentId', () => {
    it('makes the task a subtask of a top-level task in the inbox', async () => {
      const parent = await createTask({ title: 'parent' });
      const child = await createTask({ title: 'child', parentId: parent.id });

      expect(child).toMatchObject({ parentId: parent.id, listId: null });
      await expect(row(child.id)).resolves.toMatchObject({ parent_id: parent.id, list_id: null });
    });

    it("puts the task into the parent's list when listId is not given", async () => {
      const listId = await createList('Work');
      const parent = await createTask({ title: 'parent', listId });
      const res = await call('POST', BASE, { body: { title: 'child', parentId: parent.id } });

      expect({ status: res.statusCode, body: res.json() }).toEqual({
        status: 201,
        body: expect.objectContaining({ parentId: parent.id, listId }),
      });
      await expect(row(res.json().id)).resolves.toMatchObject({ parent_id: parent.id, list_id: listId });
    });

    it('takes a parentId with the listId of the parent', async () => {
      const listId = await createList('Work');
      const parent = await createTask({ title: 'parent', listId });
      const child = await createTask({ title: 'child', listId, parentId: parent.id });

      expect(child).toMatchObject({ parentId: parent.id, listId });
    });

    it.each([
      ['another list', async () => createList('Other')],
      ['the inbox (listId: null given)', async () => null],
    ])(
      'refuses a parent in another list than the listId given (%s) with 422 INVALID_PARENT',
      async (_case, otherList) => {
        const listId = await createList('Work');
        const parent = await createTask({ title: 'parent', listId });
        const res = await call('POST', BASE, {
          body: { title: 'child', listId: await otherList(), parentId: parent.id },
        });

        expectProblem(res, { ...PROBLEM.invalidParent(PARENT_RULE.otherList), instance: BASE }, secrets());
        await expect(count('tasks')).resolves.toBe(1);
      },
    );

    it('refuses a subtask as parent (one level of nesting) with 422 INVALID_PARENT', async () => {
      const parent = await createTask({ title: 'parent' });
      const child = await createTask({ title: 'child', parentId: parent.id });
      const res = await call('POST', BASE, { body: { title: 'grandchild', parentId: child.id } });

      expectProblem(res, { ...PROBLEM.invalidParent(PARENT_RULE.subtask), instance: BASE }, secrets());
      await expect(count('tasks')).resolves.toBe(2);
    });

    it('answers a parent that does not exist with 422 REFERENCE_NOT_FOUND and stores nothing', async () => {
      const res = await call('POST', BASE, { body: { title: 'x', parentId: randomUUID() } });

      expectProblem(res, { ...PROBLEM.parentNotFound, instance: BASE }, secrets());
      await expect(count('tasks')).resolves.toBe(0);
    });

    it("answers another user's task as parent exactly like a task that does not exist", async () => {
      const bobs = await createTask({ title: 'Bob only' }, BOB);

      const theirs = await call('POST', BASE, { body: { title: 'x', parentId: bobs.id } });
      const nobodys = await call('POST', BASE, { body: { title: 'x', parentId: randomUUID() } });

      expectProblem(theirs, { ...PROBLEM.parentNotFound, instance: BASE }, secrets());
      expect(comparable(theirs)).toEqual(comparable(nobodys));
      await expect(count('tasks')).resolves.toBe(1);
      await expect(
        sql().query('select count(*)::int as n from tasks where parent_id is not null'),
      ).resolves.toMatchObject({
        rows: [{ n: 0 }],
      });
    });
  });

  describe('which problem is answered first', () => {
    it('401 before 400: no token and a bad body', async () => {
      const res = await call('POST', BASE, { as: null, body: { title: '', priority: 'HIGH' } });

      expectProblem(res, { ...PROBLEM.missingToken, instance: BASE }, secrets());
    });

    it('400 before 422: a bad title with a list that does not exist', async () => {
      const res = await call('POST', BASE, { body: { title: ' ', listId: randomUUID() } });

      expectValidationProblem(res, BASE, [TITLE_LENGTH], secrets());
    });

    it('400 before 422: a parentId that is not a UUID with a list that does not exist', async () => {
      const res = await call('POST', BASE, { body: { title: 'x', listId: randomUUID(), parentId: 'p' } });

      expectValidationProblem(
        res,
        BASE,
        [{ field: 'parentId', message: 'must be a UUID or null' }],
        secrets(),
      );
    });

    it('400 before 422: a recurrence without a due, with a parent that does not exist', async () => {
      const res = await call('POST', BASE, {
        body: { title: 'x', parentId: randomUUID(), recurrence: 'FREQ=DAILY' },
      });

      expectValidationProblem(res, BASE, [{ field: 'recurrence', message: 'needs a due' }], secrets());
    });
  });
});

describe('Idempotency-Key: the request hash covers the whole body', () => {
  const first = {
    title: 'Pay rent',
    priority: 'low',
    tags: ['money', 'home'],
    due: { date: '2026-12-01', time: '09:00', timeZone: 'Europe/Berlin' },
    recurrence: 'FREQ=MONTHLY;BYMONTHDAY=1',
  };

  it.each([
    ['another priority', { ...first, priority: 'high' }],
    ['the tags in another order', { ...first, tags: ['home', 'money'] }],
    ['a tag with spaces that trimming would remove', { ...first, tags: ['money', ' home '] }],
    ['a tag in another case', { ...first, tags: ['money', 'Home'] }],
    ['another due.time', { ...first, due: { ...first.due, time: '09:01' } }],
    ['another recurrence', { ...first, recurrence: 'FREQ=MONTHLY;BYMONTHDAY=2' }],
    ['a listId added', { ...first, listId: null }],
    ['the description added as null', { ...first, description: null }],
  ])(
    'refuses the same key and title with %s: 422 IDEMPOTENCY_KEY_REUSED, nothing created',
    async (_case, second) => {
      const headers = { 'idempotency-key': 'rent-2026-12' };
      const created = await call('POST', BASE, { body: first, headers });
      expect(created.statusCode).toBe(201);

      const res = await call('POST', BASE, { body: second, headers });

      expectProblem(res, { ...PROBLEM.reused, instance: BASE }, secrets());
      await expect(count('tasks')).resolves.toBe(1);
      await expect(row(created.json().id)).resolves.toMatchObject({
        priority: 'low',
        tags: ['money', 'home'],
      });
    },
  );

  it('replays a retry whose members (also inside due) come in another order', async () => {
    const headers = { 'idempotency-key': 'reordered-1.1' };
    const created = await call('POST', BASE, { body: first, headers });
    const retry = await call('POST', BASE, {
      body: {
        recurrence: first.recurrence,
        due: { timeZone: 'Europe/Berlin', time: '09:00', date: '2026-12-01' },
        tags: first.tags,
        priority: first.priority,
        title: first.title,
      },
      headers,
    });

    expect(created.statusCode).toBe(201);
    expect(replayOf(retry)).toEqual(replayOf(created));
    await expect(count('tasks')).resolves.toBe(1);
  });

  it('leaves the key free when the first create is refused with 422', async () => {
    const headers = { 'idempotency-key': 'bad-list-first' };
    const refused = await call('POST', BASE, { body: { title: 'x', listId: randomUUID() }, headers });
    expectProblem(refused, { ...PROBLEM.listNotFound, instance: BASE }, secrets());
    await expect(count('idempotency_keys')).resolves.toBe(0);

    const created = await call('POST', BASE, { body: { title: 'x' }, headers });
    expect(created.statusCode).toBe(201);
    const replay = await call('POST', BASE, { body: { title: 'x' }, headers });
    expect(replay.json()).toEqual(created.json());
    await expect(count('tasks')).resolves.toBe(1);
  });
});
