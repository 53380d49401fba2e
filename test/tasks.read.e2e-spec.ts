import { expectProblem, expectValidationProblem } from './helpers/http-assert';
import {
  asTask,
  call,
  createList,
  createTask,
  MISSING_ID,
  NOT_A_UUID,
  notAllowed,
  PROBLEM,
  row,
  secrets,
  taskUrl,
  useTasksHttp,
} from './helpers/tasks-http';

/**
 * GET /api/v1/tasks/{id} (shared/spec/http-api.md, Routes), through Fastify's
 * inject against the production app on a real PostgreSQL.
 */

useTasksHttp();

describe('GET /api/v1/tasks/{id}', () => {
  it('answers 200 with the Task and its ETag', async () => {
    const created = await createTask({ title: 'Read me', description: 'd', completed: true });
    const res = await call('GET', taskUrl(created.id));

    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(created);
    expect(res.headers.etag).toBe('"1"');
  });

  it('answers an id that is a UUID in upper case like the lower-case one (the contract is silent)', async () => {
    const created = await createTask();
    const res = await call('GET', taskUrl(created.id.toUpperCase()));

    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(created);
  });

  it.each([
    ['a word', 'abc'],
    ['a number', '123'],
    ['a UUID without dashes', '0b6f7c2e5d0c4f6e9a439a2f3f1a8c11'],
    ['a UUID with a suffix', `${MISSING_ID}x`],
    ['a UUID in braces', `%7B${MISSING_ID}%7D`],
    ['300 characters', 'x'.repeat(300)],
  ])('refuses an id that is %s with 400 naming the id', async (_case, id) => {
    const res = await call('GET', taskUrl(id));

    expectValidationProblem(res, taskUrl(id), [NOT_A_UUID], secrets());
  });

  it('answers 404 TASK_NOT_FOUND for a UUID that is no task', async () => {
    const res = await call('GET', taskUrl(MISSING_ID));

    expectProblem(res, { ...PROBLEM.notFound, instance: taskUrl(MISSING_ID) }, secrets());
  });

  it('refuses an unknown query parameter', async () => {
    const created = await createTask();
    const res = await call('GET', `${taskUrl(created.id)}?expand=all`);

    expectValidationProblem(res, taskUrl(created.id), [notAllowed('expand')], secrets());
  });

  describe('If-None-Match (weak comparison)', () => {
    it.each([
      ['the current ETag', '"1"'],
      ['a list containing it', '"7", "1"'],
      ['*', '*'],
      ['the weak form of the current ETag', 'W/"1"'],
    ])('answers 304 with the ETag and no body for %s', async (_case, ifNoneMatch) => {
      const created = await createTask();
      const res = await call('GET', taskUrl(created.id), { headers: { 'if-none-match': ifNoneMatch } });

      expect(res.statusCode).toBe(304);
      expect(res.body).toBe('');
      expect(res.headers.etag).toBe('"1"');
      expect(res.headers['x-request-id']).toEqual(expect.any(String));
    });

    it('answers 200 with the new ETag once the task has changed', async () => {
      const created = await createTask();
      const patched = await call('PATCH', taskUrl(created.id), { body: { completed: true } });
      expect(patched.statusCode).toBe(200);

      const res = await call('GET', taskUrl(created.id), { headers: { 'if-none-match': '"1"' } });

      expect(res.statusCode).toBe(200);
      expect(res.headers.etag).toBe('"2"');
      expect(res.json()).toEqual(patched.json());
    });

    it.each([['1'], ['"1'], ['"1" "2"'], ['W/1']])(
      'refuses the malformed If-None-Match %s with 400',
      async (h) => {
        const created = await createTask();
        const res = await call('GET', taskUrl(created.id), { headers: { 'if-none-match': h } });

        expectValidationProblem(
          res,
          taskUrl(created.id),
          [{ field: 'If-None-Match', message: 'must be * or a list of entity tags such as "3"' }],
          secrets(),
        );
      },
    );
  });
});

describe('GET /api/v1/tasks/{id}: the 1.1 fields', () => {
  it('shows every field as stored, for a task and its subtask', async () => {
    const listId = await createList('Work');
    const parent = await createTask({
      title: 'parent',
      listId,
      priority: 'medium',
      tags: ['b', 'a'],
      due: { date: '2026-12-24', time: '09:30', timeZone: 'Asia/Kolkata' },
      recurrence: 'FREQ=WEEKLY;BYDAY=TH',
      completed: true,
    });
    const child = await createTask({ title: 'child', listId, parentId: parent.id });

    for (const task of [parent, child]) {
      const res = await call('GET', taskUrl(task.id));

      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual(task);
      expect(res.json()).toEqual(asTask((await row(task.id))!));
      expect(res.headers.etag).toBe('"1"');
    }
    expect(child).toMatchObject({ listId, parentId: parent.id });
  });
});
