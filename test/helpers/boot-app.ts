import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * Builds the real AppModule (the same providers, filters and lifecycle as
 * production) under the given environment. AppModule validates the environment
 * when it is first imported, so the module registry is reset and it is imported
 * afresh with the variables in place; process.env is restored afterwards.
 */
export async function bootApp(env: Record<string, string | undefined>): Promise<NestFastifyApplication> {
  const saved = { ...process.env };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  try {
    jest.resetModules();
    const { AppModule } = await import('../../src/app.module.js');
    const { Test } = await import('@nestjs/testing');
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
    app.enableShutdownHooks();
    try {
      await app.init();
    } catch (error) {
      await app.close();
      throw error;
    }
    return app;
  } finally {
    process.env = saved;
  }
}
