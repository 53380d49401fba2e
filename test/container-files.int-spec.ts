import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { parse } from 'yaml';
import { DatabaseEnvironment, EnvironmentVariables, validateEnvironment } from '../src/config/environment';

/**
 * No container engine runs where CI does, so the container files are checked
 * statically: compose's services, ports and environment against the one class
 * that validates the service's configuration, and the Dockerfile's essentials.
 */
const root = join(__dirname, '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Record<string, unknown>>;
  volumes: Record<string, unknown>;
};
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

interface PackageJson {
  scripts: Record<string, string>;
}

/** Compose's ${VAR:-default} and ${VAR:?message}, resolved against `given`. */
function interpolate(value: unknown, given: Record<string, string>): string {
  return String(value).replace(
    /\$\{(\w+)(?::([-?])([^}]*))?\}/g,
    (_m, name: string, kind?: string, rest = '') => {
      if (given[name] !== undefined) return given[name];
      if (kind === '?') throw new Error(`${name} must be set: ${rest}`);
      return kind === '-' ? rest : '';
    },
  );
}

function environment(service: string, given: Record<string, string>): Record<string, string> {
  const env = compose.services[service].environment as Record<string, unknown>;
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(v, given)]));
}

/** Every variable the configuration class validates. */
const known = new Set(
  getMetadataStorage()
    .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
    .map((m) => m.propertyName),
);

describe('.env.example', () => {
  it('documents exactly the variables the configuration class knows', () => {
    const documented = readFileSync(join(root, '.env.example'), 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => line.split('=')[0]);
    expect(documented.sort()).toEqual([...known].sort());
  });
});

describe('docker-compose.yml', () => {
  it('has the database, a one-shot migration job and the API, in that order', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'db', 'migrate']);
    const { db, migrate, api } = compose.services;
    expect(db.healthcheck).toMatchObject({
      test: expect.arrayContaining([expect.stringContaining('pg_isready')]),
    });
    expect(db.volumes).toEqual(['db-data:/var/lib/postgresql']);
    expect(compose.volumes).toHaveProperty('db-data');
    expect(migrate).toMatchObject({
      command: ['npm', 'run', 'migration:up'],
      restart: 'no',
      depends_on: { db: { condition: 'service_healthy' } },
    });
    expect(api.depends_on).toEqual({
      db: { condition: 'service_healthy' },
      migrate: { condition: 'service_completed_successfully' },
    });
  });

  it('publishes the port the API listens on', () => {
    const env = environment('api', { JWT_SECRET: 's'.repeat(32) });
    const config = validateEnvironment(EnvironmentVariables, env);
    expect(compose.services.api.ports).toEqual([`${config.PORT}:${config.PORT}`]);
    expect(dockerfile).toContain(`EXPOSE ${config.PORT}`);
  });

  it('gives the API only known variables, which pass the configuration class', () => {
    const env = environment('api', { JWT_SECRET: 's'.repeat(32) });
    for (const name of Object.keys(env)) expect(known).toContain(name);
    expect(validateEnvironment(EnvironmentVariables, env)).toMatchObject({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://tasks:tasks@db:5432/tasks',
    });
    expect(() => environment('api', {})).toThrow('JWT_SECRET must be set');
  });

  it('gives the migration job exactly the database settings it validates', () => {
    const env = environment('migrate', {});
    expect(Object.keys(env).sort()).toEqual(['DATABASE_URL', 'NODE_ENV']);
    expect(validateEnvironment(DatabaseEnvironment, env).DATABASE_URL).toBe(
      environment('api', { JWT_SECRET: 's'.repeat(32) }).DATABASE_URL,
    );
  });

  it('lets a draining API finish within compose’s stop grace period', () => {
    const env = environment('api', { JWT_SECRET: 's'.repeat(32) });
    const { SHUTDOWN_DELAY_MS, SHUTDOWN_GRACE_MS } = validateEnvironment(EnvironmentVariables, env);
    expect(Number.parseInt(String(compose.services.api.stop_grace_period), 10) * 1000).toBeGreaterThan(
      SHUTDOWN_DELAY_MS + SHUTDOWN_GRACE_MS,
    );
  });
});

describe('Dockerfile', () => {
  it('builds in one stage and runs compiled code on Node 24 slim as a non-root user', () => {
    expect(dockerfile.match(/^FROM node:24-slim/gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/RUN npm ci/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/health\/live/m);
    // Exec form, so SIGTERM reaches node (PID 1) and it drains; the same command
    // (node flags included) as npm run start:prod, which the benchmark measures.
    const startProd = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson).scripts[
      'start:prod'
    ];
    expect(startProd).toMatch(/^node .*dist\/src\/main\.js$/);
    expect(dockerfile).toMatch(/^CMD \[.*\]$/m);
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]) as string[];
    expect(cmd).toEqual(startProd.split(' '));
  });
});
