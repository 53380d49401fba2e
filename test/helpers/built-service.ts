import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { TEST_JWT_SECRET } from './boot-app';
import { appDatabaseEnv, createTestDatabase, type TestDatabase } from './test-database';
import { freePort } from './test-server';

/** The built service's entry point: npm test builds it first. */
export const BUILT_MAIN = join(__dirname, '../../dist/src/main.js');

/** Start-up takes a few seconds; this only catches a hang on a loaded 2-core machine. */
const READY_DEADLINE_MS = 20_000;

export interface BuiltService {
  child: ChildProcessWithoutNullStreams;
  /** http://HOST:PORT, as its environment sets them. */
  base: string;
  /** Its exit code (null when a signal ended it), once all it wrote has been read. */
  exited: Promise<number | null>;
  /** stdout and stderr, interleaved as they arrived. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Its stdout's lines, each of which must be JSON (a log shipper parses every one). */
  lines(): Record<string, unknown>[];
  /**
   * Waits for its "ready on" line, the last thing start-up does (after /metrics
   * listens). Not /health/ready: that can answer before the lines start-up
   * logged have reached this process, and tests read them.
   */
  ready(): Promise<void>;
  /** SIGTERM, as an orchestrator stops it; fails with its output unless it exits 0. */
  stop(): Promise<void>;
}

const running = new Set<BuiltService>();

/**
 * The environment of the built service in production on `db`, listening on a
 * free port of 127.0.0.1 unless `extra` names one; `extra` adds or overrides.
 */
export async function productionEnv(
  db: TestDatabase,
  extra: Record<string, string> = {},
): Promise<Record<string, string>> {
  return {
    NODE_ENV: 'production',
    ...appDatabaseEnv(db),
    JWT_SECRET: TEST_JWT_SECRET,
    HOST: '127.0.0.1',
    PORT: extra.PORT ?? String(await freePort()),
    SHUTDOWN_DELAY_MS: '0',
    // Several services of the tests run at once: none may take the default metrics port.
    METRICS_PORT: '0',
    ...extra,
  };
}

/** Runs the built service as a process of its own, with `env` as its whole environment (and PATH). */
export function startBuiltService(env: Record<string, string>, nodeArgs = [BUILT_MAIN]): BuiltService {
  const child = spawn(process.execPath, nodeArgs, { env: { PATH: process.env.PATH ?? '', ...env } });
  let output = '';
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    output += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    output += chunk;
  });
  // Kept with the output rather than thrown: a failed spawn still ends in 'close', which then needs explaining.
  child.on('error', (error) => (output += `${error.message}\n`));
  let closed = false;
  // 'close' rather than 'exit': by then the pipes are drained, so the output is complete.
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      closed = true;
      running.delete(service);
      resolve(code);
    }),
  );
  const base = `http://${env.HOST}:${env.PORT}`;
  const service: BuiltService = {
    child,
    base,
    exited,
    output: () => output,
    stdout: () => stdout,
    stderr: () => stderr,
    lines: () =>
      stdout
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => {
          try {
            return JSON.parse(line) as Record<string, unknown>;
          } catch {
            throw new Error(`a line of stdout is not JSON: ${line}`);
          }
        }),
    async ready() {
      const deadline = Date.now() + READY_DEADLINE_MS;
      while (!stdout.includes('"msg":"ready on ')) {
        if (closed) throw new Error(`exited before ready:\n${output}`);
        if (Date.now() > deadline)
          throw new Error(`no "ready on" line in ${READY_DEADLINE_MS / 1000} s:\n${output}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`exited ${code ?? child.signalCode}:\n${output}`);
    },
  };
  running.add(service);
  return service;
}

/**
 * SIGKILLs every built service still running and waits until each is gone: for
 * afterAll, before the database is dropped (which waits for their connections to end).
 */
export async function killBuiltServices(): Promise<void> {
  await Promise.all(
    [...running].map((service) => {
      service.child.kill('SIGKILL');
      return service.exited;
    }),
  );
}

/**
 * A database of its own for the enclosing describe, to start built services on;
 * created in beforeAll, and dropped in afterAll once the services still running are killed.
 */
export function useServiceDatabase(): { db: TestDatabase } {
  const fixture = {} as { db: TestDatabase };
  beforeAll(async () => {
    fixture.db = await createTestDatabase();
  });
  afterAll(async () => {
    await killBuiltServices();
    await fixture.db?.drop();
  });
  return fixture;
}
