import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { plainToInstance, Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  registerDecorator,
  validateSync,
  ValidateIf,
  type ValidationError as ClassValidatorError,
} from 'class-validator';

export const NODE_ENVS = ['development', 'production', 'test'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const DATABASE_URL_FORM = 'postgres://USER:PASSWORD@HOST:5432/DATABASE';

const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return value;
};

/** Accepts postgres:// and postgresql:// URLs that name a host and a database. */
function IsPostgresUrl(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isPostgresUrl',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'string') return false;
          try {
            const url = new URL(value);
            return (
              (url.protocol === 'postgres:' || url.protocol === 'postgresql:') &&
              url.hostname !== '' &&
              url.pathname.length > 1
            );
          } catch {
            return false;
          }
        },
        // The value is never echoed: it usually carries a password.
        defaultMessage: () => `${String(propertyName)} must have the form ${DATABASE_URL_FORM}`,
      },
    });
}

/** An integer variable within bounds, with one message that states the accepted range. */
function IntegerIn(min: number, max: number): PropertyDecorator {
  return (target, propertyName) => {
    const message = `${String(propertyName)} must be an integer from ${min} to ${max}`;
    Type(() => Number)(target, propertyName);
    IsInt({ message })(target, propertyName);
    Min(min, { message })(target, propertyName);
    Max(max, { message })(target, propertyName);
  };
}

/**
 * What the data layer and the migration CLI need. The CLI validates only this,
 * so a one-shot migration job does not need the HTTP settings.
 */
export class DatabaseEnvironment {
  @IsIn(NODE_ENVS, { message: `NODE_ENV must be one of: ${NODE_ENVS.join(', ')}` })
  NODE_ENV: (typeof NODE_ENVS)[number] = 'development';

  // Required in production; elsewhere its absence selects the embedded PostgreSQL.
  @ValidateIf((env: DatabaseEnvironment) => env.NODE_ENV === 'production' || env.DATABASE_URL !== undefined)
  @IsPostgresUrl()
  DATABASE_URL?: string;

  // Set when DATABASE_URL is a transaction pooler: what cannot go through one goes here (the
  // change stream's LISTEN connection, migrations). Required when DB_PREPARED_STATEMENTS=false.
  @IsOptional()
  @IsPostgresUrl()
  DATABASE_DIRECT_URL?: string;

  // false when DATABASE_URL is a transaction pooler without prepared statement support
  // (PgBouncer before 1.21): statements then run unnamed, parsed and planned on every call.
  @Transform(toBoolean)
  @IsBoolean({ message: 'DB_PREPARED_STATEMENTS must be true or false' })
  DB_PREPARED_STATEMENTS = true;

  @IntegerIn(1, 100)
  DB_POOL_MAX = 10;

  @IntegerIn(100, 60_000)
  DB_CONNECT_TIMEOUT_MS = 2000;

  @IntegerIn(1000, 3_600_000)
  DB_IDLE_TIMEOUT_MS = 30_000;

  @IntegerIn(100, 600_000)
  DB_STATEMENT_TIMEOUT_MS = 5000;

  @Transform(toBoolean)
  @IsBoolean({ message: 'DB_MIGRATE_ON_START must be true or false' })
  DB_MIGRATE_ON_START = false;

  @IsString()
  @MinLength(1, { message: 'EMBEDDED_DB_DIR must not be empty' })
  EMBEDDED_DB_DIR = '.data/postgres';

  @IntegerIn(1024, 65_535)
  EMBEDDED_DB_PORT = 54329;

  /** Rules that span variables, checked after each variable is valid on its own. */
  static crossCheck(env: DatabaseEnvironment): string[] {
    // LISTEN through a transaction pooler is accepted and then loses notifications silently.
    if (!env.DB_PREPARED_STATEMENTS && env.DATABASE_URL !== undefined && !env.DATABASE_DIRECT_URL) {
      return [
        'DATABASE_DIRECT_URL is required when DB_PREPARED_STATEMENTS=false (DATABASE_URL is then a transaction pooler, ' +
          'and the change stream and migrations need a direct connection)',
      ];
    }
    return [];
  }
}

/** Every setting of the service: the one class that validates the environment at start-up. */
export class EnvironmentVariables extends DatabaseEnvironment {
  @IntegerIn(1, 65_535)
  PORT = 8000;

  @IsString()
  @MinLength(1, { message: 'HOST must not be empty' })
  HOST = '0.0.0.0';

  @IsOptional()
  @IsIn(LOG_LEVELS, { message: `LOG_LEVEL must be one of: ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  // Quotas per user (the contract's Quotas): a create past them is 403 QUOTA_EXCEEDED.
  @IntegerIn(1, 10_000_000)
  MAX_TASKS_PER_USER = 100_000;

  @IntegerIn(1, 1_000_000)
  MAX_LISTS_PER_USER = 1_000;

  // Days the change feed remembers deletions; an older sync token is 410 SYNC_TOKEN_EXPIRED.
  @IntegerIn(1, 3650)
  CHANGE_RETENTION_DAYS = 30;

  // Open change streams (GET /api/v1/changes/stream) per instance (503 past it), and per user on it (429).
  @IntegerIn(1, 1_000_000)
  STREAM_MAX_CONNECTIONS = 10_000;

  @IntegerIn(1, 10_000)
  STREAM_MAX_PER_USER = 10;

  // On SIGTERM/SIGINT: how long readiness answers 503 while everything is still served, so the
  // load balancer takes the instance out before it stops accepting connections (as a preStop hook).
  @IntegerIn(0, 600_000)
  SHUTDOWN_DELAY_MS = 5_000;

  // Then how long in-flight requests get before the process exits anyway.
  @IntegerIn(0, 600_000)
  SHUTDOWN_GRACE_MS = 10_000;

  // HS256 shared secret (Better Auth style); BETTER_AUTH_SECRET is read when this is unset.
  @IsOptional()
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  JWT_SECRET?: string;

  @IsOptional()
  @MinLength(32, { message: 'BETTER_AUTH_SECRET must be at least 32 characters' })
  BETTER_AUTH_SECRET?: string;

  // JWKS endpoint for RS256 / ES256 / EdDSA tokens.
  @IsOptional()
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false },
    { message: 'JWT_JWKS_URL must be an http(s) URL' },
  )
  JWT_JWKS_URL?: string;

  @IsOptional()
  @MinLength(1)
  JWT_ISSUER?: string;

  @IsOptional()
  @MinLength(1)
  JWT_AUDIENCE?: string;

  // Signs list cursors and sync tokens (a key derived for each); defaults to the JWT secret. Shared by every instance.
  @IsOptional()
  @MinLength(32, { message: 'CURSOR_SECRET must be at least 32 characters' })
  CURSOR_SECRET?: string;

  // Comma-separated origins allowed by CORS (none by default).
  @IsOptional()
  @Matches(/^https?:\/\/[^\s,/]+(,\s*https?:\/\/[^\s,/]+)*$/, {
    message: 'CORS_ORIGINS must be a comma-separated list of origins such as https://app.example.com',
  })
  CORS_ORIGINS?: string;

  // /metrics (Prometheus) listens here, apart from the API, on HOST; 0 turns it off.
  @IntegerIn(0, 65_535)
  METRICS_PORT = 9464;

  // OpenTelemetry traces go to this OTLP collector (its base URL, e.g. http://otel-collector:4318);
  // unset, tracing is off and no part of the SDK is loaded. The SDK's other OTEL_* variables apply.
  @IsOptional()
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false },
    { message: 'OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL' },
  )
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;

  // The traces' service.name; tasks-service when unset.
  @IsOptional()
  @MinLength(1, { message: 'OTEL_SERVICE_NAME must not be empty' })
  OTEL_SERVICE_NAME?: string;

  /** Rules that span variables, checked after each variable is valid on its own. */
  static override crossCheck(env: EnvironmentVariables): string[] {
    const problems = DatabaseEnvironment.crossCheck(env);
    const secret = env.JWT_SECRET ?? env.BETTER_AUTH_SECRET;
    if (secret && env.JWT_JWKS_URL) {
      problems.push(
        'JWT_SECRET (or BETTER_AUTH_SECRET) and JWT_JWKS_URL are both set; configure exactly one',
      );
    }
    if (env.NODE_ENV === 'production' && !secret && !env.JWT_JWKS_URL) {
      problems.push(
        'JWT_SECRET (or BETTER_AUTH_SECRET) or JWT_JWKS_URL is required when NODE_ENV=production',
      );
    }
    if (env.NODE_ENV === 'production' && env.JWT_JWKS_URL && !secret && !env.CURSOR_SECRET) {
      problems.push('CURSOR_SECRET is required when NODE_ENV=production and only JWT_JWKS_URL is set');
    }
    // Otherwise the metrics listener fails only after the API already accepts requests.
    if (env.METRICS_PORT !== 0 && env.METRICS_PORT === env.PORT) {
      problems.push(`METRICS_PORT must differ from PORT (both are ${env.PORT}); 0 turns metrics off`);
    }
    return problems;
  }
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigValidationError';
  }
}

type EnvClass<T> = (new () => T) & { crossCheck?: (env: T) => string[] };

/**
 * Validates the whole environment in one pass so that one message names every
 * missing or bad variable, instead of failing on the first and hiding the rest.
 */
export function validateEnvironment<T extends object>(cls: EnvClass<T>, raw: Record<string, unknown>): T {
  // An empty assignment (`PORT=`) means "not set", as in most .env tooling.
  const present = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== ''));
  const env = plainToInstance(cls, present, { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false, forbidUnknownValues: false });
  // Alphabetical, so the message reads like the .env.example it points to.
  const sorted = [...errors].sort((a, b) => a.property.localeCompare(b.property));
  const problems = sorted.flatMap(describe);
  problems.push(...(cls.crossCheck?.(env) ?? []));
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return env;
}

function describe(error: ClassValidatorError): string[] {
  if (error.property === 'DATABASE_URL' && error.value === undefined) {
    return [`DATABASE_URL is required when NODE_ENV=production; expected ${DATABASE_URL_FORM}`];
  }
  // One message per variable: each constraint of a variable states the whole accepted form.
  const messages = Object.values(error.constraints ?? {});
  return messages.length > 0 ? [messages[0]] : [`${error.property} is invalid`];
}

/**
 * For entry points (the service, the migration CLI): the validated environment,
 * or the one message naming every bad variable on stderr and exit code 1 — a
 * stack trace would only hide what to fix.
 */
export function validateEnvironmentOrExit<T extends object>(cls: EnvClass<T>): T {
  try {
    return validateEnvironment(cls, readEnvironment());
  } catch (error) {
    if (!(error instanceof ConfigValidationError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

/**
 * process.env plus an optional .env file; real environment variables win, so
 * production (which has no .env) is configured by its environment alone. Tests
 * (NODE_ENV=test, which jest sets) never read a developer's .env.
 */
export function readEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  envFile = '.env',
): Record<string, string | undefined> {
  if (env.NODE_ENV === 'test') return { ...env };
  let fromFile: Record<string, string> = {};
  try {
    fromFile = parseEnv(readFileSync(envFile, 'utf8')) as Record<string, string>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return { ...fromFile, ...env };
}
