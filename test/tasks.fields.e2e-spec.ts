import {
  expectTaskShape,
  expectValidationProblem,
  type InjectResponse,
  type TaskJson,
} from './helpers/http-assert';
import {
  asTask,
  BASE,
  call,
  count,
  createTask,
  EMOJI,
  MISSING_ID,
  row,
  secrets,
  taskUrl,
  TITLE_LENGTH,
  useTasksHttp,
} from './helpers/tasks-http';

/**
 * The rules of the Task table of shared/spec/http-api.md for the 1.1 fields,
 * which a create and a PATCH share: each rule is sent both ways, as a POST
 * (with a title) and as a PATCH of an existing plain task. A refusal is a 400
 * naming the field that stores or changes nothing; an acceptance returns the
 * value as the contract says and stores exactly what the API shows.
 */

useTasksHttp();

type Via = 'POST' | 'PATCH';
const VIAS: Via[] = ['POST', 'PATCH'];

const ALL_DAY = { date: '2026-12-24', time: null, timeZone: null };
const TIMED = { date: '2026-12-24', time: '09:30', timeZone: 'Europe/Berlin' };

const TAG_RULE = 'must be 1 to 50 characters after trimming, without control characters';
const TAG_REPEATED = 'repeats another tag (tags are compared lower-cased)';
const PRIORITY_VALUES = 'must be one of none, low, medium, high';
const DUE_DATE = 'must be a calendar date from 1900-01-01 to 9999-12-31, YYYY-MM-DD';
const DUE_TIME = 'must be HH:MM from 00:00 to 23:59, or null';
const DUE_ZONE = 'must be an IANA time-zone name such as Europe/Berlin, or null';
const DUE_PAIR = { field: 'due', message: 'must have both time and timeZone, or neither' };
const NOT_A_REFERENCE = 'must be a UUID or null';
const RECURRENCE_PART =
  'has an unsupported part %s (allowed: FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, UNTIL, WKST, upper-case)';
const unsupported = (part: string) => RECURRENCE_PART.replace('%s', part);

interface Sent {
  res: InjectResponse;
  instance: string;
  /** Nothing was stored (POST) or the task is exactly as before (PATCH). */
  expectUnchanged(): Promise<void>;
}

/** The fields on a create (beside a title), or as a PATCH of a plain task created first. */
async function send(via: Via, fields: Record<string, unknown>): Promise<Sent> {
  if (via === 'POST') {
    const tasksBefore = await count('tasks');
    const res = await call('POST', BASE, { body: { title: 'fields', ...fields } });
    return {
      res,
      instance: BASE,
      expectUnchanged: async () => {
        await expect(count('tasks')).resolves.toBe(tasksBefore);
      },
    };
  }
  const task = await createTask({ title: 'fields' });
  const before = await row(task.id);
  const res = await call('PATCH', taskUrl(task.id), { body: fields });
  return {
    res,
    instance: taskUrl(task.id),
    expectUnchanged: async () => {
      await expect(row(task.id)).resolves.toEqual(before);
    },
  };
}

/** A 400 naming exactly these problems, and nothing stored or changed. */
async function expectRefused(
  via: Via,
  fields: Record<string, unknown>,
  errors: { field: string; message: string }[],
): Promise<void> {
  const { res, instance, expectUnchanged } = await send(via, fields);
  expectValidationProblem(res, instance, errors, secrets());
  await expectUnchanged();
}

/** 201 (POST) or 200 (PATCH) with a Task, which is exactly what was stored. */
async function expectAccepted(via: Via, fields: Record<string, unknown>): Promise<TaskJson> {
  const { res } = await send(via, fields);
  const status = via === 'POST' ? 201 : 200;
  // On any other status the assertion shows the problem document.
  expect({ status: res.statusCode, body: res.statusCode === status ? 'a Task' : res.json() }).toEqual({
    status,
    body: 'a Task',
  });
  const task = res.json();
  expectTaskShape(task);
  const stored = await row(task.id);
  expect(stored).toBeDefined();
  expect(asTask(stored!)).toEqual(task);
  return task;
}

/** Every row once per way in: [via, ...row]. */
const cases = <T extends unknown[]>(rows: T[]): [Via, ...T][] =>
  VIAS.flatMap((via) => rows.map((r) => [via, ...r] as [Via, ...T]));

describe('title: 1–255 Unicode code points after trimming', () => {
  // "é" written as e + U+0301 is one character on screen but two code points.
  const decomposed = 'e\u0301';

  it.each(VIAS)('%s counts code points, not what is seen: 255 fit', async (via) => {
    const title = `${decomposed.repeat(127)}e`;
    expect([...title]).toHaveLength(255);

    const task = await expectAccepted(via, { title });
    expect(task.title).toBe(title);
  });

  it.each(VIAS)('%s counts code points, not what is seen: 256 (128 on screen) are refused', async (via) => {
    await expectRefused(via, { title: decomposed.repeat(128) }, [TITLE_LENGTH]);
  });
});

describe('description: a string of at most 10,000 code points, or null', () => {
  it.each(VIAS)('%s takes an empty description and returns it as sent', async (via) => {
    const task = await expectAccepted(via, { description: '' });
    expect(task.description).toBe('');
  });

  it.each(VIAS)('%s takes 10,000 emoji (20,000 UTF-16 units) and refuses 10,001', async (via) => {
    const task = await expectAccepted(via, { description: EMOJI.repeat(10_000) });
    expect(task.description).toBe(EMOJI.repeat(10_000));

    await expectRefused(via, { description: EMOJI.repeat(10_001) }, [
      { field: 'description', message: 'must be at most 10000 characters' },
    ]);
  });
});

describe('priority: "none", "low", "medium" or "high"', () => {
  it.each(cases([['none'], ['low'], ['medium'], ['high']]))('%s takes priority %s', async (via, priority) => {
    const task = await expectAccepted(via, { priority });
    expect(task.priority).toBe(priority);
  });

  it.each(cases<[unknown]>([['HIGH'], ['High'], ['urgent'], [''], [' low'], [3], [true], [['high']], [{}]]))(
    '%s refuses priority %j',
    async (via, priority) => {
      await expectRefused(via, { priority }, [{ field: 'priority', message: PRIORITY_VALUES }]);
    },
  );

  it('refuses priority null on a create (it is not one of the four values)', async () => {
    await expectRefused('POST', { priority: null }, [{ field: 'priority', message: PRIORITY_VALUES }]);
  });
});

describe('tags: at most 20, trimmed, lower-cased, 1–50 code points, no control characters, no two equal', () => {
  it.each(VIAS)('%s returns the tags in the order sent, and stores them so', async (via) => {
    const task = await expectAccepted(via, { tags: ['zeta', 'alpha', 'mu'] });
    expect(task.tags).toEqual(['zeta', 'alpha', 'mu']);
  });

  it.each(VIAS)('%s trims and lower-cases each tag (toLowerCase, not the locale)', async (via) => {
    const task = await expectAccepted(via, {
      tags: ['  ErRands  ', 'WORK', 'ÜBER', 'İstanbul', 'ΣΟΦΟΣ', '\tindent\n'],
    });
    // U+0130 lower-cases to i + U+0307, and a final capital sigma to ς (U+03C2).
    expect(task.tags).toEqual(['errands', 'work', 'über', 'i\u0307stanbul', 'σοφο\u03c2', 'indent']);
  });

  it.each(VIAS)('%s takes 20 tags and refuses 21', async (via) => {
    const twenty = Array.from({ length: 20 }, (_, i) => `tag${i}`);
    const task = await expectAccepted(via, { tags: twenty });
    expect(task.tags).toEqual(twenty);

    await expectRefused(via, { tags: [...twenty, 'one-more'] }, [
      { field: 'tags', message: 'must have at most 20 tags' },
    ]);
  });

  it.each(VIAS)('%s takes a tag of 50 code points (emoji; ASCII with spaces around)', async (via) => {
    const task = await expectAccepted(via, { tags: [EMOJI.repeat(50), `  ${'a'.repeat(50)}  `] });
    expect(task.tags).toEqual([EMOJI.repeat(50), 'a'.repeat(50)]);
  });

  it.each(VIAS)(
    '%s counts a tag after lower-casing: 25 × İ (50 code points) fit, 26 (52) do not',
    async (via) => {
      const task = await expectAccepted(via, { tags: ['İ'.repeat(25)] });
      expect(task.tags).toEqual(['i\u0307'.repeat(25)]);

      await expectRefused(via, { tags: ['İ'.repeat(26)] }, [{ field: 'tags[0]', message: TAG_RULE }]);
    },
  );

  it.each(
    cases<[string, unknown]>([
      ['empty', ''],
      ['only white space', '   '],
      ['51 ASCII characters', 'a'.repeat(51)],
      ['51 emoji', EMOJI.repeat(51)],
      ['with NUL', 'a\u0000b'],
      ['with U+0001', 'a\u0001b'],
      ['with U+001F', 'a\u001fb'],
      ['with DEL (U+007F)', 'a\u007fb'],
      ['with a tab inside', 'to\tdo'],
      ['with a line break inside', 'to\ndo'],
      ['a number', 5],
      ['null', null],
    ]),
  )('%s refuses a tag that is %s, naming its index', async (via, _case, tag) => {
    await expectRefused(via, { tags: ['fine', tag] }, [{ field: 'tags[1]', message: TAG_RULE }]);
  });

  it.each(
    cases<[string, string[]]>([
      ['in another case', ['Work', 'WORK']],
      ['after trimming', ['home', ' home ']],
      ['identical', ['a', 'a']],
    ]),
  )('%s refuses two tags that are equal %s', async (via, _case, tags) => {
    await expectRefused(via, { tags }, [{ field: 'tags[1]', message: TAG_REPEATED }]);
  });

  it.each(VIAS)('%s reports every bad tag of one list together', async (via) => {
    await expectRefused(via, { tags: ['', 'ok', 'OK', 'x\u0007'] }, [
      { field: 'tags[0]', message: TAG_RULE },
      { field: 'tags[2]', message: TAG_REPEATED },
      { field: 'tags[3]', message: TAG_RULE },
    ]);
  });

  it.each(
    cases<[string, unknown]>([
      ['a string', 'errands'],
      ['an object', { 0: 'a' }],
      ['a number', 1],
    ]),
  )('%s refuses tags that are %s', async (via, _case, tags) => {
    await expectRefused(via, { tags }, [{ field: 'tags', message: 'must be an array of strings' }]);
  });
});

describe('due: null, all day, or a local time in an IANA zone', () => {
  it.each(
    cases<[string, unknown]>([
      ['all day', ALL_DAY],
      ['timed, Europe/Berlin', TIMED],
      ['the first date, 1900-01-01', { date: '1900-01-01', time: null, timeZone: null }],
      ['the last date, 9999-12-31 at 23:59', { date: '9999-12-31', time: '23:59', timeZone: 'UTC' }],
      ['29 February of a leap year', { date: '2024-02-29', time: null, timeZone: null }],
      ['29 February 2000 (a leap century)', { date: '2000-02-29', time: null, timeZone: null }],
      ['midnight, 00:00', { date: '2026-12-24', time: '00:00', timeZone: 'Asia/Tokyo' }],
      ['UTC', { date: '2026-12-24', time: '09:30', timeZone: 'UTC' }],
      ['the alias Asia/Kolkata', { date: '2026-12-24', time: '09:30', timeZone: 'Asia/Kolkata' }],
      ['the alias Asia/Calcutta', { date: '2026-12-24', time: '09:30', timeZone: 'Asia/Calcutta' }],
      ['Etc/GMT+12', { date: '2026-12-24', time: '09:30', timeZone: 'Etc/GMT+12' }],
      [
        'a three-part name',
        { date: '2026-12-24', time: '09:30', timeZone: 'America/Argentina/Buenos_Aires' },
      ],
      ['the alias US/Eastern', { date: '2026-12-24', time: '09:30', timeZone: 'US/Eastern' }],
    ]),
  )('%s takes a due that is %s, returned and stored exactly as sent', async (via, _case, due) => {
    const task = await expectAccepted(via, { due });
    expect(task.due).toEqual(due);
  });

  it.each(
    cases<[string, unknown]>([
      ['29 February of a common year', '2023-02-29'],
      ['29 February 1900 (not a leap year)', '1900-02-29'],
      ['31 April', '2026-04-31'],
      ['month 13', '2026-13-01'],
      ['month 00', '2026-00-10'],
      ['day 00', '2026-12-00'],
      ['before 1900', '1899-12-31'],
      ['year 10000', '10000-01-01'],
      ['without leading zeros', '2026-1-5'],
      ['with a time', '2026-12-24T09:30'],
      ['with white space', ' 2026-12-24'],
      ['a number', 20261224],
      ['null', null],
    ]),
  )('%s refuses a due.date that is %s', async (via, _case, date) => {
    await expectRefused(via, { due: { ...ALL_DAY, date } }, [{ field: 'due.date', message: DUE_DATE }]);
  });

  it.each(
    cases<[string, unknown]>([
      ['24:00', '24:00'],
      ['a 60th minute', '12:60'],
      ['one-digit hour', '9:30'],
      ['with seconds', '09:30:00'],
      ['without a colon', '0930'],
      ['empty', ''],
      ['a number', 930],
    ]),
  )('%s refuses a due.time that is %s', async (via, _case, time) => {
    await expectRefused(via, { due: { ...TIMED, time } }, [{ field: 'due.time', message: DUE_TIME }]);
  });

  it.each(
    cases<[string, unknown]>([
      ['an offset, +05:30', '+05:30'],
      ['an offset, -08:00', '-08:00'],
      ['no zone at all', 'Mars/Olympus_Mons'],
      ['empty', ''],
      ['a number', 1],
    ]),
  )('%s refuses a due.timeZone that is %s', async (via, _case, timeZone) => {
    await expectRefused(via, { due: { ...TIMED, timeZone } }, [{ field: 'due.timeZone', message: DUE_ZONE }]);
  });

  it.each(
    cases<[string, unknown]>([
      ['a time without a zone', { date: '2026-12-24', time: '09:30', timeZone: null }],
      ['a zone without a time', { date: '2026-12-24', time: null, timeZone: 'UTC' }],
    ]),
  )('%s refuses %s: time and timeZone are both null or both set', async (via, _case, due) => {
    await expectRefused(via, { due }, [DUE_PAIR]);
  });

  it.each(VIAS)('%s refuses a fourth member', async (via) => {
    await expectRefused(via, { due: { ...TIMED, offset: '+01:00' } }, [
      { field: 'due.offset', message: 'is not allowed' },
    ]);
  });

  it.each([
    ['only a date', { date: '2026-12-24' }],
    ['a date and a time', { date: '2026-12-24', time: '09:30' }],
    ['no member', {}],
  ])('POST refuses a due with %s: a new due has all three members', async (_case, due) => {
    await expectRefused('POST', { due }, [{ field: 'due', message: 'must have date, time and timeZone' }]);
  });

  it.each(
    cases<[string, unknown]>([
      ['a string', '2026-12-24'],
      ['an array', ['2026-12-24', null, null]],
      ['a number', 5],
    ]),
  )('%s refuses a due that is %s', async (via, _case, due) => {
    await expectRefused(via, { due }, [
      { field: 'due', message: 'must be an object with date, time and timeZone, or null' },
    ]);
  });
});

describe('recurrence: the RRULE subset of the contract, and only with a due', () => {
  // 255 characters: FREQ=DAILY;BYMONTHDAY= (22) + "1," × 116 (232) + "1".
  const longest = `FREQ=DAILY;BYMONTHDAY=${'1,'.repeat(116)}1`;

  it.each(
    cases<[string]>([
      ['FREQ=DAILY'],
      ['FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR'],
      ['BYDAY=TU;FREQ=WEEKLY'],
      ['INTERVAL=3;WKST=SU;FREQ=WEEKLY;BYDAY=SU,MO'],
      ['FREQ=MONTHLY;BYDAY=2MO'],
      ['FREQ=MONTHLY;BYDAY=-1FR'],
      ['FREQ=MONTHLY;BYDAY=+5SA'],
      ['FREQ=YEARLY;BYDAY=20MO'],
      ['FREQ=MONTHLY;BYMONTHDAY=-1'],
      ['FREQ=MONTHLY;BYMONTHDAY=1,15,-31'],
      ['FREQ=MONTHLY;BYMONTHDAY=31'],
      ['FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29'],
      ['FREQ=YEARLY;BYMONTH=1,12'],
      ['UNTIL=20271231;FREQ=DAILY'],
      ['FREQ=DAILY;INTERVAL=999'],
      [longest],
    ]),
  )('%s takes %s (with a due) and returns it as sent', async (via, recurrence) => {
    const task = await expectAccepted(via, { due: ALL_DAY, recurrence });
    expect(task).toMatchObject({ due: ALL_DAY, recurrence });
  });

  it.each(
    cases<[string, string[]]>([
      ['FREQ=HOURLY', ['FREQ must be one of DAILY, WEEKLY, MONTHLY, YEARLY']],
      ['FREQ=DAILY;COUNT=5', [unsupported('COUNT')]],
      ['FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1', [unsupported('BYSETPOS')]],
      ['FREQ=DAILY;BYHOUR=9', [unsupported('BYHOUR')]],
      ['freq=daily', [unsupported('freq'), 'must have FREQ']],
      ['FREQ=daily', ['FREQ must be one of DAILY, WEEKLY, MONTHLY, YEARLY']],
      [
        'FREQ=WEEKLY;BYDAY=mo',
        [
          'BYDAY must list weekdays (MO, TU, WE, TH, FR, SA, SU), each with an optional ordinal such as 2MO or -1FR',
        ],
      ],
      ['RRULE:FREQ=DAILY', ['must not start with RRULE: (send the value only)']],
      ['FREQ=DAILY;', ['has an empty part']],
      ['FREQ=DAILY;;INTERVAL=2', ['has an empty part']],
      ['FREQ=DAILY;INTERVAL=', ['has an empty part']],
      ['', ['must be 1 to 255 characters']],
      [`${longest.slice(0, -1)}01`, ['must be 1 to 255 characters']],
      ['INTERVAL=2', ['must have FREQ']],
      ['FREQ=DAILY;FREQ=WEEKLY', ['has FREQ more than once']],
      ['FREQ=DAILY;INTERVAL=0', ['INTERVAL must be an integer from 1 to 999']],
      ['FREQ=DAILY;INTERVAL=1000', ['INTERVAL must be an integer from 1 to 999']],
      [
        'FREQ=WEEKLY;BYDAY=2MO',
        ['BYDAY may have an ordinal (2MO, -1FR) only when FREQ is MONTHLY or YEARLY'],
      ],
      ['FREQ=MONTHLY;BYDAY=6MO', ['BYDAY ordinals must be ±1 to ±5 when FREQ is MONTHLY']],
      ['FREQ=YEARLY;BYDAY=-54MO', ['BYDAY ordinals must be ±1 to ±53 when FREQ is YEARLY']],
      ['FREQ=MONTHLY;BYMONTHDAY=0', ['BYMONTHDAY must list days from 1 to 31 or -31 to -1']],
      ['FREQ=MONTHLY;BYMONTHDAY=32', ['BYMONTHDAY must list days from 1 to 31 or -31 to -1']],
      ['FREQ=YEARLY;BYMONTH=13', ['BYMONTH must list months from 1 to 12']],
      ['FREQ=DAILY;UNTIL=20260230', ['UNTIL must be a date, YYYYMMDD']],
      ['FREQ=DAILY;UNTIL=20261231T235959Z', ['UNTIL must be a date, YYYYMMDD']],
      ['FREQ=WEEKLY;WKST=XX', ['WKST must be one of MO, TU, WE, TH, FR, SA, SU']],
    ]),
  )('%s refuses %j, saying why', async (via, recurrence, messages) => {
    await expectRefused(
      via,
      { due: ALL_DAY, recurrence },
      messages.map((message) => ({ field: 'recurrence', message })),
    );
  });

  it.each(cases<[unknown]>([[5], [true], [['FREQ=DAILY']]]))(
    '%s refuses a recurrence that is not a string (%j)',
    async (via, recurrence) => {
      await expectRefused(via, { due: ALL_DAY, recurrence }, [
        { field: 'recurrence', message: 'must be a string or null' },
      ]);
    },
  );

  it.each(cases([['FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30'], ['FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31']]))(
    '%s refuses %s, which can never give a date, with 400 on recurrence',
    async (via, recurrence) => {
      const { res, instance, expectUnchanged } = await send(via, { due: ALL_DAY, recurrence });

      // The contract fixes the status and the field, not the wording.
      expect({ status: res.statusCode, contentType: res.headers['content-type'] }).toEqual({
        status: 400,
        contentType: expect.stringMatching(/^application\/problem\+json/),
      });
      expect(res.json()).toMatchObject({
        code: 'VALIDATION_ERROR',
        instance,
        errors: [{ field: 'recurrence', message: expect.any(String) }],
      });
      await expectUnchanged();
    },
  );

  // Every fourth year from a common year never meets a 29 February; from a leap year it does.
  const LEAP_DAYS = 'FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29';
  const NO_DATE = {
    field: 'recurrence',
    message: 'gives no date in its first 1000 periods from the due (UNTIL aside)',
  };

  it('decides from the due: a rule that gives dates from one due is refused from another', async () => {
    const leap = { date: '2028-01-10', time: null, timeZone: null };
    const accepted = await call('POST', BASE, { body: { title: 'leap', due: leap, recurrence: LEAP_DAYS } });
    expect(accepted.statusCode).toBe(201);

    await expectRefused('POST', { due: { ...leap, date: '2027-01-10' }, recurrence: LEAP_DAYS }, [NO_DATE]);
  });

  it('PATCH checks a new rule against the stored due', async () => {
    const task = await createTask({
      title: 'rule only',
      due: { date: '2027-01-10', time: null, timeZone: null },
    });
    const before = await row(task.id);

    const res = await call('PATCH', taskUrl(task.id), { body: { recurrence: LEAP_DAYS } });

    expectValidationProblem(res, taskUrl(task.id), [NO_DATE], secrets());
    await expect(row(task.id)).resolves.toEqual(before);
  });

  it('PATCH checks a new due.date against the stored rule, and takes one that gives dates', async () => {
    const task = await createTask({
      title: 'date only',
      due: { date: '2028-01-10', time: null, timeZone: null },
      recurrence: LEAP_DAYS,
    });
    const before = await row(task.id);

    const refused = await call('PATCH', taskUrl(task.id), { body: { due: { date: '2027-01-10' } } });
    expectValidationProblem(refused, taskUrl(task.id), [NO_DATE], secrets());
    await expect(row(task.id)).resolves.toEqual(before);

    const accepted = await call('PATCH', taskUrl(task.id), { body: { due: { date: '2032-01-10' } } });
    expect({
      status: accepted.statusCode,
      due: accepted.json().due,
      version: accepted.json().version,
    }).toEqual({
      status: 200,
      due: { date: '2032-01-10', time: null, timeZone: null },
      version: 2,
    });
  });

  it('PATCH without If-Match keeps its recurrence check when another write lands in between', async () => {
    const task = await createTask({
      title: 'racing',
      due: { date: '2028-01-10', time: null, timeZone: null },
      recurrence: LEAP_DAYS,
    });

    const results = await Promise.all([
      call('PATCH', taskUrl(task.id), { body: { due: { date: '2032-01-10' } } }),
      ...Array.from({ length: 5 }, (_, i) =>
        call('PATCH', taskUrl(task.id), { body: { title: `racing ${i}` } }),
      ),
    ]);

    expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
    const stored = await call('GET', taskUrl(task.id));
    expect({ due: stored.json().due, version: stored.json().version }).toEqual({
      due: { date: '2032-01-10', time: null, timeZone: null },
      version: 7,
    });
  });

  it.each(VIAS)('%s refuses a recurrence without a due', async (via) => {
    await expectRefused(via, { recurrence: 'FREQ=DAILY' }, [{ field: 'recurrence', message: 'needs a due' }]);
  });

  it('POST refuses a recurrence with due: null', async () => {
    await expectRefused('POST', { recurrence: 'FREQ=DAILY', due: null }, [
      { field: 'recurrence', message: 'needs a due' },
    ]);
  });

  it('stores a task created completed with a recurrence as it is', async () => {
    const task = await expectAccepted('POST', { completed: true, due: ALL_DAY, recurrence: 'FREQ=DAILY' });

    expect(task).toMatchObject({
      completed: true,
      completedAt: task.createdAt,
      due: ALL_DAY,
      recurrence: 'FREQ=DAILY',
    });
  });
});

describe('listId and parentId: null or a UUID', () => {
  it.each(
    cases<[string, unknown]>([
      ['listId', 'inbox'],
      ['listId', 'abc'],
      ['listId', `${MISSING_ID}x`],
      ['listId', ''],
      ['listId', 42],
      ['parentId', 'none'],
      ['parentId', MISSING_ID.replace(/-/g, '')],
      ['parentId', ''],
      ['parentId', { id: MISSING_ID }],
    ]),
  )('%s refuses %s %j with 400', async (via, field, value) => {
    await expectRefused(via, { [field]: value }, [{ field, message: NOT_A_REFERENCE }]);
  });

  it.each(VIAS)('%s reports a bad listId and a bad parentId together', async (via) => {
    await expectRefused(via, { listId: 'x', parentId: 'y' }, [
      { field: 'listId', message: NOT_A_REFERENCE },
      { field: 'parentId', message: NOT_A_REFERENCE },
    ]);
  });
});

describe('every problem of one body is reported together', () => {
  const byField = (a: { field: string }, b: { field: string }) => (a.field < b.field ? -1 : 1);

  // The contract does not order `errors`; each problem must be in it, and the detail says the same.
  it.each<[Via, Record<string, unknown>, { field: string; message: string }[]]>([
    [
      'POST',
      { title: 5, priority: 'HIGH', tags: [''] },
      [
        { field: 'title', message: 'must be a string' },
        { field: 'priority', message: PRIORITY_VALUES },
        { field: 'tags[0]', message: TAG_RULE },
      ],
    ],
    [
      'PATCH',
      { completed: 'yes', priority: 'HIGH', due: { ...TIMED, time: '25:00' } },
      [
        { field: 'completed', message: 'must be true or false' },
        { field: 'priority', message: PRIORITY_VALUES },
        { field: 'due.time', message: DUE_TIME },
      ],
    ],
  ])(
    '%s lists a type error of a 1.0 field with the problems of the 1.1 fields',
    async (via, fields, errors) => {
      const { res, instance, expectUnchanged } = await send(via, fields);

      expect(res.statusCode).toBe(400);
      const body = res.json();
      expect({ ...body, errors: [...(body.errors as { field: string }[])].sort(byField) }).toEqual({
        type: 'about:blank',
        title: 'Validation failed',
        status: 400,
        code: 'VALIDATION_ERROR',
        detail: (body.errors as { field: string; message: string }[])
          .map((e) => `${e.field} ${e.message}`)
          .join('; '),
        instance,
        requestId: res.headers['x-request-id'],
        errors: [...errors].sort(byField),
      });
      await expectUnchanged();
    },
  );
});
