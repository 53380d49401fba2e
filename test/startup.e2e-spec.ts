import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './helpers/test-server';

const MAIN = join(__dirname, '../dist/src/main.js');

/** Runs the built service (npm test builds it first) with exactly this environment. */
function runService(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('start-up failures of the built service', () => {
  it('exits 1 with one message when production has no DATABASE_URL', async () => {
    const result = await runService({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'Invalid configuration (1 problem):\n' +
        '  - DATABASE_URL is required when NODE_ENV=production; expected postgres://USER:PASSWORD@HOST:5432/DATABASE\n',
    );
    expect(result.stdout).toBe('');
  });

  it('names every bad variable at once, and never echoes the database URL', async () => {
    const result = await runService({
      NODE_ENV: 'production',
      JWT_SECRET: 'x'.repeat(32),
      DATABASE_URL: 'mysql://root:hunter2@db/app',
      PORT: 'eighty',
      DB_POOL_MAX: '0',
      DB_MIGRATE_ON_START: 'sometimes',
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'Invalid configuration (4 problems):\n' +
        '  - DATABASE_URL must have the form postgres://USER:PASSWORD@HOST:5432/DATABASE\n' +
        '  - DB_MIGRATE_ON_START must be true or false\n' +
        '  - DB_POOL_MAX must be an integer from 1 to 100\n' +
        '  - PORT must be an integer from 1 to 65535\n',
    );
  });

  it('exits 1 with where and why when the database cannot be reached, without the password', async () => {
    const port = await freePort();
    const result = await runService({
      NODE_ENV: 'production',
      JWT_SECRET: 'x'.repeat(32),
      LOG_LEVEL: 'silent',
      DATABASE_URL: `postgres://app:s3cret-password@127.0.0.1:${port}/tasks`,
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `Start-up failed: Cannot connect to PostgreSQL at 127.0.0.1:${port}/tasks: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
    expect(result.stdout).not.toContain('s3cret-password');
  });
});
