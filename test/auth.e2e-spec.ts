import { SignJWT } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { TEST_JWT_SECRET } from './helpers/boot-app';
import { startHttpApp, tokenFor, type HttpFixture } from './helpers/http';
import {
  signingKey,
  signWith,
  startJwksServer,
  type JwksServer,
  type SigningKey,
} from './helpers/jwks-server';
import { freePort } from './helpers/test-server';

const TASKS = '/api/v1/tasks';
const CURSOR_SECRET = 'cursor-secret-that-is-at-least-32-characters';
const OTHER_SECRET = 'another-secret-that-is-at-least-32-characters';

// RFC 6750 §3: error_description is a quoted string of %x20-21 / %x23-5B / %x5D-7E (no `"`, no `\`).
const INVALID_TOKEN_CHALLENGE =
  /^Bearer realm="tasks", error="invalid_token", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]+"$/;

const now = () => Math.floor(Date.now() / 1000);
const secretKey = (secret: string) => new TextEncoder().encode(secret);
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Longer than the service's 1 s re-fetch cooldown for the key set. */
const pastCooldown = () => sleep(1100);

/** An HS256 token with exactly these claims (nothing added), for claim-by-claim cases. */
function hs256(claims: Record<string, unknown>, secret = TEST_JWT_SECRET): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(secretKey(secret));
}

function listTasks(fixture: HttpFixture, authorization?: string): Promise<LightMyRequestResponse> {
  return fixture.app.inject({
    method: 'GET',
    url: TASKS,
    headers: authorization === undefined ? {} : { authorization },
  });
}

/**
 * A 401 problem document with the code, the RFC 6750 challenge that goes with
 * it, and not a trace of the credentials that were sent.
 */
function expectUnauthorized(
  res: LightMyRequestResponse,
  code: 'MISSING_TOKEN' | 'INVALID_TOKEN' | 'TOKEN_EXPIRED',
  credentials?: string,
): void {
  expect(res.statusCode).toBe(401);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json()).toEqual({
    type: 'about:blank',
    title: 'Unauthorized',
    status: 401,
    code,
    detail: expect.any(String),
    instance: TASKS,
    requestId: res.headers['x-request-id'],
  });
  const challenge = res.headers['www-authenticate'];
  if (code === 'MISSING_TOKEN') expect(challenge).toBe('Bearer realm="tasks"');
  else expect(challenge).toMatch(INVALID_TOKEN_CHALLENGE);
  if (credentials) {
    expect(res.body).not.toContain(credentials);
    expect(String(challenge)).not.toContain(credentials);
  }
}

function expectOk(res: LightMyRequestResponse): void {
  expect({ status: res.statusCode, body: res.json() }).toEqual({
    status: 200,
    body: { items: [], nextCursor: null },
  });
}

describe('bearer tokens verified with JWT_SECRET (HS256)', () => {
  let fixture: HttpFixture;

  beforeAll(async () => {
    fixture = await startHttpApp();
  });

  afterAll(async () => {
    await fixture.close();
  });

  it('accepts a valid token', async () => {
    expectOk(await listTasks(fixture, `Bearer ${await tokenFor('alice')}`));
  });

  it('answers MISSING_TOKEN with a bare challenge when no Authorization header is sent', async () => {
    expectUnauthorized(await listTasks(fixture), 'MISSING_TOKEN');
  });

  it('treats another scheme as no bearer credentials (RFC 6750 §3.1: no error code)', async () => {
    expectUnauthorized(await listTasks(fixture, 'Basic xyz'), 'MISSING_TOKEN', 'xyz');
  });

  it.each(['Bearer', 'Bearer ', 'Bearer    '])(
    'refuses %j without a token as INVALID_TOKEN',
    async (header) => {
      expectUnauthorized(await listTasks(fixture, header), 'INVALID_TOKEN');
    },
  );

  it('refuses two tokens in one header', async () => {
    const token = await tokenFor('alice');
    expectUnauthorized(await listTasks(fixture, `Bearer ${token} ${token}`), 'INVALID_TOKEN', token);
  });

  it.each(['not-a-jwt', 'a.b.c', 'eyJhbGciOiJIUzI1NiJ9.e30.', '...', 'e30.e30.e30'])(
    'refuses the malformed token %j',
    async (token) => {
      expectUnauthorized(await listTasks(fixture, `Bearer ${token}`), 'INVALID_TOKEN', token);
    },
  );

  it('refuses a token signed with another secret', async () => {
    const token = await tokenFor('alice', OTHER_SECRET);
    expectUnauthorized(await listTasks(fixture, `Bearer ${token}`), 'INVALID_TOKEN', token);
  });

  it('refuses a token whose signature was altered', async () => {
    const token = await tokenFor('alice');
    const [header, payload] = token.split('.');
    const forged = `${header}.${b64url({ sub: 'mallory', exp: now() + 300 })}.${token.split('.')[2]}`;
    expect(payload).not.toBe(forged.split('.')[1]);
    expectUnauthorized(await listTasks(fixture, `Bearer ${forged}`), 'INVALID_TOKEN', forged);
  });

  it('answers TOKEN_EXPIRED for a token expired beyond the 30 s clock skew', async () => {
    const token = await hs256({ sub: 'alice', iat: now() - 600, exp: now() - 60 });
    const res = await listTasks(fixture, `Bearer ${token}`);
    expectUnauthorized(res, 'TOKEN_EXPIRED', token);
  });

  it('accepts a token expired within the 30 s clock skew', async () => {
    const token = await hs256({ sub: 'alice', iat: now() - 600, exp: now() - 10 });
    expectOk(await listTasks(fixture, `Bearer ${token}`));
  });

  it('refuses a token without exp', async () => {
    const token = await hs256({ sub: 'alice', iat: now() });
    expectUnauthorized(await listTasks(fixture, `Bearer ${token}`), 'INVALID_TOKEN', token);
  });

  it.each([
    ['none', ''],
    ['none', 'c2lnbmF0dXJl'],
    ['NONE', ''],
    ['', ''],
  ])('refuses an unsigned token with alg %j', async (alg, signature) => {
    const token = `${b64url({ alg, typ: 'JWT' })}.${b64url({ sub: 'alice', exp: now() + 300 })}.${signature}`;
    expectUnauthorized(await listTasks(fixture, `Bearer ${token}`), 'INVALID_TOKEN', token);
  });

  it.each(['RS256', 'ES256', 'EdDSA'] as const)(
    'refuses an %s token when only a shared secret is configured',
    async (alg) => {
      const key = await signingKey(alg);
      const token = await signWith(key, 'alice');
      expectUnauthorized(await listTasks(fixture, `Bearer ${token}`), 'INVALID_TOKEN', token);
    },
  );

  it.each(['HS384', 'HS512'])('refuses %s even when signed with the configured secret', async (alg) => {
    const token = await new SignJWT({ sub: 'alice', exp: now() + 300 })
      .setProtectedHeader({ alg })
      .sign(secretKey(TEST_JWT_SECRET));
    expectUnauthorized(await listTasks(fixture, `Bearer ${token}`), 'INVALID_TOKEN', token);
  });

  it.each([
    ['missing', {}],
    ['empty', { sub: '' }],
    ['129 characters', { sub: 'u'.repeat(129) }],
    ['a number', { sub: 12345 }],
    ['an array', { sub: ['alice'] }],
    ['null', { sub: null }],
  ])('refuses a token whose sub is %s', async (_, claims) => {
    const token = await hs256({ ...claims, exp: now() + 300 });
    expectUnauthorized(await listTasks(fixture, `Bearer ${token}`), 'INVALID_TOKEN', token);
  });

  it('accepts a sub of exactly 128 characters as the owner', async () => {
    const sub = 'u'.repeat(128);
    const token = await tokenFor(sub);
    const created = await fixture.app.inject({
      method: 'POST',
      url: TASKS,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: { title: 'owned by a long id' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().userId).toBe(sub);
  });

  it('accepts the scheme name in any case and extra spaces around the token', async () => {
    const token = await tokenFor('alice');
    expectOk(await listTasks(fixture, `bearer ${token}`));
    expectOk(await listTasks(fixture, `BEARER   ${token}  `));
  });

  it('refuses a sub with the NUL character, which no owner id can hold, as INVALID_TOKEN', async () => {
    for (const sub of ['nul\u0000inside', '\u0000']) {
      const token = await tokenFor(sub);
      const res = await listTasks(fixture, `Bearer ${token}`);
      expect({ sub, status: res.statusCode, code: res.json().code }).toEqual({
        sub,
        status: 401,
        code: 'INVALID_TOKEN',
      });
      expect(res.body).not.toContain(token);
    }
  });

  it('never lets two subs that differ only in unpaired surrogates share tasks', async () => {
    // PostgreSQL stores UTF-8: a lone surrogate cannot be kept as sent, so both would become U+FFFD.
    const first = await tokenFor('surrogate-\ud800');
    const created = await fixture.app.inject({
      method: 'POST',
      url: TASKS,
      headers: { authorization: `Bearer ${first}`, 'content-type': 'application/json' },
      payload: { title: 'private' },
    });
    if (created.statusCode === 401) {
      expect(created.json().code).toBe('INVALID_TOKEN'); // refusing such a sub is fine too
      return;
    }
    const other = await listTasks(fixture, `Bearer ${await tokenFor('surrogate-\udc00')}`);
    expect({
      created: created.statusCode,
      owner: created.json().userId,
      seenByOther: other.statusCode === 200 ? other.json().items.length : other.json().code,
    }).toEqual({
      created: 201,
      owner: 'surrogate-\ud800',
      seenByOther: other.statusCode === 200 ? 0 : 'INVALID_TOKEN',
    });
  });

  it('serves the OpenAPI document without a token', async () => {
    const res = await fixture.app.inject({ method: 'GET', url: '/docs/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ openapi: expect.stringMatching(/^3\./) });
  });
});

describe('JWT_ISSUER and JWT_AUDIENCE, when set', () => {
  const ISSUER = 'https://auth.example.com';
  const AUDIENCE = 'tasks-api';
  let fixture: HttpFixture;

  beforeAll(async () => {
    fixture = await startHttpApp({ JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
  });

  afterAll(async () => {
    await fixture.close();
  });

  const token = (claims: Record<string, unknown>) => hs256({ sub: 'alice', exp: now() + 300, ...claims });

  it('accepts the configured issuer and audience', async () => {
    expectOk(await listTasks(fixture, `Bearer ${await token({ iss: ISSUER, aud: AUDIENCE })}`));
    expectOk(await listTasks(fixture, `Bearer ${await token({ iss: ISSUER, aud: ['other', AUDIENCE] })}`));
  });

  it.each([
    ['a wrong issuer', { iss: 'https://evil.example.com', aud: AUDIENCE }],
    ['no issuer', { aud: AUDIENCE }],
    ['a wrong audience', { iss: ISSUER, aud: 'other-api' }],
    ['no audience', { iss: ISSUER }],
    ['neither', {}],
  ])('refuses a token with %s', async (_, claims) => {
    const jwt = await token(claims);
    expectUnauthorized(await listTasks(fixture, `Bearer ${jwt}`), 'INVALID_TOKEN', jwt);
  });
});

describe('BETTER_AUTH_SECRET as an alias of JWT_SECRET', () => {
  let fixture: HttpFixture;

  beforeAll(async () => {
    fixture = await startHttpApp({ JWT_SECRET: undefined, BETTER_AUTH_SECRET: OTHER_SECRET });
  });

  afterAll(async () => {
    await fixture.close();
  });

  it('verifies HS256 tokens with it, and only with it', async () => {
    expectOk(await listTasks(fixture, `Bearer ${await tokenFor('alice', OTHER_SECRET)}`));
    const wrong = await tokenFor('alice', TEST_JWT_SECRET);
    expectUnauthorized(await listTasks(fixture, `Bearer ${wrong}`), 'INVALID_TOKEN', wrong);
  });
});

describe('bearer tokens verified with a JWKS (JWT_JWKS_URL)', () => {
  let jwks: JwksServer;
  let fixture: HttpFixture;
  let rs: SigningKey;
  let es: SigningKey;
  let ed: SigningKey;

  beforeAll(async () => {
    [rs, es, ed] = await Promise.all([signingKey('RS256'), signingKey('ES256'), signingKey('EdDSA')]);
    jwks = await startJwksServer([rs.jwk, es.jwk, ed.jwk]);
    fixture = await startHttpApp({
      JWT_SECRET: undefined,
      JWT_JWKS_URL: jwks.url,
      CURSOR_SECRET,
    });
  });

  afterAll(async () => {
    await fixture?.close();
    await jwks?.close();
  });

  it.each(['RS256', 'ES256', 'EdDSA'])('accepts a token signed with the published %s key', async (alg) => {
    const key = { RS256: rs, ES256: es, EdDSA: ed }[alg]!;
    expectOk(await listTasks(fixture, `Bearer ${await signWith(key, 'alice')}`));
  });

  it('refuses an HS256 token, whichever secret signed it', async () => {
    // CURSOR_SECRET and the public key are both known to the service: neither may verify a token.
    for (const secret of [TEST_JWT_SECRET, CURSOR_SECRET, JSON.stringify(rs.jwk), rs.jwk.n!]) {
      const token = await tokenFor('alice', secret);
      expectUnauthorized(await listTasks(fixture, `Bearer ${token}`), 'INVALID_TOKEN', token);
    }
  });

  it('refuses an unsigned token', async () => {
    const token = `${b64url({ alg: 'none', kid: rs.kid })}.${b64url({ sub: 'alice', exp: now() + 300 })}.`;
    expectUnauthorized(await listTasks(fixture, `Bearer ${token}`), 'INVALID_TOKEN', token);
  });

  it('answers TOKEN_EXPIRED for an expired token', async () => {
    const token = await new SignJWT({ sub: 'alice', iat: now() - 600, exp: now() - 60 })
      .setProtectedHeader({ alg: 'ES256', kid: es.kid })
      .sign(es.privateKey);
    expectUnauthorized(await listTasks(fixture, `Bearer ${token}`), 'TOKEN_EXPIRED', token);
  });

  it('refuses a token signed by a key that is not in the set', async () => {
    const stranger = await signingKey('RS256');
    const token = await signWith(stranger, 'alice');
    expectUnauthorized(await listTasks(fixture, `Bearer ${token}`), 'INVALID_TOKEN', token);
  });

  it('refuses a token that names a published kid but is signed by another key', async () => {
    const impostor = await signingKey('ES256');
    const token = await signWith(impostor, 'alice', { kid: es.kid });
    expectUnauthorized(await listTasks(fixture, `Bearer ${token}`), 'INVALID_TOKEN', token);
  });

  it('accepts a newly published key within about a second, and refuses a retired one after the re-fetch', async () => {
    expectOk(await listTasks(fixture, `Bearer ${await signWith(rs, 'alice')}`)); // the set is cached

    const next = await signingKey('RS256');
    jwks.keys = [next.jwk, es.jwk, ed.jwk]; // rs is retired, next is published
    const token = await signWith(next, 'alice');
    let res = await listTasks(fixture, `Bearer ${token}`);
    if (res.statusCode !== 200) {
      // The set was fetched less than a second ago: the next unknown kid after the cooldown re-fetches it.
      await pastCooldown();
      res = await listTasks(fixture, `Bearer ${token}`);
    }
    expectOk(res);

    const retired = await signWith(rs, 'alice');
    expectUnauthorized(await listTasks(fixture, `Bearer ${retired}`), 'INVALID_TOKEN', retired);
    jwks.keys = [next.jwk, rs.jwk, es.jwk, ed.jwk];
    rs = next; // later tests sign with a published RS256 key whatever order they run in
  });

  it('re-fetches the key set at most once per second, however many unknown kids arrive', async () => {
    await pastCooldown();
    const before = jwks.hits;
    const started = Date.now();
    for (let i = 0; i < 8; i++) {
      const token = await signWith(await signingKey('ES256'), 'alice');
      expectUnauthorized(await listTasks(fixture, `Bearer ${token}`), 'INVALID_TOKEN', token);
    }
    const seconds = Math.floor((Date.now() - started) / 1000);
    expect(jwks.hits - before).toBeLessThanOrEqual(1 + seconds);
  });
});

describe('when the JWKS endpoint fails', () => {
  let jwks: JwksServer;
  let fixture: HttpFixture;
  let key: SigningKey;

  beforeAll(async () => {
    key = await signingKey('ES256');
    jwks = await startJwksServer([key.jwk]);
    fixture = await startHttpApp({ JWT_SECRET: undefined, JWT_JWKS_URL: jwks.url, CURSOR_SECRET });
    expectOk(await listTasks(fixture, `Bearer ${await signWith(key, 'alice')}`)); // the set is cached
  });

  afterEach(() => {
    jwks.mode = 'ok';
  });

  afterAll(async () => {
    await fixture?.close();
    await jwks?.close();
  });

  /** 503 SERVICE_UNAVAILABLE with Retry-After: the token may be valid, the service cannot tell. */
  function expectUnavailable(res: LightMyRequestResponse, token: string): void {
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
    expect(res.json()).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', instance: TASKS });
    expect(res.body).not.toContain(token);
    expect(res.body).not.toContain(jwks.url);
  }

  it.each(['error', 'garbage'] as const)(
    'answers 503 for an unknown kid when the key set endpoint answers %s',
    async (mode) => {
      await pastCooldown();
      jwks.mode = mode;
      const token = await signWith(await signingKey('ES256'), 'alice');
      expectUnavailable(await listTasks(fixture, `Bearer ${token}`), token);
    },
  );

  it('keeps accepting cached keys while the endpoint fails', async () => {
    await pastCooldown();
    jwks.mode = 'error';
    expectOk(await listTasks(fixture, `Bearer ${await signWith(key, 'alice')}`));
  });

  it('does not hammer a failing endpoint: at most one re-fetch per second', async () => {
    await pastCooldown();
    jwks.mode = 'error';
    const before = jwks.hits;
    const started = Date.now();
    for (let i = 0; i < 8; i++) {
      const token = await signWith(await signingKey('ES256'), 'alice');
      expect((await listTasks(fixture, `Bearer ${token}`)).statusCode).toBeGreaterThanOrEqual(401);
    }
    const seconds = Math.floor((Date.now() - started) / 1000);
    expect(jwks.hits - before).toBeLessThanOrEqual(1 + seconds);
  });
});

describe('when the JWKS endpoint is down', () => {
  let fixture: HttpFixture;

  beforeAll(async () => {
    fixture = await startHttpApp({
      JWT_SECRET: undefined,
      // A port nothing listens on: the key set has never been fetched.
      JWT_JWKS_URL: `http://127.0.0.1:${await freePort()}/jwks.json`,
      CURSOR_SECRET,
    });
  });

  afterAll(async () => {
    await fixture?.close();
  });

  it('answers 503 SERVICE_UNAVAILABLE with Retry-After, without the token', async () => {
    const key = await signingKey('RS256');
    const token = await signWith(key, 'alice');
    const res = await listTasks(fixture, `Bearer ${token}`);
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
    expect(res.json()).toEqual({
      type: 'about:blank',
      title: 'Service unavailable',
      status: 503,
      code: 'SERVICE_UNAVAILABLE',
      detail: expect.any(String),
      instance: TASKS,
      requestId: res.headers['x-request-id'],
    });
    expect(res.body).not.toContain(token);
  });

  it('still refuses a token without one as MISSING_TOKEN, and an HS256 token as INVALID_TOKEN', async () => {
    expectUnauthorized(await listTasks(fixture), 'MISSING_TOKEN');
    const token = await tokenFor('alice');
    expectUnauthorized(await listTasks(fixture, `Bearer ${token}`), 'INVALID_TOKEN', token);
  });

  it('serves the OpenAPI document without a token', async () => {
    expect((await fixture.app.inject({ method: 'GET', url: '/docs/openapi.json' })).statusCode).toBe(200);
  });
});
