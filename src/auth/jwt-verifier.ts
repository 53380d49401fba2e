import { createVerifier, TokenError } from 'fast-jwt';
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey, type RemoteJWKSet } from 'jose';
import { AuthenticationError, KeySetUnavailableError } from './auth.errors.js';

export const SUB_MAX_LENGTH = 128;
const CLOCK_SKEW_SECONDS = 30;
/** At most one key-set fetch per second for unknown kids, whether fetches succeed or fail. */
const KEY_SET_RETRY_MS = 1000;

export type VerificationMode = { kind: 'secret'; secret: string } | { kind: 'jwks'; url: string };

type Claims = { sub?: unknown };

export interface VerifierOptions {
  mode: VerificationMode;
  issuer?: string;
  audience?: string;
}

/**
 * Verifies bearer tokens: a shared secret (HS256) with fast-jwt, a key set
 * (JWKS) with jose. The algorithms are pinned per mode, so a
 * token cannot choose how it is checked: `alg: none`, an HS256 token against
 * a JWKS, or an RS/ES token against a shared secret are all refused.
 */
export class JwtVerifier {
  private readonly payloadOf: (token: string) => Claims | Promise<Claims>;

  constructor(options: VerifierOptions) {
    if (options.mode.kind === 'secret') {
      // fast-jwt checks the HMAC with node:crypto, synchronously. jose goes through
      // WebCrypto, whose thread-pool round trip cost about 50 µs of CPU per token
      // on our benchmark machine, a fifth of the main thread (see the README's Performance).
      const verifySecret = createVerifier({
        key: options.mode.secret,
        algorithms: ['HS256'],
        allowedIss: options.issuer,
        allowedAud: options.audience,
        clockTolerance: CLOCK_SKEW_SECONDS * 1000,
        // fast-jwt checks iss and aud only when present: a configured one is required.
        requiredClaims: [
          'exp',
          ...(options.issuer === undefined ? [] : ['iss']),
          ...(options.audience === undefined ? [] : ['aud']),
        ],
        // Every token is checked in full: verdicts are not cached.
        cache: false,
      });
      this.payloadOf = (token) => {
        try {
          return verifySecret(token) as Claims;
        } catch (error) {
          throw translateFastJwt(error);
        }
      };
    } else {
      // jose caches the key set and re-fetches it when a token names an unknown
      // kid, at most once per cooldown: a newly published key works within 1 s.
      const keySet = throttleFailures(
        createRemoteJWKSet(new URL(options.mode.url), {
          cooldownDuration: KEY_SET_RETRY_MS,
          cacheMaxAge: 10 * 60 * 1000,
          timeoutDuration: 2000,
        }),
      );
      this.payloadOf = async (token) => {
        try {
          const { payload } = await jwtVerify(token, keySet, {
            algorithms: ['RS256', 'ES256', 'EdDSA'],
            issuer: options.issuer,
            audience: options.audience,
            clockTolerance: CLOCK_SKEW_SECONDS,
            requiredClaims: ['exp'],
          });
          return payload;
        } catch (error) {
          throw translateJose(error);
        }
      };
    }
  }

  /**
   * The token's subject (the owner id), or an AuthenticationError saying why
   * not. With a shared secret the answer is immediate rather than a promise, so
   * the guard costs no promise and no microtask turn on every request.
   */
  verify(token: string): string | Promise<string> {
    const claims = this.payloadOf(token);
    return claims instanceof Promise ? claims.then(subjectOf) : subjectOf(claims);
  }
}

function subjectOf({ sub }: Claims): string {
  // The owner id is stored as text: NUL cannot be, and lone surrogates would all
  // become U+FFFD, merging different users into one.
  if (
    typeof sub !== 'string' ||
    sub.length < 1 ||
    sub.length > SUB_MAX_LENGTH ||
    sub.includes('\u0000') ||
    !sub.isWellFormed()
  ) {
    throw new AuthenticationError(
      'INVALID_TOKEN',
      `The token's sub must be 1 to ${SUB_MAX_LENGTH} characters of well-formed text`,
    );
  }
  return sub;
}

function translateFastJwt(error: unknown): Error {
  if (error instanceof TokenError && error.code === TokenError.codes.expired) {
    return new AuthenticationError('TOKEN_EXPIRED', 'The token has expired', { cause: error });
  }
  return new AuthenticationError('INVALID_TOKEN', 'The token is not valid', { cause: error });
}

/**
 * jose's cooldown only starts after a successful fetch, so a failing key-set
 * endpoint would be asked again by every token with an unknown kid. After a
 * failure, such tokens are answered 503 without a fetch for a second; tokens
 * whose key is cached keep working.
 */
function throttleFailures(remote: RemoteJWKSet): JWTVerifyGetKey {
  let failedAt = Number.NEGATIVE_INFINITY;
  return async (header, token) => {
    const cached =
      remote.jwks()?.keys.some((key) => key.kid !== undefined && key.kid === header.kid) ?? false;
    if (!cached && Date.now() - failedAt < KEY_SET_RETRY_MS) throw new KeySetUnavailableError();
    try {
      return await remote(header, token);
    } catch (error) {
      if (isKeySetFailure(error)) failedAt = Date.now();
      throw error;
    }
  };
}

/**
 * The key-set endpoint timed out, failed, or answered with something that is
 * not a key set: the token may well be valid, so this is not the caller's fault.
 * fetch's TypeError is matched by shape: under test runners it comes from another realm.
 */
function isKeySetFailure(error: unknown): boolean {
  return (
    error instanceof KeySetUnavailableError ||
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    (error instanceof Error && error.constructor === errors.JOSEError) ||
    isFetchFailure(error)
  );
}

function isFetchFailure(error: unknown): boolean {
  const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
  return name === 'TypeError' && typeof message === 'string' && /fetch/i.test(message);
}

function translateJose(error: unknown): Error {
  if (error instanceof errors.JWTExpired) {
    return new AuthenticationError('TOKEN_EXPIRED', 'The token has expired', { cause: error });
  }
  if (isKeySetFailure(error)) return new KeySetUnavailableError({ cause: error });
  return new AuthenticationError('INVALID_TOKEN', 'The token is not valid', { cause: error });
}

/**
 * When a bearer token that AuthGuard has already verified expires, in epoch
 * milliseconds: a change stream ends then. Read from the token's payload
 * without checking it again.
 */
export function bearerExpiry(authorization: string | undefined): number | undefined {
  const payload = authorization?.split(' ')[1]?.split('.')[1];
  if (!payload) return undefined;
  try {
    const { exp } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
