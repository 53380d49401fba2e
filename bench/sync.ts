/**
 * `npm run bench:sync`: the change feed and stream of the built service in
 * production mode (printed, never asserted):
 *   1. a full first sync of one user's 10,000 tasks (pages of 100 and of 1,000: time and pages);
 *   2. the cost of an incremental page (10 changes) with a million tasks in the table, against the
 *      same page with only that user's 10,000;
 *   3. fan-out: 1,000 open streams (100 users × 10) on one instance while 100 tasks/s are created
 *      across those users: the delay from each write's 201 to its event on each of the owner's
 *      streams (p50, p99, max), events lost, and the instance's peak RSS.
 * Targets (issue 12): stream p99 ≤ 250 ms and RSS ≤ 300 MB with 1,000 streams open, no error.
 *
 * DATABASE_URL: an existing database (migrated by the service); without it an
 * embedded PostgreSQL is started in a temporary folder and removed afterwards.
 * Options: --skip-million (step 2 without the million), --fanout-seconds 20.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { freePort } from '../test/helpers/test-server.js';
import { seedWithSql } from './seed-sql.js';
import { ROOT, START_PROD } from './start-prod.js';

const args = parseArgs({
  options: {
    'skip-million': { type: 'boolean', default: false },
    'fanout-seconds': { type: 'string', default: '20' },
  },
}).values;
const secret = randomBytes(32).toString('base64url');
const runId = Date.now().toString(36);
const log = (line: string) => process.stderr.write(`${line}\n`);

async function token(sub: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(secret));
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function startService(databaseUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [...START_PROD.flags, START_PROD.script], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      JWT_SECRET: secret,
      DB_MIGRATE_ON_START: 'true',
      LOG_LEVEL: 'warn',
      MAX_TASKS_PER_USER: '10000000',
      SHUTDOWN_DELAY_MS: '0',
      // Metrics on, as in production, on a port of the run's own.
      METRICS_PORT: String(await freePort()),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (const started = Date.now(); ;) {
    if (child.exitCode !== null) throw new Error('the service exited during start-up');
    if (
      (await fetch(`${url}/health/ready`).then(
        (r) => r.status,
        () => 0,
      )) === 200
    )
      break;
    if (Date.now() - started > 60_000) throw new Error('the service was not ready after 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, child };
}

async function getJson(
  url: string,
  auth: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { headers: { authorization: auth } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Step 1: a first sync of `user`'s tasks until hasMore is false. */
async function firstSync(url: string, auth: string, limit: number) {
  const started = performance.now();
  let next: string | undefined;
  let pages = 0;
  let changes = 0;
  for (;;) {
    const query = new URLSearchParams({ limit: String(limit), ...(next ? { since: next } : {}) });
    const { status, body } = await getJson(`${url}/api/v1/changes?${query.toString()}`, auth);
    if (status !== 200) throw new Error(`GET /changes answered ${status}`);
    pages++;
    changes += (body.changes as unknown[]).length;
    next = body.next as string;
    if (!body.hasMore) break;
  }
  return { ms: performance.now() - started, pages, changes, next: next };
}

/** Step 2: the same incremental page (10 changes after `since`) `n` times: p50 and p99 in ms. */
async function incremental(url: string, auth: string, since: string, n = 300) {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const { status } = await getJson(`${url}/api/v1/changes?since=${encodeURIComponent(since)}`, auth);
    if (status !== 200) throw new Error(`GET /changes answered ${status}`);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** Step 3: fan-out. */
async function fanout(url: string, pid: number, seconds: number) {
  const users = Array.from({ length: 100 }, (_, i) => `bench-${runId}-fan-${i}`);
  const auths = new Map<string, string>();
  for (const u of users) auths.set(u, `Bearer ${await token(u)}`);
  const written = new Map<string, number>(); // task id → when its 201 arrived
  const received = new Map<string, number[]>(); // task id → when each of its events arrived
  let errors = 0;
  const controllers: AbortController[] = [];
  const opened: Promise<void>[] = [];
  for (const u of users) {
    for (let s = 0; s < 10; s++) {
      const controller = new AbortController();
      controllers.push(controller);
      opened.push(
        fetch(`${url}/api/v1/changes/stream`, {
          headers: { authorization: auths.get(u)! },
          signal: controller.signal,
        })
          .then(async (res) => {
            if (res.status !== 200 || !res.body) {
              errors++;
              return;
            }
            const decoder = new TextDecoder();
            let buffer = '';
            void (async () => {
              try {
                for await (const chunk of res.body!) {
                  buffer += decoder.decode(chunk as Uint8Array, { stream: true });
                  let end: number;
                  while ((end = buffer.indexOf('\n\n')) >= 0) {
                    const block = buffer.slice(0, end);
                    buffer = buffer.slice(end + 2);
                    const data = /^data: (.*)$/m.exec(block)?.[1];
                    if (!data) continue;
                    const id = (JSON.parse(data) as { id: string }).id;
                    received.set(id, [...(received.get(id) ?? []), performance.now()]);
                  }
                }
              } catch {
                // aborted at the end
              }
            })();
          })
          .catch(() => void errors++),
      );
    }
  }
  await Promise.all(opened);
  log(`fan-out: 1,000 streams open (${errors} refused); writing 100 tasks/s for ${seconds} s`);
  let peakRss = rssMb(pid);
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(pid))), 200);
  let writes = 0;
  const end = Date.now() + seconds * 1000;
  const inFlight: Promise<void>[] = [];
  for (let tick = 0; Date.now() < end; tick++) {
    const user = users[tick % users.length];
    inFlight.push(
      fetch(`${url}/api/v1/tasks`, {
        method: 'POST',
        headers: { authorization: auths.get(user)!, 'content-type': 'application/json' },
        body: JSON.stringify({ title: `fan-out ${tick}` }),
      }).then(async (res) => {
        if (res.status !== 201) {
          errors++;
          return;
        }
        written.set(((await res.json()) as { id: string }).id, performance.now());
        writes++;
      }),
    );
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(inFlight);
  await new Promise((r) => setTimeout(r, 2000));
  clearInterval(sampler);
  for (const c of controllers) c.abort();
  // A write reaches the owner's 10 streams: every one of them should have had it. An event
  // may arrive before the write's 201 does; its delay then counts as 0.
  const delays = [...written].flatMap(([id, at]) => (received.get(id) ?? []).map((t) => Math.max(0, t - at)));
  delays.sort((a, b) => a - b);
  return {
    writes,
    expectedEvents: writes * 10,
    events: delays.length,
    p50: percentile(delays, 50),
    p99: percentile(delays, 99),
    max: delays.at(-1) ?? NaN,
    peakRss,
    errors,
  };
}

async function main(): Promise<void> {
  let embedded: EmbeddedPostgres | undefined;
  let work: string | undefined;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    work = await mkdtemp(join(tmpdir(), 'tasks-bench-sync-'));
    // As root, the embedded PostgreSQL runs as "postgres", which must be able to enter the folder.
    await chmod(work, 0o755);
    embedded = await startEmbeddedPostgres({
      dataDir: join(work, 'pg'),
      port: await freePort(),
      database: 'tasks_bench',
      durable: false,
    });
    databaseUrl = embedded.url;
  }
  const { url, child } = await startService(databaseUrl);
  const client = new pg.Client(databaseUrl);
  await client.connect();
  try {
    const f = (n: number, d = 1) => n.toFixed(d);
    const user = `bench-${runId}-sync`;
    const auth = `Bearer ${await token(user)}`;
    await client.query(
      `insert into tasks (user_id, title, tags, position) select $1, 'task ' || n, '{work}', 'a' || lpad(n::text, 6, '0')
       from generate_series(1, 10000) n`,
      [user],
    );
    await client.query('vacuum (analyze) tasks, owners');
    const sync100 = await firstSync(url, auth, 100);
    const sync1000 = await firstSync(url, auth, 1000);
    console.log(
      `first sync of 10,000 tasks: ${f(sync100.ms, 0)} ms in ${sync100.pages} pages of 100; ` +
        `${f(sync1000.ms, 0)} ms in ${sync1000.pages} pages of 1,000`,
    );

    // Ten changes after a token, read again and again.
    const since = sync1000.next;
    await client.query(
      `update tasks set title = title || ' changed' where user_id = $1 and id in (
      select id from tasks where user_id = $1 order by position limit 10)`,
      [user],
    );
    const small = await incremental(url, auth, since);
    let large: { p50: number; p99: number } | undefined;
    if (!args['skip-million']) {
      log('seeding 1,000 users × 1,000 tasks with SQL …');
      await seedWithSql(client, `bench-${runId}-m`, 1000, 1000);
      large = await incremental(url, auth, since);
    }
    console.log(
      `incremental page (10 changes), ms: p50 ${f(small.p50, 2)}, p99 ${f(small.p99, 2)} with 10,000 tasks` +
        (large
          ? `; p50 ${f(large.p50, 2)}, p99 ${f(large.p99, 2)} with ${large ? '1,010,000' : ''} tasks`
          : ''),
    );

    const fan = await fanout(url, child.pid!, Number(args['fanout-seconds']));
    console.log(
      `fan-out, 1,000 streams, ${fan.writes} writes (${f(fan.writes / Number(args['fanout-seconds']), 0)}/s): ` +
        `${fan.events} of ${fan.expectedEvents} events, delay from the write's 201 p50 ${f(fan.p50)} ms, ` +
        `p99 ${f(fan.p99)} ms, max ${f(fan.max)} ms; peak RSS ${f(fan.peakRss, 0)} MB; errors ${fan.errors} ` +
        `(targets: p99 ≤ 250 ms, RSS ≤ 300 MB, no error)`,
    );
  } finally {
    await client.end();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await embedded?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
