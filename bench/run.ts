/**
 * `npm run bench`: the built service in production mode and the hand-written
 * baseline (bench/baseline/server.mts), side by side in one run against one
 * PostgreSQL, under the same load. The machine is shared and noisy, so the
 * figures that mean something are the same-run ratios service/baseline.
 * Besides each server's own CPU per request, it counts the CPU of the
 * PostgreSQL backends serving the bench's database (bench/pg-cpu.ts).
 *
 * Options (after `npm run bench --`):
 *   --connections 64    concurrent connections of the load generator
 *   --duration 15       measured seconds per scenario and server
 *   --warmup 5          unmeasured seconds before each measurement
 *   --scenarios get,list,create,patch,mixed   (also: filtered)
 *   --users 100 --tasks 20   seeded users, and tasks per user
 *   --soak 0            seconds of mixed load on the service alone, sampling its RSS
 *   --tool auto         wrk when installed, else autocannon (a devDependency)
 *   --out <file>        JSON results (default bench/results/<timestamp>.json)
 *   --profile           write a V8 CPU profile of the service's measured run to bench/results/
 *   --scale             the scale run instead: --users × --tasks, then --scale-users × --scale-tasks,
 *                       seeded with SQL in a database of its own (scenarios get,list,filtered,patch)
 *   --scale-users 1000 --scale-tasks 1000
 *   --filter <query>    the filtered list's query (default: tag=work and a 30-day due range)
 *   --keep              keep the scale run's database (its name is printed)
 *   --shared-buffers 1GB  the embedded PostgreSQL's shared_buffers (default 128MB): a
 *                       database sized for its data, for the scale run (no effect with DATABASE_URL)
 * DATABASE_URL: an existing database (migrated by the service); without it an
 * embedded PostgreSQL is started in a temporary folder and removed afterwards.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { SignJWT } from 'jose';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { freePort } from '../test/helpers/test-server.js';
import { PgBackendCpu, processCpuUs } from './pg-cpu.js';
import {
  diskSize,
  removeSeeded,
  sampleTaskIds,
  seedWithSql,
  warmCaches,
  type DiskSize,
  type Seeded,
  type Warmed,
} from './seed-sql.js';
import { ROOT, START_PROD } from './start-prod.js';

const SCENARIOS = ['get', 'list', 'filtered', 'create', 'patch', 'mixed'] as const;
type Scenario = (typeof SCENARIOS)[number];
type Target = 'service' | 'baseline';
const DEFAULT_SCENARIOS = 'get,list,create,patch,mixed';
const SCALE_SCENARIOS = 'get,list,filtered,patch';
/** Task ids per user that get and patch pick from in the scale run. */
const SAMPLED_IDS = 100;
/** The scale run's target: every figure at the large size within this factor of the small size's. */
const SCALE_TARGET = 1.25;

interface Load {
  requests: number;
  seconds: number;
  non2xx: number;
  socketErrors: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

interface Measurement extends Load {
  target: Target;
  scenario: Scenario;
  reqPerSec: number;
  cpuUsPerRequest: number;
  /** CPU of the PostgreSQL backends serving the bench's database; null when they cannot be seen. */
  pgCpuUsPerRequest: number | null;
  peakRssMb: number;
  valid: boolean;
}

interface User {
  auth: string;
  ids: string[];
}

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '64' },
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '5' },
    scenarios: { type: 'string' },
    users: { type: 'string', default: '100' },
    tasks: { type: 'string', default: '20' },
    soak: { type: 'string', default: '0' },
    tool: { type: 'string', default: 'auto' },
    out: { type: 'string' },
    profile: { type: 'boolean', default: false },
    scale: { type: 'boolean', default: false },
    'scale-users': { type: 'string', default: '1000' },
    'scale-tasks': { type: 'string', default: '1000' },
    filter: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'shared-buffers': { type: 'string' },
    pooler: { type: 'string' },
  },
});
const connections = positive('connections');
const duration = positive('duration');
const warmup = Number(args.warmup);
const soakSeconds = Number(args.soak);
const sizes = {
  small: { users: positive('users'), tasks: positive('tasks') },
  large: { users: positive('scale-users'), tasks: positive('scale-tasks') },
};
const scenarios = (args.scenarios ?? (args.scale ? SCALE_SCENARIOS : DEFAULT_SCENARIOS))
  .split(',')
  .map((s) => {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario ${s}`);
    return s as Scenario;
  });
const tool = args.tool === 'auto' ? (hasWrk() ? 'wrk' : 'autocannon') : args.tool;
if (tool !== 'wrk' && tool !== 'autocannon') throw new Error('--tool must be wrk, autocannon or auto');
/** The filtered list: one tag and a month of dues, in the middle of the seeded dues (a year, from 400 days ago). */
const filter = args.filter ?? `tag=work&dueFrom=${daysFromToday(-200)}&dueTo=${daysFromToday(-171)}`;

const secret = randomBytes(32).toString('base64url');
const runId = new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15);
const children = new Set<ChildProcess>();

function positive(
  name: 'connections' | 'duration' | 'users' | 'tasks' | 'scale-users' | 'scale-tasks',
): number {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}

function daysFromToday(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

function hasWrk(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuUs(pid: number): number {
  const cpu = processCpuUs(pid);
  if (cpu === null) throw new Error(`process ${pid} has exited`);
  return cpu;
}
function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

interface Server {
  target: Target;
  url: string;
  process: ChildProcess;
  startupMs: number;
}

/** Settings an operator may tune, passed through to the service: `DB_POOL_MAX=16 npm run bench`. */
const TUNABLE = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => name.startsWith('DB_') || name === 'LOG_LEVEL'),
);

async function startServer(
  target: Target,
  databaseUrl: string,
  { nodeFlags = [], migrate = true }: { nodeFlags?: string[]; migrate?: boolean } = {},
): Promise<Server> {
  const port = await freePort();
  const [script, env] =
    target === 'service'
      ? [
          START_PROD.script,
          {
            ...TUNABLE,
            NODE_ENV: 'production',
            HOST: '127.0.0.1',
            // The first start migrates the bench's database; restarts start as production does.
            DB_MIGRATE_ON_START: String(migrate),
            // No load balancer to warn before the bench stops it.
            SHUTDOWN_DELAY_MS: '0',
            // Metrics on, as in production, on a port of the run's own.
            METRICS_PORT: String(await freePort()),
            ...(args.pooler ? pooled(databaseUrl, args.pooler) : {}),
          },
        ]
      : [join(ROOT, 'bench/baseline/server.mts'), {}];
  const started = performance.now();
  const flags = target === 'service' ? START_PROD.flags : ['--disable-warning=ExperimentalWarning'];
  const child = spawn(process.execPath, [...flags, ...nodeFlags, script], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: databaseUrl,
      ...env,
      PORT: String(port),
      JWT_SECRET: secret,
    },
    // The service's request log goes to /dev/null: written, as in production, but not kept.
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const readyPath = target === 'service' ? '/health/ready' : '/api/v1/tasks';
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${target} exited during start-up: ${stderr}`);
    const status = await fetch(url + readyPath).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200 || (target === 'baseline' && status === 401)) break;
    if (performance.now() - started > 60_000) throw new Error(`${target} not ready after 60 s: ${stderr}`);
    await sleep(10);
  }
  return { target, url, process: child, startupMs: performance.now() - started };
}

/** The service's database settings behind a transaction pooler, as the README's operations section gives them. */
function pooled(directUrl: string, poolerUrl: string): Record<string, string> {
  const url = new URL(poolerUrl);
  url.pathname = new URL(directUrl).pathname;
  return { DATABASE_URL: url.toString(), DATABASE_DIRECT_URL: directUrl, DB_PREPARED_STATEMENTS: 'false' };
}

async function stopServer(server: Server): Promise<void> {
  if (server.process.exitCode !== null || server.process.signalCode !== null) return;
  const exited = new Promise((r) => server.process.once('exit', r));
  server.process.kill('SIGTERM');
  await exited;
  children.delete(server.process);
}

function token(userId: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setExpirationTime('6h')
    .sign(new TextEncoder().encode(secret));
}

/** Users and their tasks, created through the service's API. */
async function seedThroughApi(service: Server, userCount: number, tasksPerUser: number): Promise<User[]> {
  const users: User[] = [];
  for (let i = 0; i < userCount; i++)
    users.push({ auth: `Bearer ${await token(`bench-${runId}-${i}`)}`, ids: [] });
  const jobs = users.flatMap((user) => Array.from({ length: tasksPerUser }, (_, n) => ({ user, n })));
  const worker = async () => {
    for (let job = jobs.pop(); job; job = jobs.pop()) {
      const response = await fetch(`${service.url}/api/v1/tasks`, {
        method: 'POST',
        headers: { authorization: job.user.auth, 'content-type': 'application/json' },
        body: JSON.stringify({ title: `seeded task ${job.n}`, description: 'seeded by the benchmark' }),
      });
      if (response.status !== 201) throw new Error(`seeding: ${response.status} ${await response.text()}`);
      job.user.ids.push(((await response.json()) as { id: string }).id);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return users;
}

/** The users and the filter, as the Lua table bench/load.lua reads. */
async function writeLoadData(file: string, users: User[]): Promise<void> {
  const rows = users.map(
    (u) => `{auth=${JSON.stringify(u.auth)},ids={${u.ids.map((id) => `"${id}"`).join(',')}}}`,
  );
  await writeFile(file, `return {\nfilter=${JSON.stringify(filter)},\nusers={\n${rows.join(',\n')}\n}}\n`);
}

async function runWrk(url: string, scenario: Scenario, seconds: number, dataFile: string): Promise<Load> {
  const child = spawn(
    'wrk',
    [
      ...['-t2', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s'],
      ...['-s', join(ROOT, 'bench/load.lua'), url, '--', dataFile, scenario],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((r) => child.once('exit', r));
  const line = out.split('\n').find((l) => l.startsWith('{"requests"'));
  if (!line) throw new Error(`wrk printed no result:\n${out}`);
  const r = JSON.parse(line) as Record<string, number>;
  return {
    requests: r.requests,
    seconds: r.durationUs / 1e6,
    non2xx: r.non2xx,
    socketErrors: r.socketErrors,
    p50Ms: r.p50Us / 1000,
    p95Ms: r.p95Us / 1000,
    p99Ms: r.p99Us / 1000,
  };
}

function pick<T>(list: T[]): T {
  return list[Math.floor(Math.random() * list.length)];
}

/** The same requests as bench/load.lua, for machines without wrk. */
function nextRequest(users: User[], scenario: Scenario, counter: { n: number }): autocannon.Request {
  const user = pick(users);
  let kind: Exclude<Scenario, 'mixed'> = scenario === 'mixed' ? 'get' : scenario;
  if (scenario === 'mixed') {
    const r = Math.random();
    kind = r < 0.5 ? 'get' : r < 0.75 ? 'list' : r < 0.9 ? 'patch' : 'create';
  }
  const json = { authorization: user.auth, 'content-type': 'application/json' };
  switch (kind) {
    case 'get':
      return {
        method: 'GET',
        path: `/api/v1/tasks/${pick(user.ids)}`,
        headers: { authorization: user.auth },
      };
    case 'list':
      return { method: 'GET', path: '/api/v1/tasks', headers: { authorization: user.auth } };
    case 'filtered':
      return { method: 'GET', path: `/api/v1/tasks?${filter}`, headers: { authorization: user.auth } };
    case 'patch':
      return {
        method: 'PATCH',
        path: `/api/v1/tasks/${pick(user.ids)}`,
        headers: json,
        body: JSON.stringify({ completed: Math.random() < 0.5 }),
      };
    case 'create':
      return {
        method: 'POST',
        path: '/api/v1/tasks',
        headers: json,
        body: JSON.stringify({ title: `bench task ${++counter.n}`, description: 'created by the benchmark' }),
      };
  }
}

async function runAutocannon(url: string, scenario: Scenario, seconds: number, users: User[]): Promise<Load> {
  const counter = { n: 0 };
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((done, fail) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration: seconds,
        timeout: 10,
        requests: [{ setupRequest: () => nextRequest(users, scenario, counter) }],
      },
      (error: Error | null, outcome: autocannon.Result) => (error ? fail(error) : done(outcome)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  });
  latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  return {
    requests: result.requests.total,
    seconds: result.duration,
    non2xx: result.non2xx,
    socketErrors: result.errors + result.timeouts,
    p50Ms: at(50),
    p95Ms: at(95),
    p99Ms: at(99),
  };
}

async function load(url: string, scenario: Scenario, seconds: number, users: User[], dataFile: string) {
  return tool === 'wrk'
    ? runWrk(url, scenario, seconds, dataFile)
    : runAutocannon(url, scenario, seconds, users);
}

async function measure(
  server: Server,
  scenario: Scenario,
  users: User[],
  dataFile: string,
  pgCpu: PgBackendCpu | null,
): Promise<Measurement> {
  if (warmup > 0) await load(server.url, scenario, warmup, users, dataFile);
  const pid = server.process.pid!;
  let peakRss = rssMb(pid);
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(pid))), 200);
  const pgCount = pgCpu?.start();
  const cpuBefore = cpuUs(pid);
  const result = await load(server.url, scenario, duration, users, dataFile);
  const cpu = cpuUs(pid) - cpuBefore;
  const pgUs = pgCount?.stop() ?? null;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, rssMb(pid));
  return {
    target: server.target,
    scenario,
    ...result,
    reqPerSec: result.requests / result.seconds,
    cpuUsPerRequest: cpu / result.requests,
    pgCpuUsPerRequest: pgUs === null ? null : pgUs / result.requests,
    peakRssMb: peakRss,
    valid: result.non2xx === 0 && result.socketErrors === 0 && result.requests > 0,
  };
}

/** Every scenario on the service, then on the baseline. */
async function measureAll(
  servers: Server[],
  users: User[],
  dataFile: string,
  pgCpu: PgBackendCpu | null,
  label = '',
): Promise<Measurement[]> {
  const results: Measurement[] = [];
  for (const scenario of scenarios) {
    for (const server of servers) {
      log(`${label}${scenario} on ${server.target}: ${warmup} s warm-up, ${duration} s measured`);
      results.push(await measure(server, scenario, users, dataFile, pgCpu));
    }
  }
  return results;
}

/** RSS of the service under the mixed load, once a second, for `seconds`. */
async function soak(service: Server, users: User[], dataFile: string, seconds: number) {
  const pid = service.process.pid!;
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(rssMb(pid)), 1000);
  const result = await load(service.url, 'mixed', seconds, users, dataFile);
  clearInterval(sampler);
  const at10 = samples[9] ?? samples[0];
  const end = samples[samples.length - 1];
  return {
    seconds,
    requests: result.requests,
    non2xx: result.non2xx + result.socketErrors,
    rssAt10sMb: at10,
    rssEndMb: end,
    rssMaxMb: Math.max(...samples),
    growthPercent: ((end - at10) / at10) * 100,
    samplesMb: samples.map((s) => Math.round(s * 10) / 10),
  };
}

const f = (n: number | null, digits = 0) => (n === null ? '–' : n.toFixed(digits));
const mb = (bytes: number) => f(bytes / 2 ** 20);
const total = (r: Measurement) =>
  r.pgCpuUsPerRequest === null ? null : r.cpuUsPerRequest + r.pgCpuUsPerRequest;

function table(results: Measurement[]): string {
  const rows = [
    [
      'scenario',
      'server',
      'req/s',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'non-2xx',
      'CPU µs/req',
      'PG CPU µs/req',
      'total µs/req',
      'peak RSS MB',
    ],
  ];
  for (const r of results) {
    rows.push([
      r.scenario,
      r.target,
      f(r.reqPerSec),
      f(r.p50Ms, 1),
      f(r.p95Ms, 1),
      f(r.p99Ms, 1),
      String(r.non2xx + r.socketErrors) + (r.valid ? '' : ' INVALID'),
      f(r.cpuUsPerRequest),
      f(r.pgCpuUsPerRequest),
      f(total(r)),
      f(r.peakRssMb),
    ]);
  }
  return format(rows);
}

function ratios(results: Measurement[]) {
  return scenarios.flatMap((scenario) => {
    const s = results.find((r) => r.scenario === scenario && r.target === 'service');
    const b = results.find((r) => r.scenario === scenario && r.target === 'baseline');
    if (!s || !b) return [];
    const [st, bt] = [total(s), total(b)];
    return [
      {
        scenario,
        throughput: s.reqPerSec / b.reqPerSec,
        cpuPerRequest: s.cpuUsPerRequest / b.cpuUsPerRequest,
        totalCpuPerRequest: st === null || bt === null ? null : st / bt,
        p99Ms: s.p99Ms,
        valid: s.valid && b.valid,
      },
    ];
  });
}

function ratioTable(summary: ReturnType<typeof ratios>): string {
  return format([
    ['scenario', 'valid', 'req/s ratio', 'CPU/req ratio', 'total CPU/req ratio', 'service p99 ms'],
    ...summary.map((r) => [
      r.scenario,
      r.valid ? 'yes' : 'NO',
      f(r.throughput, 2),
      f(r.cpuPerRequest, 2),
      f(r.totalCpuPerRequest, 2),
      f(r.p99Ms, 1),
    ]),
  ]);
}

function format(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '))
    .join('\n');
}

interface Database {
  url: string;
  stop: () => Promise<void>;
  label: string;
}

async function database(): Promise<Database> {
  if (process.env.DATABASE_URL) {
    const url = process.env.DATABASE_URL;
    const label = url.replace(/\/\/[^@]*@/, '//');
    if (!args.pooler) return { url, stop: async () => undefined, label };
    // Behind the pooler the statement timeout is the database's (or role's) setting, as
    // the README's setup gives it; set for the run and reset afterwards.
    const timeout = Number(process.env.DB_STATEMENT_TIMEOUT_MS ?? 5000);
    const alter = async (change: string) => {
      const client = new pg.Client(url);
      await client.connect();
      const { rows } = await client.query<{ db: string }>('select current_database() as db');
      await client.query(`alter database "${rows[0].db}" ${change}`);
      await client.end();
    };
    await alter(`set statement_timeout = ${timeout}`);
    return {
      url,
      stop: () => alter('reset statement_timeout'),
      label: `${label}, the service through the pooler ${args.pooler.replace(/\/\/[^@]*@/, '//')}`,
    };
  }
  if (args.pooler) throw new Error('--pooler needs DATABASE_URL: the database the pooler forwards to');
  const dir = await mkdtemp(join(tmpdir(), 'tasks-bench-'));
  // Run as root, embedded-postgres starts the server as the postgres user, who must enter the folder.
  await chmod(dir, 0o755);
  const server: EmbeddedPostgres = await startEmbeddedPostgres({
    dataDir: join(dir, 'pg'),
    port: await freePort(),
    database: 'tasks',
    durable: true,
    settings: args['shared-buffers'] ? { shared_buffers: args['shared-buffers'] } : {},
  });
  return {
    url: server.url,
    label: `embedded PostgreSQL at 127.0.0.1:${server.port}${args['shared-buffers'] ? `, shared_buffers ${args['shared-buffers']}` : ''}`,
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The backend CPU sampler for the database `client` is connected to, or null (with a note) when it cannot be seen. */
async function pgCpuOf(client: pg.Client): Promise<PgBackendCpu | null> {
  const { rows } = await client.query<{ pid: number; db: string }>(
    'select pg_backend_pid() as pid, current_database() as db',
  );
  const found = PgBackendCpu.find(rows[0].pid, rows[0].db);
  if (!found) log('PostgreSQL runs where /proc cannot see it: its CPU per request is not counted');
  return found;
}

function machine() {
  return { cpus: cpus().length, model: cpus()[0]?.model, loadavgAtEnd: loadavg() };
}

async function writeReport(report: object): Promise<string> {
  const out = args.out ?? join(ROOT, 'bench/results', `${runId}.json`);
  await mkdir(resolve(out, '..'), { recursive: true });
  await writeFile(out, JSON.stringify(report, null, 2) + '\n');
  return out;
}

/** The usual run: seeded through the API, every scenario, start-up time and the optional soak. */
async function standardRun(db: Database, postgres: string, work: string): Promise<Measurement[]> {
  const client = new pg.Client(db.url);
  await client.connect();
  const pgCpu = await pgCpuOf(client).finally(() => client.end());

  const profileFlags = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(ROOT, 'bench/results')}`] : [];
  let service = await startServer('service', db.url, { nodeFlags: profileFlags });
  const users = await seedThroughApi(service, sizes.small.users, sizes.small.tasks);
  log(`seeded ${users.length} users × ${sizes.small.tasks} tasks through the API`);
  const dataFile = join(work, 'users.lua');
  await writeLoadData(dataFile, users);
  const baseline = await startServer('baseline', db.url);

  const results = await measureAll([service, baseline], users, dataFile, pgCpu);
  await stopServer(baseline);

  const soakResult = soakSeconds > 0 ? await soak(service, users, dataFile, soakSeconds) : undefined;

  // Start-up to ready, with the schema already migrated: three restarts, median.
  await stopServer(service);
  const startups: number[] = [];
  for (let i = 0; i < 3; i++) {
    service = await startServer('service', db.url, { migrate: false });
    startups.push(service.startupMs);
    await stopServer(service);
  }
  startups.sort((a, b) => a - b);

  const summary = ratios(results);
  const out = await writeReport({
    runAt: new Date().toISOString(),
    machine: machine(),
    node: process.version,
    postgres,
    database: db.label,
    tool,
    connections,
    durationSeconds: duration,
    warmupSeconds: warmup,
    seeded: { users: users.length, tasksPerUser: sizes.small.tasks },
    filter,
    results,
    ratios: summary,
    startupToReadyMs: { median: startups[1], all: startups },
    soak: soakResult,
  });

  console.log(`\n${table(results)}\n`);
  console.log(ratioTable(summary));
  console.log(`\nstart-up to ready (migrated, median of 3): ${f(startups[1])} ms`);
  if (soakResult) {
    console.log(
      `soak ${soakSeconds} s mixed: RSS ${f(soakResult.rssAt10sMb, 1)} MB at 10 s, ${f(soakResult.rssEndMb, 1)} MB at the end ` +
        `(${f(soakResult.growthPercent, 1)} %), max ${f(soakResult.rssMaxMb, 1)} MB, ${soakResult.non2xx} errors`,
    );
  }
  console.log(`results: ${out}`);
  return results;
}

/**
 * A database of the scale run's own, next to the bench's (dropped at the
 * end), so both sizes are measured on tables holding only their data; when the
 * role may not create one, the bench's database itself, whose seeded rows are
 * deleted at the end.
 */
async function scaleDatabase(
  db: Database,
): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const url = new URL(db.url);
  const name = `${decodeURIComponent(url.pathname.slice(1)).slice(0, 30)}_scale_${runId.toLowerCase()}`;
  const admin = new pg.Client(db.url);
  await admin.connect();
  try {
    await admin.query(`create database "${name.replace(/"/g, '""')}"`);
  } catch (error) {
    log(`cannot create a database (${(error as Error).message}): seeding into the bench's database itself`);
    return { url: db.url, name: '', drop: async () => undefined };
  } finally {
    await admin.end();
  }
  url.pathname = `/${encodeURIComponent(name)}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const client = new pg.Client(db.url);
      await client.connect();
      await client.query(`drop database if exists "${name.replace(/"/g, '""')}" with (force)`);
      await client.end();
    },
  };
}

interface ScalePhase {
  size: 'small' | 'large';
  users: number;
  tasksPerUser: number;
  seeding: Omit<Seeded, 'userIds'>;
  warmed: Warmed;
  results: Measurement[];
  disk?: DiskSize;
}

/**
 * The scale run: the same scenarios on --users × --tasks and on
 * --scale-users × --scale-tasks, both seeded with SQL (seed-sql.ts) in one
 * database, the large after the small; then large/small side by side.
 */
async function scaleRun(db: Database, postgres: string, work: string): Promise<Measurement[]> {
  const scaleDb = await scaleDatabase(db);
  if (scaleDb.name) log(`scale database: ${scaleDb.name}${args.keep ? ' (kept)' : ' (dropped at the end)'}`);
  const servers: Server[] = [];
  const client = new pg.Client(scaleDb.url);
  let connected = false;
  const seeded: string[] = [];
  try {
    servers.push(await startServer('service', scaleDb.url));
    servers.push(await startServer('baseline', scaleDb.url));
    await client.connect();
    connected = true;
    const pgCpu = await pgCpuOf(client);

    const phases: ScalePhase[] = [];
    for (const size of ['small', 'large'] as const) {
      const { users: userCount, tasks } = sizes[size];
      log(`seeding ${userCount} users × ${tasks} tasks with SQL …`);
      const seed = await seedWithSql(client, `bench-${runId}-${size[0]}`, userCount, tasks);
      seeded.push(...seed.userIds);
      log(
        `seeded in ${f(seed.insertSeconds, 1)} s (row triggers ${seed.triggers}), VACUUM ANALYZE ${f(seed.vacuumSeconds, 1)} s`,
      );
      const disk = size === 'large' ? await diskSize(client) : undefined;
      const warmed = await warmCaches(client);
      log(
        warmed.prewarmedBytes === null
          ? `checkpoint taken; pg_prewarm is not available, so the buffer cache starts cold (${f(warmed.seconds, 1)} s)`
          : `checkpoint taken, ${mb(warmed.prewarmedBytes)} MB of ${mb(warmed.relationsBytes)} MB prewarmed into ` +
              `${mb(warmed.sharedBuffersBytes)} MB of shared buffers (${f(warmed.seconds, 1)} s)`,
      );
      const ids = await sampleTaskIds(client, seed.userIds, tasks, SAMPLED_IDS);
      const users: User[] = [];
      for (const userId of seed.userIds) {
        const own = ids.get(userId);
        if (own?.length) users.push({ auth: `Bearer ${await token(userId)}`, ids: own });
      }
      const dataFile = join(work, `users-${size}.lua`);
      await writeLoadData(dataFile, users);
      const results = await measureAll(servers, users, dataFile, pgCpu, `${size}: `);
      const { userIds: _, ...seeding } = seed;
      phases.push({ size, users: userCount, tasksPerUser: tasks, seeding, warmed, results, disk });
    }
    for (const server of servers.splice(0)) await stopServer(server);

    const comparison = compareSizes(phases[0].results, phases[1].results);
    const out = await writeReport({
      runAt: new Date().toISOString(),
      machine: machine(),
      node: process.version,
      postgres,
      database: scaleDb.name ? `${db.label} (scale database ${scaleDb.name})` : db.label,
      tool,
      connections,
      durationSeconds: duration,
      warmupSeconds: warmup,
      filter,
      scale: { phases, comparison, target: SCALE_TARGET },
    });

    for (const phase of phases) {
      console.log(
        `\n${phase.size}: ${phase.users} users × ${phase.tasksPerUser} tasks\n${table(phase.results)}\n`,
      );
      console.log(ratioTable(ratios(phase.results)));
    }
    const [small, large] = phases;
    console.log(
      `\nlarge/small: ${small.users * small.tasksPerUser} and ${large.users * large.tasksPerUser} tasks ` +
        `(target: at the large size, req/s at least 1/${SCALE_TARGET} and p99 at most ${SCALE_TARGET}× the small size's)`,
    );
    console.log(scaleTable(comparison));
    const disk = large.disk!;
    const mib = (bytes: number) => f(bytes / 2 ** 20);
    const perMillion = (bytes: number) => mib((bytes * 1e6) / disk.taskRows);
    console.log(
      `\nsize on disk per million tasks: ${perMillion(disk.tasksTotalBytes + disk.ownersBytes + disk.listsBytes)} MiB ` +
        `(tasks ${perMillion(disk.tasksTotalBytes)}: heap ${perMillion(disk.tasksHeapBytes)}, indexes ${perMillion(disk.tasksIndexBytes)}; ` +
        `owners ${perMillion(disk.ownersBytes)}, lists ${perMillion(disk.listsBytes)}), ` +
        `from ${disk.taskRows} tasks of ${large.tasksPerUser} per owner, indexes freshly built`,
    );
    console.log(`results: ${out}`);
    return phases.flatMap((p) => p.results);
  } finally {
    for (const server of servers) await stopServer(server);
    if (!scaleDb.name && !args.keep && seeded.length > 0) {
      log(`deleting the ${seeded.length} seeded users' rows …`);
      await removeSeeded(client, seeded);
      await client.query('vacuum (analyze) tasks, lists, owners');
    }
    if (connected) await client.end();
    if (scaleDb.name && args.keep) log(`kept database ${scaleDb.name}`);
    else await scaleDb.drop();
  }
}

function compareSizes(small: Measurement[], large: Measurement[]) {
  return small.flatMap((s) => {
    const l = large.find((r) => r.scenario === s.scenario && r.target === s.target);
    if (!l) return [];
    const throughput = l.reqPerSec / s.reqPerSec;
    const p99 = l.p99Ms / s.p99Ms;
    return [
      {
        scenario: s.scenario,
        target: s.target,
        reqPerSec: { small: s.reqPerSec, large: l.reqPerSec, ratio: throughput },
        p99Ms: { small: s.p99Ms, large: l.p99Ms, ratio: p99 },
        pgCpuUsPerRequest: { small: s.pgCpuUsPerRequest, large: l.pgCpuUsPerRequest },
        withinTarget: throughput >= 1 / SCALE_TARGET && p99 <= SCALE_TARGET,
        valid: s.valid && l.valid,
      },
    ];
  });
}

function scaleTable(comparison: ReturnType<typeof compareSizes>): string {
  return format([
    [
      'scenario',
      'server',
      'req/s small',
      'req/s large',
      'large/small',
      'p99 small',
      'p99 large',
      'large/small',
      'PG µs/req small',
      'PG µs/req large',
      `within ${SCALE_TARGET}×`,
    ],
    ...comparison.map((c) => [
      c.scenario,
      c.target,
      f(c.reqPerSec.small),
      f(c.reqPerSec.large),
      f(c.reqPerSec.ratio, 2),
      f(c.p99Ms.small, 1),
      f(c.p99Ms.large, 1),
      f(c.p99Ms.ratio, 2),
      f(c.pgCpuUsPerRequest.small),
      f(c.pgCpuUsPerRequest.large),
      c.valid ? (c.withinTarget ? 'yes' : 'NO') : 'INVALID',
    ]),
  ]);
}

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist/src/main.js')))
    throw new Error('dist/src/main.js is missing: run npm run build');
  const db = await database();
  const work = await mkdtemp(join(tmpdir(), 'tasks-bench-data-'));
  try {
    const client = new pg.Client(db.url);
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>('show server_version');
    await client.end();
    const postgres = rows[0].server_version;
    log(`database: ${db.label} (PostgreSQL ${postgres}); load: ${tool}, ${connections} connections`);
    const results = args.scale ? await scaleRun(db, postgres, work) : await standardRun(db, postgres, work);
    if (results.some((r) => !r.valid)) process.exitCode = 1;
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await rm(work, { recursive: true, force: true });
    await db.stop();
  }
}

main().catch((error: unknown) => {
  for (const child of children) child.kill('SIGKILL');
  log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
