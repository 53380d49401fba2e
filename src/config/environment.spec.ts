import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigValidationError,
  DatabaseEnvironment,
  EnvironmentVariables,
  readEnvironment,
  validateEnvironment,
} from './environment';

const problemsOf = (env: Record<string, string>, cls: new () => object = EnvironmentVariables) => {
  try {
    validateEnvironment(cls, env);
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.problems;
    throw error;
  }
  return [];
};

describe('validateEnvironment', () => {
  it('gives every setting its documented default', () => {
    expect({ ...validateEnvironment(EnvironmentVariables, {}) }).toEqual({
      NODE_ENV: 'development',
      DATABASE_URL: undefined,
      DATABASE_DIRECT_URL: undefined,
      DB_PREPARED_STATEMENTS: true,
      DB_POOL_MAX: 10,
      DB_CONNECT_TIMEOUT_MS: 2000,
      DB_IDLE_TIMEOUT_MS: 30000,
      DB_STATEMENT_TIMEOUT_MS: 5000,
      DB_MIGRATE_ON_START: false,
      EMBEDDED_DB_DIR: '.data/postgres',
      EMBEDDED_DB_PORT: 54329,
      PORT: 8000,
      HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
      MAX_TASKS_PER_USER: 100000,
      MAX_LISTS_PER_USER: 1000,
      CHANGE_RETENTION_DAYS: 30,
      STREAM_MAX_CONNECTIONS: 10000,
      STREAM_MAX_PER_USER: 10,
      SHUTDOWN_DELAY_MS: 5000,
      SHUTDOWN_GRACE_MS: 10000,
      METRICS_PORT: 9464,
    });
  });

  it('requires exactly one token verification mode in production', () => {
    const db = { NODE_ENV: 'production', DATABASE_URL: 'postgres://u@h:5432/d' };
    expect(problemsOf(db)).toEqual([
      'JWT_SECRET (or BETTER_AUTH_SECRET) or JWT_JWKS_URL is required when NODE_ENV=production',
    ]);
    expect(
      problemsOf({ ...db, JWT_SECRET: 's'.repeat(32), JWT_JWKS_URL: 'https://id.example.com/jwks' }),
    ).toEqual(['JWT_SECRET (or BETTER_AUTH_SECRET) and JWT_JWKS_URL are both set; configure exactly one']);
    expect(problemsOf({ ...db, JWT_JWKS_URL: 'https://id.example.com/jwks' })).toEqual([
      'CURSOR_SECRET is required when NODE_ENV=production and only JWT_JWKS_URL is set',
    ]);
    expect(problemsOf({ ...db, BETTER_AUTH_SECRET: 's'.repeat(32) })).toEqual([]);
    expect(
      problemsOf({ ...db, JWT_JWKS_URL: 'http://localhost:9000/jwks', CURSOR_SECRET: 'c'.repeat(32) }),
    ).toEqual([]);
  });

  it('refuses a metrics listener on the API port, unless metrics are off', () => {
    const valid = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://u@h:5432/d',
      JWT_SECRET: 's'.repeat(32),
    };
    expect(problemsOf({ ...valid, PORT: '9000', METRICS_PORT: '9000' })).toEqual([
      'METRICS_PORT must differ from PORT (both are 9000); 0 turns metrics off',
    ]);
    expect(problemsOf({ ...valid, PORT: '9000', METRICS_PORT: '9001' })).toEqual([]);
    expect(problemsOf({ ...valid, PORT: '9464' })).toEqual([
      'METRICS_PORT must differ from PORT (both are 9464); 0 turns metrics off',
    ]);
    expect(problemsOf({ ...valid, PORT: '9464', METRICS_PORT: '0' })).toEqual([]);
  });

  it('checks the form of the authentication and CORS settings', () => {
    expect(
      problemsOf({
        JWT_SECRET: 'short',
        JWT_JWKS_URL: 'ftp://x',
        CORS_ORIGINS: 'https://a.example.com,nope',
      }),
    ).toEqual([
      'CORS_ORIGINS must be a comma-separated list of origins such as https://app.example.com',
      'JWT_JWKS_URL must be an http(s) URL',
      'JWT_SECRET must be at least 32 characters',
      'JWT_SECRET (or BETTER_AUTH_SECRET) and JWT_JWKS_URL are both set; configure exactly one',
    ]);
    expect(problemsOf({ CORS_ORIGINS: 'https://a.example.com, http://localhost:3000' })).toEqual([]);
  });

  it('converts numbers and booleans from their string form', () => {
    const env = validateEnvironment(EnvironmentVariables, {
      PORT: '3000',
      DB_MIGRATE_ON_START: 'TRUE',
      DB_POOL_MAX: '16',
      NODE_ENV: 'production',
      JWT_SECRET: 's'.repeat(32),
      DATABASE_URL: 'postgresql://u:p@db.internal:6543/tasks?sslmode=require',
    });
    expect(env).toMatchObject({ PORT: 3000, DB_MIGRATE_ON_START: true, DB_POOL_MAX: 16 });
  });

  it('treats an empty assignment as unset', () => {
    expect(validateEnvironment(EnvironmentVariables, { PORT: '', DATABASE_URL: '' })).toMatchObject({
      PORT: 8000,
      DATABASE_URL: undefined,
    });
  });

  it('requires DATABASE_URL in production only', () => {
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32) })).toEqual([
      'DATABASE_URL is required when NODE_ENV=production; expected postgres://USER:PASSWORD@HOST:5432/DATABASE',
    ]);
    expect(problemsOf({ NODE_ENV: 'development' })).toEqual([]);
  });

  it.each(['not a url', 'mysql://u:p@h/db', 'postgres://host-only', 'postgres:///db'])(
    'refuses the malformed DATABASE_URL %p without echoing it',
    (url) => {
      expect(problemsOf({ DATABASE_URL: url })).toEqual([
        'DATABASE_URL must have the form postgres://USER:PASSWORD@HOST:5432/DATABASE',
      ]);
    },
  );

  it('requires DATABASE_DIRECT_URL behind a transaction pooler, for the service and the migration CLI', () => {
    const pooled = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://u@pooler:6432/d',
      DB_PREPARED_STATEMENTS: 'false',
      JWT_SECRET: 's'.repeat(32),
    };
    const problem =
      'DATABASE_DIRECT_URL is required when DB_PREPARED_STATEMENTS=false (DATABASE_URL is then a transaction pooler, ' +
      'and the change stream and migrations need a direct connection)';
    expect(problemsOf(pooled)).toEqual([problem]);
    expect(problemsOf(pooled, DatabaseEnvironment)).toEqual([problem]);
    expect(problemsOf({ ...pooled, DATABASE_DIRECT_URL: 'postgres://u@db:5432/d' })).toEqual([]);
    expect(problemsOf({ ...pooled, DATABASE_DIRECT_URL: 'db:5432' })).toEqual([
      'DATABASE_DIRECT_URL must have the form postgres://USER:PASSWORD@HOST:5432/DATABASE',
    ]);
    // Without DATABASE_URL (development's embedded PostgreSQL) there is no pooler to bypass.
    expect(problemsOf({ DB_PREPARED_STATEMENTS: 'false' })).toEqual([]);
    expect(problemsOf({ DB_PREPARED_STATEMENTS: 'maybe' })).toEqual([
      'DB_PREPARED_STATEMENTS must be true or false',
    ]);
  });

  it('names every bad variable, alphabetically, in one error', () => {
    const problems = problemsOf({
      NODE_ENV: 'staging',
      PORT: '70000',
      LOG_LEVEL: 'loud',
      DB_STATEMENT_TIMEOUT_MS: '1.5',
      EMBEDDED_DB_PORT: '80',
    });
    expect(problems).toEqual([
      'DB_STATEMENT_TIMEOUT_MS must be an integer from 100 to 600000',
      'EMBEDDED_DB_PORT must be an integer from 1024 to 65535',
      'LOG_LEVEL must be one of: fatal, error, warn, info, debug, trace, silent',
      'NODE_ENV must be one of: development, production, test',
      'PORT must be an integer from 1 to 65535',
    ]);
    expect(() => validateEnvironment(EnvironmentVariables, { PORT: 'x', NODE_ENV: 'x' })).toThrow(
      'Invalid configuration (2 problems):\n  - NODE_ENV must be one of: development, production, test\n  - PORT must be an integer from 1 to 65535',
    );
  });

  it('lets the migration CLI validate only the database settings', () => {
    const env = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://u@h:5432/d',
      JWT_SECRET: 's'.repeat(32),
      PORT: 'not checked here',
    };
    expect(problemsOf(env, DatabaseEnvironment)).toEqual([]);
    expect(problemsOf(env)).toEqual(['PORT must be an integer from 1 to 65535']);
  });
});

describe('readEnvironment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tasks-env-'));
  const file = join(dir, '.env');
  writeFileSync(file, 'PORT=9000\nHOST=127.0.0.1\n# a comment\nLOG_LEVEL="debug"\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a .env file, with real environment variables taking precedence', () => {
    expect(readEnvironment({ NODE_ENV: 'development', HOST: '::' }, file)).toEqual({
      NODE_ENV: 'development',
      PORT: '9000',
      HOST: '::',
      LOG_LEVEL: 'debug',
    });
  });

  it('works without a .env file', () => {
    expect(readEnvironment({ NODE_ENV: 'production' }, join(dir, 'missing.env'))).toEqual({
      NODE_ENV: 'production',
    });
  });

  it('never reads .env under tests', () => {
    expect(readEnvironment({ NODE_ENV: 'test' }, file)).toEqual({ NODE_ENV: 'test' });
  });
});
