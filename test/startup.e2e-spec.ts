import { killBuiltServices, startBuiltService } from './helpers/built-service';
import { freePort } from './helpers/test-server';

describe('start-up failures of the built service', () => {
  afterAll(() => killBuiltServices());

  it('exits 1 with one message when production has no DATABASE_URL', async () => {
    const service = startBuiltService({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) });

    expect(await service.exited).toBe(1);
    expect(service.stderr()).toBe(
      'Invalid configuration (1 problem):\n' +
        '  - DATABASE_URL is required when NODE_ENV=production; expected postgres://USER:PASSWORD@HOST:5432/DATABASE\n',
    );
    expect(service.stdout()).toBe('');
  });

  it('names every bad variable at once, and never echoes the database URL', async () => {
    const service = startBuiltService({
      NODE_ENV: 'production',
      JWT_SECRET: 'x'.repeat(32),
      DATABASE_URL: 'mysql://root:hunter2@db/app',
      PORT: 'eighty',
      DB_POOL_MAX: '0',
      DB_MIGRATE_ON_START: 'sometimes',
    });

    expect(await service.exited).toBe(1);
    expect(service.stderr()).toBe(
      'Invalid configuration (4 problems):\n' +
        '  - DATABASE_URL must have the form postgres://USER:PASSWORD@HOST:5432/DATABASE\n' +
        '  - DB_MIGRATE_ON_START must be true or false\n' +
        '  - DB_POOL_MAX must be an integer from 1 to 100\n' +
        '  - PORT must be an integer from 1 to 65535\n',
    );
  });

  it('exits 1 with where and why when the database cannot be reached, without the password', async () => {
    const port = await freePort();
    const service = startBuiltService({
      NODE_ENV: 'production',
      JWT_SECRET: 'x'.repeat(32),
      LOG_LEVEL: 'silent',
      DATABASE_URL: `postgres://app:s3cret-password@127.0.0.1:${port}/tasks`,
    });

    expect(await service.exited).toBe(1);
    expect(service.stderr()).toBe(
      `Start-up failed: Cannot connect to PostgreSQL at 127.0.0.1:${port}/tasks: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
    expect(service.stdout()).not.toContain('s3cret-password');
  });
});
