import { randomUUID } from 'node:crypto';
import { TASK_SORTS } from '../src/tasks/task.types';
import { expectTaskShape, expectValidationProblem, type TaskJson } from './helpers/http-assert';
import {
  ALICE,
  asTask,
  BAD_CURSOR,
  BAD_QUERY_ENCODING,
  BASE,
  BOB,
  call,
  createList,
  createTask,
  EMOJI,
  MISSING_ID,
  noNul,
  notAllowed,
  row,
  secrets,
  sql,
  useTasksHttp,
} from './helpers/tasks-http';

/**
 * GET /api/v1/tasks (shared/spec/http-api.md, Routes): filters, sorts and
 * keyset pagination, through Fastify's inject against the production app on a
 * real PostgreSQL, with the expected order computed here from the data the
 * test stored.
 */

const TAG_RULE = 'must be 1 to 50 characters after trimming, without control characters';
const SORTS = ['createdAt', '-createdAt', 'updatedAt', '-updatedAt', 'title', '-title'] as const;
type Sort = (typeof SORTS)[number];

useTasksHttp();

describe('GET /api/v1/tasks', () => {
  it('answers a user with no tasks with an empty page and no cursor', async () => {
    const res = await call('GET', BASE);

    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ items: [], nextCursor: null });
  });

  it('lists newest first, 20 to a page, by default', async () => {
    const created: TaskJson[] = [];
    for (let i = 0; i < 21; i++) created.push(await createTask({ title: `task ${i}` }));
    const newestFirst = created.map((t) => t.id).reverse();

    const first = await call('GET', BASE);
    expect(first.statusCode).toBe(200);
    const page = first.json();
    expect(page.items.map((t: TaskJson) => t.id)).toEqual(newestFirst.slice(0, 20));
    expect(page.items[0]).toEqual(created[20]);
    expect(page.nextCursor).toEqual(expect.any(String));

    const second = await call('GET', `${BASE}?cursor=${encodeURIComponent(page.nextCursor)}`);
    expect(second.json()).toEqual({ items: [created[0]], nextCursor: null });
  });

  it('filters by completed', async () => {
    const open = await createTask({ title: 'open' });
    const done = await createTask({ title: 'done', completed: true });

    const onlyDone = await call('GET', `${BASE}?completed=true`);
    expect(onlyDone.json()).toEqual({ items: [done], nextCursor: null });
    const onlyOpen = await call('GET', `${BASE}?completed=false`);
    expect(onlyOpen.json()).toEqual({ items: [open], nextCursor: null });
  });

  it('filters by a case-insensitive substring of the title, with % and _ taken literally', async () => {
    const milk = await createTask({ title: 'Buy MILK' });
    const ete = await createTask({ title: 'Été à Paris' });
    const percent = await createTask({ title: '100% done' });
    const underscore = await createTask({ title: 'snake_case' });
    await createTask({ title: 'something else', completed: true });

    const titles = async (query: string) => {
      const res = await call('GET', `${BASE}?sort=title&${query}`);
      expect(res.statusCode).toBe(200);
      expect(res.json().nextCursor).toBeNull();
      return res.json().items.map((t: TaskJson) => t.id);
    };

    await expect(titles('q=milk')).resolves.toEqual([milk.id]);
    await expect(titles('q=bUy%20mIlK')).resolves.toEqual([milk.id]);
    await expect(titles(`q=${encodeURIComponent('ÉTÉ')}`)).resolves.toEqual([ete.id]);
    await expect(titles('q=%25')).resolves.toEqual([percent.id]);
    await expect(titles('q=_')).resolves.toEqual([underscore.id]);
    await expect(titles('q=milk&completed=true')).resolves.toEqual([]);
    await expect(titles('q=else&completed=true')).resolves.toHaveLength(1);
    await expect(titles(`q=${encodeURIComponent(EMOJI.repeat(255))}`)).resolves.toEqual([]);
  });

  it.each([
    ['limit=0', [{ field: 'limit', message: 'must be an integer from 1 to 100' }]],
    ['limit=101', [{ field: 'limit', message: 'must be an integer from 1 to 100' }]],
    ['limit=abc', [{ field: 'limit', message: 'must be an integer from 1 to 100' }]],
    ['limit=-1', [{ field: 'limit', message: 'must be an integer from 1 to 100' }]],
    ['limit=1.5', [{ field: 'limit', message: 'must be an integer from 1 to 100' }]],
    ['limit=', [{ field: 'limit', message: 'must be an integer from 1 to 100' }]],
    [
      'sort=-position',
      [
        {
          field: 'sort',
          message: `must be one of ${TASK_SORTS.join(', ')}`,
        },
      ],
    ],
    [
      'sort=',
      [
        {
          field: 'sort',
          message: `must be one of ${TASK_SORTS.join(', ')}`,
        },
      ],
    ],
    ['completed=yes', [{ field: 'completed', message: 'must be true or false' }]],
    ['completed=1', [{ field: 'completed', message: 'must be true or false' }]],
    ['q=', [{ field: 'q', message: 'must be 1 to 255 characters' }]],
    [`q=${encodeURIComponent(EMOJI.repeat(256))}`, [{ field: 'q', message: 'must be 1 to 255 characters' }]],
    ['q=%00', [noNul('q')]],
    ['page=2', [notAllowed('page')]],
    ['userId=user_bob', [notAllowed('userId')]],
    ['q=a&q=b', [{ field: 'q', message: 'must be given once' }]],
    ['q=a&q=a', [{ field: 'q', message: 'must be given once' }]],
    ['limit=5&limit=5', [{ field: 'limit', message: 'must be an integer from 1 to 100' }]],
    [
      'sort=title&sort=title',
      [
        {
          field: 'sort',
          message: `must be one of ${TASK_SORTS.join(', ')}`,
        },
      ],
    ],
    ['completed=true&completed=true', [{ field: 'completed', message: 'must be true or false' }]],
    ['q=%zz', [BAD_QUERY_ENCODING]],
    ['q=%', [BAD_QUERY_ENCODING]],
    ['q=%E0%A4', [BAD_QUERY_ENCODING]],
    ['q=%ff', [BAD_QUERY_ENCODING]],
  ])('refuses ?%s with 400 naming the parameter', async (query, errors) => {
    await createTask();
    const res = await call('GET', `${BASE}?${query}`);

    expectValidationProblem(res, BASE, errors, secrets());
  });

  it('takes limit 1 and limit 100', async () => {
    await createTask({ title: 'a' });
    await createTask({ title: 'b' });

    const one = await call('GET', `${BASE}?limit=1`);
    expect(one.json()).toMatchObject({ items: [{ title: 'b' }], nextCursor: expect.any(String) });
    const hundred = await call('GET', `${BASE}?limit=100`);
    expect(hundred.json()).toMatchObject({ items: [{ title: 'b' }, { title: 'a' }], nextCursor: null });
  });

  describe('keyset pagination', () => {
    /**
     * Alice's tasks, inserted with chosen timestamps (microseconds apart inside one
     * millisecond, and exact ties, so the millisecond JSON form cannot be the cursor)
     * and titles that sort differently by code point than by UTF-16 unit or locale.
     */
    const BASE_TIME = '2020-01-01 00:00:00+00';
    const SEED: { title: string; created: number; updated: number; completed: boolean }[] = [
      { title: 'b', created: 0, updated: 40, completed: false },
      { title: 'B', created: 1, updated: 1, completed: true },
      { title: 'a', created: 1, updated: 1, completed: false },
      { title: '\uFF21', created: 1, updated: 999, completed: false }, // fullwidth A: after 'z', before emoji
      { title: EMOJI, created: 2, updated: 1000, completed: false },
      { title: 'é', created: 500, updated: 1000, completed: true },
      { title: 'e', created: 999, updated: 1000, completed: false },
      { title: 'same', created: 1000, updated: 2, completed: false },
      { title: 'same', created: 1001, updated: 2, completed: false },
      { title: 'same', created: 1001, updated: 2, completed: true },
      { title: 'Zed', created: 5000, updated: 5_000_000, completed: false },
      { title: 'zed', created: 5001, updated: 0, completed: false },
      { title: '_x', created: 1_000_000, updated: 3, completed: false },
    ];

    interface Seeded {
      id: string;
      title: string;
      created: number;
      updated: number;
      completed: boolean;
    }

    async function seed(user: string, rows = SEED): Promise<Seeded[]> {
      const seeded = rows.map((r) => ({ ...r, id: randomUUID() }));
      for (const t of seeded) {
        await sql().query(
          `insert into tasks (id, user_id, title, completed, created_at, updated_at)
           values ($1, $2, $3, $4, $5::timestamptz + $6::bigint * interval '1 microsecond',
                   $5::timestamptz + $7::bigint * interval '1 microsecond')`,
          [t.id, user, t.title, t.completed, BASE_TIME, t.created, t.updated],
        );
      }
      return seeded;
    }

    const byCodePoint = (a: string, b: string) =>
      Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

    function expectedOrder(tasks: Seeded[], sort: Sort): string[] {
      const key = sort.replace('-', '') as 'createdAt' | 'updatedAt' | 'title';
      const sign = sort.startsWith('-') ? -1 : 1;
      return [...tasks]
        .sort((x, y) => {
          const byKey =
            key === 'title'
              ? byCodePoint(x.title, y.title)
              : key === 'createdAt'
                ? x.created - y.created
                : x.updated - y.updated;
          // PostgreSQL orders uuids by their bytes: the same as their lower-case hex text.
          return sign * (byKey !== 0 ? byKey : x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
        })
        .map((t) => t.id);
    }

    async function page(
      query: string,
      as = ALICE,
    ): Promise<{ items: TaskJson[]; nextCursor: string | null }> {
      const res = await call('GET', `${BASE}?${query}`, { as });
      expect(res.statusCode).toBe(200);
      return res.json();
    }

    const titlesToInsert = ['c', 'A', 'sama', 'samf', '\u00e9z', EMOJI + EMOJI, '0', 'zz'];

    it.each(SORTS)(
      'sort=%s walks every task exactly once, in order, while tasks are being created',
      async (sort) => {
        const originals = await seed(ALICE);
        await seed(BOB, SEED.slice(0, 4));
        const expected = expectedOrder(originals, sort);
        const limit = 4;

        const seen: string[] = [];
        const pages: number[] = [];
        let cursor: string | null = null;
        let inserted = 0;
        do {
          const query: string = `sort=${sort}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
          const current = await page(query);
          pages.push(current.items.length);
          for (const item of current.items) {
            expectTaskShape(item);
            expect(item.userId).toBe(ALICE);
            seen.push(item.id);
          }
          cursor = current.nextCursor;
          // Another client creates a task between two pages.
          await createTask({ title: titlesToInsert[inserted++ % titlesToInsert.length] });
          expect(pages.length).toBeLessThan(20);
        } while (cursor !== null);

        expect(new Set(seen).size).toBe(seen.length);
        const ids = new Set(expected);
        expect(seen.filter((id) => ids.has(id))).toEqual(expected);
        // Only the last page may be short, and none is empty.
        expect(pages.slice(0, -1).every((n) => n === limit)).toBe(true);
        expect(pages[pages.length - 1]).toBeGreaterThan(0);
      },
    );

    it.each(SORTS)(
      'sort=%s returns exactly the expected pages, nextCursor null on the last one',
      async (sort) => {
        const originals = await seed(ALICE, SEED.slice(0, 12));
        const expected = expectedOrder(originals, sort);

        const ids = (p: { items: TaskJson[] }) => p.items.map((t) => t.id);
        const first = await page(`sort=${sort}&limit=4`);
        const second = await page(`sort=${sort}&limit=4&cursor=${encodeURIComponent(first.nextCursor!)}`);
        const third = await page(`sort=${sort}&limit=4&cursor=${encodeURIComponent(second.nextCursor!)}`);

        expect([ids(first), ids(second), ids(third)]).toEqual([
          expected.slice(0, 4),
          expected.slice(4, 8),
          expected.slice(8, 12),
        ]);
        expect(first.nextCursor).toEqual(expect.any(String));
        expect(second.nextCursor).toEqual(expect.any(String));
        expect(third.nextCursor).toBeNull();

        const whole = await page(`sort=${sort}&limit=12`);
        expect({ ids: ids(whole), nextCursor: whole.nextCursor }).toEqual({
          ids: expected,
          nextCursor: null,
        });
      },
    );

    it('shows the stored values of each listed task', async () => {
      const [one] = await seed(ALICE, SEED.slice(0, 1));
      const listed = await page('limit=1');

      expect(listed.items).toEqual([asTask((await row(one.id))!)]);
    });

    it('pages through a filtered list (completed and q) with the filter kept', async () => {
      const originals = await seed(ALICE);
      const open = originals.filter((t) => !t.completed);
      const expected = expectedOrder(open, 'title');

      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const current = await page(
          `completed=false&sort=title&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        seen.push(...current.items.map((t) => t.id));
        cursor = current.nextCursor;
      } while (cursor !== null);
      expect(seen).toEqual(expected);

      const sames = expectedOrder(
        originals.filter((t) => t.title === 'same'),
        '-createdAt',
      );
      const p1 = await page('q=SAME&limit=2');
      const p2 = await page(`q=SAME&limit=2&cursor=${encodeURIComponent(p1.nextCursor!)}`);
      expect([...p1.items, ...p2.items].map((t) => t.id)).toEqual(sames);
      expect(p2.nextCursor).toBeNull();
    });

    describe('refuses a cursor that is not a cursor of this list', () => {
      let cursor: string;

      beforeEach(async () => {
        await seed(ALICE);
        await seed(BOB);
        const first = await page('sort=title&limit=2');
        cursor = first.nextCursor!;
        expect(cursor).toEqual(expect.any(String));
      });

      const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);

      const refused = async (query: string, as = ALICE) => {
        const res = await call('GET', `${BASE}?${query}`, { as });
        expectValidationProblem(res, BASE, [BAD_CURSOR], secrets());
      };

      it('altered in its payload', async () => {
        await refused(`sort=title&limit=2&cursor=${encodeURIComponent(flip(cursor, 3))}`);
      });

      it('altered in its signature', async () => {
        await refused(`sort=title&limit=2&cursor=${encodeURIComponent(flip(cursor, cursor.length - 2))}`);
      });

      it('forged: another position under the original signature', async () => {
        const [, signature] = cursor.split('.');
        const forged = Buffer.from(JSON.stringify({ s: 'title', k: 'a', i: MISSING_ID })).toString(
          'base64url',
        );
        await refused(`sort=title&limit=2&cursor=${encodeURIComponent(`${forged}.${signature}`)}`);
      });

      it.each([['garbage'], [''], ['a.b.c'], ['.']])('malformed: %j', async (bad) => {
        await refused(`sort=title&limit=2&cursor=${encodeURIComponent(bad)}`);
      });

      it.each([['-title'], ['createdAt'], ['-updatedAt']])(
        'made for sort=title, used with sort=%s',
        async (sort) => {
          await refused(`sort=${sort}&limit=2&cursor=${encodeURIComponent(cursor)}`);
        },
      );

      it('made for sort=title, used with the default sort', async () => {
        await refused(`limit=2&cursor=${encodeURIComponent(cursor)}`);
      });

      it('made for Alice, used by Bob (same sort, and Bob has tasks)', async () => {
        await refused(`sort=title&limit=2&cursor=${encodeURIComponent(cursor)}`, BOB);
      });

      it('given twice', async () => {
        const c = encodeURIComponent(cursor);
        const res = await call('GET', `${BASE}?sort=title&cursor=${c}&cursor=${c}`);
        expectValidationProblem(res, BASE, [{ field: 'cursor', message: 'must be given once' }], secrets());
      });
    });
  });
});

type Page = { items: TaskJson[]; nextCursor: string | null };

/** One page of Alice's (or another user's) list, which must be a 200 of Tasks. */
async function listPage(query: string, as = ALICE): Promise<Page> {
  const res = await call('GET', `${BASE}?${query}`, { as });
  expect({ status: res.statusCode, body: res.statusCode === 200 ? 'a page' : res.json() }).toEqual({
    status: 200,
    body: 'a page',
  });
  const page = res.json();
  for (const item of page.items) {
    expectTaskShape(item);
    expect(item.userId).toBe(as);
  }
  return page;
}

describe('GET /api/v1/tasks: the 1.1 filters', () => {
  const ALL_DAY = (date: string) => ({ date, time: null, timeZone: null });

  /**
   * Alice's tasks a–f (titles sort in that order) and two of Bob's that would
   * match most filters, were they Alice's:
   *   a  inbox, top level   high    home, urgent  2026-12-24 all day   open
   *   b  inbox, under a     low     home          2026-12-25 09:00      completed
   *   c  Work, top level    medium  work, urgent  2026-12-31 all day   open
   *   d  Work, under c      none    –             –                    open
   *   e  Home, top level    high    work          2027-01-01 23:59      completed
   *   f  inbox, top level   none    –             –                    open
   */
  async function seed() {
    const work = await createList('Work');
    const home = await createList('Home');
    const a = await createTask({
      title: 'a inbox top',
      priority: 'high',
      tags: ['home', 'urgent'],
      due: ALL_DAY('2026-12-24'),
    });
    const b = await createTask({
      title: 'b inbox sub',
      parentId: a.id,
      priority: 'low',
      tags: ['home'],
      due: { date: '2026-12-25', time: '09:00', timeZone: 'Europe/Berlin' },
      completed: true,
    });
    const c = await createTask({
      title: 'c work top',
      listId: work,
      priority: 'medium',
      tags: ['work', 'urgent'],
      due: ALL_DAY('2026-12-31'),
    });
    const d = await createTask({ title: 'd work sub', listId: work, parentId: c.id });
    const e = await createTask({
      title: 'e home top',
      listId: home,
      priority: 'high',
      tags: ['work'],
      due: { date: '2027-01-01', time: '23:59', timeZone: 'UTC' },
      completed: true,
    });
    const f = await createTask({ title: 'f plain' });
    const bobsList = await createList('Work', BOB);
    const bobsTask = await createTask(
      {
        title: 'a bob',
        listId: bobsList,
        priority: 'high',
        tags: ['home', 'urgent'],
        due: ALL_DAY('2026-12-24'),
      },
      BOB,
    );
    await createTask({ title: 'b bob', listId: bobsList, parentId: bobsTask.id, tags: ['home'] }, BOB);
    return { tasks: { a, b, c, d, e, f }, work, home, bobsList, bobsTask };
  }

  type Seeded = Awaited<ReturnType<typeof seed>>;
  type Key = keyof Seeded['tasks'];

  it.each<[string, (s: Seeded) => string, Key[]]>([
    ['completed=true', () => 'completed=true', ['b', 'e']],
    ['completed=false', () => 'completed=false', ['a', 'c', 'd', 'f']],
    ['listId of a list', (s) => `listId=${s.work}`, ['c', 'd']],
    ['listId of a list, in upper case', (s) => `listId=${s.work.toUpperCase()}`, ['c', 'd']],
    ['listId of another list', (s) => `listId=${s.home}`, ['e']],
    ['listId=inbox', () => 'listId=inbox', ['a', 'b', 'f']],
    ['parentId of a task: its subtasks', (s) => `parentId=${s.tasks.a.id}`, ['b']],
    ['parentId in upper case', (s) => `parentId=${s.tasks.c.id.toUpperCase()}`, ['d']],
    ['parentId=none: top-level tasks', () => 'parentId=none', ['a', 'c', 'e', 'f']],
    ['one tag', () => 'tag=urgent', ['a', 'c']],
    ['tag repeated: every tag', () => 'tag=home&tag=urgent', ['a']],
    ['tags normalised as on write', () => 'tag=%20URGENT%20&tag=Home', ['a']],
    ['the same tag twice (changes nothing)', () => 'tag=urgent&tag=urgent', ['a', 'c']],
    ['two tags no task carries together', () => 'tag=home&tag=work', []],
    ['a tag nobody has', () => 'tag=nothing', []],
    ['one priority', () => 'priority=high', ['a', 'e']],
    ['priority repeated: any of them', () => 'priority=high&priority=low', ['a', 'b', 'e']],
    ['priority=none', () => 'priority=none', ['d', 'f']],
    ['the same priority twice', () => 'priority=high&priority=high', ['a', 'e']],
    ['dueFrom (inclusive), excluding tasks without a due', () => 'dueFrom=2026-12-25', ['b', 'c', 'e']],
    ['dueTo (inclusive), excluding tasks without a due', () => 'dueTo=2026-12-31', ['a', 'b', 'c']],
    ['dueFrom and dueTo, both inclusive', () => 'dueFrom=2026-12-25&dueTo=2026-12-31', ['b', 'c']],
    ['dueFrom = dueTo, an all-day task', () => 'dueFrom=2026-12-24&dueTo=2026-12-24', ['a']],
    ['dueFrom = dueTo, a task at 23:59', () => 'dueFrom=2027-01-01&dueTo=2027-01-01', ['e']],
    [
      'the widest range: every task with a due',
      () => 'dueFrom=1900-01-01&dueTo=9999-12-31',
      ['a', 'b', 'c', 'e'],
    ],
    ['dueFrom after dueTo: an empty page', () => 'dueFrom=2026-12-26&dueTo=2026-12-25', []],
    ['filters together', () => 'listId=inbox&parentId=none&completed=false', ['a', 'f']],
    ['q with priority', () => 'q=TOP&priority=high', ['a', 'e']],
    ['tag with listId', (s) => `tag=urgent&listId=${s.work}`, ['c']],
    ["another user's list: an empty page", (s) => `listId=${s.bobsList}`, []],
    ['a list that does not exist: an empty page', () => `listId=${MISSING_ID}`, []],
    ["another user's task as parentId: an empty page", (s) => `parentId=${s.bobsTask.id}`, []],
    ['a subtask as parentId: an empty page', (s) => `parentId=${s.tasks.d.id}`, []],
    ['a task that does not exist as parentId: an empty page', () => `parentId=${MISSING_ID}`, []],
  ])('filters by %s', async (_case, query, keys) => {
    const s = await seed();

    const page = await listPage(`sort=title&limit=100&${query(s)}`);

    expect(page).toEqual({ items: keys.map((k) => s.tasks[k]), nextCursor: null });
  });

  it('gives Bob only his own tasks for the same filters', async () => {
    const s = await seed();

    const page = await listPage('sort=title&tag=home&priority=high&priority=none', BOB);

    expect(page.items.map((t) => t.title)).toEqual(['a bob', 'b bob']);
    expect(page.items[0].id).toBe(s.bobsTask.id);
  });

  it.each([
    ['priority=HIGH', [{ field: 'priority', message: 'must be one of none, low, medium, high' }]],
    [
      'priority=high&priority=urgent',
      [{ field: 'priority', message: 'must be one of none, low, medium, high' }],
    ],
    ['priority=', [{ field: 'priority', message: 'must be one of none, low, medium, high' }]],
    ['listId=none', [{ field: 'listId', message: 'must be a list id or inbox' }]],
    ['listId=abc', [{ field: 'listId', message: 'must be a list id or inbox' }]],
    ['listId=', [{ field: 'listId', message: 'must be a list id or inbox' }]],
    ['parentId=inbox', [{ field: 'parentId', message: 'must be a task id or none' }]],
    ['parentId=42', [{ field: 'parentId', message: 'must be a task id or none' }]],
    ['tag=', [{ field: 'tag', message: TAG_RULE }]],
    ['tag=%20%20', [{ field: 'tag', message: TAG_RULE }]],
    ['tag=ok&tag=', [{ field: 'tag', message: TAG_RULE }]],
    [`tag=${'a'.repeat(51)}`, [{ field: 'tag', message: TAG_RULE }]],
    ['tag=a%01b', [{ field: 'tag', message: TAG_RULE }]],
    ['dueFrom=2026-02-30', [{ field: 'dueFrom', message: 'must be a date, YYYY-MM-DD' }]],
    ['dueFrom=', [{ field: 'dueFrom', message: 'must be a date, YYYY-MM-DD' }]],
    ['dueTo=2026-1-1', [{ field: 'dueTo', message: 'must be a date, YYYY-MM-DD' }]],
    ['dueTo=tomorrow', [{ field: 'dueTo', message: 'must be a date, YYYY-MM-DD' }]],
    ['sort=Due', [{ field: 'sort', message: `must be one of ${TASK_SORTS.join(', ')}` }]],
    ['sort=-position', [{ field: 'sort', message: `must be one of ${TASK_SORTS.join(', ')}` }]],
    ['listId=inbox&listId=inbox', [{ field: 'listId', message: 'must be given once' }]],
    ['parentId=none&parentId=none', [{ field: 'parentId', message: 'must be given once' }]],
    ['dueFrom=2026-01-01&dueFrom=2026-01-01', [{ field: 'dueFrom', message: 'must be given once' }]],
    ['dueTo=2026-01-01&dueTo=2026-12-31', [{ field: 'dueTo', message: 'must be given once' }]],
    [
      'listId=none&priority=HIGH',
      [
        { field: 'listId', message: 'must be a list id or inbox' },
        { field: 'priority', message: 'must be one of none, low, medium, high' },
      ],
    ],
  ])('refuses ?%s with 400 naming the parameter', async (query, errors) => {
    await createTask();
    const res = await call('GET', `${BASE}?${query}`);

    expectValidationProblem(res, BASE, errors, secrets());
  });
});

describe('GET /api/v1/tasks: keyset pagination of the 1.1 sorts', () => {
  type Due = { date: string; time: string | null; timeZone: string | null } | null;
  interface Seed {
    id: string;
    title: string;
    due: Due;
    priority: TaskJson['priority'];
    position: string;
  }

  const allDay = (date: string): Due => ({ date, time: null, timeZone: null });
  const at = (date: string, time: string, timeZone: string): Due => ({ date, time, timeZone });

  /**
   * Fourteen tasks: three without a due; on 2026-12-24 three all-day ones
   * and four timed ones (00:00, two at 09:30 in different zones, 23:59);
   * the first and last possible dates; every priority several times; and
   * positions with ties, upper before lower case, and prefixes.
   */
  const DATA: Omit<Seed, 'id'>[] = [
    { title: 'n1', due: null, priority: 'high', position: 'a0' },
    { title: 'n2', due: null, priority: 'none', position: 'a0' },
    { title: 'n3', due: null, priority: 'low', position: 'Zz' },
    { title: 'd1', due: allDay('2026-12-24'), priority: 'medium', position: 'a1' },
    { title: 'd2', due: allDay('2026-12-24'), priority: 'high', position: 'a1' },
    { title: 'd3', due: allDay('2026-12-24'), priority: 'none', position: 'a1' },
    { title: 't1', due: at('2026-12-24', '00:00', 'Europe/Berlin'), priority: 'low', position: 'a0V' },
    { title: 't2', due: at('2026-12-24', '09:30', 'UTC'), priority: 'none', position: 'a2' },
    { title: 't3', due: at('2026-12-24', '09:30', 'Asia/Kolkata'), priority: 'medium', position: 'b0' },
    { title: 't4', due: at('2026-12-24', '23:59', 'UTC'), priority: 'high', position: 'A' },
    { title: 'e1', due: at('2026-12-23', '23:59', 'UTC'), priority: 'high', position: 'a00' },
    { title: 'e2', due: allDay('2026-12-25'), priority: 'low', position: 'a' },
    { title: 'e3', due: allDay('1900-01-01'), priority: 'none', position: 'Zz' },
    { title: 'e4', due: at('9999-12-31', '23:59', 'UTC'), priority: 'medium', position: '~' },
  ];

  async function insert(user: string, rows: Omit<Seed, 'id'>[]): Promise<Seed[]> {
    const seeded = rows.map((r) => ({ ...r, id: randomUUID() }));
    for (const t of seeded) {
      await sql().query(
        `insert into tasks (id, user_id, title, priority, due_date, due_time, due_time_zone, position)
         values ($1, $2, $3, $4::task_priority, $5::date, $6::time, $7, $8)`,
        [
          t.id,
          user,
          t.title,
          t.priority,
          t.due?.date ?? null,
          t.due?.time ?? null,
          t.due?.timeZone ?? null,
          t.position,
        ],
      );
    }
    return seeded;
  }

  // PostgreSQL orders uuids by their bytes: the same as their lower-case hex text.
  const byId = (x: Seed, y: Seed) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
  const RANK = { none: 0, low: 1, medium: 2, high: 3 } as const;
  /** due.date, then all day before timed, then due.time; the zone plays no part. */
  const byDue = (x: Seed, y: Seed) => {
    const [a, b] = [x.due!, y.due!];
    if (a.date !== b.date) return a.date < b.date ? -1 : 1;
    if ((a.time === null) !== (b.time === null)) return a.time === null ? -1 : 1;
    return a.time === b.time ? 0 : a.time! < b.time! ? -1 : 1;
  };
  const byPosition = (x: Seed, y: Seed) => Buffer.compare(Buffer.from(x.position), Buffer.from(y.position));

  const NEW_SORTS = ['due', '-due', 'priority', '-priority', 'position'] as const;
  type NewSort = (typeof NEW_SORTS)[number];

  /** The order the contract gives, worked out here from the data. */
  function expectedOrder(rows: Seed[], sort: NewSort): string[] {
    const dated = rows.filter((r) => r.due !== null);
    const undated = rows.filter((r) => r.due === null);
    let ordered: Seed[];
    switch (sort) {
      case 'due':
        ordered = [...dated.sort((x, y) => byDue(x, y) || byId(x, y)), ...undated.sort(byId)];
        break;
      case '-due':
        // The exact reverse, ids descending too, except that tasks without a due stay last.
        ordered = [
          ...dated.sort((x, y) => -(byDue(x, y) || byId(x, y))),
          ...undated.sort((x, y) => -byId(x, y)),
        ];
        break;
      case 'priority':
        ordered = [...rows].sort((x, y) => RANK[x.priority] - RANK[y.priority] || byId(x, y));
        break;
      case '-priority':
        ordered = [...rows].sort((x, y) => -(RANK[x.priority] - RANK[y.priority] || byId(x, y)));
        break;
      case 'position':
        ordered = [...rows].sort((x, y) => byPosition(x, y) || byId(x, y));
        break;
    }
    return ordered.map((r) => r.id);
  }

  /** Walks every page, with the limits given in turn; returns the pages. */
  async function walk(
    query: string,
    limits: number[] = [2],
    between?: () => Promise<unknown>,
  ): Promise<Page[]> {
    const pages: Page[] = [];
    let cursor: string | null = null;
    do {
      const limit = limits[pages.length % limits.length];
      const page: Page = await listPage(
        `${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      pages.push(page);
      cursor = page.nextCursor;
      if (between) await between();
      expect(pages.length).toBeLessThan(30);
    } while (cursor !== null);
    return pages;
  }

  it.each(NEW_SORTS)(
    'sort=%s walks every task once, 2 at a time, in the order of the contract, nextCursor null exactly at the end',
    async (sort) => {
      const seeded = await insert(ALICE, DATA);
      await insert(BOB, DATA.slice(0, 5));

      const pages = await walk(`sort=${sort}`);

      expect(pages.flatMap((p) => p.items.map((t) => t.id))).toEqual(expectedOrder(seeded, sort));
      // 14 tasks: seven full pages, the last of them without a cursor (no empty eighth page).
      expect(pages.map((p) => [p.items.length, p.nextCursor === null])).toEqual([
        ...Array.from({ length: 6 }, () => [2, false]),
        [2, true],
      ]);
    },
  );

  it.each(NEW_SORTS)('sort=%s shows each task as stored', async (sort) => {
    const seeded = await insert(ALICE, DATA);

    const pages = await walk(`sort=${sort}`, [5]);

    for (const item of pages.flatMap((p) => p.items)) {
      expect(item).toEqual(asTask((await row(item.id))!));
      const source = seeded.find((s) => s.id === item.id)!;
      expect({ due: item.due, priority: item.priority, position: item.position }).toEqual({
        due: source.due,
        priority: source.priority,
        position: source.position,
      });
    }
  });

  it.each([['due'], ['-due']] as const)(
    'sort=%s walks every original task exactly once, in order, while tasks with and without a due are created',
    async (sort) => {
      const seeded = await insert(ALICE, DATA);
      const extra: Omit<Seed, 'id'>[] = [
        { title: 'x1', due: null, priority: 'none', position: 'a0' },
        { title: 'x2', due: allDay('2026-12-24'), priority: 'none', position: 'a0' },
        { title: 'x3', due: at('2026-12-24', '09:30', 'UTC'), priority: 'none', position: 'a0' },
      ];
      let n = 0;

      const pages = await walk(`sort=${sort}`, [3], () => insert(ALICE, [extra[n++ % extra.length]]));

      const seen = pages.flatMap((p) => p.items.map((t) => t.id));
      expect(new Set(seen).size).toBe(seen.length);
      const originals = new Set(seeded.map((s) => s.id));
      expect(seen.filter((id) => originals.has(id))).toEqual(expectedOrder(seeded, sort));
    },
  );

  it('lets limit change between pages', async () => {
    const seeded = await insert(ALICE, DATA);

    const pages = await walk('sort=due', [2, 5, 1, 3]);

    expect(pages.flatMap((p) => p.items.map((t) => t.id))).toEqual(expectedOrder(seeded, 'due'));
    expect(pages.map((p) => p.items.length)).toEqual([2, 5, 1, 3, 2, 1]);
    expect(pages[pages.length - 1].nextCursor).toBeNull();
  });

  it.each([
    ['-due', 'dueFrom=2026-12-24&dueTo=2026-12-24', (s: Seed) => s.due?.date === '2026-12-24'],
    ['due', 'dueFrom=2026-12-24', (s: Seed) => s.due !== null && s.due.date >= '2026-12-24'],
    ['priority', 'priority=high&priority=none', (s: Seed) => s.priority === 'high' || s.priority === 'none'],
    ['-priority', 'dueTo=2026-12-24', (s: Seed) => s.due !== null && s.due.date <= '2026-12-24'],
    ['position', 'priority=low', (s: Seed) => s.priority === 'low'],
  ] as const)('sort=%s walks a filtered list (%s) 2 at a time', async (sort, filter, keep) => {
    const seeded = await insert(ALICE, DATA);
    const expected = expectedOrder(seeded.filter(keep), sort);
    expect(expected.length).toBeGreaterThan(2);

    const pages = await walk(`sort=${sort}&${filter}`);

    expect(pages.flatMap((p) => p.items.map((t) => t.id))).toEqual(expected);
  });

  describe('a cursor is bound to its filters', () => {
    const FILTERS: [string, string][] = [
      ['completed', 'false'],
      ['q', 'task'],
      ['listId', 'inbox'],
      ['parentId', 'none'],
      ['tag', 'a'],
      ['tag', 'b'],
      ['priority', 'none'],
      ['priority', 'low'],
      ['priority', 'medium'],
      ['priority', 'high'],
      ['dueFrom', '1900-01-01'],
      ['dueTo', '9999-12-31'],
    ];
    const qs = (pairs: [string, string][]) =>
      pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
    let seeded: Seed[];
    let expected: string[];
    let cursor: string;

    beforeEach(async () => {
      seeded = await insert(
        ALICE,
        DATA.map((d) => ({ ...d, title: `task ${d.title}` })),
      );
      await sql().query(`update tasks set tags = '{a,b}'`);
      expected = expectedOrder(
        seeded.filter((s) => s.due !== null),
        'due',
      );
      const first = await listPage(`sort=due&limit=2&${qs(FILTERS)}`);
      expect(first.items.map((t) => t.id)).toEqual(expected.slice(0, 2));
      cursor = first.nextCursor!;
      expect(cursor).toEqual(expect.any(String));
    });

    const without = (name: string) => FILTERS.filter(([k]) => k !== name);
    const replaced = (name: string, value: string) => [...without(name), [name, value] as [string, string]];

    it.each<[string, () => [string, string][]]>([
      ['completed changed', () => replaced('completed', 'true')],
      ['completed left out', () => without('completed')],
      ['q changed', () => replaced('q', 'tas')],
      ['q left out', () => without('q')],
      ['listId changed', () => replaced('listId', MISSING_ID)],
      ['listId left out', () => without('listId')],
      ['parentId changed', () => replaced('parentId', MISSING_ID)],
      ['parentId left out', () => without('parentId')],
      ['a tag left out', () => [...without('tag'), ['tag', 'a']]],
      ['a tag added', () => [...FILTERS, ['tag', 'c']]],
      ['a priority left out', () => [...without('priority'), ['priority', 'high'], ['priority', 'low']]],
      ['dueFrom changed', () => replaced('dueFrom', '1900-01-02')],
      ['dueFrom left out', () => without('dueFrom')],
      ['dueTo changed', () => replaced('dueTo', '9999-12-30')],
      ['dueTo left out', () => without('dueTo')],
      ['every filter left out', () => []],
    ])('refuses it with 400 when %s', async (_case, filters) => {
      const res = await call(
        'GET',
        `${BASE}?sort=due&limit=2&${qs(filters())}&cursor=${encodeURIComponent(cursor)}`,
      );

      expectValidationProblem(res, BASE, [BAD_CURSOR], secrets());
    });

    it('refuses it with 400 under another sort of the same filters', async () => {
      const res = await call(
        'GET',
        `${BASE}?sort=-due&limit=2&${qs(FILTERS)}&cursor=${encodeURIComponent(cursor)}`,
      );

      expectValidationProblem(res, BASE, [BAD_CURSOR], secrets());
    });

    it.each<[string, () => [string, string][]]>([
      ['the parameters in another order', () => [...FILTERS].reverse()],
      [
        'tags and priorities as the same sets, tags normalised, in another order',
        () => [
          ...FILTERS.filter(([k]) => k !== 'tag' && k !== 'priority'),
          ['priority', 'high'],
          ['tag', ' B '],
          ['priority', 'none'],
          ['priority', 'low'],
          ['tag', 'A'],
          ['priority', 'medium'],
          ['tag', 'b'],
        ],
      ],
    ])('takes it with %s, and with another limit', async (_case, filters) => {
      const page = await listPage(`sort=due&limit=3&${qs(filters())}&cursor=${encodeURIComponent(cursor)}`);

      expect(page.items.map((t) => t.id)).toEqual(expected.slice(2, 5));
    });
  });
});
