import { randomUUID } from 'node:crypto';
import {
  comparable,
  expectProblem,
  expectTaskShape,
  expectValidationProblem,
  type InjectResponse,
  type TaskJson,
} from './helpers/http-assert';
import {
  ALICE,
  asTask,
  BOB,
  call,
  type Call,
  createList,
  createTask,
  EMOJI,
  EMPTY_PATCH,
  MISSING_ID,
  noNul,
  NOT_A_UUID,
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
 * PATCH /api/v1/tasks/{id} (shared/spec/http-api.md, Routes), through
 * Fastify's inject against the production app on a real PostgreSQL. Every
 * write is also checked in the database with plain SQL.
 */

useTasksHttp();

describe('PATCH /api/v1/tasks/{id}', () => {
  it('changes only the given fields, moves version, ETag and updatedAt, and keeps createdAt', async () => {
    const created = await createTask({ title: 'Buy milk', description: 'semi-skimmed' });
    const before = await row(created.id);
    const res = await call('PATCH', taskUrl(created.id), { body: { completed: true } });

    expect(res.statusCode).toBe(200);
    const task = res.json();
    expectTaskShape(task);
    expect(task).toEqual({
      ...created,
      completed: true,
      completedAt: task.updatedAt,
      version: 2,
      updatedAt: expect.any(String),
    });
    expect(res.headers.etag).toBe('"2"');
    const after = await row(created.id);
    expect(asTask(after!)).toEqual(task);
    expect(after!.created_us).toBe(before!.created_us);
    expect((after!.updated_us as string) > (before!.updated_us as string)).toBe(true);
  });

  it('trims the title and clears the description with null (merge patch)', async () => {
    const created = await createTask({ title: 'old', description: 'to be cleared' });
    const res = await call('PATCH', taskUrl(created.id), { body: { title: '  new  ', description: null } });

    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ title: 'new', description: null, completed: false, version: 2 });
    await expect(row(created.id)).resolves.toMatchObject({ title: 'new', description: null, version: 2 });
  });

  it('counts a PATCH that repeats the current values as an update (version +1)', async () => {
    const created = await createTask({ title: 'same', completed: false });
    const res = await call('PATCH', taskUrl(created.id), { body: { title: 'same', completed: false } });

    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ title: 'same', version: 2 });
    expect(res.headers.etag).toBe('"2"');
    await expect(row(created.id)).resolves.toMatchObject({ version: 2 });
  });

  it('accepts application/merge-patch+json, with or without a charset', async () => {
    const created = await createTask();
    for (const type of ['application/merge-patch+json', 'application/merge-patch+json; charset=utf-8']) {
      const res = await call('PATCH', taskUrl(created.id), {
        raw: JSON.stringify({ description: type }),
        headers: { 'content-type': type },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ description: type });
    }
    await expect(row(created.id)).resolves.toMatchObject({ version: 3 });
  });

  it('fits 255 emoji in a new title and refuses 256', async () => {
    const created = await createTask();
    const ok = await call('PATCH', taskUrl(created.id), { body: { title: EMOJI.repeat(255) } });
    expect(ok.statusCode).toBe(200);

    const res = await call('PATCH', taskUrl(created.id), { body: { title: EMOJI.repeat(256) } });
    expectValidationProblem(res, taskUrl(created.id), [TITLE_LENGTH], secrets());
    await expect(row(created.id)).resolves.toMatchObject({ title: EMOJI.repeat(255), version: 2 });
  });

  it.each([
    ['null title', { title: null }, [{ field: 'title', message: 'must be a string' }]],
    ['null completed', { completed: null }, [{ field: 'completed', message: 'must be true or false' }]],
    ['blank title', { title: '  ' }, [TITLE_LENGTH]],
    ['empty body', {}, [EMPTY_PATCH]],
    [
      'description of 10,001',
      { description: 'd'.repeat(10_001) },
      [{ field: 'description', message: 'must be at most 10000 characters' }],
    ],
    ['NUL in the title', { title: '\u0000' }, [noNul('title')]],
    ['NUL in the description', { description: 'x\u0000' }, [noNul('description')]],
    ['id in the body', { id: MISSING_ID }, [notAllowed('id')]],
    ['userId in the body', { userId: BOB }, [notAllowed('userId')]],
    ['version in the body', { version: 9 }, [notAllowed('version')]],
    ['createdAt in the body', { createdAt: '2020-01-01T00:00:00.000Z' }, [notAllowed('createdAt')]],
    ['an unknown field beside a valid one', { completed: true, colour: 'red' }, [notAllowed('colour')]],
  ])('refuses a %s with 400 and changes nothing', async (_case, body, errors) => {
    const created = await createTask({ title: 'keep', description: 'keep' });
    const before = await row(created.id);
    const res = await call('PATCH', taskUrl(created.id), { body });

    expectValidationProblem(res, taskUrl(created.id), errors, secrets());
    await expect(row(created.id)).resolves.toEqual(before);
  });

  it.each([['[]'], ['"x"'], ['42'], ['null']])('refuses the non-object body %s', async (raw) => {
    const created = await createTask();
    const res = await call('PATCH', taskUrl(created.id), {
      raw,
      headers: { 'content-type': 'application/json' },
    });

    expectValidationProblem(res, taskUrl(created.id), [NOT_AN_OBJECT], secrets());
    await expect(row(created.id)).resolves.toMatchObject({ version: 1 });
  });

  it.each([
    ['malformed JSON', '{"title":', 'must be valid JSON'],
    ['an empty body', '', 'must not be empty'],
  ])('refuses %s with 400', async (_case, raw, message) => {
    const created = await createTask();
    const res = await call('PATCH', taskUrl(created.id), {
      raw,
      headers: { 'content-type': 'application/json' },
    });

    expectProblem(
      res,
      {
        status: 400,
        code: 'VALIDATION_ERROR',
        title: 'Validation failed',
        detail: `body ${message}`,
        instance: taskUrl(created.id),
        errors: [{ field: 'body', message }],
      },
      secrets(),
    );
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['no Content-Type', {}],
  ])('refuses a body sent as %s with 415', async (_case, headers) => {
    const created = await createTask();
    const res = await call('PATCH', taskUrl(created.id), { raw: '{"completed":true}', headers });

    expectProblem(res, { ...PROBLEM.unsupported, instance: taskUrl(created.id) }, secrets());
    await expect(row(created.id)).resolves.toMatchObject({ completed: false, version: 1 });
  });

  it('refuses a body over 64 KiB with 413', async () => {
    const created = await createTask();
    const res = await call('PATCH', taskUrl(created.id), {
      raw: JSON.stringify({ description: 'd'.repeat(70_000) }),
      headers: { 'content-type': 'application/json' },
    });

    expectProblem(res, { ...PROBLEM.tooLarge, instance: taskUrl(created.id) }, secrets());
    await expect(row(created.id)).resolves.toMatchObject({ version: 1 });
  });

  it('refuses a non-UUID id with 400 and answers a missing task with 404', async () => {
    const bad = await call('PATCH', taskUrl('nope'), { body: { completed: true } });
    expectValidationProblem(bad, taskUrl('nope'), [NOT_A_UUID], secrets());

    const missing = await call('PATCH', taskUrl(MISSING_ID), { body: { completed: true } });
    expectProblem(missing, { ...PROBLEM.notFound, instance: taskUrl(MISSING_ID) }, secrets());
  });

  it('refuses an unknown query parameter', async () => {
    const created = await createTask();
    const res = await call('PATCH', `${taskUrl(created.id)}?force=1`, { body: { completed: true } });

    expectValidationProblem(res, taskUrl(created.id), [notAllowed('force')], secrets());
    await expect(row(created.id)).resolves.toMatchObject({ version: 1 });
  });

  describe('If-Match (strong comparison)', () => {
    it.each([
      ['the current ETag', '"1"'],
      ['a list containing it', '"5", "1"'],
      ['*', '*'],
    ])('updates when it is %s', async (_case, ifMatch) => {
      const created = await createTask();
      const res = await call('PATCH', taskUrl(created.id), {
        body: { completed: true },
        headers: { 'if-match': ifMatch },
      });

      expect(res.statusCode).toBe(200);
      expect(res.headers.etag).toBe('"2"');
      await expect(row(created.id)).resolves.toMatchObject({ completed: true, version: 2 });
    });

    it.each([
      ['stale', '"1"'],
      ['a weak tag of the current version', 'W/"2"'],
      ['a list without the current version', '"1", "3"'],
      ['not a version we issue', '"abc"'],
    ])('answers 412 and changes nothing when it is %s', async (_case, ifMatch) => {
      const created = await createTask({ title: 'v1' });
      expect((await call('PATCH', taskUrl(created.id), { body: { title: 'v2' } })).statusCode).toBe(200);
      const before = await row(created.id);

      const res = await call('PATCH', taskUrl(created.id), {
        body: { title: 'v3' },
        headers: { 'if-match': ifMatch },
      });

      expectProblem(res, { ...PROBLEM.precondition, instance: taskUrl(created.id) }, secrets());
      await expect(row(created.id)).resolves.toEqual(before);
    });

    it.each([['1'], ['"1'], ['W/1'], ['']])('refuses the malformed If-Match %j with 400', async (ifMatch) => {
      const created = await createTask();
      const res = await call('PATCH', taskUrl(created.id), {
        body: { completed: true },
        headers: { 'if-match': ifMatch },
      });

      expectValidationProblem(
        res,
        taskUrl(created.id),
        [{ field: 'If-Match', message: 'must be * or a list of entity tags such as "3"' }],
        secrets(),
      );
      await expect(row(created.id)).resolves.toMatchObject({ completed: false, version: 1 });
    });
  });
});

describe('concurrent requests', () => {
  it('lets exactly one of 20 PATCHes with the same If-Match win; the 19 others get 412', async () => {
    const created = await createTask({ title: 'contended' });

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call('PATCH', taskUrl(created.id), {
          body: { title: `writer ${i}` },
          headers: { 'if-match': '"1"' },
        }),
      ),
    );

    const winners = responses.filter((r) => r.statusCode === 200);
    const losers = responses.filter((r) => r.statusCode !== 200);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(19);
    for (const loser of losers) {
      expectProblem(loser, { ...PROBLEM.precondition, instance: taskUrl(created.id) }, secrets());
    }
    const winner = winners[0].json();
    expect(winner.version).toBe(2);
    expect(winners[0].headers.etag).toBe('"2"');
    await expect(row(created.id)).resolves.toMatchObject({ title: winner.title, version: 2 });
  });

  it('applies all of 20 unconditional PATCHes, one after another (last write wins)', async () => {
    const created = await createTask({ title: 'contended' });

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call('PATCH', taskUrl(created.id), { body: { title: `writer ${i}` } }),
      ),
    );

    expect(responses.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    const versions = responses.map((r) => r.json().version as number).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    const last = responses.find((r) => r.json().version === 21)!.json();
    await expect(row(created.id)).resolves.toMatchObject({ title: last.title, version: 21 });
  });
});

const ALL_DAY = { date: '2026-12-24', time: null, timeZone: null };
const TIMED = { date: '2026-12-24', time: '09:30', timeZone: 'Europe/Berlin' };
const PARTIAL_DUE = { field: 'due', message: 'must have date, time and timeZone on a task that has no due' };

/** A PATCH that must succeed: 200, the Task, ETag of its version, and exactly that stored. */
async function patch(id: string, body: Record<string, unknown>): Promise<TaskJson> {
  const res = await call('PATCH', taskUrl(id), { body });
  expect({ status: res.statusCode, body: res.statusCode === 200 ? 'a Task' : res.json() }).toEqual({
    status: 200,
    body: 'a Task',
  });
  const task = res.json();
  expectTaskShape(task);
  expect(res.headers.etag).toBe(`"${task.version}"`);
  expect(asTask((await row(id))!)).toEqual(task);
  return task;
}

/** A PATCH that must be refused with exactly this 400, changing nothing. */
async function patchRefused(
  id: string,
  body: Record<string, unknown>,
  errors: { field: string; message: string }[],
): Promise<void> {
  const before = await row(id);
  const res = await call('PATCH', taskUrl(id), { body });
  expectValidationProblem(res, taskUrl(id), errors, secrets());
  await expect(row(id)).resolves.toEqual(before);
}

describe('PATCH: completedAt', () => {
  it('is set to the time of the update when completed changes from false to true', async () => {
    const created = await createTask({ title: 'open' });
    const task = await patch(created.id, { completed: true });

    expect(task).toMatchObject({ completed: true, version: 2 });
    expect(task.completedAt).toBe(task.updatedAt);
  });

  it('is kept when a completed task is sent completed: true again', async () => {
    const created = await createTask({ title: 'open' });
    const first = await patch(created.id, { completed: true });
    const again = await patch(created.id, { completed: true });

    expect(again).toMatchObject({ completed: true, completedAt: first.completedAt, version: 3 });
    expect(again.updatedAt > first.updatedAt).toBe(true);
  });

  it('is kept by an update of another field', async () => {
    const created = await createTask({ title: 'done', completed: true });
    const task = await patch(created.id, { title: 'still done', priority: 'high' });

    expect(task.completedAt).toBe(created.completedAt);
  });

  it('keeps the creation time of a task created completed when completed: true is sent', async () => {
    const created = await createTask({ title: 'done', completed: true });
    const task = await patch(created.id, { completed: true });

    expect(created.completedAt).toBe(created.createdAt);
    expect(task.completedAt).toBe(created.createdAt);
  });

  it('is cleared when the task is no longer completed, and set anew when it is completed again', async () => {
    const created = await createTask({ title: 'done', completed: true });
    const reopened = await patch(created.id, { completed: false });
    expect(reopened).toMatchObject({ completed: false, completedAt: null });

    const again = await patch(created.id, { completed: true });
    expect(again.completedAt).toBe(again.updatedAt);
    expect(again.completedAt! > created.completedAt!).toBe(true);
  });
});

describe('PATCH: merge patch of the 1.1 fields', () => {
  it.each([
    ['priority', { priority: 'high' }],
    ['tags (replaced as a whole)', { tags: ['new'] }],
    ['description', { description: 'new' }],
  ])('changes only %s', async (_case, body) => {
    const created = await createTask({
      title: 'keep',
      description: 'old',
      priority: 'low',
      tags: ['a', 'b'],
      due: TIMED,
      recurrence: 'FREQ=DAILY',
    });
    const task = await patch(created.id, body);

    expect(task).toEqual({ ...created, ...body, version: 2, updatedAt: task.updatedAt });
  });

  it.each([
    ['description', { description: null }],
    ['due and recurrence', { due: null, recurrence: null }],
    ['recurrence', { recurrence: null }],
  ])('clears %s with null', async (_case, body) => {
    const created = await createTask({
      title: 'keep',
      description: 'old',
      due: TIMED,
      recurrence: 'FREQ=DAILY',
    });
    const task = await patch(created.id, body);

    expect(task).toEqual({ ...created, ...body, version: 2, updatedAt: task.updatedAt });
  });

  it('clears the tags with []', async () => {
    const created = await createTask({ title: 'tagged', tags: ['a'] });
    const task = await patch(created.id, { tags: [] });

    expect(task.tags).toEqual([]);
  });

  it.each([
    ['priority', { priority: null }],
    ['tags', { tags: null }],
  ])('refuses %s: null with 400 and changes nothing', async (field, body) => {
    const created = await createTask({ title: 'keep', priority: 'high', tags: ['a'] });

    await patchRefused(created.id, body, [{ field, message: 'must not be null' }]);
  });

  it('lists every null that is refused (title, completed, priority, tags) in one 400', async () => {
    const created = await createTask({ title: 'keep' });
    const before = await row(created.id);
    const res = await call('PATCH', taskUrl(created.id), {
      body: { title: null, completed: null, priority: null, tags: null },
    });

    expect(res.statusCode).toBe(400);
    const fields = (res.json().errors as { field: string }[]).map((e) => e.field).sort();
    expect({ code: res.json().code, fields }).toEqual({
      code: 'VALIDATION_ERROR',
      fields: ['completed', 'priority', 'tags', 'title'],
    });
    await expect(row(created.id)).resolves.toEqual(before);
  });
});

describe('PATCH: due is merged member by member', () => {
  it('{"due": {"time": "10:00", "timeZone": "UTC"}} gives an all-day task a time', async () => {
    const created = await createTask({ title: 'all day', due: ALL_DAY });
    const task = await patch(created.id, { due: { time: '10:00', timeZone: 'UTC' } });

    expect(task.due).toEqual({ date: '2026-12-24', time: '10:00', timeZone: 'UTC' });
  });

  it('{"due": {"time": null, "timeZone": null}} makes a timed task all day', async () => {
    const created = await createTask({ title: 'timed', due: TIMED });
    const task = await patch(created.id, { due: { time: null, timeZone: null } });

    expect(task.due).toEqual(ALL_DAY);
  });

  it('changes only the date when only the date is sent', async () => {
    const created = await createTask({ title: 'timed', due: TIMED });
    const task = await patch(created.id, { due: { date: '2027-01-31' } });

    expect(task.due).toEqual({ ...TIMED, date: '2027-01-31' });
  });

  it('changes only the zone when only the zone is sent, keeping the alias as sent', async () => {
    const created = await createTask({ title: 'timed', due: TIMED });
    const task = await patch(created.id, { due: { timeZone: 'Asia/Kolkata' } });

    expect(task.due).toEqual({ ...TIMED, timeZone: 'Asia/Kolkata' });
  });

  it('replaces the whole due when all three members are sent', async () => {
    const created = await createTask({ title: 'timed', due: TIMED });
    const task = await patch(created.id, { due: ALL_DAY });

    expect(task.due).toEqual(ALL_DAY);
  });

  it('{"due": {}} changes nothing but is still an update (version +1, new updatedAt)', async () => {
    const created = await createTask({ title: 'timed', due: TIMED, recurrence: 'FREQ=DAILY' });
    const task = await patch(created.id, { due: {} });

    expect(task).toEqual({ ...created, version: 2, updatedAt: task.updatedAt });
    expect(task.updatedAt > created.updatedAt).toBe(true);
  });

  it('{"due": {}} on a task without a due changes nothing but is an update', async () => {
    const created = await createTask({ title: 'no due' });
    const task = await patch(created.id, { due: {} });

    expect(task).toEqual({ ...created, version: 2, updatedAt: task.updatedAt });
  });

  it('takes a whole due on a task without one', async () => {
    const created = await createTask({ title: 'no due' });
    const task = await patch(created.id, { due: TIMED });

    expect(task.due).toEqual(TIMED);
  });

  it.each([
    ['only a date', { date: '2026-12-24' }],
    ['a time and a zone', { time: '10:00', timeZone: 'UTC' }],
    ['a date and a time', { date: '2026-12-24', time: '10:00' }],
    ['time and zone null', { time: null, timeZone: null }],
  ])('refuses %s on a task without a due with 400, changing nothing', async (_case, due) => {
    const created = await createTask({ title: 'no due', priority: 'low' });

    await patchRefused(created.id, { due, priority: 'high' }, [PARTIAL_DUE]);
  });

  it.each([
    ['a time on an all-day task without a zone', ALL_DAY, { time: '10:00' }],
    ['a zone on an all-day task without a time', ALL_DAY, { timeZone: 'UTC' }],
    ['no zone on a timed task that keeps its time', TIMED, { timeZone: null }],
    ['no time on a timed task that keeps its zone', TIMED, { time: null }],
  ])('refuses a merged due with %s (400, nothing changes)', async (_case, due, change) => {
    const created = await createTask({ title: 'due', due });

    await patchRefused(created.id, { due: change }, [
      { field: 'due', message: 'must have both time and timeZone, or neither' },
    ]);
  });

  it.each([
    [
      'a date that is no calendar date',
      { date: '2026-02-30' },
      'due.date',
      'must be a calendar date from 1900-01-01 to 9999-12-31, YYYY-MM-DD',
    ],
    [
      'date: null',
      { date: null },
      'due.date',
      'must be a calendar date from 1900-01-01 to 9999-12-31, YYYY-MM-DD',
    ],
    [
      'an offset as zone',
      { timeZone: '+05:30' },
      'due.timeZone',
      'must be an IANA time-zone name such as Europe/Berlin, or null',
    ],
    ['a fourth member', { offset: '+01:00' }, 'due.offset', 'is not allowed'],
  ])('refuses a member patch with %s (400, nothing changes)', async (_case, due, field, message) => {
    const created = await createTask({ title: 'due', due: TIMED });

    await patchRefused(created.id, { due }, [{ field, message }]);
  });

  it('clears the due with null', async () => {
    const created = await createTask({ title: 'due', due: TIMED });
    const task = await patch(created.id, { due: null });

    expect(task.due).toBeNull();
    await expect(row(created.id)).resolves.toMatchObject({
      due_date: null,
      due_time: null,
      due_time_zone: null,
    });
  });

  it('refuses to clear the due of a recurring task that keeps its recurrence (400, nothing changes)', async () => {
    const created = await createTask({ title: 'weekly', due: ALL_DAY, recurrence: 'FREQ=WEEKLY' });

    await patchRefused(created.id, { due: null }, [{ field: 'recurrence', message: 'needs a due' }]);
  });

  it('sets a recurrence on a task that has a due, and with a due given in the same PATCH', async () => {
    const dated = await createTask({ title: 'dated', due: ALL_DAY });
    expect((await patch(dated.id, { recurrence: 'FREQ=DAILY' })).recurrence).toBe('FREQ=DAILY');

    const undated = await createTask({ title: 'undated' });
    expect(await patch(undated.id, { due: ALL_DAY, recurrence: 'FREQ=DAILY' })).toMatchObject({
      due: ALL_DAY,
      recurrence: 'FREQ=DAILY',
    });
  });
});

describe('PATCH: listId and parentId', () => {
  /** Positions of the task's siblings (same list, same parent), the task itself left out. */
  async function siblingPositions(listId: string | null, parentId: string | null, except: string) {
    const { rows } = await sql().query<{ position: string }>(
      `select position from tasks where user_id = $1 and list_id is not distinct from $2::uuid
         and parent_id is not distinct from $3::uuid and id <> $4`,
      [ALICE, listId, parentId, except],
    );
    return rows.map((r) => r.position);
  }

  const after = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b)) > 0;

  it('moves a task to another list, last among its new siblings', async () => {
    const listId = await createList('Work');
    for (const title of ['w1', 'w2', 'w3']) await createTask({ title, listId });
    const task = await createTask({ title: 'mover' });
    const moved = await patch(task.id, { listId });

    expect(moved).toMatchObject({ listId, parentId: null, version: 2 });
    const siblings = await siblingPositions(listId, null, task.id);
    expect(siblings).toHaveLength(3);
    for (const p of siblings) expect(after(moved.position, p)).toBe(true);
  });

  it('moves a task back to the inbox with an explicit listId: null, last there', async () => {
    const listId = await createList('Work');
    await createTask({ title: 'i1' });
    await createTask({ title: 'i2' });
    const task = await createTask({ title: 'mover', listId });
    const moved = await patch(task.id, { listId: null });

    expect(moved).toMatchObject({ listId: null, parentId: null });
    for (const p of await siblingPositions(null, null, task.id)) expect(after(moved.position, p)).toBe(true);
  });

  it('takes its subtasks along to another list: each gets the new listId and version +1, keeping its parent and order', async () => {
    const listId = await createList('Work');
    const parent = await createTask({ title: 'parent' });
    const subtasks = [
      await createTask({ title: 's1', parentId: parent.id }),
      await createTask({ title: 's2', parentId: parent.id }),
    ];
    const bystander = await createTask({ title: 'other top-level task' });
    const bystanderBefore = await row(bystander.id);

    const moved = await patch(parent.id, { listId });

    expect(moved.listId).toBe(listId);
    for (const sub of subtasks) {
      await expect(row(sub.id)).resolves.toMatchObject({
        list_id: listId,
        parent_id: parent.id,
        version: 2,
        position: sub.position,
      });
    }
    const updated = (await row(subtasks[0].id))!;
    expect(updated.updated_ms).not.toBe(subtasks[0].updatedAt);
    await expect(row(bystander.id)).resolves.toEqual(bystanderBefore);
  });

  it("makes a task a subtask, in the parent's list when listId is not given, last among the parent's subtasks", async () => {
    const listId = await createList('Work');
    const parent = await createTask({ title: 'parent', listId });
    const first = await createTask({ title: 'first subtask', parentId: parent.id, listId });
    const task = await createTask({ title: 'inbox task' });

    const moved = await patch(task.id, { parentId: parent.id });

    expect(moved).toMatchObject({ parentId: parent.id, listId });
    expect(after(moved.position, first.position)).toBe(true);
  });

  it('makes a subtask top-level again with parentId: null', async () => {
    const parent = await createTask({ title: 'parent' });
    const child = await createTask({ title: 'child', parentId: parent.id });
    const moved = await patch(child.id, { parentId: null });

    expect(moved).toMatchObject({ parentId: null, listId: null });
    expect(after(moved.position, parent.position)).toBe(true);
  });

  it('moves a subtask to another list with parentId: null, top-level there', async () => {
    const listId = await createList('Work');
    const parent = await createTask({ title: 'parent' });
    const child = await createTask({ title: 'child', parentId: parent.id });

    const moved = await patch(child.id, { listId, parentId: null });

    expect(moved).toMatchObject({ listId, parentId: null });
  });

  it('keeps the position of a task whose list and parent do not change', async () => {
    const task = await createTask({ title: 'stay' });
    await createTask({ title: 'later' });
    const patched = await patch(task.id, { title: 'stayed' });

    expect(patched.position).toBe(task.position);
  });

  it('refuses to move a subtask to another list while its parent stays (422 INVALID_PARENT)', async () => {
    const listId = await createList('Work');
    const parent = await createTask({ title: 'parent' });
    const child = await createTask({ title: 'child', parentId: parent.id });
    const before = await row(child.id);

    const res = await call('PATCH', taskUrl(child.id), { body: { listId } });

    expectProblem(
      res,
      { ...PROBLEM.invalidParent(PARENT_RULE.otherList), instance: taskUrl(child.id) },
      secrets(),
    );
    await expect(row(child.id)).resolves.toEqual(before);
  });

  it.each([
    ['a subtask as parent', PARENT_RULE.subtask],
    ['a parent in another list than the listId given', PARENT_RULE.otherList],
    ['the task itself as parent', PARENT_RULE.itself],
    ['a parent for a task that has subtasks', PARENT_RULE.hasSubtasks],
  ])('refuses %s with 422 INVALID_PARENT and changes nothing', async (_case, rule) => {
    const listId = await createList('Work');
    const top = await createTask({ title: 'top' });
    const sub = await createTask({ title: 'sub', parentId: top.id });
    const other = await createTask({ title: 'other' });
    const { id, body } = {
      [PARENT_RULE.subtask]: { id: other.id, body: { parentId: sub.id } },
      [PARENT_RULE.otherList]: { id: other.id, body: { parentId: top.id, listId } },
      [PARENT_RULE.itself]: { id: other.id, body: { parentId: other.id } },
      [PARENT_RULE.hasSubtasks]: { id: top.id, body: { parentId: other.id } },
    }[rule];
    const before = await row(id);

    const res = await call('PATCH', taskUrl(id), { body });

    expectProblem(res, { ...PROBLEM.invalidParent(rule), instance: taskUrl(id) }, secrets());
    await expect(row(id)).resolves.toEqual(before);
  });

  it.each([
    ['listId', PROBLEM.listNotFound],
    ['parentId', PROBLEM.parentNotFound],
  ])(
    'answers a %s that names nothing with 422 REFERENCE_NOT_FOUND, changing nothing',
    async (field, problem) => {
      const task = await createTask({ title: 'x' });
      const before = await row(task.id);

      const res = await call('PATCH', taskUrl(task.id), { body: { [field]: randomUUID() } });

      expectProblem(res, { ...problem, instance: taskUrl(task.id) }, secrets());
      await expect(row(task.id)).resolves.toEqual(before);
    },
  );

  it.each([
    ['listId', PROBLEM.listNotFound, async () => createList('Bob only', BOB)],
    ['parentId', PROBLEM.parentNotFound, async () => (await createTask({ title: 'Bob only' }, BOB)).id],
  ])("answers another user's %s exactly like one that does not exist", async (field, problem, bobs) => {
    const task = await createTask({ title: 'x' });
    const before = await row(task.id);
    const theirs = await call('PATCH', taskUrl(task.id), { body: { [field]: await bobs() } });
    const nobodys = await call('PATCH', taskUrl(task.id), { body: { [field]: randomUUID() } });

    expectProblem(theirs, { ...problem, instance: taskUrl(task.id) }, secrets());
    expect(comparable(theirs)).toEqual(comparable(nobodys));
    await expect(row(task.id)).resolves.toEqual(before);
  });
});

describe('PATCH: which problem is answered first (401, 400, 404, 412, 422)', () => {
  it('401 before 400', async () => {
    const res = await call('PATCH', taskUrl('not-a-uuid'), { as: null, body: { title: '' } });

    expectProblem(res, { ...PROBLEM.missingToken, instance: taskUrl('not-a-uuid') }, secrets());
  });

  it.each([
    ['a bad title', { title: '' }, [TITLE_LENGTH]],
    [
      'a listId that is not a UUID',
      { listId: 'l' },
      [{ field: 'listId', message: 'must be a UUID or null' }],
    ],
    ['priority: null', { priority: null }, [{ field: 'priority', message: 'must not be null' }]],
  ])('400 before 404: %s on a task that does not exist', async (_case, body, errors) => {
    const res = await call('PATCH', taskUrl(MISSING_ID), { body, headers: { 'if-match': '"9"' } });

    expectValidationProblem(res, taskUrl(MISSING_ID), errors, secrets());
  });

  it('400 before 412: a bad body with a stale If-Match', async () => {
    const task = await createTask({ title: 'v1' });

    await patchRefusedWith(task.id, { body: { tags: [''] }, headers: { 'if-match': '"7"' } }, (res) =>
      expectValidationProblem(
        res,
        taskUrl(task.id),
        [
          {
            field: 'tags[0]',
            message: 'must be 1 to 50 characters after trimming, without control characters',
          },
        ],
        secrets(),
      ),
    );
  });

  it('404 before 412 and 422: a task that does not exist, a stale If-Match and a list that does not exist', async () => {
    const res = await call('PATCH', taskUrl(MISSING_ID), {
      body: { listId: randomUUID() },
      headers: { 'if-match': '"7"' },
    });

    expectProblem(res, { ...PROBLEM.notFound, instance: taskUrl(MISSING_ID) }, secrets());
  });

  it("404 before 422: Bob's task with a parent that does not exist", async () => {
    const bobs = await createTask({ title: 'Bob only' }, BOB);
    const res = await call('PATCH', taskUrl(bobs.id), { body: { parentId: randomUUID() } });

    expectProblem(res, { ...PROBLEM.notFound, instance: taskUrl(bobs.id) }, secrets());
  });

  it.each([
    ['a list that does not exist', { listId: MISSING_ID }],
    ['a parent that does not exist', { parentId: MISSING_ID }],
  ])('412 before 422: a stale If-Match with %s', async (_case, body) => {
    const task = await createTask({ title: 'v1' });

    await patchRefusedWith(task.id, { body, headers: { 'if-match': '"7"' } }, (res) =>
      expectProblem(res, { ...PROBLEM.precondition, instance: taskUrl(task.id) }, secrets()),
    );
  });

  /** Sends the PATCH, checks the answer, and that the task did not change. */
  async function patchRefusedWith(id: string, options: Call, check: (res: InjectResponse) => void) {
    const before = await row(id);
    const res = await call('PATCH', taskUrl(id), options);
    check(res);
    await expect(row(id)).resolves.toEqual(before);
  }
});
