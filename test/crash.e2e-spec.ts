import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { TEST_JWT_SECRET } from './helpers/boot-app';
import { killBuiltServices, productionEnv, startBuiltService } from './helpers/built-service';
import { tokenFor } from './helpers/http';
import { createTestDatabase, sqlClient, type TestDatabase } from './helpers/test-database';

/**
 * Crash safety: the built service is SIGKILLed in the middle of a concurrent
 * write load and started again on the same database. Whatever was answered 2xx
 * must be there, whatever was answered 4xx must have changed nothing, and a
 * request cut off without an answer may have either outcome. Each worker is
 * its own user and sends one request at a time, so the acknowledged writes of
 * every task have a known order and the final state of each task is known.
 */

const WORKERS = 12;
const MAX_TASKS = 2;
/** The load runs at least this long, and until every worker had a whole round answered, before the kill. */
const LOAD_MS = 1000;

type Kind = 'create' | 'quota' | 'invalid' | 'patch' | 'stale' | 'delete' | 'missing';

interface TaskJson {
  id: string;
  title: string;
  description: string | null;
  completed: boolean;
  version: number;
  [field: string]: unknown;
}

interface Sent {
  worker: number;
  kind: Kind;
  /** Unique per request, so that its effect can be found in the database. */
  title: string;
  taskId?: string;
  expected: number;
  /** Undefined when no complete answer arrived (the process died first). */
  status?: number;
  body?: TaskJson;
}

/** A task's state as the assertions compare it; null when it does not exist. */
type State = Pick<TaskJson, 'title' | 'description' | 'completed' | 'version'> | null;

const stateOf = (task: Exclude<State, null>): State => ({
  title: task.title,
  description: task.description,
  completed: task.completed,
  version: task.version,
});

/** One round of a worker's requests; with MAX_TASKS = 2 every kind of answer occurs in the first. */
const ROUND = [
  'create',
  'create',
  'create',
  'patchOldest',
  'stale',
  'invalid',
  'deleteOldest',
  'missing',
  'patchNewest',
] as const;

describe('a SIGKILL in the middle of a write load', () => {
  let db: TestDatabase;
  let sql: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = sqlClient(db.url);
  });

  afterAll(async () => {
    await killBuiltServices();
    await sql?.end();
    await db?.drop();
  });

  it('loses no acknowledged write and keeps no refused one', async () => {
    const env = await productionEnv(db, { MAX_TASKS_PER_USER: String(MAX_TASKS) });
    const first = startBuiltService(env);
    const { base } = first;
    await first.ready();

    const users = Array.from({ length: WORKERS }, (_, w) => `crash_user_${w}`);
    const tokens = await Promise.all(users.map((user) => tokenFor(user, TEST_JWT_SECRET, '10m')));
    const sent: Sent[] = [];

    /** Sends one request; false once no complete answer came (the worker then stops). */
    async function send(
      record: Sent,
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<boolean> {
      sent.push(record);
      try {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${tokens[record.worker]}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...headers,
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        record.body = res.status < 300 && text ? (JSON.parse(text) as TaskJson) : undefined;
        record.status = res.status;
        return true;
      } catch {
        return false;
      }
    }

    async function worker(w: number): Promise<void> {
      // The worker's live tasks, oldest first, as its acknowledged answers left them.
      const live: TaskJson[] = [];
      for (let n = 0; ; n++) {
        const step = ROUND[n % ROUND.length];
        const title = `w${w} n${n} ${step}`;
        let ok = true;
        if (step === 'create') {
          const record: Sent = {
            worker: w,
            kind: live.length < MAX_TASKS ? 'create' : 'quota',
            title,
            expected: live.length < MAX_TASKS ? 201 : 403,
          };
          ok = await send(record, 'POST', '/api/v1/tasks', { title });
          if (record.status === 201) live.push(record.body!);
        } else if (step === 'invalid') {
          // A body that would be written but for one bad field.
          ok = await send({ worker: w, kind: 'invalid', title, expected: 400 }, 'POST', '/api/v1/tasks', {
            title,
            priority: 'urgent',
          });
        } else if (step === 'missing') {
          const record: Sent = { worker: w, kind: 'missing', title, expected: 404, taskId: randomUUID() };
          ok = await send(record, 'DELETE', `/api/v1/tasks/${record.taskId}`);
        } else if (live.length > 0) {
          const index = step === 'patchNewest' ? live.length - 1 : 0;
          const task = live[index];
          if (step === 'patchOldest' || step === 'patchNewest') {
            const record: Sent = { worker: w, kind: 'patch', title, expected: 200, taskId: task.id };
            ok = await send(
              record,
              'PATCH',
              `/api/v1/tasks/${task.id}`,
              { title, description: `${title} description`, completed: !task.completed },
              { 'if-match': `"${task.version}"` },
            );
            if (record.status === 200) live[index] = record.body!;
          } else if (step === 'stale' && task.version > 1) {
            ok = await send(
              { worker: w, kind: 'stale', title, expected: 412, taskId: task.id },
              'PATCH',
              `/api/v1/tasks/${task.id}`,
              { title },
              { 'if-match': `"${task.version - 1}"` },
            );
          } else if (step === 'deleteOldest') {
            const record: Sent = { worker: w, kind: 'delete', title, expected: 204, taskId: task.id };
            ok = await send(record, 'DELETE', `/api/v1/tasks/${task.id}`);
            if (record.status === 204) live.shift();
          }
        }
        const last = sent.findLast((s) => s.worker === w);
        // A wrong answer makes the worker's picture of its tasks wrong: stop; the test fails on it below.
        if (!ok || (last?.status !== undefined && last.status !== last.expected)) return;
      }
    }

    const started = Date.now();
    const load = Promise.all(users.map((_, w) => worker(w)));
    const roundDone = (w: number) =>
      sent.filter((s) => s.worker === w && s.status !== undefined).length >= ROUND.length;
    const everyRoundDone = () => users.every((_, w) => roundDone(w));
    // The second bound only catches a hang; the kinds check below then fails.
    while ((Date.now() - started < LOAD_MS || !everyRoundDone()) && Date.now() - started < 20_000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    first.child.kill('SIGKILL');
    await load;

    // Every worker was still sending when the process died, and its last request went unanswered.
    for (let w = 0; w < WORKERS; w++) expect(sent.findLast((s) => s.worker === w)?.status).toBeUndefined();
    expect(sent.filter((s) => s.status !== undefined && s.status !== s.expected)).toEqual([]);
    const kinds = new Set(sent.filter((s) => s.status !== undefined).map((s) => `${s.kind} ${s.status}`));
    expect([...kinds].sort()).toEqual([
      'create 201',
      'delete 204',
      'invalid 400',
      'missing 404',
      'patch 200',
      'quota 403',
      'stale 412',
    ]);

    // The same environment, so the same port: clients find it where they left it.
    await startBuiltService(env).ready();

    const rows = (
      await sql.query<{ id: string; user_id: string } & Exclude<State, null>>(
        'select id, user_id, title, description, completed, version from tasks',
      )
    ).rows;
    const rowById = new Map(rows.map((r) => [r.id, r]));

    // Each task the service acknowledged creating: its final state is what its last
    // acknowledged write answered, or what the unanswered write after it would make it.
    const created = sent.filter((s) => s.kind === 'create' && s.status === 201);
    const mismatches: unknown[] = [];
    const expectedBodies = new Map<string, TaskJson>();
    for (const create of created) {
      const id = create.body!.id;
      const writes = sent.filter((s) => s.body?.id === id || s.taskId === id);
      const acknowledged = writes.filter((s) => s.status !== undefined && s.status < 300);
      const last = acknowledged.at(-1)!;
      const pending = writes.filter((s) => s.status === undefined);
      const lastState: State = last.kind === 'delete' ? null : stateOf(last.body!);
      const allowed: State[] = [lastState];
      for (const write of pending) {
        if (write.kind === 'delete') allowed.push(null);
        if (write.kind === 'patch' && lastState) {
          allowed.push({
            title: write.title,
            description: `${write.title} description`,
            completed: !lastState.completed,
            version: lastState.version + 1,
          });
        }
      }
      const row = rowById.get(id);
      const actual: State = row
        ? { title: row.title, description: row.description, completed: row.completed, version: row.version }
        : null;
      if (!allowed.some((state) => JSON.stringify(state) === JSON.stringify(actual))) {
        mismatches.push({ id, allowed, actual });
      }
      if (lastState && JSON.stringify(lastState) === JSON.stringify(actual))
        expectedBodies.set(id, last.body!);
    }
    expect(mismatches).toEqual([]);

    // Nothing else is stored: every row is an acknowledged create or an unanswered one.
    const createdIds = new Set(created.map((s) => s.body!.id));
    const unansweredTitles = new Set(
      sent.filter((s) => s.status === undefined && s.kind === 'create').map((s) => s.title),
    );
    expect(rows.filter((r) => !createdIds.has(r.id) && !unansweredTitles.has(r.title))).toEqual([]);
    // No refused write left a trace (each title is unique to its request).
    const refusedTitles = new Set(
      sent.filter((s) => s.status !== undefined && s.status >= 400).map((s) => s.title),
    );
    expect(rows.filter((r) => refusedTitles.has(r.title))).toEqual([]);
    // The quota's counters agree with the rows: they change in the same transactions.
    const counts = await sql.query<{ user_id: string; counted: number; rows: number }>(
      `select o.user_id, o.task_count as counted, count(t.id)::int as rows
         from owners o left join tasks t on t.user_id = o.user_id
        group by o.user_id, o.task_count
       having o.task_count <> count(t.id)`,
    );
    expect(counts.rows).toEqual([]);

    // The restarted service serves what is stored, exactly as it last answered it.
    for (const [w, user] of users.entries()) {
      const res = await fetch(`${base}/api/v1/tasks?limit=100`, {
        headers: { authorization: `Bearer ${tokens[w]}` },
      });
      expect(res.status).toBe(200);
      const { items } = (await res.json()) as { items: TaskJson[] };
      const stored = rows.filter((r) => r.user_id === user);
      expect(items.map((t) => t.id).sort()).toEqual(stored.map((r) => r.id).sort());
      for (const item of items) {
        expect(stateOf(item)).toEqual(stateOf(rowById.get(item.id)!));
        if (expectedBodies.has(item.id)) expect(item).toEqual(expectedBodies.get(item.id));
      }
    }
  }, 60_000);
});
