/**
 * The benchmark's yardstick: the tasks API's hot routes written by hand with
 * nothing but node:http, a pg Pool of 16 with named prepared statements, and
 * HS256 checked with node:crypto. It is what Node on PostgreSQL can do without
 * a framework; `npm run bench` reports the service as a ratio of it. It serves
 * the same tables, the same JSON and headers on success, and checks ownership
 * the same way, but keeps only the validation the bench's requests need.
 *
 * Run by bench/run.ts: PORT, DATABASE_URL and JWT_SECRET come from the environment.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import pg from 'pg';

const secret = Buffer.from(required('JWT_SECRET'));
const pool = new pg.Pool({ connectionString: required('DATABASE_URL'), max: 16 });

const COLUMNS = 'id, user_id, title, description, completed, created_at, updated_at, version';
const GET = `select ${COLUMNS} from tasks where id = $1 and user_id = $2`;
const LIST = `select ${COLUMNS} from tasks where user_id = $1 order by created_at desc, id desc limit 21`;
const CREATE = `insert into tasks (user_id, title, description, completed) values ($1, $2, $3, $4) returning ${COLUMNS}`;
const PATCH = `update tasks set title = coalesce($3, title), completed = coalesce($4, completed),
  description = case when $5 then $6 else description end
  where id = $1 and user_id = $2 returning ${COLUMNS}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Row {
  id: string;
  user_id: string;
  title: string;
  description: string | null;
  completed: boolean;
  created_at: Date;
  updated_at: Date;
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

function toTask(row: Row) {
  return {
    id: row.id,
    userId: row.user_id,
    title: row.title,
    description: row.description,
    completed: row.completed,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
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
    'content-type': status < 400 ? 'application/json; charset=utf-8' : 'application/problem+json',
    'content-length': Buffer.byteLength(json),
    'x-request-id': randomUUID(),
    ...headers,
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

function cursor(userId: string, row: Row): string {
  const payload = Buffer.from(
    JSON.stringify({ s: '-createdAt', k: row.created_at.toISOString(), i: row.id }),
  ).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${userId}:${payload}`).digest('base64url');
  return `${payload}.${signature}`;
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  req.setEncoding('utf8');
  const userId = verify(req.headers.authorization);
  if (!userId) return problem(res, 401, 'INVALID_TOKEN');
  const path = (req.url ?? '').split('?')[0];
  if (path === '/api/v1/tasks') {
    if (req.method === 'GET') {
      const { rows } = await pool.query<Row>({ name: 'list', text: LIST, values: [userId] });
      const items = rows.slice(0, 20);
      const nextCursor = rows.length > 20 ? cursor(userId, items[19]) : null;
      return send(res, 200, { items: items.map(toTask), nextCursor });
    }
    if (req.method === 'POST') {
      const body = await readJson(req);
      const title = typeof body?.title === 'string' ? body.title.trim() : '';
      if (!body || title.length < 1 || title.length > 255) return problem(res, 400, 'VALIDATION_ERROR');
      const description = typeof body.description === 'string' ? body.description : null;
      const completed = body.completed === true;
      const { rows } = await pool.query<Row>({
        name: 'create',
        text: CREATE,
        values: [userId, title, description, completed],
      });
      const task = toTask(rows[0]);
      return send(res, 201, task, { location: `/api/v1/tasks/${task.id}`, etag: `"${task.version}"` });
    }
    return problem(res, 405, 'METHOD_NOT_ALLOWED');
  }
  const id = path.startsWith('/api/v1/tasks/') ? path.slice('/api/v1/tasks/'.length) : '';
  if (!UUID.test(id)) return problem(res, 404, 'ROUTE_NOT_FOUND');
  let rows: Row[];
  if (req.method === 'GET') {
    ({ rows } = await pool.query<Row>({ name: 'get', text: GET, values: [id, userId] }));
  } else if (req.method === 'PATCH') {
    const body = await readJson(req);
    if (!body) return problem(res, 400, 'VALIDATION_ERROR');
    const title = typeof body.title === 'string' ? body.title.trim() : null;
    const completed = typeof body.completed === 'boolean' ? body.completed : null;
    const hasDescription = 'description' in body;
    ({ rows } = await pool.query<Row>({
      name: 'patch',
      text: PATCH,
      values: [id, userId, title, completed, hasDescription, hasDescription ? body.description : null],
    }));
  } else {
    return problem(res, 405, 'METHOD_NOT_ALLOWED');
  }
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
