import { existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';

export interface TestServer {
  kind: 'TEST_DATABASE_URL' | 'testcontainers' | 'embedded-postgres';
  /** How long choosing the kind took (not starting it). */
  decidedInMs: number;
  /** A URL of the server; its database part is replaced per use. */
  url: string;
  stop(): Promise<void>;
}

/** A free TCP port on loopback, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function socketAnswers(path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Whether a container runtime is worth asking for, in well under a second:
 * Testcontainers itself needs ~0.4 s just to load before it can say no.
 */
async function containerRuntimeReachable(): Promise<boolean> {
  if (process.env.DOCKER_HOST || process.env.TESTCONTAINERS_HOST_OVERRIDE) return true;
  const uid = process.getuid?.() ?? 0;
  const sockets = [
    '/var/run/docker.sock',
    join(homedir(), '.docker/run/docker.sock'),
    `/run/user/${uid}/podman/podman.sock`,
    '/run/podman/podman.sock',
  ].filter((p) => existsSync(p));
  for (const socket of sockets) {
    if (await socketAnswers(socket, 300)) return true;
  }
  return false;
}

/**
 * The PostgreSQL server for this test run: TEST_DATABASE_URL when set, else a
 * Testcontainers PostgreSQL 18 when a container runtime answers, else an
 * embedded PostgreSQL 18 in a temporary folder. The same tests run on each.
 */
export async function startTestServer(runId: string): Promise<TestServer> {
  const started = performance.now();
  const given = process.env.TEST_DATABASE_URL;
  if (given) return { kind: 'TEST_DATABASE_URL', decidedInMs: 0, url: given, stop: async () => undefined };

  const useContainer = await containerRuntimeReachable();
  const decidedInMs = Math.round(performance.now() - started);
  if (useContainer) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:18-alpine').start();
    return {
      kind: 'testcontainers',
      decidedInMs,
      url: container.getConnectionUri(),
      stop: async () => {
        await container.stop();
      },
    };
  }

  const dir = join(tmpdir(), `tasks-test-${runId}`);
  const server = await startEmbeddedPostgres({
    dataDir: join(dir, 'pg'),
    port: await freePort(),
    database: 'postgres',
    durable: false,
  });
  return {
    kind: 'embedded-postgres',
    decidedInMs,
    url: server.url,
    stop: async () => {
      await server.stop();
      const { rm } = await import('node:fs/promises');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
