import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { EnvironmentVariables } from '../config/environment.js';
import type { VerifierOptions } from './jwt-verifier.js';

export interface AuthSettings {
  verifier: VerifierOptions;
  /** HMAC key for list cursors: the same on every instance. */
  cursorSecret: string;
  /** Set when the development secret file is in use (for logs and `npm run token`). */
  devSecretFile?: string;
}

type AuthEnv = Pick<
  EnvironmentVariables,
  | 'NODE_ENV'
  | 'JWT_SECRET'
  | 'BETTER_AUTH_SECRET'
  | 'JWT_JWKS_URL'
  | 'JWT_ISSUER'
  | 'JWT_AUDIENCE'
  | 'CURSOR_SECRET'
  | 'EMBEDDED_DB_DIR'
>;

/**
 * Development without any JWT configuration gets a secret made once per
 * installation and kept beside the embedded database, so tokens minted with
 * `npm run token` keep working across restarts. Production never gets here:
 * the environment validation requires a real configuration there.
 */
function developmentSecret(env: AuthEnv): { secret: string; file: string } {
  const file = join(dirname(env.EMBEDDED_DB_DIR), 'dev-jwt-secret');
  if (existsSync(file)) return { secret: readFileSync(file, 'utf8').trim(), file };
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return { secret, file };
}

export function resolveAuthSettings(env: AuthEnv): AuthSettings {
  const given = env.JWT_SECRET ?? env.BETTER_AUTH_SECRET;
  const claims = { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE };
  if (env.JWT_JWKS_URL) {
    const cursorSecret = env.CURSOR_SECRET ?? developmentSecret(env).secret;
    return { verifier: { mode: { kind: 'jwks', url: env.JWT_JWKS_URL }, ...claims }, cursorSecret };
  }
  if (given) {
    return {
      verifier: { mode: { kind: 'secret', secret: given }, ...claims },
      cursorSecret: env.CURSOR_SECRET ?? given,
    };
  }
  const dev = developmentSecret(env);
  return {
    verifier: { mode: { kind: 'secret', secret: dev.secret }, ...claims },
    cursorSecret: env.CURSOR_SECRET ?? dev.secret,
    devSecretFile: dev.file,
  };
}
