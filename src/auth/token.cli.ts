/**
 * `npm run token -- <userId> [ttl]` prints a bearer token for local use, signed
 * with the secret the service verifies with (JWT_SECRET, BETTER_AUTH_SECRET or
 * the development secret). ttl is a jose duration such as 1h (default) or 7d.
 */
import { SignJWT } from 'jose';
import { resolveAuthSettings } from './auth-settings.js';
import { SUB_MAX_LENGTH } from './jwt-verifier.js';
import {
  ConfigValidationError,
  EnvironmentVariables,
  readEnvironment,
  validateEnvironment,
} from '../config/environment.js';

async function main(): Promise<void> {
  const [userId, ttl = '1h'] = process.argv.slice(2);
  if (!userId || userId.length > SUB_MAX_LENGTH) {
    throw new Error(`usage: npm run token -- <userId (1 to ${SUB_MAX_LENGTH} characters)> [ttl, e.g. 1h]`);
  }
  const settings = resolveAuthSettings(validateEnvironment(EnvironmentVariables, readEnvironment()));
  const { mode, issuer, audience } = settings.verifier;
  if (mode.kind !== 'secret') {
    throw new Error('JWT_JWKS_URL is configured: tokens come from your identity provider, not from here');
  }
  let jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(userId).setIssuedAt();
  if (issuer) jwt = jwt.setIssuer(issuer);
  if (audience) jwt = jwt.setAudience(audience);
  process.stdout.write(`${await jwt.setExpirationTime(ttl).sign(new TextEncoder().encode(mode.secret))}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof ConfigValidationError || error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
