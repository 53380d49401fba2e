import { expectProblem, expectValidationProblem } from './helpers/http-assert';
import {
  BOB,
  call,
  count,
  createList,
  createTask,
  MISSING_ID,
  NOT_A_UUID,
  notAllowed,
  PROBLEM,
  row,
  secrets,
  sql,
  taskUrl,
  useTasksHttp,
} from './helpers/tasks-http';

/**
 * DELETE /api/v1/tasks/{id} (shared/spec/http-api.md, Routes), through
 * Fastify's inject against the production app on a real PostgreSQL; what is
 * left is checked with plain SQL.
 */

useTasksHttp();

describe('DELETE /api/v1/tasks/{id}', () => {
  it('answers 204 with no body and removes the row; the task is then 404 everywhere', async () => {
    const created = await createTask();
    const res = await call('DELETE', taskUrl(created.id));

    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    await expect(row(created.id)).resolves.toBeUndefined();

    for (const method of ['GET', 'DELETE'] as const) {
      const again = await call(method, taskUrl(created.id));
      expectProblem(again, { ...PROBLEM.notFound, instance: taskUrl(created.id) }, secrets());
    }
  });

  it.each([['"1"'], ['*'], ['"4", "1"']])('deletes with the matching If-Match %s', async (ifMatch) => {
    const created = await createTask();
    const res = await call('DELETE', taskUrl(created.id), { headers: { 'if-match': ifMatch } });

    expect(res.statusCode).toBe(204);
    await expect(row(created.id)).resolves.toBeUndefined();
  });

  it.each([['"2"'], ['W/"1"']])('answers 412 to If-Match %s and keeps the row', async (ifMatch) => {
    const created = await createTask();
    const before = await row(created.id);
    const res = await call('DELETE', taskUrl(created.id), { headers: { 'if-match': ifMatch } });

    expectProblem(res, { ...PROBLEM.precondition, instance: taskUrl(created.id) }, secrets());
    await expect(row(created.id)).resolves.toEqual(before);
  });

  it('refuses a malformed If-Match with 400 and keeps the row', async () => {
    const created = await createTask();
    const res = await call('DELETE', taskUrl(created.id), { headers: { 'if-match': 'version-1' } });

    expectValidationProblem(
      res,
      taskUrl(created.id),
      [{ field: 'If-Match', message: 'must be * or a list of entity tags such as "3"' }],
      secrets(),
    );
    await expect(count('tasks')).resolves.toBe(1);
  });

  it('refuses a non-UUID id with 400 and answers a missing task with 404', async () => {
    const bad = await call('DELETE', taskUrl('1'));
    expectValidationProblem(bad, taskUrl('1'), [NOT_A_UUID], secrets());

    const missing = await call('DELETE', taskUrl(MISSING_ID));
    expectProblem(missing, { ...PROBLEM.notFound, instance: taskUrl(MISSING_ID) }, secrets());
  });

  it('refuses an unknown query parameter and keeps the row', async () => {
    const created = await createTask();
    const res = await call('DELETE', `${taskUrl(created.id)}?cascade=true`);

    expectValidationProblem(res, taskUrl(created.id), [notAllowed('cascade')], secrets());
    await expect(count('tasks')).resolves.toBe(1);
  });
});

describe('DELETE /api/v1/tasks/{id}: subtasks and precedence', () => {
  const ids = async () =>
    (await sql().query<{ id: string }>('select id from tasks order by id')).rows.map((r) => r.id);

  it('deletes the subtasks of a deleted parent, and nothing else', async () => {
    const listId = await createList('Work');
    const parent = await createTask({ title: 'parent', listId });
    const subtasks = [
      await createTask({ title: 's1', listId, parentId: parent.id }),
      await createTask({ title: 's2', listId, parentId: parent.id }),
    ];
    const otherParent = await createTask({ title: 'other parent', listId });
    const otherChild = await createTask({ title: 'other child', listId, parentId: otherParent.id });
    const bobs = await createTask({ title: 'Bob top' }, BOB);
    const kept = [otherParent.id, otherChild.id, bobs.id].sort();
    const keptRows = await Promise.all(kept.map((id) => row(id)));

    const res = await call('DELETE', taskUrl(parent.id), { headers: { 'if-match': '"1"' } });

    expect(res.statusCode).toBe(204);
    await expect(ids()).resolves.toEqual(kept);
    for (const sub of subtasks) {
      expectProblem(
        await call('GET', taskUrl(sub.id)),
        { ...PROBLEM.notFound, instance: taskUrl(sub.id) },
        secrets(),
      );
    }
    await expect(Promise.all(kept.map((id) => row(id)))).resolves.toEqual(keptRows);
  });

  it('deletes a subtask alone, keeping its parent and its siblings as they were', async () => {
    const parent = await createTask({ title: 'parent' });
    const first = await createTask({ title: 's1', parentId: parent.id });
    const second = await createTask({ title: 's2', parentId: parent.id });
    const before = [await row(parent.id), await row(second.id)];

    const res = await call('DELETE', taskUrl(first.id));

    expect(res.statusCode).toBe(204);
    await expect(ids()).resolves.toEqual([parent.id, second.id].sort());
    await expect(Promise.all([row(parent.id), row(second.id)])).resolves.toEqual(before);
  });

  it('keeps the subtasks when the delete of their parent is refused with 412', async () => {
    const parent = await createTask({ title: 'parent' });
    const child = await createTask({ title: 'child', parentId: parent.id });

    const res = await call('DELETE', taskUrl(parent.id), { headers: { 'if-match': '"2"' } });

    expectProblem(res, { ...PROBLEM.precondition, instance: taskUrl(parent.id) }, secrets());
    await expect(ids()).resolves.toEqual([parent.id, child.id].sort());
  });

  it('404 before 412: a task that does not exist with a stale If-Match', async () => {
    const res = await call('DELETE', taskUrl(MISSING_ID), { headers: { 'if-match': '"7"' } });

    expectProblem(res, { ...PROBLEM.notFound, instance: taskUrl(MISSING_ID) }, secrets());
  });

  it('400 before 404: an id that is not a UUID with a malformed If-Match', async () => {
    const res = await call('DELETE', taskUrl('nope'), { headers: { 'if-match': 'nope' } });

    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_ERROR', instance: taskUrl('nope') });
  });

  it('401 before 400 and 404', async () => {
    const res = await call('DELETE', taskUrl('nope'), { as: null });

    expectProblem(res, { ...PROBLEM.missingToken, instance: taskUrl('nope') }, secrets());
  });
});
