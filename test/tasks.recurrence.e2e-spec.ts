import { expectProblem, type TaskJson } from './helpers/http-assert';
import {
  asTask,
  BOB,
  call,
  createList,
  createTask,
  MISSING_ID,
  PROBLEM,
  row,
  secrets,
  taskUrl,
  useTasksHttp,
} from './helpers/tasks-http';

/**
 * Completing a recurring task (the Recurrence section of
 * shared/spec/http-api.md): a PATCH that sets `completed: true` on a task
 * whose `completed` is false moves its due to the rule's next occurrence
 * instead, in one write, one occurrence per completion even when completions
 * race. The dates are worked out by hand; src/tasks/recurrence.spec.ts has
 * the rules themselves.
 */

useTasksHttp();

const allDay = (date: string) => ({ date, time: null, timeZone: null });

async function recurring(rule: string, due: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return createTask({ title: 'recurring', due, recurrence: rule, ...extra });
}

async function complete(task: TaskJson, extra: Record<string, unknown> = {}, headers = {}) {
  return call('PATCH', taskUrl(task.id), { body: { completed: true, ...extra }, headers });
}

/** 200 with the Task, which is exactly what was stored. */
async function expectStored(res: Awaited<ReturnType<typeof call>>): Promise<TaskJson> {
  expect({ status: res.statusCode, body: res.statusCode === 200 ? 'a Task' : res.json() }).toEqual({
    status: 200,
    body: 'a Task',
  });
  const task = res.json<TaskJson>();
  expect(asTask((await row(task.id))!)).toEqual(task);
  return task;
}

describe('completing a recurring task', () => {
  it('moves its due to the next occurrence and leaves it not completed, version +1', async () => {
    const task = await recurring('FREQ=DAILY', allDay('2026-12-07'));

    const res = await complete(task);

    const after = await expectStored(res);
    expect(after).toEqual({
      ...task,
      due: allDay('2026-12-08'),
      completed: false,
      completedAt: null,
      version: 2,
      updatedAt: after.updatedAt,
    });
    expect(res.headers.etag).toBe('"2"');
  });

  it('keeps the local time and zone across the daylight-saving change in Europe/Berlin', async () => {
    const task = await recurring('FREQ=DAILY', {
      date: '2027-03-27',
      time: '09:30',
      timeZone: 'Europe/Berlin',
    });

    const after = await expectStored(await complete(task));

    // 09:30 local on both days, though the UTC offset went from +01:00 to +02:00 overnight.
    expect(after.due).toEqual({ date: '2027-03-28', time: '09:30', timeZone: 'Europe/Berlin' });
  });

  it('skips the months without the day asked for (BYMONTHDAY=31)', async () => {
    const task = await recurring('FREQ=MONTHLY;BYMONTHDAY=31', allDay('2027-01-31'));

    const after = await expectStored(await complete(task));

    expect(after.due).toEqual(allDay('2027-03-31'));
  });

  it('goes to the last Friday of the next month (BYDAY=-1FR)', async () => {
    const task = await recurring('FREQ=MONTHLY;BYDAY=-1FR', allDay('2026-12-25'));

    expect((await expectStored(await complete(task))).due).toEqual(allDay('2027-01-29'));
  });

  it('counts from the due the same PATCH gives', async () => {
    const task = await recurring('FREQ=WEEKLY', allDay('2026-12-07'));

    const after = await expectStored(await complete(task, { due: { date: '2027-02-10' }, title: 'moved' }));

    expect(after).toMatchObject({ title: 'moved', due: allDay('2027-02-17'), completed: false, version: 2 });
  });

  it('follows the rule the same PATCH gives', async () => {
    const task = await createTask({ title: 'once', due: allDay('2026-12-07') });

    const after = await expectStored(await complete(task, { recurrence: 'FREQ=MONTHLY' }));

    expect(after).toMatchObject({ due: allDay('2027-01-07'), recurrence: 'FREQ=MONTHLY', completed: false });
  });

  it('completes like any other task when the same PATCH clears the rule', async () => {
    const task = await recurring('FREQ=DAILY', allDay('2026-12-07'));

    const after = await expectStored(await complete(task, { recurrence: null }));

    expect(after).toMatchObject({ due: allDay('2026-12-07'), recurrence: null, completed: true, version: 2 });
    expect(after.completedAt).toBe(after.updatedAt);
  });

  it.each([
    ['its UNTIL is reached', 'FREQ=DAILY;UNTIL=20261207', '2026-12-07'],
    ['the next occurrence is past its UNTIL', 'FREQ=WEEKLY;UNTIL=20261213', '2026-12-07'],
    ['the next occurrence would be in the year 10000', 'FREQ=YEARLY', '9999-06-01'],
  ])('completes it like any other task when %s', async (_case, rule, date) => {
    const task = await recurring(rule, allDay(date));

    const after = await expectStored(await complete(task));

    expect(after).toMatchObject({ due: allDay(date), recurrence: rule, completed: true, version: 2 });
    expect(after.completedAt).toBe(after.updatedAt);
  });

  it('leaves a recurring task that is already completed completed (a PATCH like any other)', async () => {
    const task = await recurring('FREQ=DAILY', allDay('2026-12-07'), { completed: true });

    const after = await expectStored(await complete(task));

    expect(after).toMatchObject({ due: allDay('2026-12-07'), completed: true, version: 2 });
    expect(after.completedAt).toBe(task.completedAt);
  });

  it('moves the due and the task together when the same PATCH changes its list', async () => {
    const task = await recurring('FREQ=DAILY', allDay('2026-12-07'));
    const listId = await createList('Home');

    const after = await expectStored(await complete(task, { listId }));

    expect(after).toMatchObject({ listId, due: allDay('2026-12-08'), completed: false, version: 2 });
  });

  it('advances one occurrence per completion when ten race without If-Match', async () => {
    const task = await recurring('FREQ=DAILY', allDay('2026-12-01'));

    const results = await Promise.all(Array.from({ length: 10 }, () => complete(task)));

    expect(results.map((r) => r.statusCode)).toEqual(Array(10).fill(200));
    expect((await row(task.id))!).toMatchObject({
      due_date: '2026-12-11',
      completed: false,
      version: 11,
    });
    // Each answer is a distinct step: the dues it returned are the ten dates in between.
    const dues = results.map((r) => r.json<TaskJson>().due!.date).sort();
    expect(dues).toEqual(Array.from({ length: 10 }, (_, i) => `2026-12-${String(i + 2).padStart(2, '0')}`));
  });

  it('lets exactly one of ten completions with the same If-Match win; the rest get 412', async () => {
    const task = await recurring('FREQ=DAILY', allDay('2026-12-01'));

    const results = await Promise.all(
      Array.from({ length: 10 }, () => complete(task, {}, { 'if-match': '"1"' })),
    );

    const statuses = results.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, ...Array(9).fill(412)]);
    for (const loser of results.filter((r) => r.statusCode === 412)) {
      expectProblem(loser, { ...PROBLEM.precondition, instance: taskUrl(task.id) }, secrets());
    }
    expect((await row(task.id))!).toMatchObject({ due_date: '2026-12-02', completed: false, version: 2 });
  });

  it('answers 412 to a stale If-Match and changes nothing', async () => {
    const task = await recurring('FREQ=DAILY', allDay('2026-12-01'));
    expect((await call('PATCH', taskUrl(task.id), { body: { title: 'v2' } })).statusCode).toBe(200);
    const before = await row(task.id);

    const res = await complete(task, {}, { 'if-match': '"1"' });

    expectProblem(res, { ...PROBLEM.precondition, instance: taskUrl(task.id) }, secrets());
    await expect(row(task.id)).resolves.toEqual(before);
  });

  it("answers 404 for another user's recurring task, exactly as for a missing id, and changes nothing", async () => {
    const task = await recurring('FREQ=DAILY', allDay('2026-12-01'));
    const before = await row(task.id);

    const missing = await call('PATCH', taskUrl(MISSING_ID), { as: BOB, body: { completed: true } });
    const theirs = await call('PATCH', taskUrl(task.id), { as: BOB, body: { completed: true } });

    expectProblem(missing, { ...PROBLEM.notFound, instance: taskUrl(MISSING_ID) }, secrets());
    expectProblem(theirs, { ...PROBLEM.notFound, instance: taskUrl(task.id) }, secrets());
    await expect(row(task.id)).resolves.toEqual(before);
  });
});
