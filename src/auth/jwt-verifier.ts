import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { AuthenticationError, KeySetUnavailableError } from './auth.errors.js';

export const SUB_MAX_LENGTH = 128;
const CLOCK_SKEW_SECONDS = 30;

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
      this.key = createRemoteJWKSet(new URL(options.mode.url), {
        cooldownDuration: 1000,
        cacheMaxAge: 10 * 60 * 1000,
        timeoutDuration: 2000,
      });
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
    if (typeof sub !== 'string' || sub.length < 1 || sub.length > SUB_MAX_LENGTH) {
      throw new AuthenticationError(
        'INVALID_TOKEN',
        `The token's sub must be 1 to ${SUB_MAX_LENGTH} characters`,
      );
    }
    return sub;
  }
}

function translate(error: unknown): Error {
  if (error instanceof errors.JWTExpired) {
    return new AuthenticationError('TOKEN_EXPIRED', 'The token has expired', { cause: error });
  }
  // The key set endpoint timed out, failed, or answered with something that is
  // not a key set: the token may well be valid, so this is not the caller's fault.
  const keySetFailed =
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    (error instanceof Error && error.constructor === errors.JOSEError) ||
    (error instanceof TypeError && /fetch/i.test(error.message));
  if (keySetFailed) return new KeySetUnavailableError({ cause: error });
  return new AuthenticationError('INVALID_TOKEN', 'The token is not valid', { cause: error });
}
