import { startHttpApp, type HttpFixture } from './helpers/http';

describe('CORS', () => {
  describe('by default', () => {
    let fixture: HttpFixture;
    beforeAll(async () => {
      fixture = await startHttpApp();
    });
    afterAll(() => fixture?.close());

    it('allows no origin and sends no X-Powered-By', async () => {
      const res = await fixture.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/tasks',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
      });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['x-powered-by']).toBeUndefined();
    });
  });

  describe('with CORS_ORIGINS', () => {
    let fixture: HttpFixture;
    beforeAll(async () => {
      fixture = await startHttpApp({ CORS_ORIGINS: 'https://app.example.com, http://localhost:3000' });
    });
    afterAll(() => fixture?.close());

    it('answers a preflight from a listed origin', async () => {
      const res = await fixture.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/tasks',
        headers: {
          origin: 'http://localhost:3000',
          'access-control-request-method': 'PATCH',
          'x-request-id': 'preflight-1',
        },
      });
      expect(res.statusCode).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe('http://localhost:3000');
      // The CORS hook answers before any of ours; the contract's X-Request-Id is still there.
      expect(res.headers['x-request-id']).toBe('preflight-1');
    });

    it('exposes the headers a frontend needs, and not to unlisted origins', async () => {
      const listed = await fixture.app.inject({
        method: 'GET',
        url: '/api/v1/tasks',
        headers: { origin: 'https://app.example.com' },
      });
      expect(listed.statusCode).toBe(401);
      expect(listed.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(listed.headers['access-control-expose-headers']).toBe(
        'ETag, Location, X-Request-Id, Retry-After, WWW-Authenticate, Allow',
      );

      const other = await fixture.app.inject({
        method: 'GET',
        url: '/api/v1/tasks',
        headers: { origin: 'https://evil.example.com' },
      });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    });
  });
});
