import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey, type RemoteJWKSet } from 'jose';
import { AuthenticationError, KeySetUnavailableError } from './auth.errors.js';

export const SUB_MAX_LENGTH = 128;
const CLOCK_SKEW_SECONDS = 30;
/** At most one key-set fetch per second for unknown kids, whether fetches succeed or fail. */
const KEY_SET_RETRY_MS = 1000;

export type VerificationMode = { kind: 'secret'; secret: string } | { kind: 'jwks'; url: string };

export interface VerifierOptions {
  mode: VerificationMode;
  issuer?: string;
  audience?: string;
}

/**
 * Verifies bearer tokens with jose. The algorithms are pinned per mode, so a
 * token cannot choose how it is checked: `alg: none`, an HS256 token against
 * a JWKS, or an RS/ES token against a shared secret are all refused.
 */
export class JwtVerifier {
  private readonly key: Uint8Array | JWTVerifyGetKey;
  private readonly algorithms: string[];

  constructor(private readonly options: VerifierOptions) {
    if (options.mode.kind === 'secret') {
      this.key = new TextEncoder().encode(options.mode.secret);
      this.algorithms = ['HS256'];
    } else {
      // jose caches the key set and re-fetches it when a token names an unknown
      // kid, at most once per cooldown: a newly published key works within 1 s.
      this.key = throttleFailures(
        createRemoteJWKSet(new URL(options.mode.url), {
          cooldownDuration: KEY_SET_RETRY_MS,
          cacheMaxAge: 10 * 60 * 1000,
          timeoutDuration: 2000,
        }),
      );
      this.algorithms = ['RS256', 'ES256', 'EdDSA'];
    }
  }

  /** The token's subject (the owner id), or an AuthenticationError saying why not. */
  async verify(token: string): Promise<string> {
    let sub: unknown;
    try {
      const { payload } = await jwtVerify(token, this.key as Uint8Array, {
        algorithms: this.algorithms,
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp'],
      });
      sub = payload.sub;
    } catch (error) {
      throw translate(error);
    }
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

function translate(error: unknown): Error {
  if (error instanceof errors.JWTExpired) {
    return new AuthenticationError('TOKEN_EXPIRED', 'The token has expired', { cause: error });
  }
  if (isKeySetFailure(error)) return new KeySetUnavailableError({ cause: error });
  return new AuthenticationError('INVALID_TOKEN', 'The token is not valid', { cause: error });
}
