import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/database/embedded-postgres';
import { freePort } from './helpers/test-server';

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('embedded PostgreSQL', () => {
  let dir: string;
  let dataDir: string;
  let server: EmbeddedPostgres;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasks-embedded-'));
    await chmod(dir, 0o755); // PostgreSQL runs as its own OS user under root
    dataDir = join(dir, 'pg');
    server = await startEmbeddedPostgres({
      dataDir,
      port: await freePort(),
      database: 'app',
      durable: false,
    });
  }, 30_000);

  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('initialises a cluster with the requested database, owned by this process', async () => {
    expect(server.owned).toBe(true);
    expect(server.url).toMatch(/^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/app$/);
    expect(await answers(server.url)).toBe(true);
  });

  it('borrows a server whose starting process is still alive, and leaves it running', async () => {
    await writeFile(`${dataDir}.owner`, String(process.ppid));
    const borrowed = await startEmbeddedPostgres({ dataDir, port: 1, database: 'other', durable: false });

    expect(borrowed.owned).toBe(false);
    expect(borrowed.port).toBe(server.port);
    await borrowed.stop();
    expect(await answers(borrowed.url)).toBe(true);
  });

  it('adopts a server left behind by a process that died, and stops it', async () => {
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(`${dataDir}.owner`, String(gone));
    const adopted = await startEmbeddedPostgres({ dataDir, port: 1, database: 'app', durable: false });

    expect(adopted.owned).toBe(true);
    await adopted.stop();
    await server.stop(); // the first handle's pid is gone already; this only drops its exit hook
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
    expect(await answers(server.url)).toBe(false);

    // Start it again for the tests after this one (and for afterAll to stop).
    server = await startEmbeddedPostgres({ dataDir, port: server.port, database: 'app', durable: false });
    expect(await answers(server.url)).toBe(true);
  });

  it('treats a lock file whose pid now belongs to another process as stale', async () => {
    await server.stop();
    const lock = join(dataDir, 'postmaster.pid');
    // What a reboot leaves: the lock of a dead server naming a pid that is now
    // some other live process (here jest's parent process).
    await writeFile(lock, `${process.ppid}\n${dataDir}\n0\n${server.port}\n`);
    await writeFile(`${dataDir}.owner`, String(process.ppid));

    server = await startEmbeddedPostgres({ dataDir, port: server.port, database: 'app', durable: false });
    expect(server.owned).toBe(true);
    expect(await answers(server.url)).toBe(true);
  });

  it('names the folder the postgres user cannot enter', async () => {
    const locked = join(dir, 'locked');
    await mkdir(locked, { mode: 0o700 });
    await chmod(locked, 0o700);
    await expect(
      startEmbeddedPostgres({ dataDir: join(locked, 'pg'), port: 1, database: 'x', durable: false }),
    ).rejects.toThrow(
      `embedded PostgreSQL runs as the "postgres" user, which cannot enter ${locked} (mode 700)`,
    );
  });

  it('says which port is taken when it cannot start', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const { port } = blocker.address() as { port: number };
    try {
      await expect(
        startEmbeddedPostgres({ dataDir: join(dir, 'second'), port, database: 'x', durable: false }),
      ).rejects.toThrow(`embedded PostgreSQL did not start on 127.0.0.1:${port}`);
    } finally {
      blocker.close();
    }
  }, 30_000);
});
