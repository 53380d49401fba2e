import { randomUUID } from 'node:crypto';
import type { HTTPMethods } from 'fastify';
import {
  comparable,
  expectProblem,
  expectValidationProblem,
  TRANSPORT_PROBLEM,
  type InjectResponse,
} from './helpers/http-assert';
import { startHttpApp, type HttpFixture } from './helpers/http';
import {
  asList,
  expectListShape,
  holdings,
  httpCaller,
  listRow,
  truncateAll,
  type Call,
  type ListJson,
} from './helpers/lists';

/**
 * The HTTP contract of the list routes (shared/spec/http-api.md, "Lists", and
 * the ownership rules of "Routes"), through Fastify's inject against the
 * production app on a real PostgreSQL. Writes are checked in the database with
 * plain SQL; deleting a list is checked in the tasks table too.
 */

const BASE = '/api/v1/lists';
const TASKS = '/api/v1/tasks';
const ALICE = 'user_alice';
const BOB = 'user_bob';
const MISSING_ID = '00000000-0000-4000-8000-000000000000';
const EMOJI = '😀'; // one code point, two UTF-16 units, four UTF-8 bytes

const PROBLEM = {
  ...TRANSPORT_PROBLEM,
  notFound: { status: 404, code: 'LIST_NOT_FOUND', title: 'List not found', detail: 'List not found' },
  taskNotFound: { status: 404, code: 'TASK_NOT_FOUND', title: 'Task not found', detail: 'Task not found' },
  taken: {
    status: 409,
    code: 'LIST_NAME_TAKEN',
    title: 'List name taken',
    detail: 'You already have a list with this name',
  },
  // The contract fixes the code; the detail is about the list that changed, not a task.
  precondition: {
    status: 412,
    code: 'PRECONDITION_FAILED',
    title: 'Precondition failed',
    detail: 'The list has been changed since the given version',
  },
  listReference: {
    status: 422,
    code: 'REFERENCE_NOT_FOUND',
    title: 'Reference not found',
    detail: 'listId does not name one of your lists',
  },
} as const;

const NAME_RULE = {
  field: 'name',
  message: 'must be 1 to 100 characters after trimming, without control characters',
};
const NOT_A_UUID = { field: 'id', message: 'must be a UUID' };
const BAD_CURSOR = { field: 'cursor', message: 'is not a valid cursor for this list' };
const BAD_LIMIT = { field: 'limit', message: 'must be an integer from 1 to 100' };
const NOT_AN_OBJECT = { field: 'body', message: 'must be a JSON object' };
const BAD_IF_MATCH = { field: 'If-Match', message: 'must be * or a list of entity tags such as "3"' };
const notAllowed = (field: string) => ({ field, message: 'is not allowed' });

let fixture: HttpFixture;
const call = httpCaller(() => fixture, ALICE);
const secrets = () => call.secrets();
const listUrl = (id: string) => `${BASE}/${id}`;
const taskUrl = (id: string) => `${TASKS}/${id}`;

// Booting the app and the concurrent tests can take more than jest's default 5 s on a busy machine.
jest.setTimeout(30_000);

beforeAll(async () => {
  fixture = await startHttpApp();
}, 60_000);

afterAll(async () => {
  await fixture?.close();
});

beforeEach(async () => {
  await truncateAll(fixture.sql);
});

async function createList(name: string, as = ALICE): Promise<ListJson> {
  const res = await call('POST', BASE, { as, body: { name } });
  expect(res.statusCode).toBe(201);
  const list = res.json();
  expectListShape(list);
  return list;
}

async function createTask(body: Record<string, unknown>, as = ALICE): Promise<{ id: string }> {
  const res = await call('POST', TASKS, { as, body });
  expect(res.statusCode).toBe(201);
  return res.json();
}

async function countLists(user?: string): Promise<number> {
  const { rows } = user
    ? await fixture.sql.query('select count(*)::int as n from lists where user_id = $1', [user])
    : await fixture.sql.query('select count(*)::int as n from lists');
  return rows[0].n;
}

async function taskIds(): Promise<string[]> {
  const { rows } = await fixture.sql.query<{ id: string }>('select id from tasks order by id');
  return rows.map((r) => r.id);
}

/** Every task row of the database, as stored (to show that a refused request changed nothing). */
async function allTasks(): Promise<unknown[]> {
  const { rows } = await fixture.sql.query('select * from tasks order by id');
  return rows;
}

/** Inserts lists directly (arrangement only), named `${prefix}001`, `${prefix}002`, … */
async function seedLists(user: string, n: number, prefix = 'list '): Promise<void> {
  await fixture.sql.query(
    `insert into lists (user_id, name, name_key)
     select $1, $2 || lpad(g::text, 3, '0'), lower($2) || lpad(g::text, 3, '0') from generate_series(1, $3) g`,
    [user, prefix, n],
  );
}

/** Code point order: the byte order of UTF-8 (JavaScript's default sort compares UTF-16 units). */
const byCodePoint = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** The contract's order: name by code point, then id (PostgreSQL orders uuids like their hex text). */
function ordered(lists: ListJson[]): string[] {
  return [...lists]
    .sort((x, y) => byCodePoint(x.name, y.name) || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
    .map((l) => l.id);
}

async function page(query: string, as = ALICE): Promise<{ items: ListJson[]; nextCursor: string | null }> {
  const res = await call('GET', `${BASE}${query ? `?${query}` : ''}`, { as });
  expect(res.statusCode).toBe(200);
  return res.json();
}

describe('POST /api/v1/lists', () => {
  it('creates the list: 201 with exactly the List, Location, ETag "1", the name trimmed, the row stored', async () => {
    const res = await call('POST', BASE, { body: { name: ' \t Groceries \n ' } });

    expect(res.statusCode).toBe(201);
    const list = res.json();
    expectListShape(list);
    expect(list).toMatchObject({ name: 'Groceries', version: 1 });
    expect(list.updatedAt).toBe(list.createdAt);
    expect(res.headers.location).toBe(`/api/v1/lists/${list.id}`);
    expect(res.headers.etag).toBe('"1"');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const stored = await listRow(fixture.sql, list.id);
    expect(stored).toMatchObject({ user_id: ALICE, name: 'Groceries', version: 1 });
    expect(asList(stored!)).toEqual(list);
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({ lists: 1, listCount: 1 });
  });

  it('accepts application/json with a charset parameter', async () => {
    const res = await call('POST', BASE, {
      raw: JSON.stringify({ name: 'charset' }),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });

    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ name: 'charset' });
  });

  it('fits 100 code points (100 emoji, 200 UTF-16 units) after trimming', async () => {
    for (const name of [EMOJI.repeat(100), 'a'.repeat(100), 'x']) {
      const list = await createList(`  ${name}  `);
      expect(list.name).toBe(name);
      const { rows } = await fixture.sql.query('select char_length(name) as n from lists where id = $1', [
        list.id,
      ]);
      expect(rows[0].n).toBe([...name].length);
    }
    await expect(countLists()).resolves.toBe(3);
  });

  it.each([
    ['empty', ''],
    ['only white space', ' \t\n '],
    ['101 code points', EMOJI.repeat(101)],
    ['101 ASCII characters', 'a'.repeat(101)],
    ['101 characters after trimming', `  ${'b'.repeat(101)}  `],
    ['containing NUL', 'a\u0000b'],
    ['containing U+0001', 'a\u0001b'],
    ['containing a tab inside', 'a\tb'],
    ['containing a line feed inside', 'shopping\nlist'],
    ['containing U+001F', 'a\u001fb'],
    ['containing DEL (U+007F)', 'a\u007fb'],
    ['only control characters', '\u0001\u0002'],
  ])('refuses a name that is %s with 400 and stores nothing', async (_case, name) => {
    const res = await call('POST', BASE, { body: { name } });

    expectValidationProblem(res, BASE, [NAME_RULE], secrets());
    await expect(countLists()).resolves.toBe(0);
  });

  it.each([
    ['missing', {}, 'is required'],
    ['null', { name: null }, 'is required'],
    ['a number', { name: 42 }, 'must be a string'],
    ['an array', { name: ['a'] }, 'must be a string'],
    ['an object', { name: { en: 'a' } }, 'must be a string'],
  ])('refuses a name that is %s', async (_case, body, message) => {
    const res = await call('POST', BASE, { body });

    expectValidationProblem(res, BASE, [{ field: 'name', message }], secrets());
    await expect(countLists()).resolves.toBe(0);
  });

  it('refuses a name that is not well-formed Unicode (a lone surrogate) with 400, not 500', async () => {
    const res = await call('POST', BASE, {
      raw: '{"name":"a\\ud800b"}',
      headers: { 'content-type': 'application/json' },
    });

    expectValidationProblem(
      res,
      BASE,
      [{ field: 'name', message: 'must be well-formed Unicode text' }],
      secrets(),
    );
    await expect(countLists()).resolves.toBe(0);
  });

  it.each([
    ['id', randomUUID()],
    ['userId', BOB],
    ['version', 7],
    ['createdAt', '2020-01-01T00:00:00.000Z'],
    ['updatedAt', '2020-01-01T00:00:00.000Z'],
    ['color', 'red'],
  ])('refuses the unknown or server-owned field %s with a 400 naming it', async (field, value) => {
    const res = await call('POST', BASE, { body: { name: 'x', [field]: value } });

    expectValidationProblem(res, BASE, [notAllowed(field)], secrets());
    await expect(countLists()).resolves.toBe(0);
  });

  it.each([
    ['an array', '[]'],
    ['a string', '"Groceries"'],
    ['null', 'null'],
  ])('refuses a body that is %s', async (_case, raw) => {
    const res = await call('POST', BASE, { raw, headers: { 'content-type': 'application/json' } });

    expectValidationProblem(res, BASE, [NOT_AN_OBJECT], secrets());
    await expect(countLists()).resolves.toBe(0);
  });

  it.each([
    ['malformed JSON', '{"name": "x"', 'must be valid JSON'],
    ['an empty body', '', 'must not be empty'],
  ])('refuses %s with 400', async (_case, raw, message) => {
    const res = await call('POST', BASE, { raw, headers: { 'content-type': 'application/json' } });

    expectValidationProblem(res, BASE, [{ field: 'body', message }], secrets());
    await expect(countLists()).resolves.toBe(0);
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['application/merge-patch+json (PATCH only)', { 'content-type': 'application/merge-patch+json' }],
    ['no Content-Type', {}],
  ])('refuses a body sent as %s with 415', async (_case, headers) => {
    const res = await call('POST', BASE, { raw: JSON.stringify({ name: 'x' }), headers });

    expectProblem(res, { ...PROBLEM.unsupported, instance: BASE }, secrets());
    await expect(countLists()).resolves.toBe(0);
  });

  it('refuses a body over 64 KiB with 413, before parsing it', async () => {
    const json = JSON.stringify({ name: 'exactly 64 KiB' });
    const exact = json + ' '.repeat(64 * 1024 - json.length);
    expect(Buffer.byteLength(exact)).toBe(65_536);
    const ok = await call('POST', BASE, { raw: exact, headers: { 'content-type': 'application/json' } });
    expect(ok.statusCode).toBe(201);

    const over = await call('POST', BASE, {
      raw: `${exact} `,
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(over, { ...PROBLEM.tooLarge, instance: BASE }, secrets());
    const garbage = await call('POST', BASE, {
      raw: '{'.repeat(70_000),
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(garbage, { ...PROBLEM.tooLarge, instance: BASE }, secrets());
    await expect(countLists()).resolves.toBe(1);
  });

  it('refuses an unknown query parameter', async () => {
    const res = await call('POST', `${BASE}?dryRun=true`, { body: { name: 'x' } });

    expectValidationProblem(res, BASE, [notAllowed('dryRun')], secrets());
    await expect(countLists()).resolves.toBe(0);
  });
});

describe('LIST_NAME_TAKEN: names are unique per user, compared with toLowerCase()', () => {
  it.each([['Groceries'], ['GROCERIES'], ['groceries'], ['  gRoCeRiEs  ']])(
    'refuses %j after "Groceries" with 409, keeping the first list',
    async (second) => {
      const first = await createList('Groceries');
      const res = await call('POST', BASE, { body: { name: second } });

      expectProblem(res, { ...PROBLEM.taken, instance: BASE }, secrets());
      await expect(countLists()).resolves.toBe(1);
      await expect(listRow(fixture.sql, first.id)).resolves.toMatchObject({ name: 'Groceries', version: 1 });
      await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({ lists: 1, listCount: 1 });
    },
  );

  // PostgreSQL's lower() (here C.UTF-8) maps İ to i and leaves a final Σ as σ, where
  // toLowerCase() gives i + U+0307 and ς: the comparison must follow toLowerCase().
  it.each([
    ['İstanbul', 'i\u0307stanbul', 409],
    ['İstanbul', 'istanbul', 201],
    ['ISTANBUL', 'istanbul', 409],
    ['ΟΔΟΣ', 'οδος', 409],
    ['ΟΔΟΣ', 'οδοσ', 201],
    ['\u212A', 'k', 409], // KELVIN SIGN lower-cases to k
    ['STRAẞE', 'straße', 409],
    ['ß', 'SS', 201], // lower-casing, not case folding
    ['é', 'e\u0301', 201], // no Unicode normalisation either
  ])('after %j, %j is answered %i', async (first, second, status) => {
    await createList(first);
    const res = await call('POST', BASE, { body: { name: second } });

    if (status === 409) {
      expectProblem(res, { ...PROBLEM.taken, instance: BASE }, secrets());
      await expect(countLists()).resolves.toBe(1);
    } else {
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ name: second });
      await expect(countLists()).resolves.toBe(2);
    }
    // The same answer with the two names the other way round.
    await truncateAll(fixture.sql);
    await createList(second);
    const reverse = await call('POST', BASE, { body: { name: first } });
    expect(reverse.statusCode).toBe(status);
  });

  it("lets another user take a name, and does not count another user's names", async () => {
    await createList('Groceries');
    const bobs = await call('POST', BASE, { as: BOB, body: { name: 'GROCERIES' } });

    expect(bobs.statusCode).toBe(201);
    await expect(countLists(ALICE)).resolves.toBe(1);
    await expect(countLists(BOB)).resolves.toBe(1);
  });

  it("frees a deleted list's name", async () => {
    const first = await createList('Groceries');
    expect((await call('DELETE', listUrl(first.id))).statusCode).toBe(204);

    const again = await createList('groceries');
    expect(again.id).not.toBe(first.id);
  });

  it("refuses a rename to another list's name in any case with 409 and changes nothing", async () => {
    await createList('Groceries');
    const other = await createList('Work');
    const before = await listRow(fixture.sql, other.id);

    for (const name of ['Groceries', 'GROCERIES', ' groceries ']) {
      const res = await call('PATCH', listUrl(other.id), { body: { name } });
      expectProblem(res, { ...PROBLEM.taken, instance: listUrl(other.id) }, secrets());
    }
    await expect(listRow(fixture.sql, other.id)).resolves.toEqual(before);
  });

  it('lets a list be renamed to its own name in another case', async () => {
    const list = await createList('groceries');
    const res = await call('PATCH', listUrl(list.id), { body: { name: 'Groceries' } });

    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: 'Groceries', version: 2 });
    await expect(listRow(fixture.sql, list.id)).resolves.toMatchObject({ name: 'Groceries', version: 2 });
  });

  it.each([['a new user'], ['a user who has lists already']])(
    'lets exactly one of 20 concurrent creates of one name win (%s); the 19 others get 409, none 5xx',
    async (who) => {
      if (who !== 'a new user') await createList('Something else');
      const variants = ['Groceries', 'GROCERIES', 'groceries', 'gROCERIES'];

      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => call('POST', BASE, { body: { name: variants[i % 4] } })),
      );

      const statuses = responses.map((r) => r.statusCode);
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(19);
      for (const loser of responses.filter((r) => r.statusCode !== 201)) {
        expectProblem(loser, { ...PROBLEM.taken, instance: BASE }, secrets());
      }
      const winner = responses.find((r) => r.statusCode === 201)!.json();
      const { rows } = await fixture.sql.query(`select id, name from lists where name_key = 'groceries'`);
      expect(rows).toEqual([{ id: winner.id, name: winner.name }]);
      const expected = who === 'a new user' ? 1 : 2;
      await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
        lists: expected,
        listCount: expected,
      });
    },
  );

  it('lets exactly one of 20 concurrent renames of 20 lists to one name win; the 19 others get 409', async () => {
    const lists: ListJson[] = [];
    for (let i = 0; i < 20; i++) lists.push(await createList(`list ${i}`));

    const responses = await Promise.all(
      lists.map((l, i) => call('PATCH', listUrl(l.id), { body: { name: i % 2 ? 'TARGET' : 'Target' } })),
    );

    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    responses.forEach((res, i) => {
      if (res.statusCode !== 200) {
        expectProblem(res, { ...PROBLEM.taken, instance: listUrl(lists[i].id) }, secrets());
      }
    });
    const winner = lists[statuses.indexOf(200)];
    const { rows } = await fixture.sql.query(
      `select id, name, version from lists where user_id = $1 order by name collate "C", id`,
      [ALICE],
    );
    const expected = lists
      .map((l) =>
        l.id === winner.id
          ? { id: l.id, name: responses[statuses.indexOf(200)].json().name, version: 2 }
          : { id: l.id, name: l.name, version: 1 },
      )
      .sort((x, y) => byCodePoint(x.name, y.name) || (x.id < y.id ? -1 : 1));
    expect(rows).toEqual(expected);
  });

  it('lets exactly one of 10 creates and 10 renames racing for one name win', async () => {
    const lists: ListJson[] = [];
    for (let i = 0; i < 10; i++) lists.push(await createList(`list ${i}`));

    const responses = await Promise.all([
      ...lists.map((l) => call('PATCH', listUrl(l.id), { body: { name: 'Inbox zero' } })),
      ...lists.map(() => call('POST', BASE, { body: { name: 'INBOX ZERO' } })),
    ]);

    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 200 || s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const { rows } = await fixture.sql.query(
      `select count(*)::int as n from lists where name_key = 'inbox zero'`,
    );
    expect(rows[0].n).toBe(1);
    await expect(holdings(fixture.sql, ALICE)).resolves.toMatchObject({
      lists: statuses.includes(201) ? 11 : 10,
      listCount: statuses.includes(201) ? 11 : 10,
    });
  });
});

describe('GET /api/v1/lists', () => {
  it('answers a user with no lists with an empty page', async () => {
    await createList('Bob only', BOB);

    await expect(page('')).resolves.toEqual({ items: [], nextCursor: null });
  });

  it("lists only the caller's lists, by name in code point order, as stored", async () => {
    // Code point order differs from UTF-16 order (😀 before ＡＢ there) and from any locale.
    const names = ['b', 'B2', 'a', 'Zed', '_x', 'é', 'e', EMOJI, '\uFF21\uFF22', '0', 'a b', 'ab', 'Ä'];
    const lists: ListJson[] = [];
    for (const name of names) lists.push(await createList(name));
    await createList('a0 Bob', BOB);
    await createList('B', BOB);

    const res = await call('GET', BASE);

    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.nextCursor).toBeNull();
    expect(body.items.map((l: ListJson) => l.id)).toEqual(ordered(lists));
    expect(body.items.map((l: ListJson) => l.name)).toEqual([
      '0',
      'B2',
      'Zed',
      '_x',
      'a',
      'a b',
      'ab',
      'b',
      'e',
      'Ä',
      'é',
      '\uFF21\uFF22',
      EMOJI,
    ]);
    for (const item of body.items) {
      expectListShape(item);
      expect(item).toEqual(asList((await listRow(fixture.sql, item.id))!));
    }
  });

  it('shows a renamed list at its new place, with its new version', async () => {
    const a = await createList('a');
    const b = await createList('b');
    const renamed = await call('PATCH', listUrl(a.id), { body: { name: 'c' } });
    expect(renamed.statusCode).toBe(200);

    const listed = await page('');
    expect(listed.items).toEqual([b, renamed.json()]);
    expect(listed.items[1]).toMatchObject({ name: 'c', version: 2 });
  });

  it('gives 100 lists per page by default, with nextCursor null exactly when no list follows', async () => {
    await seedLists(ALICE, 101);

    const first = await page('');
    expect(first.items).toHaveLength(100);
    expect(first.items[0].name).toBe('list 001');
    expect(first.items[99].name).toBe('list 100');
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await page(`cursor=${encodeURIComponent(first.nextCursor!)}`);
    expect(second).toEqual({ items: [expect.objectContaining({ name: 'list 101' })], nextCursor: null });

    await fixture.sql.query(`delete from lists where name = 'list 101'`);
    const exactly100 = await page('');
    expect(exactly100.items).toHaveLength(100);
    expect(exactly100.nextCursor).toBeNull();
  });

  it('takes limit 1 and limit 100', async () => {
    await seedLists(ALICE, 3);

    const one = await page('limit=1');
    expect(one).toEqual({
      items: [expect.objectContaining({ name: 'list 001' })],
      nextCursor: expect.any(String),
    });
    const hundred = await page('limit=100');
    expect(hundred.items.map((l) => l.name)).toEqual(['list 001', 'list 002', 'list 003']);
    expect(hundred.nextCursor).toBeNull();
  });

  it.each([
    ['limit=0', [BAD_LIMIT]],
    ['limit=101', [BAD_LIMIT]],
    ['limit=-1', [BAD_LIMIT]],
    ['limit=1.5', [BAD_LIMIT]],
    ['limit=abc', [BAD_LIMIT]],
    ['limit=', [BAD_LIMIT]],
    ['limit=1000', [BAD_LIMIT]],
    ['limit=5&limit=5', [BAD_LIMIT]],
    ['sort=name', [notAllowed('sort')]],
    ['q=groceries', [notAllowed('q')]],
    ['page=2', [notAllowed('page')]],
  ])('refuses ?%s with 400 naming the parameter', async (query, errors) => {
    await seedLists(ALICE, 2);
    const res = await call('GET', `${BASE}?${query}`);

    expectValidationProblem(res, BASE, errors, secrets());
  });

  it.each([[7], [8]])('walks %i lists two at a time: every list once, in order', async (n) => {
    const lists: ListJson[] = [];
    for (let i = 0; i < n; i++) lists.push(await createList(`${String.fromCharCode(0x6a - i)} list`));
    await createList('a Bob list', BOB);
    const expected = ordered(lists);

    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const current = await page(`limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      pages.push(current.items.map((l) => l.id));
      cursor = current.nextCursor;
      expect(pages.length).toBeLessThanOrEqual(Math.ceil(n / 2));
    } while (cursor !== null);

    expect(pages).toEqual(
      Array.from({ length: Math.ceil(n / 2) }, (_, i) => expected.slice(2 * i, 2 * i + 2)),
    );
  });

  it('walks every list exactly once, in order, while lists are created and deleted between pages', async () => {
    const originals: ListJson[] = [];
    for (const name of ['d', 'h', 'l', 'p', 't', 'x', 'B', 'F']) originals.push(await createList(name));
    const doomed = await createList('r');
    const expected = ordered(originals);
    // Names before and after every cursor position.
    const inserted = ['A', 'z', 'c', 'q', 'e', 'y', 'a', 'w'];

    const seen: string[] = [];
    const newcomers: string[] = [];
    let cursor: string | null = null;
    let round = 0;
    do {
      const current = await page(`limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      seen.push(...current.items.map((l) => l.id));
      cursor = current.nextCursor;
      newcomers.push((await createList(`${inserted[round % inserted.length]}${round}`)).id);
      if (round === 0) expect((await call('DELETE', listUrl(doomed.id))).statusCode).toBe(204);
      round++;
      expect(round).toBeLessThan(15);
    } while (cursor !== null);

    expect(new Set(seen).size).toBe(seen.length);
    const originalIds = new Set(expected);
    expect(seen.filter((id) => originalIds.has(id))).toEqual(expected);
    expect(seen).not.toContain(doomed.id);
    // What was seen is in order.
    const { rows } = await fixture.sql.query<{ id: string }>(
      `select id from lists where id = any($1::uuid[]) order by name collate "C", id`,
      [seen],
    );
    expect(seen).toEqual(rows.map((r) => r.id));
  });

  describe('refuses a cursor that is not a cursor of this listing', () => {
    let cursor: string;

    beforeEach(async () => {
      await seedLists(ALICE, 5);
      await seedLists(BOB, 5);
      cursor = (await page('limit=2')).nextCursor!;
      expect(cursor).toEqual(expect.any(String));
    });

    const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);

    const refused = async (query: string, as = ALICE) => {
      const res = await call('GET', `${BASE}?${query}`, { as });
      expectValidationProblem(res, BASE, [BAD_CURSOR], secrets());
    };

    it('accepts it untouched (the control case)', async () => {
      const next = await page(`limit=2&cursor=${encodeURIComponent(cursor)}`);
      expect(next.items.map((l) => l.name)).toEqual(['list 003', 'list 004']);
    });

    it('accepts it with another limit (limit may change between pages)', async () => {
      const next = await page(`limit=5&cursor=${encodeURIComponent(cursor)}`);
      expect(next).toEqual({
        items: ['list 003', 'list 004', 'list 005'].map((name) => expect.objectContaining({ name })),
        nextCursor: null,
      });
    });

    it('altered in its payload', async () => {
      await refused(`limit=2&cursor=${encodeURIComponent(flip(cursor, 3))}`);
    });

    it('altered in its signature', async () => {
      await refused(`limit=2&cursor=${encodeURIComponent(flip(cursor, cursor.length - 2))}`);
    });

    it('forged: another position under the original signature', async () => {
      const [, signature] = cursor.split('.');
      const forged = Buffer.from(JSON.stringify({ s: 'lists:name', f: '', k: 'a', i: MISSING_ID })).toString(
        'base64url',
      );
      await refused(`limit=2&cursor=${encodeURIComponent(`${forged}.${signature}`)}`);
    });

    it.each([['garbage'], [''], ['a.b.c'], ['.']])('malformed: %j', async (bad) => {
      await refused(`limit=2&cursor=${encodeURIComponent(bad)}`);
    });

    it('made for Alice, used by Bob (who has lists of the same names)', async () => {
      await refused(`limit=2&cursor=${encodeURIComponent(cursor)}`, BOB);
    });

    it.each([
      ['the default sort', 'limit=1'],
      ['sort=title', 'sort=title&limit=1'],
    ])('a task-list cursor (%s) used as a list cursor', async (_case, taskQuery) => {
      await createTask({ title: 'one' });
      await createTask({ title: 'two' });
      const tasks = await call('GET', `${TASKS}?${taskQuery}`);
      expect(tasks.statusCode).toBe(200);
      const taskCursor = tasks.json().nextCursor as string;
      expect(taskCursor).toEqual(expect.any(String));

      await refused(`limit=2&cursor=${encodeURIComponent(taskCursor)}`);
    });

    it.each([[''], ['sort=title&']])('a list cursor used as a task-list cursor (%s)', async (sort) => {
      await createTask({ title: 'one' });
      const res = await call('GET', `${TASKS}?${sort}limit=2&cursor=${encodeURIComponent(cursor)}`);

      expectValidationProblem(res, TASKS, [BAD_CURSOR], secrets());
    });

    it('given twice', async () => {
      const c = encodeURIComponent(cursor);
      const res = await call('GET', `${BASE}?cursor=${c}&cursor=${c}`);
      expectValidationProblem(res, BASE, [{ field: 'cursor', message: 'must be given once' }], secrets());
    });
  });
});

describe('GET /api/v1/lists/{id}', () => {
  it('answers 200 with the List and its ETag', async () => {
    const created = await createList('Read me');
    const res = await call('GET', listUrl(created.id));

    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(created);
    expect(res.headers.etag).toBe('"1"');
  });

  it.each([
    ['the current ETag', '"1"'],
    ['a list containing it', '"7", "1"'],
    ['*', '*'],
    ['the weak form of the current ETag (weak comparison)', 'W/"1"'],
  ])('answers If-None-Match with %s with 304, the ETag and no body', async (_case, ifNoneMatch) => {
    const created = await createList('cached');
    const res = await call('GET', listUrl(created.id), { headers: { 'if-none-match': ifNoneMatch } });

    expect(res.statusCode).toBe(304);
    expect(res.body).toBe('');
    expect(res.headers.etag).toBe('"1"');
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
  });

  it('answers 200 with the new ETag once the list has been renamed', async () => {
    const created = await createList('old');
    const renamed = await call('PATCH', listUrl(created.id), { body: { name: 'new' } });
    expect(renamed.statusCode).toBe(200);

    const res = await call('GET', listUrl(created.id), { headers: { 'if-none-match': '"1"' } });

    expect(res.statusCode).toBe(200);
    expect(res.headers.etag).toBe('"2"');
    expect(res.json()).toEqual(renamed.json());
  });

  it('refuses a malformed If-None-Match with 400', async () => {
    const created = await createList('x');
    const res = await call('GET', listUrl(created.id), { headers: { 'if-none-match': '1' } });

    expectValidationProblem(
      res,
      listUrl(created.id),
      [{ field: 'If-None-Match', message: 'must be * or a list of entity tags such as "3"' }],
      secrets(),
    );
  });

  it.each([
    ['a word', 'abc'],
    ['a number', '123'],
    ['a UUID without dashes', '0b6f7c2e5d0c4f6e9a439a2f3f1a8c11'],
    ['a UUID with a suffix', `${MISSING_ID}x`],
  ])('refuses an id that is %s with 400 on every route', async (_case, id) => {
    for (const [method, options] of [
      ['GET', {}],
      ['PATCH', { body: { name: 'x' } }],
      ['DELETE', {}],
    ] as [HTTPMethods, Call][]) {
      const res = await call(method, listUrl(id), options);
      expectValidationProblem(res, listUrl(id), [NOT_A_UUID], secrets());
    }
  });

  it('answers 404 LIST_NOT_FOUND for a UUID that is no list', async () => {
    const res = await call('GET', listUrl(MISSING_ID));

    expectProblem(res, { ...PROBLEM.notFound, instance: listUrl(MISSING_ID) }, secrets());
  });

  it('refuses an unknown query parameter', async () => {
    const created = await createList('x');
    const res = await call('GET', `${listUrl(created.id)}?expand=tasks`);

    expectValidationProblem(res, listUrl(created.id), [notAllowed('expand')], secrets());
  });
});

describe('PATCH /api/v1/lists/{id}', () => {
  it('renames: 200 with the List, the name trimmed, version +1, ETag "2", updatedAt moved, createdAt kept', async () => {
    const created = await createList('Groceries');
    const before = await listRow(fixture.sql, created.id);
    const res = await call('PATCH', listUrl(created.id), { body: { name: '  Shopping  ' } });

    expect(res.statusCode).toBe(200);
    const list = res.json();
    expectListShape(list);
    expect(list).toEqual({ ...created, name: 'Shopping', version: 2, updatedAt: expect.any(String) });
    expect(res.headers.etag).toBe('"2"');
    const after = await listRow(fixture.sql, created.id);
    expect(asList(after!)).toEqual(list);
    expect(after).toMatchObject({ name: 'Shopping', user_id: ALICE });
    expect(after!.created_us).toBe(before!.created_us);
    expect((after!.updated_us as string) > (before!.updated_us as string)).toBe(true);
    // The old name is free now.
    await createList('groceries');
  });

  it('counts a rename to the current name as an update (version +1)', async () => {
    const created = await createList('same');
    const res = await call('PATCH', listUrl(created.id), { body: { name: 'same' } });

    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: 'same', version: 2 });
    expect(res.headers.etag).toBe('"2"');
    await expect(listRow(fixture.sql, created.id)).resolves.toMatchObject({ version: 2 });
  });

  it('accepts application/merge-patch+json', async () => {
    const created = await createList('x');
    const res = await call('PATCH', listUrl(created.id), {
      raw: JSON.stringify({ name: 'merged' }),
      headers: { 'content-type': 'application/merge-patch+json; charset=utf-8' },
    });

    expect(res.statusCode).toBe(200);
    await expect(listRow(fixture.sql, created.id)).resolves.toMatchObject({ name: 'merged', version: 2 });
  });

  it.each([
    ['an empty body', {}, [{ field: 'name', message: 'is required' }]],
    ['a null name', { name: null }, [{ field: 'name', message: 'is required' }]],
    ['a numeric name', { name: 1 }, [{ field: 'name', message: 'must be a string' }]],
    ['a blank name', { name: '   ' }, [NAME_RULE]],
    ['a name of 101 code points', { name: EMOJI.repeat(101) }, [NAME_RULE]],
    ['a name with a control character', { name: 'a\u0007b' }, [NAME_RULE]],
    ['a NUL in the name', { name: 'a\u0000' }, [NAME_RULE]],
    ['an id in the body', { name: 'x', id: MISSING_ID }, [notAllowed('id')]],
    ['a version in the body', { name: 'x', version: 5 }, [notAllowed('version')]],
    ['an unknown field', { name: 'x', color: 'red' }, [notAllowed('color')]],
  ])('refuses %s with 400 and changes nothing', async (_case, body, errors) => {
    const created = await createList('keep');
    const before = await listRow(fixture.sql, created.id);
    const res = await call('PATCH', listUrl(created.id), { body });

    expectValidationProblem(res, listUrl(created.id), errors, secrets());
    await expect(listRow(fixture.sql, created.id)).resolves.toEqual(before);
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['no Content-Type', {}],
  ])('refuses a body sent as %s with 415', async (_case, headers) => {
    const created = await createList('keep');
    const res = await call('PATCH', listUrl(created.id), { raw: '{"name":"new"}', headers });

    expectProblem(res, { ...PROBLEM.unsupported, instance: listUrl(created.id) }, secrets());
    await expect(listRow(fixture.sql, created.id)).resolves.toMatchObject({ name: 'keep', version: 1 });
  });

  it('refuses a body over 64 KiB with 413', async () => {
    const created = await createList('keep');
    const res = await call('PATCH', listUrl(created.id), {
      raw: JSON.stringify({ name: 'n'.repeat(70_000) }),
      headers: { 'content-type': 'application/json' },
    });

    expectProblem(res, { ...PROBLEM.tooLarge, instance: listUrl(created.id) }, secrets());
    await expect(listRow(fixture.sql, created.id)).resolves.toMatchObject({ name: 'keep', version: 1 });
  });

  it('answers a missing list with 404', async () => {
    const res = await call('PATCH', listUrl(MISSING_ID), { body: { name: 'x' } });

    expectProblem(res, { ...PROBLEM.notFound, instance: listUrl(MISSING_ID) }, secrets());
    await expect(countLists()).resolves.toBe(0);
  });

  it('refuses an unknown query parameter', async () => {
    const created = await createList('keep');
    const res = await call('PATCH', `${listUrl(created.id)}?force=1`, { body: { name: 'x' } });

    expectValidationProblem(res, listUrl(created.id), [notAllowed('force')], secrets());
    await expect(listRow(fixture.sql, created.id)).resolves.toMatchObject({ name: 'keep', version: 1 });
  });

  describe('answers the first problem in the contract order (400, 404, 412, 409)', () => {
    it('400 before 404: a bad name for a missing list', async () => {
      const res = await call('PATCH', listUrl(MISSING_ID), { body: { name: '' } });
      expectValidationProblem(res, listUrl(MISSING_ID), [NAME_RULE], secrets());
    });

    it('404 before 409: a taken name for a missing list', async () => {
      await createList('Taken');
      const res = await call('PATCH', listUrl(MISSING_ID), { body: { name: 'taken' } });
      expectProblem(res, { ...PROBLEM.notFound, instance: listUrl(MISSING_ID) }, secrets());
    });

    it('412 before 409: a taken name with a stale If-Match', async () => {
      await createList('Taken');
      const list = await createList('mine');
      expect((await call('PATCH', listUrl(list.id), { body: { name: 'mine 2' } })).statusCode).toBe(200);
      const res = await call('PATCH', listUrl(list.id), {
        body: { name: 'TAKEN' },
        headers: { 'if-match': '"1"' },
      });
      expectProblem(res, { ...PROBLEM.precondition, instance: listUrl(list.id) }, secrets());
      await expect(listRow(fixture.sql, list.id)).resolves.toMatchObject({ name: 'mine 2', version: 2 });
    });
  });

  describe('If-Match (strong comparison)', () => {
    it.each([
      ['the current ETag', '"1"'],
      ['a list containing it', '"5", "1"'],
      ['*', '*'],
    ])('renames when it is %s', async (_case, ifMatch) => {
      const created = await createList('old');
      const res = await call('PATCH', listUrl(created.id), {
        body: { name: 'new' },
        headers: { 'if-match': ifMatch },
      });

      expect(res.statusCode).toBe(200);
      expect(res.headers.etag).toBe('"2"');
      await expect(listRow(fixture.sql, created.id)).resolves.toMatchObject({ name: 'new', version: 2 });
    });

    it.each([
      ['stale', '"1"'],
      ['a weak tag of the current version', 'W/"2"'],
      ['a list without the current version', '"1", "3"'],
      ['not a version we issue', '"abc"'],
    ])('answers 412 and changes nothing when it is %s', async (_case, ifMatch) => {
      const created = await createList('v1');
      expect((await call('PATCH', listUrl(created.id), { body: { name: 'v2' } })).statusCode).toBe(200);
      const before = await listRow(fixture.sql, created.id);

      const res = await call('PATCH', listUrl(created.id), {
        body: { name: 'v3' },
        headers: { 'if-match': ifMatch },
      });

      expectProblem(res, { ...PROBLEM.precondition, instance: listUrl(created.id) }, secrets());
      await expect(listRow(fixture.sql, created.id)).resolves.toEqual(before);
    });

    it.each([['1'], ['"1'], ['W/1'], ['']])('refuses the malformed If-Match %j with 400', async (ifMatch) => {
      const created = await createList('keep');
      const res = await call('PATCH', listUrl(created.id), {
        body: { name: 'new' },
        headers: { 'if-match': ifMatch },
      });

      expectValidationProblem(res, listUrl(created.id), [BAD_IF_MATCH], secrets());
      await expect(listRow(fixture.sql, created.id)).resolves.toMatchObject({ name: 'keep', version: 1 });
    });

    it('lets exactly one of 20 renames with the same If-Match win; the 19 others get 412', async () => {
      const created = await createList('contended');

      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          call('PATCH', listUrl(created.id), {
            body: { name: `writer ${i}` },
            headers: { 'if-match': '"1"' },
          }),
        ),
      );

      const winners = responses.filter((r) => r.statusCode === 200);
      expect(winners).toHaveLength(1);
      for (const loser of responses.filter((r) => r.statusCode !== 200)) {
        expectProblem(loser, { ...PROBLEM.precondition, instance: listUrl(created.id) }, secrets());
      }
      await expect(listRow(fixture.sql, created.id)).resolves.toMatchObject({
        name: winners[0].json().name,
        version: 2,
      });
    });
  });
});

describe('DELETE /api/v1/lists/{id}', () => {
  /**
   * Alice: list L with two tasks and three subtasks; list M with a task and its
   * subtask; an inbox task with its subtask. Bob: a list of his own with a task
   * and its subtask. (Subtasks name their list, so that this arrangement does
   * not depend on the "parentId without listId" rule, tested on its own below.)
   */
  async function arrange() {
    const l = await createList('L');
    const m = await createList('M');
    const bobs = await createList('L', BOB);
    const l1 = await createTask({ title: 'l1', listId: l.id });
    const l2 = await createTask({ title: 'l2', listId: l.id });
    const l1a = await createTask({ title: 'l1a', listId: l.id, parentId: l1.id });
    const l1b = await createTask({ title: 'l1b', listId: l.id, parentId: l1.id, completed: true });
    const l2a = await createTask({ title: 'l2a', listId: l.id, parentId: l2.id });
    const m1 = await createTask({ title: 'm1', listId: m.id });
    const m1a = await createTask({ title: 'm1a', listId: m.id, parentId: m1.id });
    const i1 = await createTask({ title: 'i1' });
    const i1a = await createTask({ title: 'i1a', parentId: i1.id });
    const b1 = await createTask({ title: 'b1', listId: bobs.id }, BOB);
    const b1a = await createTask({ title: 'b1a', listId: bobs.id, parentId: b1.id }, BOB);
    const { rows } = await fixture.sql.query(`select count(*)::int as n from tasks where list_id = $1`, [
      l.id,
    ]);
    expect(rows[0].n).toBe(5);
    return {
      l,
      m,
      bobs,
      inL: [l1, l2, l1a, l1b, l2a].map((t) => t.id),
      kept: [m1, m1a, i1, i1a, b1, b1a].map((t) => t.id),
    };
  }

  it('answers 204 with no body and deletes the list and every task in it, subtasks included', async () => {
    const { l, m, bobs, inL, kept } = await arrange();
    const keptBefore = await fixture.sql.query('select * from tasks where id = any($1::uuid[]) order by id', [
      kept,
    ]);

    const res = await call('DELETE', listUrl(l.id));

    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    await expect(listRow(fixture.sql, l.id)).resolves.toBeUndefined();
    await expect(taskIds()).resolves.toEqual([...kept].sort());
    // The other tasks are untouched, not merely present.
    const keptAfter = await fixture.sql.query('select * from tasks order by id');
    expect(keptAfter.rows).toEqual(keptBefore.rows);
    const { rows } = await fixture.sql.query<{ id: string }>('select id from lists order by id');
    expect(rows.map((r) => r.id)).toEqual([m.id, bobs.id].sort());
    await expect(holdings(fixture.sql, ALICE)).resolves.toEqual({
      tasks: 4,
      lists: 1,
      taskCount: 4,
      listCount: 1,
    });
    await expect(holdings(fixture.sql, BOB)).resolves.toEqual({
      tasks: 2,
      lists: 1,
      taskCount: 2,
      listCount: 1,
    });

    // Gone everywhere: the list, its tasks, and the filter on it.
    for (const method of ['GET', 'DELETE'] as const) {
      const again = await call(method, listUrl(l.id));
      expectProblem(again, { ...PROBLEM.notFound, instance: listUrl(l.id) }, secrets());
    }
    for (const id of inL) {
      expectProblem(
        await call('GET', taskUrl(id)),
        { ...PROBLEM.taskNotFound, instance: taskUrl(id) },
        secrets(),
      );
    }
    const filtered = await call('GET', `${TASKS}?listId=${l.id}`);
    expect(filtered.json()).toEqual({ items: [], nextCursor: null });
  });

  it("deletes a subtask created with parentId alone (which goes into its parent's list) with the list", async () => {
    const list = await createList('L');
    const parent = await createTask({ title: 'parent', listId: list.id });
    const res = await call('POST', TASKS, { body: { title: 'sub', parentId: parent.id } });
    expect({ status: res.statusCode, listId: res.json().listId }).toEqual({ status: 201, listId: list.id });
    const inbox = await createTask({ title: 'inbox' });

    expect((await call('DELETE', listUrl(list.id))).statusCode).toBe(204);
    await expect(taskIds()).resolves.toEqual([inbox.id]);
  });

  it('deletes an empty list', async () => {
    const list = await createList('empty');
    await createTask({ title: 'inbox' });

    expect((await call('DELETE', listUrl(list.id))).statusCode).toBe(204);
    await expect(countLists()).resolves.toBe(0);
    await expect(holdings(fixture.sql, ALICE)).resolves.toEqual({
      tasks: 1,
      lists: 0,
      taskCount: 1,
      listCount: 0,
    });
  });

  it.each([['"1"'], ['*'], ['"4", "1"']])('deletes with the matching If-Match %s', async (ifMatch) => {
    const { l, kept } = await arrange();
    const res = await call('DELETE', listUrl(l.id), { headers: { 'if-match': ifMatch } });

    expect(res.statusCode).toBe(204);
    await expect(listRow(fixture.sql, l.id)).resolves.toBeUndefined();
    await expect(taskIds()).resolves.toEqual([...kept].sort());
  });

  it.each([
    ['stale', '"2"'],
    ['the weak form of the current ETag', 'W/"1"'],
    ['not a version we issue', '"x"'],
  ])('answers 412 to an If-Match that is %s and keeps the list and its tasks', async (_case, ifMatch) => {
    const { l } = await arrange();
    const before = await listRow(fixture.sql, l.id);
    const tasksBefore = await allTasks();

    const res = await call('DELETE', listUrl(l.id), { headers: { 'if-match': ifMatch } });

    expectProblem(res, { ...PROBLEM.precondition, instance: listUrl(l.id) }, secrets());
    await expect(listRow(fixture.sql, l.id)).resolves.toEqual(before);
    await expect(allTasks()).resolves.toEqual(tasksBefore);
  });

  it('refuses a malformed If-Match with 400 and keeps the list', async () => {
    const list = await createList('keep');
    const res = await call('DELETE', listUrl(list.id), { headers: { 'if-match': 'version-1' } });

    expectValidationProblem(res, listUrl(list.id), [BAD_IF_MATCH], secrets());
    await expect(countLists()).resolves.toBe(1);
  });

  it('answers a missing list with 404', async () => {
    await createList('keep');
    const res = await call('DELETE', listUrl(MISSING_ID));

    expectProblem(res, { ...PROBLEM.notFound, instance: listUrl(MISSING_ID) }, secrets());
    await expect(countLists()).resolves.toBe(1);
  });

  it('refuses an unknown query parameter and keeps the list', async () => {
    const list = await createList('keep');
    const res = await call('DELETE', `${listUrl(list.id)}?cascade=false`);

    expectValidationProblem(res, listUrl(list.id), [notAllowed('cascade')], secrets());
    await expect(countLists()).resolves.toBe(1);
  });
});

describe("another user's list is indistinguishable from a missing one", () => {
  const cases: [string, HTTPMethods, Call][] = [
    ['GET', 'GET', {}],
    ['GET with If-None-Match: "1"', 'GET', { headers: { 'if-none-match': '"1"' } }],
    ['GET with If-None-Match: *', 'GET', { headers: { 'if-none-match': '*' } }],
    ['PATCH', 'PATCH', { body: { name: 'hijacked' } }],
    ['PATCH with a name Bob already uses', 'PATCH', { body: { name: "BOB'S LIST" } }],
    [
      'PATCH with the current If-Match',
      'PATCH',
      { body: { name: 'hijacked' }, headers: { 'if-match': '"1"' } },
    ],
    ['PATCH with a stale If-Match', 'PATCH', { body: { name: 'hijacked' }, headers: { 'if-match': '"9"' } }],
    ['PATCH with If-Match: *', 'PATCH', { body: { name: 'hijacked' }, headers: { 'if-match': '*' } }],
    ['DELETE', 'DELETE', {}],
    ['DELETE with the current If-Match', 'DELETE', { headers: { 'if-match': '"1"' } }],
    ['DELETE with a stale If-Match', 'DELETE', { headers: { 'if-match': '"9"' } }],
    ['DELETE with If-Match: *', 'DELETE', { headers: { 'if-match': '*' } }],
  ];

  it.each(cases)(
    "%s on Alice's list by Bob answers exactly as for a random UUID",
    async (_case, method, options) => {
      const alices = await createList('Alice only');
      await createTask({ title: 'in it', listId: alices.id });
      await createList("Bob's list", BOB);
      const before = await listRow(fixture.sql, alices.id);
      const tasksBefore = await allTasks();

      const theirs = await call(method, listUrl(alices.id), { ...options, as: BOB });
      const random = randomUUID();
      const nobodys = await call(method, listUrl(random), { ...options, as: BOB });

      expectProblem(theirs, { ...PROBLEM.notFound, instance: listUrl(alices.id) }, secrets());
      expectProblem(nobodys, { ...PROBLEM.notFound, instance: listUrl(random) }, secrets());
      expect(comparable(theirs)).toEqual(comparable(nobodys));
      expect(Object.keys(theirs.headers).sort()).toEqual(Object.keys(nobodys.headers).sort());
      await expect(listRow(fixture.sql, alices.id)).resolves.toEqual(before);
      await expect(allTasks()).resolves.toEqual(tasksBefore);
    },
  );

  it("does not list Alice's lists to Bob", async () => {
    await createList('Alice 1');
    await createList('Alice 2');

    await expect(page('', BOB)).resolves.toEqual({ items: [], nextCursor: null });
    await expect(page('limit=1', BOB)).resolves.toEqual({ items: [], nextCursor: null });
  });

  describe("as a task's listId", () => {
    let alices: ListJson;
    let bobsTask: { id: string };

    beforeEach(async () => {
      alices = await createList('Alice only');
      await createTask({ title: 'alice task', listId: alices.id });
      bobsTask = await createTask({ title: 'bob task' }, BOB);
    });

    const expectSameReferenceProblem = (
      theirs: InjectResponse,
      nobodys: InjectResponse,
      instance: string,
    ) => {
      expectProblem(theirs, { ...PROBLEM.listReference, instance }, secrets());
      expectProblem(nobodys, { ...PROBLEM.listReference, instance }, secrets());
      expect(comparable(theirs)).toEqual(comparable(nobodys));
    };

    it('POST /api/v1/tasks: 422 REFERENCE_NOT_FOUND, exactly as for a random id, creating nothing', async () => {
      const before = await allTasks();
      const theirs = await call('POST', TASKS, { as: BOB, body: { title: 'x', listId: alices.id } });
      const nobodys = await call('POST', TASKS, { as: BOB, body: { title: 'x', listId: randomUUID() } });

      expectSameReferenceProblem(theirs, nobodys, TASKS);
      await expect(allTasks()).resolves.toEqual(before);
    });

    it('PATCH /api/v1/tasks/{id}: 422 REFERENCE_NOT_FOUND, exactly as for a random id, changing nothing', async () => {
      const before = await allTasks();
      const url = taskUrl(bobsTask.id);
      const theirs = await call('PATCH', url, { as: BOB, body: { listId: alices.id } });
      const nobodys = await call('PATCH', url, { as: BOB, body: { listId: randomUUID() } });

      expectSameReferenceProblem(theirs, nobodys, url);
      await expect(allTasks()).resolves.toEqual(before);
    });

    it('POST /api/v1/tasks/{id}/move: 422 REFERENCE_NOT_FOUND, exactly as for a random id', async () => {
      const before = await allTasks();
      const url = `${taskUrl(bobsTask.id)}/move`;
      const theirs = await call('POST', url, { as: BOB, body: { listId: alices.id } });
      const nobodys = await call('POST', url, { as: BOB, body: { listId: randomUUID() } });

      expectSameReferenceProblem(theirs, nobodys, url);
      await expect(allTasks()).resolves.toEqual(before);
    });

    it('a listId that is not a UUID is a 400, not a 422', async () => {
      const res = await call('POST', TASKS, { as: BOB, body: { title: 'x', listId: 'groceries' } });

      expectValidationProblem(
        res,
        TASKS,
        [{ field: 'listId', message: 'must be a UUID or null' }],
        secrets(),
      );
      await expect(holdings(fixture.sql, BOB)).resolves.toMatchObject({ tasks: 1 });
    });

    it("GET /api/v1/tasks?listId=<Alice's list> is an empty page for Bob, like a random id", async () => {
      const bobsList = await createList('Bob list', BOB);
      await createTask({ title: 'bob listed', listId: bobsList.id }, BOB);

      for (const id of [alices.id, randomUUID()]) {
        const res = await call('GET', `${TASKS}?listId=${id}`, { as: BOB });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual({ items: [], nextCursor: null });
      }
      // Alice sees her task there, and Bob his own list's task.
      const hers = await call('GET', `${TASKS}?listId=${alices.id}`);
      expect(hers.json().items.map((t: { title: string }) => t.title)).toEqual(['alice task']);
      const his = await call('GET', `${TASKS}?listId=${bobsList.id}`, { as: BOB });
      expect(his.json().items.map((t: { title: string }) => t.title)).toEqual(['bob listed']);
    });
  });
});

describe('authentication and methods', () => {
  const routes: [HTTPMethods, string, Call][] = [
    ['POST', BASE, { body: { name: 'x' } }],
    ['GET', BASE, {}],
    ['GET', listUrl(MISSING_ID), {}],
    ['PATCH', listUrl(MISSING_ID), { body: { name: 'x' } }],
    ['DELETE', listUrl(MISSING_ID), {}],
  ];

  it.each(routes)(
    '%s %s without Authorization is 401 MISSING_TOKEN with WWW-Authenticate',
    async (m, u, o) => {
      const res = await call(m, u, { ...o, as: null });

      expectProblem(res, { ...PROBLEM.missingToken, instance: u }, secrets());
      expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
      await expect(countLists()).resolves.toBe(0);
    },
  );

  it('answers PUT on a list with 405 and an Allow header', async () => {
    const list = await createList('x');
    const res = await call('PUT', listUrl(list.id), { body: { name: 'y' } });

    expectProblem(res, { ...PROBLEM.methodNotAllowed, instance: listUrl(list.id) }, secrets());
    const allowed = String(res.headers.allow).split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['GET', 'PATCH', 'DELETE']));
    expect(allowed).not.toContain('PUT');
    await expect(listRow(fixture.sql, list.id)).resolves.toMatchObject({ name: 'x', version: 1 });
  });
});
