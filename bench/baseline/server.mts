/**
 * The benchmark's yardstick: the tasks API's hot routes written by hand with
 * nothing but node:http, a pg Pool of 16 with named prepared statements, and
 * HS256 checked with node:crypto. It is what Node on PostgreSQL can do without
 * a framework; `npm run bench` reports the service as a ratio of it. It serves
 * the same tables, the same JSON (the 1.1 Task, the list page and its cursor)
 * and headers on success, and checks ownership the same way, but keeps only the
 * validation the bench's requests need: creates go to the inbox at the top
 * level, a PATCH may set title, description and completed, and the list takes
 * either no filter or exactly `tag`, `dueFrom` and `dueTo`.
 *
 * It does the same database work as the service: a create reads the last
 * sibling's position and inserts with the quota upsert on owners in the same
 * statement; a PATCH is one UPDATE with the If-Match versions in its WHERE,
 * and reads again only when it touched no row; the filtered list runs
 * unnamed (planned for its values), as the service runs it. Where a careful
 * hand-written server would differ, it does: rows come back as plain columns,
 * timestamps as PostgreSQL's text in UTC (kept to the microsecond for the
 * cursor and cut to milliseconds in Node), not formatted by to_char in SQL.
 *
 * Run by bench/run.ts: PORT, DATABASE_URL and JWT_SECRET come from the environment.
 */
import { createHmac, createSecretKey, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { generateKeyBetween } from 'fractional-indexing';
import pg from 'pg';

const secret = Buffer.from(required('JWT_SECRET'));
// CURSOR_SECRET defaults to the JWT secret in the service too.
const cursorKey = createSecretKey(Buffer.from(process.env.CURSOR_SECRET ?? required('JWT_SECRET')));
const maxTasks = Number(process.env.MAX_TASKS_PER_USER ?? 100_000);

/** timestamptz as ISO 8601 with microseconds: `2026-11-26 08:15:30.1234+00` → `2026-11-26T08:15:30.123400Z`. */
function micros(text: string): string {
  const fraction = text.charCodeAt(19) === 46 ? text.slice(20, text.length - 3) : '';
  return `${text.slice(0, 10)}T${text.slice(11, 19)}.${fraction.padEnd(6, '0')}Z`;
}
const PARSERS: Record<number, (text: string) => unknown> = {
  1184: micros, // timestamptz (the session's TimeZone is UTC)
  1082: (text) => text, // date, kept as YYYY-MM-DD
  1083: (text) => text.slice(0, 5), // time(0), HH:MM
};
const pool = new pg.Pool({
  connectionString: required('DATABASE_URL'),
  max: 16,
  options: '-c TimeZone=UTC',
  types: {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      PARSERS[oid] ?? pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  },
});

const COLUMNS =
  'id, user_id, list_id, parent_id, title, description, completed, completed_at, priority, tags, ' +
  'due_date, due_time, due_time_zone, recurrence, position, created_at, updated_at, version';
const GET = `select ${COLUMNS} from tasks where id = $1 and user_id = $2`;
const LIST = `select ${COLUMNS} from tasks where user_id = $1 order by created_at desc, id desc limit 21`;
const FILTERED =
  `select ${COLUMNS} from tasks where user_id = $1 and tags @> $2::text[] ` +
  `and due_key >= $3::date and due_key < $4::date + 1 order by created_at desc, id desc limit 21`;
const LAST = `select position from tasks where user_id = $1 and list_id is null and parent_id is null
  order by position desc, id desc limit 1`;
// The quota: the owner's row, locked by the upsert, admits the insert while under the limit.
const CREATE = `with slot as (insert into owners as o (user_id) values ($1) on conflict (user_id)
    do update set user_id = excluded.user_id where o.task_count < $2::int returning 1)
  insert into tasks (user_id, title, description, completed, position)
  select $1, $3::varchar, $4::text, $5::boolean, $6::varchar from slot returning ${COLUMNS}`;
const PATCH = `update tasks set title = coalesce($3, title), completed = coalesce($4, completed),
  description = case when $5 then $6 else description end
  where id = $1 and user_id = $2 and ($7::int[] is null or version = any($7::int[])) returning ${COLUMNS}`;
const VERSION = 'select version from tasks where id = $1 and user_id = $2';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

interface Row {
  id: string;
  user_id: string;
  list_id: string | null;
  parent_id: string | null;
  title: string;
  description: string | null;
  completed: boolean;
  completed_at: string | null;
  priority: string;
  tags: string[];
  due_date: string | null;
  due_time: string | null;
  due_time_zone: string | null;
  recurrence: string | null;
  position: string;
  created_at: string;
  updated_at: string;
  version: number;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

/** The token's sub, or null: HS256 only, signature, exp (30 s skew) and sub checked. */
function verify(header: string | undefined): string | null {
  if (!header?.startsWith('Bearer ')) return null;
  const [h, p, s] = header.slice(7).split('.');
  if (!h || !p || !s) return null;
  const expected = createHmac('sha256', secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const alg = (JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: unknown }).alg;
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { sub?: unknown; exp?: unknown };
    if (alg !== 'HS256' || typeof claims.exp !== 'number' || claims.exp + 30 < Date.now() / 1000) return null;
    return typeof claims.sub === 'string' && claims.sub.length > 0 ? claims.sub : null;
  } catch {
    return null;
  }
}

const ms = (iso: string) => `${iso.slice(0, 23)}Z`;

function toTask(row: Row) {
  return {
    id: row.id,
    userId: row.user_id,
    listId: row.list_id,
    parentId: row.parent_id,
    title: row.title,
    description: row.description,
    completed: row.completed,
    completedAt: row.completed_at === null ? null : ms(row.completed_at),
    priority: row.priority,
    tags: row.tags,
    due:
      row.due_date === null ? null : { date: row.due_date, time: row.due_time, timeZone: row.due_time_zone },
    recurrence: row.recurrence,
    position: row.position,
    createdAt: ms(row.created_at),
    updatedAt: ms(row.updated_at),
    version: row.version,
  };
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': status < 400 ? 'application/json; charset=utf-8' : 'application/problem+json',
    'x-request-id': randomUUID(),
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}

function problem(res: ServerResponse, status: number, code: string): void {
  send(res, status, { type: 'about:blank', status, code, title: code });
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  let body = '';
  for await (const chunk of req) body += chunk as string;
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The service's cursor: the sort, its filters as canonical JSON, the key to the microsecond, signed with the owner. */
function cursor(userId: string, filters: string, row: Row): string {
  const payload = Buffer.from(
    JSON.stringify({ s: '-createdAt', f: filters, k: row.created_at, i: row.id }),
  ).toString('base64url');
  const signature = createHmac('sha256', cursorKey)
    .update(`${userId.length}:${userId}:${payload}`)
    .digest('base64url');
  return `${payload}.${signature}`;
}

/** Strong If-Match versions, or null for none or `*`. */
function ifMatch(header: string | undefined): number[] | null {
  if (header === undefined || header.trim() === '*') return null;
  return header.split(',').flatMap((tag) => {
    const m = /^\s*"(\d{1,10})"\s*$/.exec(tag);
    return m ? [Number(m[1])] : [];
  });
}

async function list(res: ServerResponse, userId: string, query: string | undefined): Promise<void> {
  let rows: Row[];
  let filters = '{}';
  if (query === undefined) {
    ({ rows } = await pool.query<Row>({ name: 'list', text: LIST, values: [userId] }));
  } else {
    const params = new URLSearchParams(query);
    const [tag, dueFrom, dueTo] = [
      params.get('tag')?.trim().toLowerCase(),
      params.get('dueFrom'),
      params.get('dueTo'),
    ];
    if (
      !tag ||
      !dueFrom ||
      !dueTo ||
      !DATE.test(dueFrom) ||
      !DATE.test(dueTo) ||
      [...params.keys()].length !== 3
    )
      return problem(res, 400, 'VALIDATION_ERROR');
    filters = JSON.stringify({ dueFrom, dueTo, tags: [tag] });
    ({ rows } = await pool.query<Row>({ text: FILTERED, values: [userId, [tag], dueFrom, dueTo] }));
  }
  const items = rows.slice(0, 20);
  const nextCursor = rows.length > 20 ? cursor(userId, filters, items[19]) : null;
  send(res, 200, { items: items.map(toTask), nextCursor });
}

async function create(req: IncomingMessage, res: ServerResponse, userId: string): Promise<void> {
  const body = await readJson(req);
  const title = typeof body?.title === 'string' ? body.title.trim() : '';
  if (!body || title.length < 1 || title.length > 255) return problem(res, 400, 'VALIDATION_ERROR');
  const description = typeof body.description === 'string' ? body.description : null;
  const completed = body.completed === true;
  const last = await pool.query<{ position: string }>({ name: 'last', text: LAST, values: [userId] });
  const position = generateKeyBetween(last.rows[0]?.position ?? null, null);
  const { rows } = await pool.query<Row>({
    name: 'create',
    text: CREATE,
    values: [userId, maxTasks, title, description, completed, position],
  });
  if (rows.length === 0) return problem(res, 403, 'QUOTA_EXCEEDED');
  const task = toTask(rows[0]);
  send(res, 201, task, { location: `/api/v1/tasks/${task.id}`, etag: `"${task.version}"` });
}

async function patch(req: IncomingMessage, res: ServerResponse, userId: string, id: string): Promise<void> {
  const body = await readJson(req);
  if (!body) return problem(res, 400, 'VALIDATION_ERROR');
  const title = typeof body.title === 'string' ? body.title.trim() : null;
  const completed = typeof body.completed === 'boolean' ? body.completed : null;
  const hasDescription = 'description' in body;
  const versions = ifMatch(req.headers['if-match']);
  const { rows } = await pool.query<Row>({
    name: 'patch',
    text: PATCH,
    values: [
      id,
      userId,
      title,
      completed,
      hasDescription,
      hasDescription ? body.description : null,
      versions,
    ],
  });
  if (rows.length > 0) return send(res, 200, toTask(rows[0]), { etag: `"${rows[0].version}"` });
  // Touched no row: not there, or a stale version.
  const current = await pool.query({ name: 'version', text: VERSION, values: [id, userId] });
  return current.rows.length === 0
    ? problem(res, 404, 'TASK_NOT_FOUND')
    : problem(res, 412, 'PRECONDITION_FAILED');
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  req.setEncoding('utf8');
  const userId = verify(req.headers.authorization);
  if (!userId) return problem(res, 401, 'INVALID_TOKEN');
  const url = req.url ?? '';
  const mark = url.indexOf('?');
  const path = mark < 0 ? url : url.slice(0, mark);
  const query = mark < 0 ? undefined : url.slice(mark + 1);
  if (path === '/api/v1/tasks') {
    if (req.method === 'GET') return list(res, userId, query);
    if (req.method === 'POST') return create(req, res, userId);
    return problem(res, 405, 'METHOD_NOT_ALLOWED');
  }
  const id = path.startsWith('/api/v1/tasks/') ? path.slice('/api/v1/tasks/'.length) : '';
  if (!UUID.test(id)) return problem(res, 404, 'ROUTE_NOT_FOUND');
  if (req.method === 'PATCH') return patch(req, res, userId, id);
  if (req.method !== 'GET') return problem(res, 405, 'METHOD_NOT_ALLOWED');
  const { rows } = await pool.query<Row>({ name: 'get', text: GET, values: [id, userId] });
  if (rows.length === 0) return problem(res, 404, 'TASK_NOT_FOUND');
  return send(res, 200, toTask(rows[0]), { etag: `"${rows[0].version}"` });
}

const server = createServer({ keepAliveTimeout: 75_000 }, (req, res) => {
  handle(req, res).catch((error: unknown) => {
    console.error(error);
    if (!res.headersSent) problem(res, 500, 'INTERNAL_ERROR');
  });
});
server.listen(Number(process.env.PORT ?? 8100), '127.0.0.1', () => console.log('baseline ready'));
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void pool.end().then(() => process.exit(0));
});
