import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/** A secret for tests' HS256 tokens (JWT_SECRET must be at least 32 characters). */
export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-characters-long';

/**
 * Builds the application with src/app.factory.ts, exactly as main.ts does, under
 * the given environment. AppModule validates the environment when it is first
 * imported, so the module registry is reset and the app imported afresh with the
 * variables in place; process.env is restored afterwards.
 */
export async function bootApp(env: Record<string, string | undefined>): Promise<NestFastifyApplication> {
  const saved = { ...process.env };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  try {
    jest.resetModules();
    const { createApp } = await import('../../src/app.factory.js');
    const app = await createApp();
    try {
      await app.init();
      await app.getHttpAdapter().getInstance().ready();
    } catch (error) {
      await app.close();
      throw error;
    }
    return app;
  } finally {
    process.env = saved;
  }
}
