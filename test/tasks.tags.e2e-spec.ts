import { expectProblem, expectValidationProblem } from './helpers/http-assert';
import {
  BOB,
  call,
  createTask,
  EMOJI,
  notAllowed,
  PROBLEM,
  secrets,
  sql,
  TAGS_URL,
  taskUrl,
  useTasksHttp,
} from './helpers/tasks-http';

/**
 * GET /api/v1/tags (shared/spec/http-api.md, Routes): every tag on at least
 * one of the caller's tasks with the number of such tasks, by code point.
 * The expected list is counted here from the tags the test stored.
 */

useTasksHttp();

/** The tags of the caller's tasks as the contract lists them, worked out from the tags given. */
function expectedTags(tagLists: string[][]): { name: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const tags of tagLists) for (const tag of tags) counts.set(tag, (counts.get(tag) ?? 0) + 1);
  // Code point order is UTF-8 byte order (not UTF-16 order, which puts emoji before U+FF21).
  return [...counts]
    .sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map(([name, count]) => ({ name, count }));
}

describe('GET /api/v1/tags', () => {
  it('answers a user without tags (or tasks) with no items', async () => {
    await createTask({ title: 'untagged' });

    const res = await call('GET', TAGS_URL);

    expect({ status: res.statusCode, body: res.json() }).toEqual({ status: 200, body: { items: [] } });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
  });

  it("lists the caller's tags with their counts, by code point", async () => {
    const alices = [
      ['errands', 'home'],
      ['errands'],
      ['zeta', 'é', '_x', EMOJI, '\uff41'], // U+FF41 fullwidth a: after é, before the emoji
      ['home', 'a', 'b'],
      ['errands', 'ą'],
    ];
    for (const [i, tags] of alices.entries()) await createTask({ title: `t${i}`, tags });
    await createTask({ title: 'none' });
    await createTask({ title: 'bob', tags: ['errands', 'bob-only', 'aaa'] }, BOB);

    const res = await call('GET', TAGS_URL);

    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ items: expectedTags(alices) });
    expect(res.json().items.slice(0, 4)).toEqual([
      { name: '_x', count: 1 },
      { name: 'a', count: 1 },
      { name: 'b', count: 1 },
      { name: 'errands', count: 3 },
    ]);
  });

  it('counts tags as stored: trimmed and lower-cased on write', async () => {
    await createTask({ title: 'one', tags: [' Work '] });
    await createTask({ title: 'two', tags: ['WORK', 'home'] });

    const res = await call('GET', TAGS_URL);

    expect(res.json()).toEqual({
      items: [
        { name: 'home', count: 1 },
        { name: 'work', count: 2 },
      ],
    });
  });

  it('follows the tasks: a PATCH that replaces tags and a DELETE (with its subtasks) change the counts', async () => {
    const parent = await createTask({ title: 'parent', tags: ['a', 'b'] });
    await createTask({ title: 'child', parentId: parent.id, tags: ['a', 'c'] });
    const other = await createTask({ title: 'other', tags: ['a'] });

    expect((await call('PATCH', taskUrl(other.id), { body: { tags: ['d'] } })).statusCode).toBe(200);
    expect((await call('GET', TAGS_URL)).json()).toEqual({
      items: expectedTags([['a', 'b'], ['a', 'c'], ['d']]),
    });

    expect((await call('DELETE', taskUrl(parent.id))).statusCode).toBe(204);
    await expect(sql().query('select count(*)::int as n from tasks')).resolves.toMatchObject({
      rows: [{ n: 1 }],
    });
    expect((await call('GET', TAGS_URL)).json()).toEqual({ items: [{ name: 'd', count: 1 }] });
  });

  it('never shows one user the tags of another', async () => {
    await createTask({ title: 'alice', tags: ['shared', 'alice-only'] });
    await createTask({ title: 'bob', tags: ['shared', 'bob-only'] }, BOB);
    await createTask({ title: 'bob 2', tags: ['shared'] }, BOB);

    const alices = await call('GET', TAGS_URL);
    const bobs = await call('GET', TAGS_URL, { as: BOB });

    expect(alices.json()).toEqual({
      items: [
        { name: 'alice-only', count: 1 },
        { name: 'shared', count: 1 },
      ],
    });
    expect(bobs.json()).toEqual({
      items: [
        { name: 'bob-only', count: 1 },
        { name: 'shared', count: 2 },
      ],
    });
  });

  it('refuses an unknown query parameter with 400', async () => {
    const res = await call('GET', `${TAGS_URL}?limit=10`);

    expectValidationProblem(res, TAGS_URL, [notAllowed('limit')], secrets());
  });

  it('answers 401 MISSING_TOKEN without a token', async () => {
    const res = await call('GET', TAGS_URL, { as: null });

    expectProblem(res, { ...PROBLEM.missingToken, instance: TAGS_URL }, secrets());
    expect(res.headers['www-authenticate']).toMatch(/^Bearer(\s|$)/);
  });
});
